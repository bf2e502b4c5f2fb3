/**
 * `npm run lab -- --metrics HOST:PORT`: each dpdk-ts app the lab runs serves its metrics
 * (examples/app.ts's `--metrics`) on a port of its own, and the lab reads the app's port
 * counters once before it stops it, to set them beside its own count.
 */
import { DpdkError } from '../../lib/errors.js';
import type { MetricsAddress } from '../../examples/app.js';

/** What an app's ports counted, summed over its ports, as its metrics said. */
export interface PortPacketCounts {
  /** `dpdk_port_rx_packets_total`, all ports. */
  rx: number;
  /** `dpdk_port_tx_packets_total`, all ports. */
  tx: number;
}

/** The `--metrics` value of the app given the `index`th port from `address`'s. */
export function appMetricsArg(address: MetricsAddress, index: number): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${host}:${address.port + index}`;
}

/**
 * The URL the lab reads the app given the `index`th port from: on the loopback when the
 * app listens on every interface.
 */
export function appMetricsUrl(address: MetricsAddress, index: number): string {
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return `http://${appMetricsArg({ host, port: address.port }, index)}/metrics`;
}

/** The sums of `dpdk_port_{rx,tx}_packets_total` in Prometheus text `text`. */
export function portPacketCounts(text: string): PortPacketCounts {
  const counts: PortPacketCounts = { rx: 0, tx: 0 };
  for (const match of text.matchAll(/^dpdk_port_(rx|tx)_packets_total(?:\{[^}]*\})? (\S+)$/gm)) {
    counts[match[1] as 'rx' | 'tx'] += Number(match[2]);
  }
  return counts;
}

/**
 * Descriptors of each virtio-user queue (DPDK's default `queue_size`; the lab sets none).
 * A tx queue frees the mbufs of what it sent only in a later send, so after the traffic
 * stops up to this many per port stay in use: an mbuf balance allows for them.
 */
export const virtioQueueSize = 256;

/** The sum of `dpdk_mempool_in_use_mbufs` over the pools in Prometheus text `text`. */
export function mbufsInUse(text: string): number {
  let inUse = 0;
  for (const match of text.matchAll(/^dpdk_mempool_in_use_mbufs(?:\{[^}]*\})? (\S+)$/gm)) inUse += Number(match[1]);
  return inUse;
}

/** Reads the app's metrics at `url` (3 s at most) and returns its ports' packet counts. */
export async function scrapePortPackets(url: string): Promise<PortPacketCounts> {
  return portPacketCounts(await scrapeMetrics(url));
}

/** Reads the app's metrics at `url` (3 s at most) as Prometheus text. */
export async function scrapeMetrics(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch (error) {
    const why = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new DpdkError(`cannot read ${url}: ${why}`, { code: 'ERR_LAB', operation: 'lab' });
  }
  if (!response.ok) {
    throw new DpdkError(`${url} answered HTTP ${response.status}`, { code: 'ERR_LAB', operation: 'lab' });
  }
  return response.text();
}
