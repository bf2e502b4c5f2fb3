// latencyStats: exact nearest-rank percentiles from kept samples, estimates from a histogram.
import t from 'tap';
import { latencyStats } from '../lib/latency.js';

t.test('with every sample kept, percentiles are exact nearest ranks', async (t) => {
  // 1..100 ns in a scrambled order: the nearest-rank p50 is the 50th smallest, p99.9 the 100th.
  const samplesNs = Float64Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
  const stats = latencyStats({ samples: 100, minNs: 1, avgNs: 50.5, maxNs: 100, samplesNs });
  t.same(stats.percentilesNs, { p50: 50, p90: 90, p99: 99, p999: 100 });
  t.equal(stats.percentilesExact, true);
  t.same(stats.resolutionNs, { p50: 0, p90: 0, p99: 0, p999: 0 });
});

t.test('a few slow samples put p99 where they are, not at a bucket bound', async (t) => {
  // 98 packets at 10 us and 2 at 3 ms: p99 is 3 ms (above the 69.8 us mean), p50 10 us.
  const samplesNs = Float64Array.from({ length: 100 }, (_, i) => (i < 98 ? 10_000 : 3_000_000));
  const stats = latencyStats({ samples: 100, minNs: 10_000, avgNs: 69_800, maxNs: 3_000_000, samplesNs });
  t.same(stats.percentilesNs, { p50: 10_000, p90: 10_000, p99: 3_000_000, p999: 3_000_000 });
});

t.test('one sample is every percentile', async (t) => {
  const stats = latencyStats({ samples: 1, minNs: 7, avgNs: 7, maxNs: 7, samplesNs: Float64Array.of(7) });
  t.same(stats.percentilesNs, { p50: 7, p90: 7, p99: 7, p999: 7 });
});

t.test('from a histogram, percentiles are estimated within min and max and say their resolution', async (t) => {
  // 5000 samples: 4000 in [1000, 1125), 990 in [2000, 2250), 10 in [8000, 9000); min 1010, max 8100.
  const stats = latencyStats({
    samples: 5000,
    minNs: 1010,
    avgNs: 1230,
    maxNs: 8100,
    histogram: [
      [1000, 1125, 4000],
      [2000, 2250, 990],
      [8000, 9000, 10],
    ],
  });
  t.same(stats.percentilesNs, { p50: 1125, p90: 2250, p99: 2250, p999: 8100 });
  t.equal(stats.percentilesExact, false);
  t.same(stats.resolutionNs, { p50: 125, p90: 250, p99: 250, p999: 1000 }, 'each the width of its bucket');
});
