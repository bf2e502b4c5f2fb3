/**
 * Engine latency as a Prometheus histogram. prom-client's Histogram only counts what is
 * observed one value at a time; an engine measures in C and reports its own samples or
 * buckets, so this metric turns that report into cumulative `le` buckets at scrape time
 * and hands prom-client's registry the same shape its Histogram would.
 */
import type { RawLatency } from '../latency.js';

/**
 * The `le` bounds, in seconds, of the latency histograms (`dpdk_forwarder_latency_seconds`):
 * 1-2-5 steps from 500 ns to 1 s, then `+Inf`.
 */
export const latencyBucketsSeconds: readonly number[] = [
  5e-7, 1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1,
];

/** A histogram's counts: cumulative per bound of {@link latencyBucketsSeconds}, then the total and the sum in seconds. */
export interface HistogramCounts {
  cumulative: number[];
  count: number;
  sumSeconds: number;
}

/**
 * The cumulative counts of an engine's latency report. Exact while the engine kept every
 * sample; from its own histogram, a bucket of the engine (1/8 of a power of two of TSC
 * cycles wide) counts under the first bound at or above its upper end, so a count at a
 * bound may miss samples within one engine bucket below it (never counts one above it).
 */
export function histogramCounts(raw: RawLatency): HistogramCounts {
  const bounds = latencyBucketsSeconds.map((seconds) => seconds * 1e9);
  const perBound = new Array<number>(bounds.length + 1).fill(0);
  const add = (ns: number, count: number): void => {
    const index = bounds.findIndex((bound) => ns <= bound);
    perBound[index === -1 ? bounds.length : index] += count;
  };
  if (raw.samplesNs !== undefined) for (const ns of raw.samplesNs) add(ns, 1);
  else for (const [, upperNs, count] of raw.histogram ?? []) add(upperNs, count);
  let running = 0;
  const cumulative = perBound.map((count) => (running += count));
  const count = running;
  // The engine's counters are read while it runs: the buckets, not `samples`, give the
  // count, so that `_count` equals the `+Inf` bucket as Prometheus requires.
  return { cumulative: cumulative.slice(0, bounds.length), count, sumSeconds: (raw.avgNs * count) / 1e9 };
}

/** One sample line as prom-client's registry formats it. */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One labelled series of the histogram. */
export interface HistogramSeries {
  labels: Record<string, string>;
  counts: HistogramCounts;
}

/**
 * @internal A histogram metric whose series come from `collect` at each scrape, registered
 * in a prom-client Registry beside its Counters and Gauges.
 */
export class CollectedHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #collect: () => HistogramSeries[];

  constructor(name: string, help: string, collect: () => HistogramSeries[]) {
    this.name = name;
    this.help = help;
    this.#collect = collect;
  }

  /** What the registry formats: `_bucket` per bound and `+Inf`, `_sum`, `_count`, per series. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, counts } of this.#collect()) {
      latencyBucketsSeconds.forEach((le, i) =>
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: counts.cumulative[i] }),
      );
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: counts.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: counts.sumSeconds });
      values.push({ metricName: `${this.name}_count`, labels, value: counts.count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }
}
