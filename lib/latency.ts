/**
 * Latency statistics of an engine's stream, and how their percentiles are computed: exactly
 * (nearest rank) from the raw samples while the engine kept them all, else estimated from
 * its histogram, with the estimate's resolution.
 */

/** The percentiles {@link LatencyStats} reports: 50, 90, 99 and 99.9. */
export type PercentileName = 'p50' | 'p90' | 'p99' | 'p999';

// The percentiles reported, as per-mille ranks: integers, so that ranks are exact.
const percentileRanks: [PercentileName, number][] = [
  ['p50', 500],
  ['p90', 900],
  ['p99', 990],
  ['p999', 999],
];

/** Latency measured from timestamps in the packets. */
export interface LatencyStats {
  /** Packets measured. */
  samples: number;
  /** Minimum, in nanoseconds. */
  minNs: number;
  /** Mean, in nanoseconds. */
  avgNs: number;
  /** Maximum, in nanoseconds. */
  maxNs: number;
  /**
   * Percentiles (50, 90, 99, 99.9), in nanoseconds: the nearest-rank value (the smallest
   * sample that at least that fraction of the samples do not exceed) when
   * `percentilesExact`, else an estimate (see `resolutionNs`). Never below `minNs`
   * nor above `maxNs`, and ordered.
   */
  percentilesNs: Record<PercentileName, number>;
  /**
   * Whether the percentiles are exact: true while the engine kept every sample (the first
   * 4096 of a stream), false once they are estimated from its histogram.
   */
  percentilesExact: boolean;
  /**
   * How far below each estimated percentile the true one may be, in nanoseconds: the
   * width of the histogram bucket it came from (the estimate is the bucket's upper bound;
   * buckets are 1/8 of a power of two wide, so 6-12% of the value). All 0 when exact.
   */
  resolutionNs: Record<PercentileName, number>;
}

/** What the native engine reports of a stream's latency, from which {@link latencyStats} computes. */
export interface RawLatency {
  samples: number;
  minNs: number;
  avgNs: number;
  maxNs: number;
  /** Every sample, in arrival order, when the engine kept them all. */
  samplesNs?: Float64Array;
  /** Otherwise the histogram: [lower bound, upper bound, count] of each non-empty bucket, in order. */
  histogram?: [number, number, number][];
}

/**
 * The summary of an engine's raw latency report with its percentiles: exact (nearest rank)
 * when every sample is there, else estimated from the histogram as the upper bound of the
 * bucket the rank falls in (as HdrHistogram reports), within [min, max].
 */
export function latencyStats(raw: RawLatency): LatencyStats {
  const { samples, minNs, avgNs, maxNs } = raw;
  // The value at a 1-based rank, and how far below it the true one may be.
  let valueAt: (rank: number) => [number, number];
  if (raw.samplesNs !== undefined) {
    const sorted = Float64Array.from(raw.samplesNs).sort();
    valueAt = (rank) => [sorted[rank - 1], 0];
  } else {
    const histogram = raw.histogram ?? [];
    valueAt = (rank) => {
      let seen = 0;
      for (const [lowerNs, upperNs, count] of histogram) {
        seen += count;
        if (seen >= rank) return [upperNs, upperNs - lowerNs];
      }
      return [maxNs, 0];
    };
  }
  const percentilesNs = {} as Record<PercentileName, number>;
  const resolutionNs = {} as Record<PercentileName, number>;
  for (const [name, perMille] of percentileRanks) {
    // The 1-based nearest rank: the smallest with at least perMille/1000 of the samples at or below it.
    const [value, resolution] = valueAt(Math.max(1, Math.ceil((perMille * samples) / 1000)));
    percentilesNs[name] = Math.min(maxNs, Math.max(minNs, value));
    resolutionNs[name] = resolution;
  }
  return { samples, minNs, avgNs, maxNs, percentilesNs, percentilesExact: raw.samplesNs !== undefined, resolutionNs };
}
