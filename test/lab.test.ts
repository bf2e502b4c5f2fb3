import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { UsageError } from '../examples/app.js';
import type { PktgenReport, SearchReport } from '../examples/pktgen/report.js';
import { chartPath } from '../tools/charts/index.js';
import { roundFigures, spread, summarize } from '../tools/lab/comparison.js';
import { planCpus } from '../tools/lab/cpu-plan.js';
import type { FaultResult } from '../tools/lab/faults.js';
import { portPacketCounts, type PortPacketCounts } from '../tools/lab/app-metrics.js';
import { parseLabOptions } from '../tools/lab/options.js';

const run = promisify(execFile);
const root = join(__dirname, '..');

interface LabReport {
  pass: boolean;
  experiments: {
    name: string;
    pass: boolean;
    error?: string;
    counted?: {
      generator: { ports: { port: number; sent: number; received: number }[] };
      checks: { what: string; ok: boolean }[];
    };
    apps: Record<string, { rx?: number; matched?: number; passed?: number } | undefined>;
    forwarders?: {
      kind: string;
      label: string;
      error?: string;
      counted?: { generator: { ports: { port: number; sent: number; received: number }[] } };
      rounds: { receivedMpps: number; offeredMpps: number; zeroLoss: { trials: number } | null }[];
      summary: {
        zeroLossMpps: { median: number } | null;
        receivedMpps: { median: number };
        offeredMpps: { median: number };
        loss: { median: number };
        ratioToC: { median: number; min: number; max: number } | null;
      } | null;
    }[];
    fault?: FaultResult;
  }[];
}

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

function leftovers(): string[] {
  const found: string[] = [];
  for (const dir of ['/dev/hugepages', '/var/run/dpdk']) {
    if (existsSync(dir)) found.push(...readdirSync(dir).map((name) => `${dir}/${name}`));
  }
  return found;
}

/** Runs `npm run lab`'s program with `args` and returns its JSON report; `onLine` sees each line it prints as it comes. */
async function lab(t: Test, args: string[], onLine?: (line: string) => void): Promise<LabReport> {
  const json = join(tmpdir(), `lab-${process.pid}-${Date.now()}.json`);
  // The lab draws its charts beside the JSON.
  t.teardown(() => {
    for (const path of [json, chartPath(json, 'rate'), chartPath(json, 'latency')]) rmSync(path, { force: true });
  });
  const before = new Set(leftovers());
  const running = run(
    process.execPath,
    ['--import', 'tsx', join(root, 'tools/lab/main.ts'), ...args, '--duration', '2', '--rounds', '1', '--json', json],
    { cwd: root, timeout: 900_000, maxBuffer: 64 << 20 },
  );
  const stdout = running.child.stdout;
  if (onLine !== undefined && stdout !== null) createInterface({ input: stdout }).on('line', onLine);
  const result = await running.catch((error: { stdout: string; stderr: string; code: number }) => error);
  const report = JSON.parse(readFileSync(json, 'utf8')) as LabReport;
  if (!report.pass) t.comment(`${result.stdout}\n${result.stderr}`);
  t.same(
    leftovers().filter((path) => !before.has(path)),
    [],
    'no hugepage files or DPDK runtime dirs left behind',
  );
  const { stdout: processes } = await run('ps', ['-eo', 'args']);
  t.notMatch(
    processes,
    /ovs-vswitchd-dpdk unix:\/tmp\/ovs|dist\/examples\/(pktgen|testpmd|l2fwd|ips)\.js|dpdk-testpmd|l2fwd-c\/build/,
    'no OVS daemon or app left running',
  );
  return report;
}

function checkExact(t: Test, report: LabReport, names: string[], zeroLoss = false): void {
  t.ok(report.pass, 'the lab reports PASS');
  t.same(
    report.experiments.map((experiment) => experiment.name.split(':')[0]),
    names,
  );
  for (const experiment of report.experiments) {
    t.ok(experiment.pass, `${experiment.name}: PASS${experiment.error === undefined ? '' : ` (${experiment.error})`}`);
    const ports = experiment.counted?.generator.ports ?? [];
    if (experiment.name.startsWith('service chain')) {
      t.match(
        ports,
        [
          { port: 0, sent: 300, received: 0 },
          { port: 1, sent: 0, received: 200 },
        ],
        'chain: 300 sent, 200 passed the IPS',
      );
      t.match(
        experiment.apps,
        { ips: { rx: 300, matched: 100, passed: 200 }, ids: { rx: 300, matched: 100 } },
        'chain: drops and mirrored copies add up',
      );
    } else {
      t.match(
        ports,
        [
          { port: 0, sent: 100, received: 200 },
          { port: 1, sent: 200, received: 100 },
        ],
        `${experiment.name}: exact counts`,
      );
      const forwarders = experiment.forwarders ?? [];
      t.same(
        forwarders.map((forwarder) => forwarder.kind),
        ['c', 'ts', 'native'],
        `${experiment.name}: DPDK's C app, the TypeScript loop and the native engine side by side`,
      );
      for (const forwarder of forwarders) {
        const what = `${experiment.name}: ${forwarder.label}`;
        t.equal(forwarder.error, undefined, `${what}: no error`);
        t.match(
          forwarder.counted?.generator.ports,
          [
            { port: 0, sent: 100, received: 200 },
            { port: 1, sent: 200, received: 100 },
          ],
          `${what}: exact counts`,
        );
        t.equal(forwarder.rounds.length, 1, `${what}: one full-rate round`);
        // Sanity only: speed is compared by the lab's figures, never asserted here.
        t.ok((forwarder.summary?.receivedMpps.median ?? 0) > 0, `${what}: received packets at full rate`);
        t.ok((forwarder.summary?.offeredMpps.median ?? 0) > 0, `${what}: offered packets at full rate`);
        const loss = forwarder.summary?.loss.median ?? -1;
        t.ok(loss >= 0 && loss <= 1, `${what}: loss is a fraction`);
        t.ok((forwarder.summary?.ratioToC?.median ?? 0) > 0, `${what}: a ratio to the C forwarder`);
        if (zeroLoss) {
          // A rate, not a speed: the search ran its trials and reported what it found.
          const search = forwarder.rounds[0]?.zeroLoss;
          t.ok(search !== null && search !== undefined && search.trials > 0, `${what}: a zero-loss search ran`);
          t.ok((forwarder.summary?.zeroLossMpps?.median ?? -1) >= 0, `${what}: a zero-loss rate`);
        }
      }
    }
  }
}

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

t.test('the lab with --no-containers and --zero-loss', async (t) => {
  checkExact(
    t,
    await lab(t, ['--no-containers', '--zero-loss']),
    ['experiment 1', 'experiment 2', 'service chain'],
    true,
  );
});

t.test('the lab with --no-huge, and OVS serving the sockets (--vhost-mode server)', async (t) => {
  checkExact(
    t,
    await lab(t, [
      '--no-containers',
      '--no-huge',
      '--vhost-mode',
      'server',
      '--experiment',
      '1',
      '--experiment',
      'chain',
    ]),
    ['experiment 1', 'service chain'],
  );
});

t.test('Ctrl-C in the middle of a run stops everything the lab started', async (t) => {
  const before = new Set(leftovers());
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'tools/lab/main.ts'),
      '--no-containers',
      '--experiment',
      '1',
      '--duration',
      '60',
      '--json',
      join(tmpdir(), `lab-int-${process.pid}.json`),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const deadline = Date.now() + 120_000;
  while (!/full-rate run for 60 s/.test(output) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  child.kill('SIGINT');
  t.equal(await exited, 130, 'exits with 130 after cleaning up');
  t.match(output, /lab: interrupted: cleaning up/);
  t.same(
    leftovers().filter((path) => !before.has(path)),
    [],
    'no hugepage files or DPDK runtime dirs left behind',
  );
  const { stdout: processes } = await run('ps', ['-eo', 'args']);
  t.notMatch(
    processes,
    /ovs-vswitchd-dpdk unix:\/tmp\/ovs|dist\/examples\/(pktgen|testpmd|l2fwd|ips)\.js|dpdk-testpmd|l2fwd-c\/build/,
    'no OVS daemon or app left running',
  );
});

t.test('the lab with --fault ovs-restart: traffic stops, the flows come back, traffic resumes', async (t) => {
  const report = await lab(t, ['--fault', 'ovs-restart', '--fault-pps', '20000']);
  t.same(
    report.experiments.map((experiment) => experiment.name),
    ['fault ovs-restart: experiment 1 at 20000 pps per port'],
  );
  const fault = report.experiments[0].fault;
  if (fault === undefined) {
    t.fail(`no fault figures: ${report.experiments[0].error}`);
    return;
  }
  const figures = fault.figures;
  // Figures, not speeds: OVS down for a second stops traffic for about that long or more.
  t.ok(
    (figures.outageMs ?? 0) >= 500 && (figures.outageMs ?? Infinity) < 20_000,
    `an outage of ${figures.outageMs} ms`,
  );
  t.ok(figures.lostDuring > 0, 'packets were lost in the outage');
  t.equal(figures.lostBefore + figures.lostDuring + figures.lostAfter, figures.lost);
  t.equal(figures.sent - figures.received, figures.lost);
  const at = (what: RegExp): number => fault.events.find((event) => what.test(event.what))?.atMs ?? Number.NaN;
  t.ok(at(/ovs-vswitchd started again/) > at(/^fault/), 'ovs-vswitchd was started again after the kill');
  t.ok(
    fault.events.some((event) => event.what === 'flows installed (FlowKeeper)' && event.atMs > at(/started again/)),
    'the FlowKeeper reinstalled the flows',
  );
  t.ok(
    figures.window !== null && figures.window.fromMs >= at(/^fault/) - figures.intervalMs,
    'the window starts at the fault',
  );
  t.match(
    fault.checks.filter((check) => !check.what.startsWith('nothing lost')),
    [
      { what: /^the socket directory is 0700 and no socket is world-writable/, ok: true },
      { what: 'traffic resumed on every port', ok: true },
      { what: 'no packet received twice (received <= sent)', ok: true },
      { what: 'the generator and the forwarder stayed up', ok: true },
    ],
  );
});
