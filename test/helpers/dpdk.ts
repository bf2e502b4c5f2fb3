/** What the DPDK tests share: EAL init for a test file, unique prefixes, socket dirs, polling, ring ports, a test packet. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Eal, RingPort, buildUdpPacket, hugepages, type EalOptions, type Mempool, type Port } from '../../lib/index.js';

/** Free hugepages now (of the default size, 2 MiB here). */
export function freeHugepages(): number {
  return hugepages().free;
}

/** A file prefix no other test run uses. */
export function uniquePrefix(tag: string): string {
  return `dts-${tag}-${process.pid}`;
}

/**
 * Initializes EAL for a test file: pinned lcores (main on CPU 0, a worker on CPU 1 for
 * engines), a unique file prefix, little memory, DPDK's log captured but not printed.
 * Falls back to --no-huge when hugepages are short.
 */
export function initEal(tag: string, options: EalOptions = {}): void {
  const noHuge = options.noHuge ?? freeHugepages() < 64;
  Eal.init({ lcores: '0@0,1@1', memoryMb: 96, filePrefix: uniquePrefix(tag), printLog: false, noHuge, ...options });
}

/** A short-named temporary directory (unix socket paths must stay under 108 bytes). */
export function socketDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Polls `fn` until it returns true or `timeoutMs` passes. */
export async function until(fn: () => boolean, timeoutMs = 5000, stepMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (fn()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return fn();
}

/** A started net_ring port (what is sent on it comes back) with rx queues fed from `pool`. */
export function ringPort(pool: Mempool): Port {
  const port = RingPort.create();
  port.configure({ mempool: pool, rxDescriptors: 1024, txDescriptors: 1024 });
  port.start();
  return port;
}

/** A 60-byte UDP packet from 00:00:00:00:00:01 to 00:00:00:00:00:02. */
export const testPacket = buildUdpPacket({
  dstMac: '00:00:00:00:00:02',
  srcMac: '00:00:00:00:00:01',
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
});
