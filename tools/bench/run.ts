/**
 * Forwarding benchmark: DPDK's own dpdk-testpmd against dpdk-ts (examples/testpmd.ts with
 * its TypeScript loop, with the native Engine, and with the native Engine filtering through
 * an IPS's rules) on the same topology, cores and command line, in one run.
 *
 *   1. Two net_null ports, one forwarding core: EAL lcores 0@0,1@1, forwarding on lcore 1
 *      (`null`); also in io mode (`io`), which touches no packet: what the SDK's bursts
 *      cost on their own.
 *   2. virtio-user <-> vhost-user across two processes (`vhost`): a traffic source
 *      (dpdk-testpmd flowgen on two virtio-user ports, CPU 0) feeds the forwarder under
 *      test (two net_vhost ports, forwarding on CPU 1).
 *   3. A burst-size sweep on topology 1.
 *
 * Every forwarder runs macswap (unless io is named) on 64-byte packets and prints testpmd's periodic port
 * statistics (`--stats-period 1`); the rate is the forwarder's transmitted packets per
 * second between two statistics blocks `--seconds` apart, after `--warmup`.
 *
 * Topologies 1 and 2 run `--rounds` times (7 by default), the forwarders taking
 * turns in each round (each round starting with the next one), so that other load on the
 * machine weighs on all three alike; each forwarder's median, interquartile range and best
 * round are reported, with the load average and the pollers' CPU shares of every round.
 *
 *   node --import tsx tools/bench/run.ts [--seconds 3] [--warmup 1] [--rounds 7] [--sweep-seconds 2] [--no-sweep]
 *     [--topologies null,io,vhost]
 *
 * Writes tools/bench/results/latest.json, tools/bench/results/latest.md and the charts beside them
 * (latest-rate.svg, latest-sweep.svg; `npm run charts -- FILE.json` draws them again from a saved result).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { writeCharts } from '../charts/index.js';
import { DpdkProcess, killAll, repoRoot, shutdown, socketDirectory, uniquePrefix, waitForFile } from './processes.js';
import {
  forwarders,
  markdown,
  summarize,
  type BenchReport,
  type ForwarderKind,
  type Measurement,
  type Sample,
} from './report.js';

const testpmdBinary = '/usr/bin/dpdk-testpmd';
const resultsDir = join(__dirname, 'results');
const sweepBursts = [1, 4, 8, 16, 32, 64, 128, 256];
const mainBurst = 32;
/**
 * The native filter's rules: an IPS's drops that the generated traffic (UDP, ports other than
 * 6666) does not match, so that every packet is tried against all of them, then a pass. On
 * net_null, whose packets are not IPv4, the filter finds that and passes them by default.
 */
const filterRules = ['--filter-drop=tcp', '--filter-drop=udp,tp_dst=6666', '--filter-drop=icmp', '--filter-pass=udp'];

/** The topologies `--topologies` can name, in the order they run. */
const topologyNames = ['null', 'io', 'vhost'] as const;
type TopologyName = (typeof topologyNames)[number];

/** Benchmark settings from the command line. */
interface BenchOptions {
  /** Measurement window of topologies 1 and 2, in seconds. */
  seconds: number;
  /** Forwarding time before the window opens, in seconds. */
  warmup: number;
  /** How many times topologies 1 and 2 are measured. */
  rounds: number;
  /** Measurement window of each burst-sweep point, in seconds. */
  sweepSeconds: number;
  /** Whether to run the burst sweep. */
  sweep: boolean;
  /** Which of topologies 1 and 2 to run. */
  topologies: TopologyName[];
}

const usage =
  'usage: tools/bench/run.ts [--seconds N (default 3)] [--warmup N (default 1)] [--rounds N (default 7)] ' +
  `[--sweep-seconds N (default 2)] [--no-sweep] [--topologies ${topologyNames.join(',')} (default: all)]`;

function parseOptions(args: string[]): BenchOptions {
  const options: BenchOptions = {
    seconds: 3,
    warmup: 1,
    rounds: 7,
    sweepSeconds: 2,
    sweep: true,
    topologies: [...topologyNames],
  };
  for (let i = 0; i < args.length; i++) {
    const [name, attached] = args[i].split('=', 2);
    if (name === '--no-sweep') {
      options.sweep = false;
      continue;
    }
    if (name === '-h' || name === '--help') {
      console.log(usage);
      process.exit(0);
    }
    if (name === '--topologies') {
      const text = attached ?? args[++i] ?? '';
      const names = text.split(',');
      const unknown = names.filter((topology) => !(topologyNames as readonly string[]).includes(topology));
      if (unknown.length > 0 || text === '') {
        throw new Error(`--topologies takes a list of ${topologyNames.join(', ')}, got '${text}'`);
      }
      options.topologies = topologyNames.filter((topology) => names.includes(topology));
      continue;
    }
    const keys: Record<string, 'seconds' | 'warmup' | 'rounds' | 'sweepSeconds'> = {
      '--seconds': 'seconds',
      '--warmup': 'warmup',
      '--rounds': 'rounds',
      '--sweep-seconds': 'sweepSeconds',
    };
    const key = keys[name];
    if (key === undefined) throw new Error(`unknown option '${args[i]}'\n${usage}`);
    const text = attached ?? args[++i];
    const value = Number(text);
    const min = key === 'warmup' ? 0 : 1;
    const max = key === 'rounds' ? 20 : 600;
    if (text === undefined || !Number.isInteger(value) || value < min || value > max) {
      throw new Error(
        `${name} must be a whole number from ${min} to ${max}, got ${text === undefined ? 'nothing' : `'${text}'`}`,
      );
    }
    options[key] = value;
  }
  return options;
}

/** EAL arguments shared by every process: no files left behind, no telemetry socket. */
function commonEal(lcores: string, prefix: string): string[] {
  return [
    '--lcores',
    lcores,
    '--no-pci',
    '--in-memory',
    '--single-file-segments',
    '--no-telemetry',
    '--file-prefix',
    prefix,
  ];
}

/** The testpmd application arguments both testpmd and examples/testpmd.ts take. */
function forwarderApp(mode: string, burst: number): string[] {
  return [
    `--forward-mode=${mode}`,
    `--burst=${burst}`,
    '--nb-cores=1',
    '--stats-period',
    '1',
    '--total-num-mbufs=8192',
    '--rxd=1024',
    '--txd=1024',
    '--disable-link-check',
  ];
}

/** Starts a forwarder (or the traffic source) with the same EAL and testpmd arguments, whichever program it is. */
function startTestpmdLike(
  kind: ForwarderKind,
  eal: string[],
  app: string[],
  prefix: string,
  portCount: number,
): DpdkProcess {
  if (kind === 'testpmd') {
    // stdbuf: testpmd's stdout is block-buffered into a pipe; its statistics must arrive when printed.
    return new DpdkProcess('stdbuf', ['-oL', testpmdBinary, ...eal, '--', ...app], prefix, portCount);
  }
  const engine = kind === 'dpdk-ts TS loop' ? 'ts' : 'native';
  const filter = kind === 'dpdk-ts native filter' ? filterRules : [];
  return new DpdkProcess(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'examples', 'testpmd.ts'),
      ...eal,
      '--',
      ...app,
      `--engine=${engine}`,
      ...filter,
    ],
    prefix,
    portCount,
  );
}

/**
 * Forwarded packets per second of `forwarder` over `seconds`, after `warmup`: per second of
 * wall time, and per second of CPU time the forwarder got (which other load on the machine
 * does not skew, as long as the forwarder is the bottleneck). The CPU shares say whether it
 * (and the traffic `source`, whose starvation the forwarder's own figures cannot show) had
 * a whole CPU during the window.
 */
async function measure(forwarder: DpdkProcess, warmup: number, seconds: number, source?: DpdkProcess): Promise<Sample> {
  const first = await forwarder.snapshotAfter(0n, 30000);
  const start = await forwarder.snapshotAfter(
    first.atNs + BigInt(Math.round((warmup - 0.5) * 1e9)),
    (warmup + 5) * 1000,
  );
  const sourceStart = source?.cpuSeconds();
  const end = await forwarder.snapshotAfter(
    start.atNs + BigInt(Math.round((seconds - 0.5) * 1e9)),
    (seconds + 5) * 1000,
  );
  const sourceEnd = source?.cpuSeconds();
  const elapsed = Number(end.atNs - start.atNs) / 1e9;
  const sent = end.txPackets - start.txPackets;
  const cpu = end.cpuSeconds - start.cpuSeconds;
  return {
    mpps: sent / elapsed / 1e6,
    mppsPerCpu: sent / cpu / 1e6,
    receivedMpps: (end.rxPackets - start.rxPackets) / elapsed / 1e6,
    cpuShare: cpu / elapsed,
    sourceCpuShare:
      sourceStart === undefined || sourceEnd === undefined ? undefined : (sourceEnd - sourceStart) / elapsed,
    loadAverage: loadavg()[0],
  };
}

/** Topology 1: two net_null ports of 64-byte packets, forwarding on lcore 1 (CPU 1). */
async function runNullPorts(
  kind: ForwarderKind,
  burst: number,
  warmup: number,
  seconds: number,
  mode = 'macswap',
): Promise<Sample> {
  const prefix = uniquePrefix();
  const eal = [...commonEal('0@0,1@1', prefix), '--vdev', 'net_null0,size=64', '--vdev', 'net_null1,size=64'];
  const forwarder = startTestpmdLike(kind, eal, forwarderApp(mode, burst), prefix, 2);
  try {
    // net_null makes packets out of nothing: what it "received" says nothing.
    const { receivedMpps: _, ...sample } = await measure(forwarder, warmup, seconds);
    return sample;
  } finally {
    await forwarder.stop();
  }
}

/**
 * Topology 2: the forwarder under test on two net_vhost ports (forwarding on CPU 1), fed
 * by a dpdk-testpmd flowgen source on two virtio-user ports (CPU 0). flowgen is txonly
 * that also receives and frees what comes back, so the forwarder's tx never stalls on a
 * full virtio rx ring.
 */
async function runVhost(kind: ForwarderKind, warmup: number, seconds: number): Promise<Sample> {
  const sockets = ['a', 'b'].map((name) => join(socketDirectory(), `${process.pid}-${name}.sock`));
  const forwarderPrefix = uniquePrefix();
  const forwarderEal = [
    ...commonEal('0@0,1@1', forwarderPrefix),
    ...sockets.flatMap((path, i) => ['--vdev', `net_vhost${i},iface=${path},queues=1`]),
  ];
  const forwarder = startTestpmdLike(kind, forwarderEal, forwarderApp('macswap', mainBurst), forwarderPrefix, 2);
  let source: DpdkProcess | undefined;
  try {
    for (const path of sockets) await waitForFile(path, 30000, forwarder);
    const sourcePrefix = uniquePrefix();
    const sourceEal = [
      ...commonEal('0@0,1@0', sourcePrefix),
      ...sockets.flatMap((path, i) => ['--vdev', `net_virtio_user${i},path=${path},queues=1`]),
    ];
    source = startTestpmdLike('testpmd', sourceEal, forwarderApp('flowgen', mainBurst), sourcePrefix, 2);
    await source.snapshotAfter(0n, 30000);
    return await measure(forwarder, warmup, seconds, source);
  } finally {
    await source?.stop();
    await forwarder.stop();
  }
}

/** Runs `rounds` rounds of every forwarder in turn (in rotating order); returns each one's rounds summed up against testpmd's. */
async function measureRounds(
  rounds: number,
  label: string,
  run: (kind: ForwarderKind) => Promise<Sample>,
): Promise<Measurement[]> {
  const samples = new Map<ForwarderKind, Sample[]>(forwarders.map((kind) => [kind, []]));
  for (let round = 1; round <= rounds; round++) {
    // Each round starts with the next forwarder, so that none always runs first (or last).
    const order = forwarders.map((_, i) => forwarders[(i + round - 1) % forwarders.length]);
    for (const kind of order) {
      console.error(`bench: ${label}, ${kind}, round ${round}/${rounds}...`);
      const sample = await run(kind);
      const source = sample.sourceCpuShare === undefined ? '' : `, source CPU ${sample.sourceCpuShare.toFixed(2)}`;
      console.error(
        `bench:   ${sample.mpps.toFixed(2)} Mpps, CPU ${sample.cpuShare.toFixed(2)}${source}, load average ${sample.loadAverage.toFixed(2)}`,
      );
      samples.get(kind)!.push(sample);
    }
  }
  return summarize(samples);
}

/** Topologies 1 and 2 by their `--topologies` name. */
const topologies: Record<
  TopologyName,
  { name: string; run: (options: BenchOptions, kind: ForwarderKind) => Promise<Sample> }
> = {
  null: {
    name: '1: 2 x net_null, 1 core',
    run: (options, kind) => runNullPorts(kind, mainBurst, options.warmup, options.seconds),
  },
  io: {
    name: '1: 2 x net_null, 1 core, io',
    run: (options, kind) => runNullPorts(kind, mainBurst, options.warmup, options.seconds, 'io'),
  },
  vhost: {
    name: '2: 2 x vhost-user <- testpmd source on CPU 0',
    run: (options, kind) => runVhost(kind, options.warmup, options.seconds),
  },
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(testpmdBinary)) throw new Error(`${testpmdBinary} is missing: apt-get install dpdk`);
  const rounded = (values: number[]): number[] => values.map((value) => Math.round(value * 100) / 100);
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadAverageBefore: rounded(loadavg()),
      loadAverageAfter: [],
    },
    options: { ...options, packetBytes: 64, burst: mainBurst },
    topologies: [],
    sweep: [],
  };
  for (const name of options.topologies) {
    const topology = topologies[name];
    report.topologies.push({
      name: topology.name,
      results: await measureRounds(options.rounds, name, (kind) => topology.run(options, kind)),
    });
  }
  if (options.sweep) {
    for (const burst of sweepBursts) {
      const results = await measureRounds(1, `net_null, burst ${burst}`, (kind) =>
        runNullPorts(kind, burst, options.warmup, options.sweepSeconds),
      );
      report.sweep.push({ burst, results });
    }
  }
  report.machine.loadAverageAfter = rounded(loadavg());
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = join(resultsDir, 'latest.json');
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const table = markdown(report);
  writeFileSync(join(resultsDir, 'latest.md'), table);
  console.log(table);
  for (const path of await writeCharts(jsonPath, report)) console.error(`bench: chart ${path}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping`);
    void shutdown().then(() => process.exit(130));
  });
}
process.on('exit', killAll);

main().then(shutdown, async (error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown();
  process.exitCode = 1;
});
