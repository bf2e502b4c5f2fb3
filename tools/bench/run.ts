/**
 * Forwarding benchmark: DPDK's own dpdk-testpmd against dpdk-ts (examples/testpmd.ts with
 * its TypeScript loop and with the native Engine) on the same topology, cores and
 * command line, in one run.
 *
 *   1. Two net_null ports, one forwarding core: EAL lcores 0@0,1@1, forwarding on lcore 1;
 *      also in io mode, which touches no packet: what the SDK's bursts cost on their own.
 *   2. virtio-user <-> vhost-user across two processes: a traffic source (dpdk-testpmd
 *      flowgen on two virtio-user ports, CPU 0) feeds the forwarder under test (two
 *      net_vhost ports, forwarding on CPU 1).
 *   3. A burst-size sweep on topology 1.
 *
 * Every forwarder runs macswap (unless io is named) on 64-byte packets and prints testpmd's periodic port
 * statistics (`--stats-period 1`); the rate is the forwarder's transmitted packets per
 * second between two statistics blocks `--seconds` apart, after `--warmup`.
 *
 * Topologies 1 and 2 run `--rounds` times, the three forwarders taking turns, and report
 * the median, the range and the best round: other load on the machine then weighs on all
 * three alike.
 *
 *   node --import tsx tools/bench/run.ts [--seconds 3] [--warmup 1] [--rounds 5] [--sweep-seconds 2] [--no-sweep]
 *
 * Writes tools/bench/results/latest.json and bench/results/latest.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const testpmdBinary = '/usr/bin/dpdk-testpmd';
const repoRoot = join(__dirname, '..', '..');
const resultsDir = join(__dirname, 'results');
const sweepBursts = [1, 4, 8, 16, 32, 64, 128, 256];
const mainBurst = 32;

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
}

const usage =
  'usage: tools/bench/run.ts [--seconds N (default 3)] [--warmup N (default 1)] [--rounds N (default 5)] ' +
  '[--sweep-seconds N (default 2)] [--no-sweep]';

function parseOptions(args: string[]): BenchOptions {
  const options: BenchOptions = { seconds: 3, warmup: 1, rounds: 5, sweepSeconds: 2, sweep: true };
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
    const keys: Record<string, keyof BenchOptions> = {
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
    (options as unknown as Record<string, number>)[key] = value;
  }
  return options;
}

/** Which program forwards. */
type ForwarderKind = 'testpmd' | 'dpdk-ts TS loop' | 'dpdk-ts native Engine';
const forwarders: ForwarderKind[] = ['testpmd', 'dpdk-ts TS loop', 'dpdk-ts native Engine'];

/** Cumulative port counters at the end of one statistics block, and when it arrived. */
interface Snapshot {
  atNs: bigint;
  txPackets: number;
  rxPackets: number;
  /** CPU time the process (all its threads) had used, in seconds. */
  cpuSeconds: number;
}

/** Kernel clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const clockTicksPerSecond = 100;

/** CPU time (user + system, all threads) process `pid` has used, in seconds. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  } catch {
    return NaN;
  }
}

/** A DPDK process the benchmark started, and the statistics blocks it printed. */
class DpdkProcess {
  readonly child: ChildProcess;
  readonly prefix: string;
  readonly snapshots: Snapshot[] = [];
  readonly exited: Promise<number | null>;
  #output: string[] = [];
  #portCount: number;
  #tx = new Map<number, number>();
  #rx = new Map<number, number>();
  #waiters: (() => void)[] = [];

  constructor(command: string, args: string[], prefix: string, portCount: number) {
    this.prefix = prefix;
    this.#portCount = portCount;
    // Its own process group, so that everything it started can be signalled at once.
    this.child = spawn(command, args, { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        running.delete(this);
        for (const wake of this.#waiters) wake();
        resolve(code);
      }),
    );
    let port = -1;
    const onLine = (line: string): void => {
      this.#output.push(line);
      if (this.#output.length > 200) this.#output.shift();
      const header = /NIC statistics for port (\d+)/.exec(line);
      if (header !== null) port = Number(header[1]);
      const rx = /RX-packets:\s+(\d+)/.exec(line);
      if (rx !== null && port >= 0) this.#rx.set(port, Number(rx[1]));
      const tx = /TX-packets:\s+(\d+)/.exec(line);
      if (tx !== null && port >= 0) this.#tx.set(port, Number(tx[1]));
      if (/Tx-pps:/.test(line) && port === this.#portCount - 1 && this.#tx.size === this.#portCount) {
        this.snapshots.push({
          atNs: process.hrtime.bigint(),
          txPackets: [...this.#tx.values()].reduce((a, b) => a + b, 0),
          rxPackets: [...this.#rx.values()].reduce((a, b) => a + b, 0),
          cpuSeconds: this.child.pid === undefined ? NaN : processCpuSeconds(this.child.pid),
        });
        port = -1;
        for (const wake of this.#waiters.splice(0)) wake();
      }
    };
    createInterface({ input: this.child.stdout! }).on('line', onLine);
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.#output.push(line));
  }

  /** The last lines it printed, for error messages. */
  tail(lines = 25): string {
    return this.#output.slice(-lines).join('\n');
  }

  /** Resolves with the first snapshot taken at or after `notBeforeNs`; rejects if the process exits first. */
  async snapshotAfter(notBeforeNs: bigint, timeoutMs: number): Promise<Snapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.snapshots.find((snapshot) => snapshot.atNs >= notBeforeNs);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `${this.describe()} exited (${this.child.exitCode ?? this.child.signalCode}) before printing statistics:\n${this.tail()}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`${this.describe()} printed no statistics in ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  describe(): string {
    return `${this.child.spawnfile} (--file-prefix ${this.prefix})`;
  }

  /** SIGINT (the programs stop, close their ports and clean up), then SIGKILL after `graceMs`. */
  async stop(graceMs = 8000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    signalGroup(this.child, 'SIGINT');
    const timer = setTimeout(() => signalGroup(this.child, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const running = new Set<DpdkProcess>();
const prefixes: string[] = [];
let socketDir: string | undefined;

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Removes what a killed DPDK process may leave: its runtime directory and hugepage files. */
function removeLeftovers(): void {
  for (const prefix of prefixes) {
    rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
    for (const file of hugepageFiles()) {
      if (file.startsWith(`${prefix}map_`)) rmSync(join('/dev/hugepages', file), { force: true });
    }
  }
  if (socketDir !== undefined) rmSync(socketDir, { recursive: true, force: true });
}

function hugepageFiles(): string[] {
  try {
    return readdirSync('/dev/hugepages');
  } catch {
    return [];
  }
}

let nextPrefix = 0;
function uniquePrefix(): string {
  const prefix = `dts-bench-${process.pid}-${nextPrefix++}`;
  prefixes.push(prefix);
  return prefix;
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
  return new DpdkProcess(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'examples', 'testpmd.ts'), ...eal, '--', ...app, `--engine=${engine}`],
    prefix,
    portCount,
  );
}

/**
 * Forwarded packets per second of `forwarder` over `seconds`, after `warmup`: per second of
 * wall time, and per second of CPU time the forwarder got (which other load on the machine
 * does not skew, as long as the forwarder is the bottleneck).
 */
async function measure(forwarder: DpdkProcess, warmup: number, seconds: number): Promise<Sample> {
  const first = await forwarder.snapshotAfter(0n, 30000);
  const start = await forwarder.snapshotAfter(
    first.atNs + BigInt(Math.round((warmup - 0.5) * 1e9)),
    (warmup + 5) * 1000,
  );
  const end = await forwarder.snapshotAfter(
    start.atNs + BigInt(Math.round((seconds - 0.5) * 1e9)),
    (seconds + 5) * 1000,
  );
  const elapsed = Number(end.atNs - start.atNs) / 1e9;
  const sent = end.txPackets - start.txPackets;
  return {
    mpps: sent / elapsed / 1e6,
    mppsPerCpu: sent / (end.cpuSeconds - start.cpuSeconds) / 1e6,
    receivedMpps: (end.rxPackets - start.rxPackets) / elapsed / 1e6,
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
    const { mpps, mppsPerCpu } = await measure(forwarder, warmup, seconds);
    return { mpps, mppsPerCpu };
  } finally {
    await forwarder.stop();
  }
}

async function waitForFile(path: string, timeoutMs: number, process: DpdkProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (process.child.exitCode !== null)
      throw new Error(`${process.describe()} exited before creating ${path}:\n${process.tail()}`);
    if (Date.now() > deadline)
      throw new Error(`${process.describe()} did not create ${path} in ${timeoutMs} ms:\n${process.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Topology 2: the forwarder under test on two net_vhost ports (forwarding on CPU 1), fed
 * by a dpdk-testpmd flowgen source on two virtio-user ports (CPU 0). flowgen is txonly
 * that also receives and frees what comes back, so the forwarder's tx never stalls on a
 * full virtio rx ring.
 */
async function runVhost(kind: ForwarderKind, warmup: number, seconds: number): Promise<Sample> {
  socketDir ??= mkdtempSync(join(tmpdir(), 'dts-bench-'));
  const sockets = [join(socketDir, `${process.pid}-a.sock`), join(socketDir, `${process.pid}-b.sock`)];
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
    return await measure(forwarder, warmup, seconds);
  } finally {
    await source?.stop();
    await forwarder.stop();
  }
}

/** One forwarder's rate on one topology. */
interface Measurement {
  forwarder: ForwarderKind;
  /** Median over the rounds, in Mpps. */
  mpps: number;
  /** Every round's rate, in Mpps. */
  samples: number[];
  /** mpps / testpmd's mpps on the same topology. */
  ratio: number;
  /** The best round, in Mpps: what the forwarder can do when the machine lets it. */
  best: number;
  /** best / testpmd's best on the same topology. */
  bestRatio: number;
  /** Median packets per second of CPU time the forwarder process used, in Mpps. */
  mppsPerCpu: number;
  /** mppsPerCpu / testpmd's mppsPerCpu. */
  ratioPerCpu: number;
  /** Topology 2: median packets per second the forwarder received from the source, in Mpps. */
  receivedMpps?: number;
}

/** One round's rates of one forwarder, in Mpps. */
interface Sample {
  /** Packets sent per second. */
  mpps: number;
  /** Packets sent per second of CPU time the forwarder used. */
  mppsPerCpu: number;
  /** Packets received per second, where the source is another process. */
  receivedMpps?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs `rounds` rounds of every forwarder in turn; returns the medians and ratios to testpmd. */
async function measureRounds(
  rounds: number,
  label: string,
  run: (kind: ForwarderKind) => Promise<Sample>,
): Promise<Measurement[]> {
  const samples = new Map<ForwarderKind, Sample[]>(forwarders.map((kind) => [kind, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const kind of forwarders) {
      console.error(`bench: ${label}, ${kind}, round ${round}/${rounds}...`);
      samples.get(kind)!.push(await run(kind));
    }
  }
  const medians = forwarders.map((kind) => {
    const taken = samples.get(kind)!;
    const received = taken.flatMap((sample) => (sample.receivedMpps === undefined ? [] : [sample.receivedMpps]));
    return {
      forwarder: kind,
      mpps: median(taken.map((sample) => sample.mpps)),
      samples: taken.map((sample) => sample.mpps),
      mppsPerCpu: median(taken.map((sample) => sample.mppsPerCpu)),
      receivedMpps: received.length > 0 ? median(received) : undefined,
    };
  });
  const [reference] = medians;
  const referenceBest = Math.max(...reference.samples);
  return medians.map((result) => ({
    ...result,
    ratio: result.mpps / reference.mpps,
    ratioPerCpu: result.mppsPerCpu / reference.mppsPerCpu,
    best: Math.max(...result.samples),
    bestRatio: Math.max(...result.samples) / referenceBest,
  }));
}

const format = (mpps: number): string => mpps.toFixed(2);
const percent = (ratio: number): string => `${(ratio * 100).toFixed(0)}%`;

function markdown(report: BenchReport): string {
  const lines = [
    `# dpdk-ts forwarding benchmark (${report.date})`,
    '',
    `${report.machine.cpus} x ${report.machine.cpuModel}; load average ${report.machine.loadAverageBefore.join(', ')} before, ` +
      `${report.machine.loadAverageAfter.join(', ')} after. 64-byte packets, macswap unless io is named, one forwarding core on CPU 1, ` +
      `${report.options.seconds} s windows after ${report.options.warmup} s warmup, median of ${report.options.rounds} round(s) ` +
      '(min-max in brackets), and the best round. Mpps: packets the forwarder transmitted per second; per CPU: per second ' +
      'of CPU time the forwarder process got, which load from other processes does not skew when the forwarder is the ' +
      "bottleneck. On a virtual machine the host's placement of the two CPUs can halve a round's rate (the vhost-user " +
      'topology, where both CPUs are busy, shows it most): the best round is what each forwarder can do.',
    '',
    '| Topology | Forwarder | Mpps, median | vs testpmd | Mpps, best | vs testpmd | Mpps per CPU | vs testpmd |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const topology of report.topologies) {
    for (const result of topology.results) {
      const range =
        result.samples.length > 1
          ? ` [${format(Math.min(...result.samples))}-${format(Math.max(...result.samples))}]`
          : '';
      const received = result.receivedMpps === undefined ? '' : `, received ${format(result.receivedMpps)}`;
      lines.push(
        `| ${topology.name} | ${result.forwarder} | ${format(result.mpps)}${range}${received} | ${percent(result.ratio)} | ` +
          `${format(result.best)} | ${percent(result.bestRatio)} | ${format(result.mppsPerCpu)} | ${percent(result.ratioPerCpu)} |`,
      );
    }
  }
  if (report.sweep.length > 0) {
    lines.push(
      '',
      `Burst-size sweep on topology 1 (one round, ${report.options.sweepSeconds} s windows):`,
      '',
      '| Burst | testpmd Mpps, per CPU | dpdk-ts TS loop Mpps, per CPU (vs testpmd) | dpdk-ts native Engine Mpps, per CPU (vs testpmd) |',
      '| ---: | ---: | ---: | ---: |',
    );
    const cell = (result: Measurement): string => `${format(result.mpps)}, ${format(result.mppsPerCpu)}`;
    for (const point of report.sweep) {
      const [reference, ts, native] = point.results;
      lines.push(
        `| ${point.burst} | ${cell(reference)} | ${cell(ts)} (${percent(ts.ratioPerCpu)}) | ${cell(native)} (${percent(native.ratioPerCpu)}) |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** What bench/results/latest.json holds. */
interface BenchReport {
  date: string;
  machine: { cpus: number; cpuModel: string; loadAverageBefore: number[]; loadAverageAfter: number[] };
  options: BenchOptions & { packetBytes: number; burst: number };
  topologies: { name: string; results: Measurement[] }[];
  sweep: { burst: number; results: Measurement[] }[];
}

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
  report.topologies.push({
    name: '1: 2 x net_null, 1 core',
    results: await measureRounds(options.rounds, 'net_null', (kind) =>
      runNullPorts(kind, mainBurst, options.warmup, options.seconds),
    ),
  });
  report.topologies.push({
    name: '1: 2 x net_null, 1 core, io',
    results: await measureRounds(options.rounds, 'net_null io', (kind) =>
      runNullPorts(kind, mainBurst, options.warmup, options.seconds, 'io'),
    ),
  });
  report.topologies.push({
    name: '2: 2 x vhost-user <- testpmd source on CPU 0',
    results: await measureRounds(options.rounds, 'vhost-user', (kind) =>
      runVhost(kind, options.warmup, options.seconds),
    ),
  });
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
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const table = markdown(report);
  writeFileSync(join(resultsDir, 'latest.md'), table);
  console.log(table);
}

/** Stops every process still running (SIGINT, then SIGKILL) and removes their files. */
async function shutdown(): Promise<void> {
  await Promise.all([...running].map((dpdk) => dpdk.stop(3000)));
  removeLeftovers();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping`);
    void shutdown().then(() => process.exit(130));
  });
}
process.on('exit', () => {
  // Last resort when the benchmark dies: nothing it started may outlive it.
  for (const dpdk of running) signalGroup(dpdk.child, 'SIGKILL');
});

main().then(shutdown, async (error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown();
  process.exitCode = 1;
});
