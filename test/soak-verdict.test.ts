import t from 'tap';
import { renderSvg } from '../tools/charts/render.js';
import type { FaultAccounting } from '../tools/lab/fault-figures.js';
import { soakChartSpec } from '../tools/soak/chart.js';
import { mbufBalances, memoryTrends, soakVerdict, type SoakSample } from '../tools/soak/verdict.js';
import {
  accountDrops,
  appDropCounters,
  cpuWaitMs,
  dropIncreases,
  dropTotals,
  ovsStatisticsDrops,
} from '../tools/soak/drops.js';

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

t.test(
  'memory: a Node app is judged by its RSS after a full garbage collection, not by its RSS as it is (no DPDK)',
  async (t) => {
    const series = samples(300, (atMs) => ({ 'pktgen 10': 80_000 + atMs / 20, 'ovsdb-server 12': 7000 + atMs / 20 }));
    for (const sample of series) {
      // Its RSS grows 50 KiB/s (garbage V8 has not collected yet); after a full collection it is flat.
      sample.collected = {
        'pktgen 10': { rssKiB: 75_000 + (sample.atMs % 10_000 === 0 ? 300 : -300), heapUsedKiB: 5000 },
      };
    }
    t.same(
      memoryTrends(series).map(({ process, measure, flat }) => ({ process, measure, flat })),
      [
        { process: 'ovsdb-server 12', measure: 'rss', flat: false },
        { process: 'pktgen 10', measure: 'rss after a full GC', flat: true },
      ],
      'the Node app flat after its collections; a process with no collections judged by its RSS',
    );
  },
);

t.test('memory: a Node app whose RSS after a full garbage collection grows is not flat (no DPDK)', async (t) => {
  const series = samples(300, () => ({ 'pktgen 10': 80_000 }));
  for (const sample of series) {
    sample.collected = { 'pktgen 10': { rssKiB: 75_000 + sample.atMs / 20, heapUsedKiB: 5000 + sample.atMs / 20 } };
  }
  t.match(memoryTrends(series), [{ process: 'pktgen 10', measure: 'rss after a full GC', flat: false }]);
});

t.test('mbufs: back when no more are in use after the traffic than before it (no DPDK)', async (t) => {
  const during = samples(60, () => ({}), 5000);
  const before = { atMs: 0, rssKiB: {}, mbufsInUse: { forwarder: 4096, pktgen: 2048 }, packets: {} };
  const after = { atMs: 70_000, rssKiB: {}, mbufsInUse: { forwarder: 4096, pktgen: 2050 }, packets: {} };
  t.same(mbufBalances(before, during, after), [
    { app: 'forwarder', before: 4096, after: 4096, peak: 5000, txHeld: 0, back: true },
    { app: 'pktgen', before: 2048, after: 2050, peak: 2048, txHeld: 0, back: false },
  ]);
});

t.test(
  "mbufs: what the apps' tx queues may hold until their next send is not missing, more is (no DPDK)",
  async (t) => {
    // Two virtio ports of 256 descriptors each: up to 512 sent mbufs wait for a later send to free them.
    const before = { atMs: 0, rssKiB: {}, mbufsInUse: { forwarder: 528, pktgen: 528 }, packets: {} };
    const after = { atMs: 70_000, rssKiB: {}, mbufsInUse: { forwarder: 1040, pktgen: 1041 }, packets: {} };
    const balances = mbufBalances(before, [], after, { forwarder: 512, pktgen: 512 });
    t.same(
      balances.map(({ app, back }) => ({ app, back })),
      [
        { app: 'forwarder', back: true },
        { app: 'pktgen', back: false },
      ],
    );
    t.equal(balances[1].txHeld, 512);
  },
);

t.test('the verdict: every part must pass (no DPDK)', async (t) => {
  const memory = memoryTrends(samples(120, () => ({ 'pktgen 1': 80_000 })));
  const back = [{ app: 'forwarder', before: 1, after: 1, peak: 2, txHeld: 0, back: true }];
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
    collected: { 'pktgen 1': { rssKiB: 75_000, heapUsedKiB: 5000 } },
    mbufsInUse: { pktgen: 100 },
    packets: { pktgen: { rx: atMs * 10, tx: atMs * 10 } },
  }));
  const svg = await renderSvg(soakChartSpec(points, [5000]));
  for (const title of [
    'resident memory',
    'pktgen after a full GC',
    'mbufs in use',
    'packets received by each app',
    'ovs-vswitchd restarts',
  ])
    t.match(svg, title);
});

t.test('drop counters: increases between samples, a counter that falls was reset (no DPDK)', async (t) => {
  t.same(
    appDropCounters(
      'forwarder',
      [
        'dpdk_port_rx_missed_total{port="a",port_id="0"} 3',
        'dpdk_port_rx_missed_total{port="b",port_id="1"} 4',
        'dpdk_port_rx_nombuf_total{port="a",port_id="0"} 0',
        'dpdk_forwarder_dropped_packets_total{forwarder="f",stream="0",rx_port="0",tx_port="1"} 5',
        'dpdk_port_rx_packets_total{port="a",port_id="0"} 1000',
      ].join('\n'),
    ),
    { 'forwarder rx_missed': 7, 'forwarder rx_nombuf': 0, 'forwarder dropped_packets': 5 },
  );
  t.same(
    ovsStatisticsDrops('vhost-user2', { tx_dropped: 4n, ovs_tx_failure_drops: 4, rx_packets: 10, tx_retries: 1 }),
    {
      'OVSDB vhost-user2 tx_dropped': 4,
      'OVSDB vhost-user2 ovs_tx_failure_drops': 4,
    },
  );
  const increases = dropIncreases([
    { atMs: 0, drops: { 'OVS p tx_dropped': 5, 'app rx_missed': 0 } },
    { atMs: 5000, drops: { 'OVS p tx_dropped': 5, 'app rx_missed': 2 } },
    { atMs: 10000, drops: { 'app rx_missed': 2 } }, // OVS down: not read
    { atMs: 15000, drops: { 'OVS p tx_dropped': 3, 'app rx_missed': 2 } }, // restarted: 3 new
    { atMs: 20000, drops: { 'OVS p tx_dropped': 10, 'app rx_missed': 2 } },
  ]);
  t.same(increases, [
    { counter: 'app rx_missed', fromMs: 0, toMs: 5000, packets: 2 },
    { counter: 'OVS p tx_dropped', fromMs: 5000, toMs: 15000, packets: 3 },
    { counter: 'OVS p tx_dropped', fromMs: 15000, toMs: 20000, packets: 7 },
  ]);
  t.same(dropTotals(increases), { 'app rx_missed': 2, 'OVS p tx_dropped': 10 });
});

t.test(
  'packets lost outside the windows fail the verdict; the counters on the path say where they were dropped (no DPDK)',
  async (t) => {
    const increases = [
      { counter: 'OVS vhost-user3 tx_dropped (OpenFlow)', fromMs: 10_000, toMs: 15_000, packets: 3000 },
      { counter: 'OVSDB vhost-user3 ovs_tx_failure_drops', fromMs: 10_000, toMs: 15_000, packets: 3000 },
      { counter: 'OVS vhost-user3 tx_dropped (OpenFlow)', fromMs: 55_000, toMs: 65_000, packets: 500 },
    ];
    const drops = accountDrops(increases, [{ fromMs: 59_000, toMs: 62_000 }]);
    t.equal(drops.outsideTotal, 3000, 'the OVSDB detail is not counted twice');
    t.same(drops.inWindows, { 'OVS vhost-user3 tx_dropped (OpenFlow)': 500 });
    t.equal(drops.outsideIncreases.length, 2);
    const lossy = { ...accounted, lostOutside: 3100 };
    const explained = soakVerdict(
      [],
      [{ app: 'f', before: 1, after: 1, peak: 2, txHeld: 0, back: true }],
      lossy,
      drops,
    );
    t.equal(explained.unexplained, 100, 'what no counter saw');
    t.equal(explained.everyPacketAccounted, false, 'counted drops outside a restart are still losses');
    const unseen = soakVerdict([], [], { ...accounted, lostOutside: 9000 }, drops);
    t.equal(unseen.unexplained, 6000);
    t.equal(unseen.everyPacketAccounted, false);
    t.equal(soakVerdict([], [], lossy).everyPacketAccounted, false, 'without counters too');
    t.equal(soakVerdict([], [], accounted, drops).everyPacketAccounted, true, 'no loss outside the windows');
  },
);

t.test("a process's CPU wait: its threads' run-queue time summed, in ms (no DPDK)", async (t) => {
  const files: Record<string, string> = {
    '/proc/7/task/7/schedstat': '5000000 2500000 10\n',
    '/proc/7/task/8/schedstat': '9000000 1500000 4\n',
  };
  const read = (path: string): string => {
    if (!(path in files)) throw new Error('gone');
    return files[path];
  };
  t.equal(
    cpuWaitMs(7, read, () => ['7', '8', '9']),
    4,
  );
  t.equal(
    cpuWaitMs(8, read, () => {
      throw new Error('no such process');
    }),
    undefined,
  );
});
