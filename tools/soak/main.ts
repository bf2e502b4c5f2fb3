/**
 * `npm run soak -- --minutes N`: the lab's experiment 1 topology (generator -> OVS -> the
 * dpdk-ts native forwarder -> OVS -> generator, in containers) under steady traffic for N
 * minutes, with ovs-vswitchd killed and started again every few minutes (the lab's
 * `--fault ovs-restart`, flows reinstalled by a FlowKeeper). Every few seconds it samples
 * each process's resident memory (/proc; the Node apps' also right after a full garbage
 * collection, collected-memory.ts), each app's mbufs in use and packet counters
 * (their `--metrics`); the generator samples what it sent and received every 50 ms. It
 * ends with a verdict (verdict.ts: memory flat, every mbuf back, every packet forwarded or
 * lost within a restart's window), the samples as JSON and a chart of them.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../examples/app.js';
import { readTimelineFile, type PktgenReport } from '../../examples/pktgen/report.js';
import { DpdkError } from '../../lib/errors.js';
import { FlowKeeper } from '../../lib/ovs/openflow/flow-keeper.js';
import { chartPath } from '../charts/index.js';
import { renderSvg } from '../charts/render.js';
import { generatorArgs } from '../lab/app-args.js';
import { mbufsInUse, portPacketCounts, scrapeMetrics, virtioQueueSize } from '../lab/app-metrics.js';
import { forwarderPorts, generatorPorts, referenceFlows, referencePorts, yields } from '../lab/experiments.js';
import { accountFaults } from '../lab/fault-figures.js';
import { faultForwarder, restartDaemon, startForwarder } from '../lab/faults.js';
import { Lab, log, type StartedApp } from '../lab/lab.js';
import { probePath } from '../lab/probe-path.js';
import { parseLabOptions, type LabOptions } from '../lab/options.js';
import { soakChartSpec } from './chart.js';
import { collectedMemory, installMemoryProbe, memoryFile, memoryProbeEnv } from './collected-memory.js';
import {
  accountDrops,
  appDropCounters,
  cpuWaitMs,
  dropIncreases,
  ovsStatisticsDrops,
  type DropCounters,
} from './drops.js';
import { mbufBalances, memoryTrends, soakVerdict, type SoakSample, type SoakVerdict } from './verdict.js';

const usage = `usage: npm run soak -- [options]
  --minutes N             how long traffic flows (default 5; fractions allowed, e.g. 0.5)
  --restart-every S       kill ovs-vswitchd (SIGKILL) and start it again every S seconds
                          (default 120; none in the last 15 s)
  --sample-every S        sample memory, mbufs and counters every S seconds (default 5)
  --pps N                 each generator port's rate, packets per second (default 2000: a
                          rate whose rings outlast the pollers' waits for a shared CPU)
  --metrics-port P        the apps serve their metrics on 127.0.0.1:P and P+1 (default 9460)
  --json PATH             where the samples and the verdict go (default soak-results.json;
                          the chart beside it, PATH without .json + -samples.svg)
  -h, --help              this text`;

/**
 * Each generator port's rate unless told. On 2 CPUs shared by three busy pollers (and
 * other work), a soak of minutes meets the longest time a poller waits for its CPU, and a
 * packet is lost when that wait outlasts the poller's rx ring (256 descriptors): 12.8 ms
 * at 20000 pps, 128 ms at 2000. Measured (README, "Reliability"): the path's zero-loss
 * rate in 1 s trials was 43000 pps per port, yet at 20000 a 3-minute soak lost 10080
 * packets outside the restarts (OVS's tx_dropped into the forwarder's full rx rings, the
 * forwarder waiting for its CPU); at 2000 no drop counter rose outside them. With the
 * generator no longer catching up in bursts, a 4-minute soak at 20000 passed, 1456 packets
 * still dropped that way (counted, so accounted for).
 */
const defaultPps = 2000;

/** What the command line asks for. */
interface SoakOptions {
  minutes: number;
  restartEveryS: number;
  sampleEveryS: number;
  pps: number;
  metricsPort: number;
  jsonPath: string;
}

/** The generator's report file, and its timeline's, in the socket directory. */
const reportFile = 'soak-pktgen.json';
const timelineFile = 'soak-timeline.ndjson';

/** The generator's sampling interval (its `--timeline`): the outages' resolution. */
const timelineMs = 50;

function number(option: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(value) || value < min || value > max)
    throw new UsageError(`${option} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}

function parseSoakOptions(argv: string[]): SoakOptions | 'help' {
  const options: SoakOptions = {
    minutes: 5,
    restartEveryS: 120,
    sampleEveryS: 5,
    pps: defaultPps,
    metricsPort: 9460,
    jsonPath: 'soak-results.json',
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const value = (): string | undefined => inline ?? argv[++i];
    if (name === '-h' || name === '--help') return 'help';
    else if (name === '--minutes') options.minutes = number(name, value(), 0.25, 1440);
    else if (name === '--restart-every') options.restartEveryS = number(name, value(), 10, 86400);
    else if (name === '--sample-every') options.sampleEveryS = number(name, value(), 1, 600);
    else if (name === '--pps') options.pps = Math.round(number(name, value(), 1, 14_880_952));
    else if (name === '--metrics-port') options.metricsPort = Math.round(number(name, value(), 1, 65534));
    else if (name === '--json') options.jsonPath = value() ?? '';
    else throw new UsageError(`unknown option ${JSON.stringify(argv[i])}`);
  }
  if (options.jsonPath === '') throw new UsageError('--json needs a path');
  return options;
}

/**
 * The machine's load averages over 1, 5 and 15 minutes (/proc/loadavg): on a machine shared
 * with other work, how busy its CPUs were says how long the pollers may have waited.
 */
function loadAverages(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

/** Resident memory of `pid` in KiB (VmRSS), or undefined when it is gone. */
function rssKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * The host pid of the dpdk-ts example `example` running with EAL `--file-prefix prefix`,
 * in a container or not (a container's processes are the host's too).
 */
function examplePid(example: string, prefix: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const prefixAt = argv.indexOf('--file-prefix');
    if (argv.some((arg) => arg.endsWith(`/dist/examples/${example}.js`)) && argv[prefixAt + 1] === prefix)
      return Number(entry);
  }
  return undefined;
}

/** One sample: every process's RSS, and each app's mbufs in use and packet counters. */
async function takeSample(lab: Lab, atMs: number, apps: Record<string, StartedApp>): Promise<SoakSample> {
  const sample: SoakSample = { atMs, rssKiB: {}, mbufsInUse: {}, packets: {}, drops: {}, cpuWaitMs: {} };
  const drops: DropCounters = sample.drops!;
  const nodeApps: Record<string, number | undefined> = {
    pktgen: examplePid('pktgen', 'pktgen'),
    forwarder: examplePid('testpmd', 'testpmd'),
  };
  const pids: Record<string, number | undefined> = {
    'ovs-vswitchd': lab.ovs.pid('ovs-vswitchd'),
    'ovsdb-server': lab.ovs.pid('ovsdb-server'),
    ...nodeApps,
  };
  for (const [name, pid] of Object.entries(pids)) {
    const kiB = pid === undefined ? undefined : rssKiB(pid);
    if (kiB !== undefined) sample.rssKiB[`${name} ${pid}`] = kiB;
    const collected =
      pid === undefined || !(name in nodeApps)
        ? undefined
        : await collectedMemory(pid, memoryFile(lab.socketDir, name));
    if (collected !== undefined) (sample.collected ??= {})[`${name} ${pid}`] = collected;
    const waitMs =
      pid === undefined
        ? undefined
        : cpuWaitMs(
            pid,
            (path) => readFileSync(path, 'utf8'),
            (path) => readdirSync(path),
          );
    if (waitMs !== undefined) sample.cpuWaitMs![`${name} ${pid}`] = waitMs;
  }
  for (const [name, app] of Object.entries(apps)) {
    if (app.metricsUrl === undefined) continue;
    try {
      const text = await scrapeMetrics(app.metricsUrl);
      sample.mbufsInUse[name] = mbufsInUse(text);
      sample.packets[name] = portPacketCounts(text);
      Object.assign(drops, appDropCounters(name, text));
    } catch (error) {
      log(`soak: ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // OVS's own counts, read now through OpenFlow, and the breakdown of its OVSDB statistics
  // (which it refreshes every 5 s); none while ovs-vswitchd is down.
  try {
    for (const port of (await lab.ovsCounters(referencePorts)).ports) {
      drops[`OVS ${port.name} tx_dropped (OpenFlow)`] = port.txDropped ?? 0;
      drops[`OVS ${port.name} rx_dropped (OpenFlow)`] = port.rxDropped ?? 0;
    }
  } catch {
    // ovs-vswitchd is restarting.
  }
  for (const name of referencePorts) {
    try {
      Object.assign(drops, ovsStatisticsDrops(name, lab.vswitch.interface(name).statistics));
    } catch {
      // The interface is not in the replica yet.
    }
  }
  return sample;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The soak run: set up, traffic with restarts and samples, the verdict. */
async function soak(
  lab: Lab,
  options: SoakOptions,
): Promise<{ verdict: SoakVerdict; samples: SoakSample[]; restartsMs: number[] }> {
  await lab.setUp();
  installMemoryProbe(lab.socketDir);
  await lab.topology(referencePorts, referenceFlows);
  const keeper = new FlowKeeper(lab.openflowTarget, referenceFlows, { keepaliveMs: 1000 });
  try {
    const forwarder = faultForwarder(lab);
    const apps: Record<string, StartedApp> = {};
    apps.forwarder = await startForwarder(lab, forwarder, `${forwarder.name}-soak`, (paths) =>
      memoryProbeEnv(paths, 'forwarder'),
    );
    const cpu = lab.cpus.generator;
    apps.pktgen = await lab.start({
      name: 'pktgen-soak',
      program: { example: 'pktgen' },
      cpu,
      interactive: true,
      env: (paths) => memoryProbeEnv(paths, 'pktgen'),
      args: (paths) => [
        ...generatorArgs(lab.appEal(paths, cpu, 'pktgen', generatorPorts), {
          commands: `set all pps ${options.pps}`,
          sharedCpu: yields(lab, 'generator'),
          lingerMs: 0,
        }),
        '--timeline',
        String(timelineMs),
        // The timeline's samples (one every 50 ms) go to a file as they are taken, not into
        // the generator's memory, and its report to another; both in the socket directory,
        // the one the container may write that the host reads.
        '--timeline-file',
        join(paths.socketDir, timelineFile),
        '--json',
        join(paths.socketDir, reportFile),
      ],
    });
    const generator = apps.pktgen;
    await lab.waitConnected(
      generatorPorts.map((port) => port.socket),
      [generator],
    );
    // OVS says a port is connected before it sends there: the run starts once the path
    // delivers (a fixed delay lost packets in the first second on a loaded machine).
    const connectedAt = Date.now();
    const probe = await probePath(generator);
    log(`soak: ${probe} (${Date.now() - connectedAt} ms after OVS saw every port connected)`);
    const before = await takeSample(lab, 0, apps);
    generator.runner.write('str\n');
    const start = Date.now();
    const durationMs = options.minutes * 60_000;
    log(
      `soak: ${options.minutes} min at ${options.pps} pps per port, ovs-vswitchd restarted every ${options.restartEveryS} s, ` +
        `samples every ${options.sampleEveryS} s`,
    );
    const samples: SoakSample[] = [];
    let sampling = true;
    const sampler = (async () => {
      for (let next = start; sampling; next += options.sampleEveryS * 1000) {
        await sleep(next - Date.now());
        if (!sampling) break;
        const sample = await takeSample(lab, Date.now() - start, apps);
        samples.push(sample);
      }
    })();
    const restarts: number[] = [];
    try {
      for (let at = options.restartEveryS * 1000; at < durationMs - 15_000; at += options.restartEveryS * 1000) {
        await sleep(start + at - Date.now());
        restarts.push(Date.now());
        log(`soak: ${((Date.now() - start) / 1000).toFixed(1)} s: restarting ovs-vswitchd`);
        await restartDaemon(lab, 'ovs-vswitchd', (what) => log(`soak: ${what}`));
        await keeper.waitInstalled({ timeoutMs: 30_000 });
        // OVS's vhost status is a sign, not the truth (faults.ts): it was seen to leave ports
        // "disconnected" for good while packets flowed. The generator's samples say whether
        // traffic resumed, and the verdict judges that.
        await lab.waitConnected(referencePorts, [generator, apps.forwarder]).then(
          () => log(`soak: ${((Date.now() - start) / 1000).toFixed(1)} s: flows reinstalled, every port connected`),
          (error: unknown) =>
            log(`soak: ${((Date.now() - start) / 1000).toFixed(1)} s: OVS's status: ${(error as Error).message}`),
        );
      }
      await sleep(start + durationMs - Date.now());
    } finally {
      // The sampler stops however the run ends.
      sampling = false;
      await sampler;
    }
    generator.runner.write('stp\n');
    // What was in flight arrives or is dropped; the rings are refilled.
    await sleep(2000);
    const after = await takeSample(lab, Date.now() - start, apps);
    generator.runner.write('quit\n');
    await generator.runner.wait();
    let report: PktgenReport | undefined;
    try {
      report = JSON.parse(readFileSync(join(lab.socketDir, reportFile), 'utf8')) as PktgenReport;
    } catch (error) {
      log(
        `soak: the generator's report: ${(error as Error).message}; its last lines:\n${generator.lines.slice(-20).join('\n')}`,
      );
    }
    if (report?.timeline === undefined)
      throw new DpdkError('the generator ended without its report', { code: 'ERR_LAB', operation: 'soak' });
    try {
      if (report.timeline.file === undefined)
        throw new Error('the report carries the samples: the generator was not given --timeline-file');
      report.timeline = readTimelineFile(readFileSync(join(lab.socketDir, timelineFile), 'utf8'));
    } catch (error) {
      throw new DpdkError(
        `the generator's timeline (${JSON.stringify(report.timeline)}): ${(error as Error).message}; ` +
          `the socket directory holds ${readdirSync(lab.socketDir).join(', ')}`,
        { code: 'ERR_LAB', operation: 'soak' },
      );
    }
    await lab.stop(apps.forwarder);
    await lab.stop(generator);
    const sent = report.ports.reduce((sum, port) => sum + port.sent, 0);
    const received = report.ports.reduce((sum, port) => sum + port.received, 0);
    const timeline = report.timeline;
    const packets = accountFaults(
      timeline,
      restarts.map((at) => at - timeline.startedAtMs),
      sent,
      received,
    );
    // Where the packets lost outside the restarts' windows went: the drop counters'
    // increases between samples that overlap no window (windows on the soak's clock).
    const offsetMs = start - timeline.startedAtMs;
    const windows = packets.windows.map((window) =>
      window.window === null
        ? { fromMs: window.faultAtMs - offsetMs, toMs: window.faultAtMs - offsetMs }
        : { fromMs: window.window.fromMs - offsetMs, toMs: window.window.toMs - offsetMs },
    );
    const increases = dropIncreases(
      [before, ...samples, after].map((each) => ({ atMs: each.atMs, drops: each.drops ?? {} })),
    );
    const verdict = soakVerdict(
      memoryTrends(samples),
      mbufBalances(before, samples, after, {
        pktgen: generatorPorts.length * virtioQueueSize,
        forwarder: forwarderPorts.length * virtioQueueSize,
      }),
      packets,
      accountDrops(increases, windows),
    );
    return { verdict, samples, restartsMs: restarts.map((at) => at - start) };
  } finally {
    await keeper.close();
  }
}

/** The verdict as lines of text; `samples` say how long the pollers waited for a CPU. */
function verdictLines(verdict: SoakVerdict, samples: readonly SoakSample[]): string[] {
  // How long each process waited for a CPU between two sample times (ms, its threads summed).
  const cpuWaitText = (fromMs: number, toMs: number): string => {
    const from = samples.find((sample) => sample.atMs >= fromMs);
    const to = [...samples].reverse().find((sample) => sample.atMs <= toMs);
    if (from === undefined || to === undefined || to.atMs <= from.atMs) return '';
    const waits = Object.entries(to.cpuWaitMs ?? {})
      .filter(([process]) => from.cpuWaitMs?.[process] !== undefined)
      .map(([process, ms]) => `${process.split(' ')[0]} ${ms - (from.cpuWaitMs?.[process] ?? 0)} ms`);
    return waits.length === 0
      ? ''
      : ` (waiting for a CPU from ${(from.atMs / 1000).toFixed(1)} to ${(to.atMs / 1000).toFixed(1)} s: ${waits.join(', ')})`;
  };
  const mib = (kiB: number | null): string => (kiB === null ? '-' : `${(kiB / 1024).toFixed(1)} MiB`);
  // A Node app's RSS as it is and its live JavaScript heap, first sample to last: what its
  // garbage collections leave for later, and what they keep.
  const firstAndLast = (read: (sample: SoakSample) => number | undefined): string => {
    const values = samples.map(read).filter((value): value is number => value !== undefined);
    return values.length === 0 ? '' : `${mib(values[0])} -> ${mib(values[values.length - 1])}`;
  };
  const rawRssText = (process: string): string =>
    samples.some((sample) => sample.collected?.[process] !== undefined)
      ? `; RSS as it is ${firstAndLast((sample) => sample.rssKiB[process])}`
      : '';
  const liveHeapText = (process: string): string => {
    const span = firstAndLast((sample) => sample.collected?.[process]?.heapUsedKiB);
    return span === '' ? '' : `; live heap ${span}`;
  };
  const p = verdict.packets;
  return [
    `memory ${verdict.memoryFlat ? 'flat' : 'GROWS'} (a process may grow by max(4 MiB, 5%) from the median of its first quarter to that of its last, after 30 s of warm-up; ` +
      `a Node app's RSS is read right after a full garbage collection):`,
    ...verdict.memory.map(
      (trend) =>
        `  ${trend.process}: ${trend.measure === 'rss' ? 'RSS' : 'RSS after a full GC'} ${mib(trend.startKiB)} -> ${mib(trend.endKiB)}` +
        (trend.flat === null ? ' (too short to judge)' : trend.flat ? ' flat' : ' GROWS') +
        rawRssText(trend.process) +
        liveHeapText(trend.process),
    ),
    `mbufs ${verdict.everyMbufBack ? 'all back' : 'NOT all back'} (in use after the traffic stopped, against before it started ` +
      `and what its tx queues may hold until their next send):`,
    ...verdict.mbufs.map(
      (balance) =>
        `  ${balance.app}: ${balance.before} before, ${balance.after} after (at most ${balance.before} + ${balance.txHeld}), ` +
        `${balance.peak} at most during`,
    ),
    `packets ${verdict.everyPacketAccounted ? 'all accounted for' : 'NOT all accounted for'}: sent ${p.sent}, received ${p.received}, ` +
      `lost ${p.lost}: ${p.lostInWindows} within the restarts' windows, ${p.lostOutside} outside them (± ${p.tolerance} in flight at their edges)`,
    ...p.windows.map(
      (window, k) =>
        `  restart ${k + 1} at ${(window.faultAtMs / 1000).toFixed(1)} s: ` +
        (window.outageMs === null
          ? 'traffic never resumed'
          : `outage ${window.outageMs} ms, ${window.lostDuring} lost`),
    ),
    ...(verdict.drops === undefined
      ? []
      : [
          `  of the ${p.lostOutside} lost outside the windows, ${verdict.drops.outsideTotal} were counted dropped on the path, ` +
            `${verdict.unexplained} by no counter (± ${p.tolerance}):`,
          ...verdict.drops.outsideIncreases.map(
            (increase) =>
              `    ${increase.counter}: ${increase.packets} between ${(increase.fromMs / 1000).toFixed(1)} s and ${(increase.toMs / 1000).toFixed(1)} s` +
              cpuWaitText(increase.fromMs, increase.toMs),
          ),
        ]),
    `soak: ${verdict.pass ? 'PASS' : 'FAIL'}`,
  ];
}

async function main(): Promise<number> {
  let options: SoakOptions | 'help';
  try {
    options = parseSoakOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`soak: ${error.message}\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    log(usage);
    return 0;
  }
  const labOptions = parseLabOptions(['--metrics', `127.0.0.1:${options.metricsPort}`]) as LabOptions;
  const lab = new Lab({ ...labOptions, jsonPath: options.jsonPath });
  const onSignal = (): void => {
    log('\nsoak: interrupted: cleaning up');
    void lab.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const load = { start: loadAverages(), end: [] as number[] };
    const { verdict, samples, restartsMs } = await soak(lab, options);
    load.end = loadAverages();
    writeFileSync(
      options.jsonPath,
      JSON.stringify({ date: new Date().toISOString(), options, load, verdict, restartsMs, samples }, null, 2),
    );
    log(`soak: load averages (1, 5, 15 min): ${load.start.join(', ')} at the start, ${load.end.join(', ')} at the end`);
    log(verdictLines(verdict, samples).join('\n'));
    const svg = chartPath(options.jsonPath, 'samples');
    writeFileSync(svg, await renderSvg(soakChartSpec(samples, restartsMs)));
    log(`soak: results in ${options.jsonPath}, chart ${svg}`);
    return verdict.pass ? 0 : 1;
  } finally {
    await lab.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`soak: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
