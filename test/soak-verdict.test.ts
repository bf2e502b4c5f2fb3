import t from 'tap';
import { renderSvg } from '../tools/charts/render.js';
import type { FaultAccounting } from '../tools/lab/fault-figures.js';
import { soakChartSpec } from '../tools/soak/chart.js';
import { mbufBalances, memoryTrends, soakVerdict, type SoakSample } from '../tools/soak/verdict.js';

/** Samples every 5 s for `seconds`, each process's RSS given by `rss(atMs, process)`. */
function samples(seconds: number, rss: (atMs: number) => Record<string, number>, inUse = 100): SoakSample[] {
  const out: SoakSample[] = [];
  for (let atMs = 0; atMs <= seconds * 1000; atMs += 5000) {
    out.push({ atMs, rssKiB: rss(atMs), mbufsInUse: { forwarder: inUse }, packets: {} });
  }
  return out;
}

const accounted: FaultAccounting = {
  windows: [{ faultAtMs: 60_000, outageMs: 1200, window: { fromMs: 59_990, toMs: 61_200 }, lostDuring: 240_000 }],
  sent: 1_000_000,
  received: 760_100,
  lost: 239_900,
  lostInWindows: 240_000,
  lostOutside: -100,
  tolerance: 2000,
};

t.test(
  'memory: flat within max(4 MiB, 5%) after warm-up; growth beyond is not; short series are not judged (no DPDK)',
  async (t) => {
    const trends = memoryTrends(
      samples(300, (atMs) => ({
        // Warm-up growth in the first 30 s, then flat with noise.
        'pktgen 10': atMs < 30_000 ? 50_000 + atMs : 80_000 + (atMs % 10_000 === 0 ? 500 : -500),
        // 30 MiB over 5 minutes: a leak.
        'forwarder 11': 100_000 + atMs / 10,
        // A restarted daemon: a series of 20 s.
        ...(atMs >= 280_000 ? { 'ovs-vswitchd 12': 60_000 } : {}),
      })),
    );
    t.same(
      trends.map((trend) => [trend.process, trend.flat]),
      [
        ['pktgen 10', true],
        ['forwarder 11', false],
        ['ovs-vswitchd 12', null],
      ],
    );
    const leak = trends[1];
    t.equal(leak.allowedKiB, Math.round((leak.startKiB as number) * 0.05));
    t.ok((leak.growthKiB as number) > 20_000);
  },
);

t.test('mbufs: back when no more are in use after the traffic than before it (no DPDK)', async (t) => {
  const during = samples(60, () => ({}), 5000);
  const before = { atMs: 0, rssKiB: {}, mbufsInUse: { forwarder: 4096, pktgen: 2048 }, packets: {} };
  const after = { atMs: 70_000, rssKiB: {}, mbufsInUse: { forwarder: 4096, pktgen: 2050 }, packets: {} };
  t.same(mbufBalances(before, during, after), [
    { app: 'forwarder', before: 4096, after: 4096, peak: 5000, back: true },
    { app: 'pktgen', before: 2048, after: 2050, peak: 2048, back: false },
  ]);
});

t.test('the verdict: every part must pass (no DPDK)', async (t) => {
  const memory = memoryTrends(samples(120, () => ({ 'pktgen 1': 80_000 })));
  const back = [{ app: 'forwarder', before: 1, after: 1, peak: 2, back: true }];
  t.ok(soakVerdict(memory, back, accounted).pass);
  t.notOk(soakVerdict(memory, [{ ...back[0], after: 2, back: false }], accounted).everyMbufBack);
  const leaked = { ...accounted, lostInWindows: 200_000, lostOutside: 39_900 };
  t.notOk(soakVerdict(memory, back, leaked).everyPacketAccounted, 'packets lost outside every window');
  const neverBack = { ...accounted, windows: [{ ...accounted.windows[0], outageMs: null }] };
  t.notOk(soakVerdict(memory, back, neverBack).pass, 'traffic that never resumed');
  t.notOk(soakVerdict([], back, accounted).memoryFlat, 'no series long enough: nothing shown flat');
});

t.test("the chart: memory, mbufs and each app's received rate, with the restarts marked (no DPDK)", async (t) => {
  const points = [0, 5000, 10_000].map((atMs) => ({
    atMs,
    rssKiB: { 'pktgen 1': 80_000 + atMs / 100 },
    mbufsInUse: { pktgen: 100 },
    packets: { pktgen: { rx: atMs * 10, tx: atMs * 10 } },
  }));
  const svg = await renderSvg(soakChartSpec(points, [5000]));
  for (const title of ['resident memory', 'mbufs in use', 'packets received by each app', 'ovs-vswitchd restarts'])
    t.match(svg, title);
});
