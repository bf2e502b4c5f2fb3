/**
 * DpdkMetrics: what the SDK owns as Prometheus metrics in a prom-client Registry. Every
 * value is read when the registry is scraped (prom-client `collect` callbacks reading one
 * snapshot per scrape); nothing runs on the forwarding path.
 */
import { Counter, Gauge, Registry, register as defaultRegistry, type Metric } from 'prom-client';
import { Engine, type RawEngineStreamStats } from '../engine.js';
import { DpdkError, invalidArgument } from '../errors.js';
import { Forwarder } from '../forwarder.js';
import { LcoreWorker } from '../lcore.js';
import { Mempool, type MempoolStats } from '../mempool.js';
import { Port, type LinkStatus, type PortStats } from '../port.js';
import { checkBoolean, checkOptions, checkString, describe } from '../validate.js';
import { CollectedHistogram, histogramCounts, type HistogramSeries } from './latency-histogram.js';

/** Options of {@link DpdkMetrics}. */
export interface DpdkMetricsOptions {
  /** The prom-client Registry to register in. Default: prom-client's global `register`. */
  registry?: Registry;
  /** Export every port DPDK knows, read at each scrape (as prom-client's default metrics are). Default true. */
  ports?: boolean;
}

/** What {@link DpdkMetrics.add} exports: a loop (its streams and counters) or a pool. */
export type MetricsSource = Forwarder | Engine | LcoreWorker | Mempool;

const optionKeys = ['registry', 'ports'] as const satisfies readonly (keyof DpdkMetricsOptions)[];

type Labels = Record<string, string>;
type Series = [labels: Labels, value: number][];

/** One port read at a scrape. */
interface PortReading {
  labels: Labels;
  driver: string;
  mac: string;
  stats: PortStats;
  xstats: Record<string, number>;
  link: LinkStatus;
}

/** One stream of a forwarder read at a scrape. */
interface StreamReading {
  labels: Labels;
  stats: RawEngineStreamStats;
}

/** Everything one scrape exports, read once for all the metrics. */
interface Snapshot {
  ports: PortReading[];
  streams: StreamReading[];
  counters: Series;
  mempools: [labels: Labels, stats: MempoolStats][];
}

// A loop forwarder's counters that are its streams' (exported per stream instead).
const streamCounter = /^(rx|tx|dropped):\d+$/;

// Counter values are totals: a negative or non-finite one (a loop's own counter misused)
// would make prom-client throw and fail the whole scrape, so it is left out.
const countable = (value: number): boolean => Number.isFinite(value) && value >= 0;

/**
 * The SDK's objects as Prometheus metrics, in a prom-client Registry (prefix `dpdk_`;
 * totals are counters ending in `_total`, levels are gauges):
 *
 * - every port DPDK knows (unless `ports: false`), labelled `port` (device name) and
 *   `port_id`: `dpdk_port_{rx,tx}_{packets,bytes}_total`, `dpdk_port_{rx,tx}_errors_total`,
 *   `dpdk_port_rx_missed_total`, `dpdk_port_rx_nombuf_total`; per queue (label `queue`,
 *   where the driver counts per queue) `dpdk_port_queue_{rx,tx}_{packets,bytes}_total` and
 *   `dpdk_port_queue_rx_errors_total`; the driver's extended counters as
 *   `dpdk_port_xstats_total` (label `xstat`); `dpdk_port_link_up` (1 or 0),
 *   `dpdk_port_link_speed_bits_per_second` (0 when unknown) and `dpdk_port_info` (1, with
 *   `driver` and `mac`);
 * - each forwarder, engine or lcore worker {@link add}ed, labelled `forwarder` (and per
 *   stream `stream`, `rx_port`, `tx_port`): `dpdk_forwarder_{rx,tx,dropped}_packets_total`,
 *   `dpdk_forwarder_filtered_packets_total` (an engine's filter),
 *   `dpdk_forwarder_tx_blocked_packets_total` (a generator's backpressure), the latency an
 *   engine measures as the histogram `dpdk_forwarder_latency_seconds` (see
 *   `latencyBucketsSeconds`), and a TypeScript loop's own counters as
 *   `dpdk_forwarder_counter_total` (label `counter`);
 * - each mempool {@link add}ed, labelled `mempool`: `dpdk_mempool_size_mbufs`,
 *   `dpdk_mempool_available_mbufs`, `dpdk_mempool_in_use_mbufs`.
 *
 * Ports are found by themselves, as prom-client's default metrics find the process's; loops
 * and pools are added by the application, which knows which matter and what to call them.
 * A closed forwarder or pool leaves the metrics at the next scrape. Serve the registry with
 * {@link serveMetrics}.
 *
 * @example
 * ```ts
 * const metrics = new DpdkMetrics();
 * metrics.add(forwarder).add(pool);
 * const server = await serveMetrics({ host: '127.0.0.1', port: 9464 });
 * ```
 */
export class DpdkMetrics {
  /** The registry the metrics are in. */
  readonly registry: Registry;
  readonly #ports: boolean;
  readonly #loops = new Map<string, Forwarder | Engine | LcoreWorker>();
  readonly #mempools = new Map<string, Mempool>();
  readonly #names: string[] = [];
  #snapshot: Snapshot | undefined;
  #closed = false;

  /**
   * Registers the metrics in the registry.
   *
   * @throws DpdkError `EEXIST` when the registry already holds a metric of the same name
   * (another DpdkMetrics on it: close that one first, or give each a registry of its own);
   * `EINVAL` for bad options.
   */
  constructor(options: DpdkMetricsOptions = {}) {
    const op = 'DpdkMetrics';
    checkOptions<DpdkMetricsOptions>(op, options, optionKeys);
    const registry = options.registry ?? defaultRegistry;
    if (!isRegistry(registry))
      invalidArgument(op, `registry must be a prom-client Registry, got ${describe(registry)}`);
    this.registry = registry;
    this.#ports = options.ports === undefined ? true : checkBoolean(op, 'ports', options.ports);
    // prom-client's typings leave out a metric's name, which every metric has.
    const metrics = this.#metrics().map((metric) => ({ metric, name: (metric as unknown as { name: string }).name }));
    const taken = metrics.find(({ name }) => registry.getSingleMetric(name) !== undefined);
    if (taken !== undefined) {
      throw new DpdkError(
        `The registry already has a metric named ${taken.name}: close the other DpdkMetrics on it first, or give each a registry of its own`,
        { code: 'EEXIST', operation: op, object: taken.name },
      );
    }
    for (const { metric, name } of metrics) {
      registry.registerMetric(metric);
      this.#names.push(name);
    }
  }

  /**
   * Exports a forwarder, engine or lcore worker (its streams and counters) or a mempool,
   * under `name`: default `lcore<N>` for a loop (its lcore), the pool's own name for a
   * mempool. An object added under a name already taken replaces the one there (a new run's
   * engine in its predecessor's place: Prometheus sees a counter reset). Returns this.
   */
  add(source: MetricsSource, name?: string): this {
    const op = 'DpdkMetrics.add';
    if (this.#closed) throw closedError(op);
    if (source instanceof Mempool) {
      this.#mempools.set(name === undefined ? source.name : checkString(op, 'name', name), source);
    } else if (source instanceof Forwarder || source instanceof Engine || source instanceof LcoreWorker) {
      this.#loops.set(name === undefined ? `lcore${source.lcore}` : checkString(op, 'name', name), source);
    } else {
      invalidArgument(op, `source must be a Forwarder, Engine, LcoreWorker or Mempool, got ${describe(source)}`);
    }
    return this;
  }

  /** Stops exporting `source` (under every name it was added with); returns whether it was there. */
  remove(source: MetricsSource): boolean {
    let found = false;
    for (const map of [this.#loops, this.#mempools] as Map<string, MetricsSource>[]) {
      for (const [name, value] of map) {
        if (value === source) found = map.delete(name);
      }
    }
    return found;
  }

  /** Removes the metrics from the registry. Safe to call twice; {@link add} afterwards throws `ERR_CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of this.#names) this.registry.removeSingleMetric(name);
    this.#loops.clear();
    this.#mempools.clear();
  }

  // One reading for every metric of a scrape: prom-client calls each metric's collect in
  // the same turn of the event loop, so the snapshot lives until the next microtask.
  #read(): Snapshot {
    if (this.#snapshot === undefined) {
      this.#snapshot = this.#readAll();
      queueMicrotask(() => (this.#snapshot = undefined));
    }
    return this.#snapshot;
  }

  #readAll(): Snapshot {
    const snapshot: Snapshot = { ports: [], streams: [], counters: [], mempools: [] };
    const portNames = new Map<number, string>();
    for (const id of Port.ids()) {
      try {
        const port = Port.get(id);
        portNames.set(id, port.name);
        if (!this.#ports) continue;
        const info = port.info();
        const labels = { port: port.name, port_id: String(id) };
        snapshot.ports.push({
          labels,
          driver: info.driver,
          mac: info.mac,
          stats: port.stats(),
          xstats: port.xstats(),
          link: port.link(),
        });
      } catch {
        // Closed or unplugged between listing and reading: gone from this scrape.
      }
    }
    const portName = (id: number): string => portNames.get(id) ?? String(id);
    for (const [name, loop] of this.#loops) {
      const streams = forgetIfClosed(this.#loops, name, () => streamStats(loop));
      streams?.forEach((stats, i) =>
        snapshot.streams.push({
          labels: {
            forwarder: name,
            stream: String(i),
            rx_port: portName(stats.rxPort),
            tx_port: portName(stats.txPort),
          },
          stats,
        }),
      );
      const counters = forgetIfClosed(this.#loops, name, () => loopCounters(loop)) ?? {};
      for (const [counter, value] of Object.entries(counters)) {
        if (countable(value)) snapshot.counters.push([{ forwarder: name, counter }, value]);
      }
    }
    for (const [name, pool] of this.#mempools) {
      const stats = forgetIfClosed(this.#mempools, name, () => pool.stats());
      if (stats !== undefined) snapshot.mempools.push([{ mempool: name }, stats]);
    }
    return snapshot;
  }

  #metrics(): Metric[] {
    const read = (): Snapshot => this.#read();
    const counter = (name: string, help: string, labelNames: string[], values: (s: Snapshot) => Series): Counter =>
      new Counter({
        name,
        help,
        labelNames,
        registers: [],
        collect() {
          this.reset();
          for (const [labels, value] of values(read())) if (countable(value)) this.inc(labels, value);
        },
      });
    const gauge = (name: string, help: string, labelNames: string[], values: (s: Snapshot) => Series): Gauge =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [],
        collect() {
          this.reset();
          for (const [labels, value] of values(read())) this.set(labels, value);
        },
      });
    const portLabels = ['port', 'port_id'];
    const port = (name: string, help: string, field: keyof Omit<PortStats, 'queues'>): Counter =>
      counter(`dpdk_port_${name}_total`, help, portLabels, (s) => s.ports.map((p) => [p.labels, p.stats[field]]));
    const queue = (name: string, help: string, field: keyof PortStats['queues'][number]): Counter =>
      counter(`dpdk_port_queue_${name}_total`, help, [...portLabels, 'queue'], (s) =>
        s.ports.flatMap((p) =>
          p.stats.queues.map((q, i): Series[number] => [{ ...p.labels, queue: String(i) }, q[field]]),
        ),
      );
    const streamLabels = ['forwarder', 'stream', 'rx_port', 'tx_port'];
    const stream = (
      name: string,
      help: string,
      field: 'rx' | 'tx' | 'dropped' | 'filtered' | 'txBlocked' | 'txSkipped',
    ): Counter =>
      counter(`dpdk_forwarder_${name}_packets_total`, help, streamLabels, (s) =>
        s.streams.flatMap(({ labels, stats }): Series => (stats[field] === undefined ? [] : [[labels, stats[field]]])),
      );
    const mempool = (name: string, help: string, field: keyof MempoolStats): Gauge =>
      gauge(`dpdk_mempool_${name}_mbufs`, help, ['mempool'], (s) => s.mempools.map(([l, stats]) => [l, stats[field]]));
    const histogram = new CollectedHistogram(
      'dpdk_forwarder_latency_seconds',
      'Latency an engine measured from the timestamps in the packets it received, in seconds',
      () =>
        read().streams.flatMap(({ labels, stats }): HistogramSeries[] =>
          stats.latency === undefined ? [] : [{ labels, counts: histogramCounts(stats.latency) }],
        ),
    );
    return [
      port('rx_packets', 'Packets the port received', 'rxPackets'),
      port('tx_packets', 'Packets the port sent', 'txPackets'),
      port('rx_bytes', 'Bytes the port received', 'rxBytes'),
      port('tx_bytes', 'Bytes the port sent', 'txBytes'),
      port('rx_errors', 'Receive errors', 'rxErrors'),
      port('tx_errors', 'Transmit errors', 'txErrors'),
      port('rx_missed', 'Packets the device dropped for lack of rx descriptors', 'rxMissed'),
      port('rx_nombuf', 'Receive failures for lack of mbufs', 'rxNoMbuf'),
      queue('rx_packets', 'Packets received on the rx queue', 'rxPackets'),
      queue('tx_packets', 'Packets sent on the tx queue', 'txPackets'),
      queue('rx_bytes', 'Bytes received on the rx queue', 'rxBytes'),
      queue('tx_bytes', 'Bytes sent on the tx queue', 'txBytes'),
      queue('rx_errors', 'Receive errors on the rx queue', 'rxErrors'),
      counter(
        'dpdk_port_xstats_total',
        "The driver's extended counters (rte_eth_xstats)",
        [...portLabels, 'xstat'],
        (s) =>
          s.ports.flatMap((p) =>
            Object.entries(p.xstats).map(([xstat, v]): Series[number] => [{ ...p.labels, xstat }, v]),
          ),
      ),
      gauge('dpdk_port_link_up', 'Whether the link is up (1) or down (0)', portLabels, (s) =>
        s.ports.map((p) => [p.labels, p.link.up ? 1 : 0]),
      ),
      gauge('dpdk_port_link_speed_bits_per_second', 'Link speed, 0 when unknown', portLabels, (s) =>
        s.ports.map((p) => [p.labels, p.link.speedMbps * 1e6]),
      ),
      gauge(
        'dpdk_port_info',
        'The port, with its driver and MAC address (always 1)',
        [...portLabels, 'driver', 'mac'],
        (s) => s.ports.map((p) => [{ ...p.labels, driver: p.driver, mac: p.mac }, 1]),
      ),
      stream('rx', 'Packets the stream received', 'rx'),
      stream('tx', 'Packets the stream sent', 'tx'),
      stream('dropped', 'Packets the tx queue refused and the loop freed', 'dropped'),
      stream('filtered', "Packets the engine's filter dropped", 'filtered'),
      stream('tx_blocked', 'Packets a full tx queue refused at first and the generator sent later', 'txBlocked'),
      stream(
        'tx_skipped',
        'Packets a rate-limited generator gave up rather than sent late, having fallen behind',
        'txSkipped',
      ),
      counter(
        'dpdk_forwarder_counter_total',
        "A TypeScript loop's own counters",
        ['forwarder', 'counter'],
        (s) => s.counters,
      ),
      mempool('size', 'mbufs in the pool', 'size'),
      mempool('available', 'mbufs free, in the pool or in lcore caches', 'available'),
      mempool('in_use', 'mbufs in use: in port rings, batches or loops', 'inUse'),
      // Registered as prom-client's own metrics are: the registry only calls get() and reads name.
      histogram as unknown as Metric,
    ];
  }
}

// The streams of a loop, with an engine's raw latency where it measures one.
function streamStats(loop: Forwarder | Engine | LcoreWorker): RawEngineStreamStats[] {
  if (loop instanceof Engine) return loop.rawStats();
  if (loop instanceof LcoreWorker) return [];
  const stats = loop.stats(); // ERR_CLOSED once the forwarder is closed.
  return loop.engine?.rawStats() ?? stats;
}

// A TypeScript loop's own counters: all of an lcore worker's, a loop forwarder's beyond its streams'.
function loopCounters(loop: Forwarder | Engine | LcoreWorker): Record<string, number> {
  if (loop instanceof Engine) return {};
  if (loop instanceof LcoreWorker) return loop.counters();
  if (loop.backend === 'native') return {};
  return Object.fromEntries(Object.entries(loop.counters()).filter(([name]) => !streamCounter.test(name)));
}

// Reads an added object; one closed since is forgotten, any other failure leaves it out of this scrape.
function forgetIfClosed<T>(map: Map<string, unknown>, name: string, read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof DpdkError && error.code === 'ERR_CLOSED') map.delete(name);
    return undefined;
  }
}

function isRegistry(value: unknown): value is Registry {
  // Duck-typed: the application's prom-client may be another copy than the SDK's.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Registry).metrics === 'function' &&
    typeof (value as Registry).registerMetric === 'function' &&
    typeof (value as Registry).getSingleMetric === 'function'
  );
}

function closedError(operation: string): DpdkError {
  return new DpdkError('DpdkMetrics is closed', { code: 'ERR_CLOSED', operation });
}
