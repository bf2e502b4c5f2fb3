import { createServer, type Server } from 'node:net';
import t from 'tap';
import { UsageError } from '../examples/app.js';
import type { PktgenReport, SearchReport } from '../examples/pktgen/report.js';
import { roundFigures, spread, summarize } from '../tools/lab/comparison.js';
import { planCpus } from '../tools/lab/cpu-plan.js';
import { portPacketCounts, type PortPacketCounts } from '../tools/lab/app-metrics.js';
import { checkExact, lab, run } from './helpers/lab-run.js';
import { parseLabOptions } from '../tools/lab/options.js';

/** A pktgen report of two ports with these counters and latencies. */
function fakeReport(ports: { sent: number; received: number; txBlocked?: number; avgNs?: number; samples?: number }[]) {
  return {
    complete: null,
    elapsedMs: 1000,
    lineRateMbps: 10000,
    ports: ports.map((port, index) => ({
      port: index,
      sent: port.sent,
      received: port.received,
      dropped: 0,
      txBlocked: port.txBlocked ?? 0,
      latency:
        port.samples === undefined
          ? null
          : {
              samples: port.samples,
              minNs: 1,
              avgNs: port.avgNs ?? 0,
              maxNs: (port.avgNs ?? 0) * 10,
              percentilesNs: { p50: 0, p90: 0, p99: (port.avgNs ?? 0) * 2, p999: 0 },
            },
    })),
  } as unknown as PktgenReport;
}

t.test('full-rate figures, medians and the ratio to C (no DPDK)', async (t) => {
  const figures = roundFigures(
    1,
    fakeReport([
      { sent: 3_000_000, received: 1_000_000, txBlocked: 7, avgNs: 1000, samples: 1 },
      { sent: 1_000_000, received: 1_000_000, avgNs: 4000, samples: 3 },
    ]),
    2,
  );
  t.same(figures, {
    round: 1,
    offeredMpps: 2,
    receivedMpps: 1,
    loss: 0.5,
    txBlocked: 7,
    latencyAvgNs: 3250,
    latencyP99Ns: 8000,
    latencyMaxNs: 40000,
    zeroLoss: null,
  });
  t.same(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
  t.same(spread([4, 1, 2, 3]), { median: 2.5, min: 1, max: 4 });
  t.equal(spread([]), null);
  const round = (n: number, mpps: number) => ({ ...figures, round: n, receivedMpps: mpps });
  const [c, ts, failed] = summarize([
    { kind: 'c', rounds: [round(1, 2), round(2, 1), round(3, 4)] },
    { kind: 'ts', rounds: [round(1, 1), round(2, 1), round(3, 2)] },
    { kind: 'native', rounds: [] },
  ]);
  t.same(c?.ratioToC, { median: 1, min: 1, max: 1 });
  t.same(ts?.ratioToC, { median: 0.5, min: 0.5, max: 1 }, 'ratios per round, then their median');
  t.same(ts?.receivedMpps, { median: 1, min: 1, max: 2 });
  t.equal(failed, null, 'no rounds, no summary');
  t.equal(summarize([{ kind: 'ts', rounds: [round(1, 1)] }])[0]?.ratioToC, null, 'no C forwarder, no ratio');
});

t.test('zero-loss figures and their ratio to C (no DPDK)', async (t) => {
  const latency = (avgNs: number, samples: number) => ({
    samples,
    minNs: 1,
    avgNs,
    maxNs: avgNs * 3,
    percentilesNs: { p50: avgNs, p90: avgNs, p99: avgNs * 2, p999: avgNs * 2 },
  });
  const search = (ratePps: number | null) =>
    ({
      ports: [0, 1],
      ratePps,
      failedPps: 600_000,
      trials: [{}, {}, {}],
      latency:
        ratePps === null
          ? null
          : {
              ports: [
                { port: 0, latency: latency(1000, 1) },
                { port: 1, latency: latency(3000, 3) },
              ],
            },
    }) as unknown as SearchReport;
  const base = fakeReport([{ sent: 1, received: 1 }]);
  t.same(roundFigures(1, base, 1, search(500_000)).zeroLoss, {
    mpps: 1,
    failedMpps: 1.2,
    trials: 3,
    latencyAvgNs: 2500,
    latencyP99Ns: 6000,
  });
  t.same(
    roundFigures(1, base, 1, search(null)).zeroLoss,
    { mpps: 0, failedMpps: 1.2, trials: 3, latencyAvgNs: null, latencyP99Ns: null },
    'no rate passed: 0 Mpps, no latency',
  );
  const round = (n: number, ratePps: number) => roundFigures(n, base, 1, search(ratePps));
  const [c, native] = summarize([
    { kind: 'c', rounds: [round(1, 500_000), round(2, 250_000)] },
    { kind: 'native', rounds: [round(1, 500_000), round(2, 500_000)] },
  ]);
  t.same(c?.zeroLossMpps, { median: 0.75, min: 0.5, max: 1 });
  t.same(native?.zeroLossRatioToC, { median: 1.5, min: 1, max: 2 }, 'per round, then the median');
  t.equal(
    summarize([{ kind: 'ts', rounds: [roundFigures(1, base, 1)] }])[0]?.zeroLossMpps,
    null,
    'no search, no figure',
  );
});

t.test('the lab options of the comparison and of CPU sharing (no DPDK)', async (t) => {
  const defaults = parseLabOptions([]);
  t.match(defaults, {
    rounds: 3,
    forwarders: ['c', 'ts', 'native'],
    pmdMaxSleepUs: Number,
    generatorYield: 'auto',
    forwarderYield: 'auto',
    zeroLoss: false,
    placement: 'generator+forwarder',
  });
  t.match(
    parseLabOptions([
      '--rounds=5',
      '--forwarder',
      'native',
      '--forwarder=c',
      '--pmd-maxsleep',
      '0',
      '--generator-yield',
      'off',
      '--placement',
      'forwarder+ovs',
      '--forwarder-yield',
      'on',
      '--zero-loss',
    ]),
    {
      rounds: 5,
      forwarders: ['native', 'c'],
      pmdMaxSleepUs: 0,
      generatorYield: 'off',
      forwarderYield: 'on',
      zeroLoss: true,
      placement: 'forwarder+ovs',
    },
  );
  for (const [args, message] of [
    [['--rounds', '0'], /--rounds must be 1 to 100 rounds, got "0"/],
    [['--rounds', '1.5'], /--rounds must be 1 to 100 rounds/],
    [['--forwarder', 'go'], /--forwarder must be c, ts or native, got "go"/],
    [['--pmd-maxsleep', '-1'], /--pmd-maxsleep must be 0 to 10000 microseconds, got "-1"/],
    [['--generator-yield', 'sometimes'], /--generator-yield must be auto, on or off/],
    [['--forwarder-yield', 'never'], /--forwarder-yield must be auto, on or off, got "never"/],
    [['--placement', 'ovs+ovs'], /--placement must be generator\+forwarder, generator\+ovs, forwarder\+ovs/],
  ] as const) {
    let caught: unknown;
    try {
      parseLabOptions([...args]);
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof UsageError, `${args.join(' ')}: a UsageError (the lab prints its usage)`);
    t.match(caught, { message }, args.join(' '));
  }
  t.same(planCpus([0, 1]), { ovs: 0, generator: 1, forwarder: 1, generatorSharesOvsCpu: false }, 'the default');
  t.same(planCpus([0, 1], 'generator+ovs'), { ovs: 0, generator: 0, forwarder: 1, generatorSharesOvsCpu: true });
  t.same(planCpus([0, 1], 'generator+forwarder'), { ovs: 0, generator: 1, forwarder: 1, generatorSharesOvsCpu: false });
  t.same(planCpus([1, 0], 'forwarder+ovs'), { ovs: 0, generator: 1, forwarder: 0, generatorSharesOvsCpu: false });
  t.same(planCpus([0, 1, 2], 'forwarder+ovs'), { ovs: 0, generator: 1, forwarder: 2, generatorSharesOvsCpu: false });
});

t.test('the lab option --metrics (no DPDK)', async (t) => {
  t.match(parseLabOptions([]), { metrics: undefined }, 'no metrics unless asked');
  t.match(parseLabOptions(['--metrics', '127.0.0.1:9400']), { metrics: { host: '127.0.0.1', port: 9400 } });
  t.match(parseLabOptions(['--metrics=[::1]:65533']), { metrics: { host: '::1', port: 65533 } });
  for (const [args, message] of [
    [['--metrics'], /^--metrics needs a value$/],
    [['--metrics', '9400'], /^--metrics must be HOST:PORT with a port from 0 to 65535 .*, got "9400"$/],
    [
      ['--metrics', '127.0.0.1:0'],
      /^--metrics port must be 1 to 65533 \(the apps serve on it and the next 2\), got 0$/,
    ],
    [['--metrics', '127.0.0.1:65534'], /^--metrics port must be 1 to 65533 .*, got 65534$/],
  ] as const) {
    let caught: unknown;
    try {
      parseLabOptions([...args]);
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof UsageError, `${args.join(' ')}: a UsageError (the lab prints its usage)`);
    t.match(caught, { message }, args.join(' '));
  }
});

t.test('the lab in containers: both experiments and the chain', async (t) => {
  const report = await lab(t, ['--experiment', '1', '--experiment', '2', '--experiment', 'chain']);
  checkExact(t, report, ['experiment 1', 'experiment 2', 'service chain']);
  const { stdout } = await run('sh', [
    '-c',
    'docker -H unix:///run/dpdk-ts-lab/docker.sock ps -aq 2>/dev/null | wc -l',
  ]);
  t.equal(stdout.trim(), '0', 'no container left');
});

/** Listens on 127.0.0.1 at `count` ports in a row (from 20000 up); close them to free them. */
async function holdPorts(count: number): Promise<{ base: number; servers: Server[] }> {
  for (let base = 20000 + (process.pid % 1000) * 10; base < 65000; base += 10) {
    const servers: Server[] = [];
    for (let i = 0; i < count; i++) {
      // It answers nothing: the lab's own read of the app's metrics would find it.
      const server = createServer((socket) => socket.destroy());
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(base + i, '127.0.0.1', () => resolve(true));
      });
      if (!ok) break;
      servers.push(server);
    }
    if (servers.length === count) return { base, servers };
    await closeAll(servers);
  }
  throw new Error('no free ports');
}

async function closeAll(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
}

/** Reads `url` every 200 ms from when it first answers until it stops (2 minutes at most): the highest counts seen. */
async function watchMetrics(url: string): Promise<PortPacketCounts | undefined> {
  let highest: PortPacketCounts | undefined;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const text = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.text(),
      () => undefined,
    );
    if (text === undefined && highest !== undefined) break;
    if (text !== undefined) {
      const counts = portPacketCounts(text);
      highest = { rx: Math.max(counts.rx, highest?.rx ?? 0), tx: Math.max(counts.tx, highest?.tx ?? 0) };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return highest;
}

t.test('the lab with --metrics: each app serves its own, read over HTTP during the chain', async (t) => {
  const held = await holdPorts(3);
  await closeAll(held.servers);
  const served = new Map<string, { url: string; counts: Promise<PortPacketCounts | undefined> }>();
  const lines: string[] = [];
  const report = await lab(t, ['--experiment', 'chain', '--metrics', `127.0.0.1:${held.base}`], (line) => {
    lines.push(line);
    const match = /^lab: \[(\S+)\] serves its metrics at (\S+)$/.exec(line);
    if (match !== null) served.set(match[1], { url: match[2], counts: watchMetrics(match[2]) });
  });
  checkExact(t, report, ['service chain']);
  t.same([...served.keys()].sort(), ['ids', 'ips', 'pktgen'], 'the generator, the IPS and the detector serve metrics');
  t.same(
    [...served.values()].map((app) => app.url).sort(),
    [0, 1, 2].map((i) => `http://127.0.0.1:${held.base + i}/metrics`),
    'each on a port of its own from the base port',
  );
  const counts = Object.fromEntries(
    await Promise.all([...served].map(async ([name, app]) => [name, await app.counts] as const)),
  );
  t.same(
    counts,
    { pktgen: { rx: 200, tx: 300 }, ips: { rx: 300, tx: 200 }, ids: { rx: 300, tx: 0 } },
    "the apps' metrics, read from the host while they ran, count what the lab counted",
  );
  t.same(
    report.experiments[0].counted?.checks.filter((check) => check.what.includes('metrics')),
    [
      { what: "the IPS's metrics: its ports received 300 and sent 200", ok: true },
      { what: "the detector's metrics: its port received 300", ok: true },
    ],
    "the lab checked the apps' metrics against its own count",
  );
  t.ok(
    lines.includes('lab: [ips] metrics: its ports received 300 and sent 200 packets'),
    'the lab prints what it read',
  );
});

t.test('the lab with --metrics at a port in use: the app says so', async (t) => {
  const held = await holdPorts(1);
  t.teardown(() => closeAll(held.servers));
  const report = await lab(t, ['--experiment', 'chain', '--metrics', `127.0.0.1:${held.base}`]);
  t.notOk(report.pass, 'the lab reports FAIL');
  t.match(
    report.experiments[0].error,
    /^ips exited before OVS saw it connected:[\s\S]*ips: .*127\.0\.0\.1.*already in use/,
    "the IPS's own message, in the lab's error",
  );
});
