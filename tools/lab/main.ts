/**
 * `npm run lab`: the reference setup (../shared/REFERENCE-SETUP.md) end to end with
 * dpdk-ts in every role. A private OVS-DPDK configured through the SDK's OVSDB and
 * OpenFlow clients; the generator (examples/pktgen.ts) and the forwarder
 * (examples/testpmd.ts, examples/l2fwd.ts) in two containers, or as processes with
 * `--no-containers`; a counted run then a full-rate run per experiment; and the service
 * chain (examples/ips.ts inline, a detect-only copy by mirroring). Ends with a table per
 * experiment and the same as JSON; PASS only when every packet is accounted for.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DpdkError } from '../../lib/errors.js';
import { DockerEngine } from './docker-engine.js';
import { buildBaseImage, buildImage } from './images.js';
import { ContainerAppRunner, HostAppRunner, type AppPaths, type AppRunner, type AppRunnerOptions } from './runner.js';
import { OvsSandbox } from '../../lib/ovs/sandbox.js';
import { Vswitch } from '../../lib/ovs/vswitch.js';
import { OpenFlowClient } from '../../lib/ovs/openflow/client.js';
import { parseFlowMod } from '../../lib/ovs/openflow/flow-syntax.js';
import { formatMatch, formatInstructions } from '../../lib/ovs/openflow/format.js';

const packageRoot = resolve(__dirname, '..', '..');
// The apps' --file-prefix values: the reference setup's, and the service chain's.
const appFilePrefixes = ['pktgen', 'testpmd', 'ips', 'ids'];
const bridge = 'ovs-br0';

const usage = `usage: npm run lab -- [options]
  --experiment 1|2|chain  run one experiment (repeatable; default: 1, 2 and chain)
  --duration S            seconds of each full-rate run (default 5)
  --json PATH             where to write the results (default lab-results.json)
  --no-containers         run the apps as processes instead of containers
  --no-huge               no hugepages: DPDK memory from memfd (OVS and apps)
  --vhost-mode client|server
                          OVS ports dpdkvhostuserclient (default: the apps serve the
                          sockets) or dpdkvhostuser (OVS serves them)
  --verbose               print every line the apps print
  -h, --help              this text`;

type ExperimentName = '1' | '2' | 'chain';

interface LabOptions {
  experiments: ExperimentName[];
  durationS: number;
  jsonPath: string;
  containers: boolean;
  noHuge: boolean;
  vhostMode: 'client' | 'server';
  verbose: boolean;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): LabOptions | 'help' {
  const options: LabOptions = {
    experiments: [], durationS: 5, jsonPath: 'lab-results.json', containers: true, noHuge: false, vhostMode: 'client', verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const value = (): string => {
      const text = inline ?? argv[++i];
      if (text === undefined) throw new UsageError(`${name} needs a value`);
      return text;
    };
    switch (name) {
      case '--experiment': {
        const experiment = value();
        if (experiment !== '1' && experiment !== '2' && experiment !== 'chain') {
          throw new UsageError(`--experiment must be 1, 2 or chain, got ${JSON.stringify(experiment)}`);
        }
        options.experiments.push(experiment);
        break;
      }
      case '--duration': {
        const text = value();
        const seconds = Number(text);
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) throw new UsageError(`--duration must be 1 to 3600 seconds, got ${JSON.stringify(text)}`);
        options.durationS = seconds;
        break;
      }
      case '--json': options.jsonPath = value(); break;
      case '--no-containers': options.containers = false; break;
      case '--no-huge': options.noHuge = true; break;
      case '--vhost-mode': {
        const mode = value();
        if (mode !== 'client' && mode !== 'server') throw new UsageError(`--vhost-mode must be client or server, got ${JSON.stringify(mode)}`);
        options.vhostMode = mode;
        break;
      }
      case '--verbose': options.verbose = true; break;
      case '-h': case '--help': return 'help';
      default: throw new UsageError(`unknown option ${JSON.stringify(argv[i])}`);
    }
  }
  if (options.experiments.length === 0) options.experiments = ['1', '2', 'chain'];
  return options;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function freeHugepages(): number {
  const match = /HugePages_Free:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return match === null ? 0 : Number(match[1]);
}

/** Counters of one generator port, from pktgen's JSON. */
interface GeneratorPort {
  port: number;
  sent: number;
  received: number;
  dropped: number;
  missing?: number;
  latency?: { samples: number; minNs: number; avgNs: number; maxNs: number; percentilesNs: Record<string, number> };
  [key: string]: unknown;
}

/** What one run of the generator reported. */
interface GeneratorRun {
  ports: GeneratorPort[];
  seconds?: number;
  [key: string]: unknown;
}

/** OVS's view of a run: packets per flow and per port. */
interface OvsCounters {
  flows: { flow: string; packets: number }[];
  /** Per port; null where OVS reports no counter (all ones on the wire). */
  ports: { port: number; name: string; rx: number | null; tx: number | null; rxDropped: number | null; txDropped: number | null }[];
}

/** One experiment's results. */
interface ExperimentResult {
  name: string;
  /** A check's `ok` is null when it could not be made (see its text). */
  counted?: { generator: GeneratorRun; ovs: OvsCounters; checks: { what: string; ok: boolean | null }[] };
  fullRate?: { generator: GeneratorRun; ovs: OvsCounters; mpps: number; seconds: number };
  apps: Record<string, unknown>;
  pass: boolean;
  error?: string;
}

/** An app started for an experiment, with its output kept for the summary and for failures. */
interface StartedApp {
  runner: AppRunner;
  lines: string[];
  /** Resolves with the first JSON line the app prints. */
  json: Promise<unknown>;
}

/** Runs the experiments; owns every resource it starts and releases them in `close()`. */
class Lab {
  readonly options: LabOptions;
  // Where the apps' virtio-user sockets are: the lab's own directory when the apps serve
  // them (OVS dpdkvhostuserclient), OVS's run directory when OVS does (dpdkvhostuser:
  // OVS accepts only a vhost-sock-dir relative to it).
  readonly #ownSocketDir: string;
  #sandbox: OvsSandbox | undefined;
  #vswitch: Vswitch | undefined;
  #docker: DockerEngine | undefined;
  #image: string | undefined;
  #apps = new Set<StartedApp>();

  constructor(options: LabOptions) {
    this.options = options;
    this.#ownSocketDir = mkdtempSync(join(tmpdir(), 'lab-'));
  }

  /** The host directory of the vhost-user sockets. */
  get socketDir(): string {
    return this.options.vhostMode === 'server' ? (this.#sandbox as OvsSandbox).runDir : this.#ownSocketDir;
  }

  /** Checks prerequisites, starts OVS-DPDK, and builds the images. */
  async setUp(): Promise<void> {
    const free = freeHugepages();
    if (!this.options.noHuge && free < 384) {
      throw new DpdkError(`only ${free} free 2 MiB hugepages (384 needed): reserve them with ` +
        "'echo 512 > /proc/sys/vm/nr_hugepages' as root, or run with --no-huge", { code: 'ENOMEM', operation: 'lab' });
    }
    // OVS adds --in-memory unless --legacy-mem is given, and EAL refuses --in-memory with --no-huge.
    const dpdkExtra = `--no-pci${this.options.noHuge ? ' --no-huge --legacy-mem -m 1024' : ' --in-memory --single-file-segments'}`;
    log(`lab: starting OVS-DPDK (private run dir; PMD on CPU 0; ${this.options.noHuge ? 'no hugepages' : 'hugepages'})`);
    this.#sandbox = await OvsSandbox.start({
      vswitchd: 'dpdk',
      timeoutMs: 60000,
      otherConfig: {
        'dpdk-init': 'true',
        'dpdk-lcore-mask': '0x1',
        'pmd-cpu-mask': '0x1',
        // OVS grows its memory on demand (mempools per port MTU) until the hugepages are
        // gone; a limit leaves the apps theirs, and OVS retries with smaller mempools.
        ...(this.options.noHuge ? {} : { 'dpdk-socket-mem': '256', 'dpdk-socket-limit': '384' }),
        'dpdk-extra': dpdkExtra,
      },
    });
    this.#vswitch = await Vswitch.connect(this.#sandbox.dbTarget, { timeoutMs: 60000 });
    if (this.options.containers) {
      log('lab: preparing the container engine and images (no registry: debootstrap, then docker build)');
      this.#docker = await DockerEngine.ensure({ log: (line: string) => log(`lab: ${line}`) });
      const base = await buildBaseImage(this.#docker);
      this.#image = await buildImage(this.#docker, {
        name: 'dpdk-ts-app', dockerfile: join(packageRoot, 'examples/docker/Dockerfile.app'), baseImage: base, stagePackageFrom: packageRoot,
      });
    }
  }

  /** The bridge with `ports` (names, OpenFlow numbers from 1) and `flows`, made anew. */
  async topology(ports: string[], flows: string[]): Promise<void> {
    const vswitch = this.#vswitch as Vswitch;
    await vswitch.deleteBridge(bridge, { ifExists: true });
    await vswitch.addBridge(bridge, { datapathType: 'netdev' });
    const type = this.options.vhostMode === 'client' ? 'dpdkvhostuserclient' : 'dpdkvhostuser';
    for (const [i, name] of ports.entries()) {
      await vswitch.addPort(bridge, name, {
        type,
        ofportRequest: i + 1,
        options: type === 'dpdkvhostuserclient' ? { 'vhost-server-path': join(this.socketDir, name) } : {},
      });
    }
    const openflow = await this.#openflow();
    try {
      const portMap = new Map(ports.map((name, i) => [name, i + 1]));
      await openflow.flowMods([parseFlowMod('', { command: 'delete' }), ...flows.map((flow) => parseFlowMod(flow, { command: 'add', portMap }))]);
    } finally {
      await openflow.close();
    }
    log(`lab: ${bridge}: ${ports.map((name, i) => `${name}=${i + 1}`).join(' ')} (${type}); flows: ${flows.join(' ; ')}`);
  }

  async #openflow(): Promise<OpenFlowClient> {
    return OpenFlowClient.connect(`unix:${(this.#sandbox as OvsSandbox).mgmtSocket(bridge)}`, { timeoutMs: 10000 });
  }

  /** OVS's flow and port counters now. */
  async ovsCounters(names: string[]): Promise<OvsCounters> {
    const openflow = await this.#openflow();
    try {
      const flows = (await openflow.flowStats()).filter((flow) => flow.priority !== 0 || Object.keys(flow.match).length > 0)
        .map((flow) => ({ flow: `${formatMatch(flow.match, flow.priority)} actions=${formatInstructions(flow.instructions)}`, packets: Number(flow.packetCount) }));
      const ports = (await openflow.portStats()).filter((port) => port.portNo >= 1 && port.portNo <= names.length)
        .sort((a, b) => a.portNo - b.portNo)
        .map((port) => ({
          port: port.portNo, name: names[port.portNo - 1], rx: counter(port.rxPackets), tx: counter(port.txPackets),
          rxDropped: counter(port.rxDropped), txDropped: counter(port.txDropped),
        }));
      return { flows, ports };
    } finally {
      await openflow.close();
    }
  }

  /**
   * Waits until OVS reports these vhost-user interfaces connected to their virtio peers;
   * fails at once, with its last lines, if one of `apps` exits meanwhile.
   */
  async waitConnected(names: string[], apps: StartedApp[], timeoutMs = 30000): Promise<void> {
    const vswitch = this.#vswitch as Vswitch;
    const deadline = Date.now() + timeoutMs;
    const ended: StartedApp[] = [];
    for (const app of apps) void app.runner.wait().then(() => ended.push(app));
    for (;;) {
      if (ended.length > 0) {
        const app = ended[0];
        throw new DpdkError(`${app.runner.name} exited before OVS saw it connected:\n${app.lines.slice(-15).join('\n')}`, { code: 'ERR_LAB', operation: 'lab' });
      }
      const states = await Promise.all(names.map((name) => vswitch.interface(name)));
      if (states.every((state) => state.connected === true)) return;
      if (Date.now() > deadline) {
        const waiting = names.filter((_, i) => states[i].connected !== true);
        throw new DpdkError(`OVS did not see ${waiting.join(', ')} connected within ${timeoutMs / 1000} s`, { code: 'ETIMEDOUT', operation: 'lab' });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Starts an app in a container or as a process, pinned to `cpus`. */
  async start(name: string, example: string, cpus: string, args: (paths: AppPaths) => string[], interactive = false): Promise<StartedApp> {
    let jsonSeen: (value: unknown) => void = () => undefined;
    const app: StartedApp = { runner: undefined as unknown as AppRunner, lines: [], json: new Promise((resolve) => { jsonSeen = resolve; }) };
    const options: AppRunnerOptions = {
      name, program: { example }, cpus, args, interactive, socketDir: this.socketDir,
      onLine: (line) => {
        app.lines.push(line);
        if (line.startsWith('{')) {
          const value = lastJson([line]);
          if (value !== undefined) jsonSeen(value);
        }
        if (app.lines.length > 400) app.lines.shift();
        if (this.options.verbose || /^pktgen: [\d.]+s \|/.test(line)) log(`[${name}] ${line}`);
      },
    };
    app.runner = this.options.containers ?
      await ContainerAppRunner.start(this.#docker as DockerEngine, this.#image as string, options) :
      await HostAppRunner.start(options, packageRoot);
    this.#apps.add(app);
    return app;
  }

  /** Stops an app (SIGTERM, then SIGKILL after 10 s) and returns its last JSON line, if any. */
  async stop(app: StartedApp): Promise<unknown> {
    await app.runner.kill('SIGTERM', 10000);
    this.#apps.delete(app);
    return lastJson(app.lines);
  }

  /** EAL memory arguments for an app. */
  memoryArgs(): string[] {
    return this.options.noHuge ? ['--no-huge', '-m', '512'] : ['--socket-mem', '1024,1024'];
  }

  /** The virtio-user device argument of a lab app's port. */
  vdev(paths: AppPaths, index: number, socket: string, mac: string): string {
    const server = this.options.vhostMode === 'client' ? ',server=1' : '';
    return `net_virtio_user${index},mac=${mac},path=${join(paths.socketDir, socket)}${server}`;
  }

  /** Stops every app, OVS and the container engine; removes the socket directory. */
  async close(): Promise<void> {
    // SIGTERM first: the apps then release DPDK themselves.
    await Promise.all([...this.#apps].map((app) => app.runner.kill('SIGTERM', 5000).catch(() => undefined)));
    this.#apps.clear();
    if (!this.options.containers) {
      // An app killed before it could clean up leaves EAL's runtime directory on the host.
      for (const prefix of appFilePrefixes) rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
    }
    this.#vswitch?.close();
    await this.#sandbox?.stop().catch(() => undefined);
    await this.#docker?.stop().catch(() => undefined);
    rmSync(this.#ownSocketDir, { recursive: true, force: true });
  }
}

// OpenFlow reports a counter the switch does not keep (a vhost port without its peer) as all ones.
function counter(value: bigint): number | null {
  return value === 0xffffffffffffffffn ? null : Number(value);
}

function lastJson(lines: string[]): unknown {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line);
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * Runs the generator with `commands` and returns its JSON report and OVS's counters of
 * `ports` read while the generator still holds its ports open (OVS forgets a vhost port's
 * counters when its peer leaves): until every count is reached (`timeoutS` given), or
 * until the commands end with `quit`.
 */
async function generate(lab: Lab, name: string, ports: string[], commands: string, timeoutS?: number): Promise<{ report: GeneratorRun; ovs: OvsCounters }> {
  // Two CPUs: the generator shares CPU 0 with the OVS PMD thread, the forwarder has CPU 1;
  // each app's lcores fold onto the CPU it is pinned to (examples/eal-args.ts).
  const app = await lab.start(name, 'pktgen', '0', (paths) => [
    '-c', '0x19', '--master-lcore', '3', '-n', '1', ...lab.memoryArgs(), '--file-prefix', 'pktgen', '--no-pci',
    '--vdev', lab.vdev(paths, 0, 'vhost-user0', '00:00:00:00:00:05'),
    '--vdev', lab.vdev(paths, 1, 'vhost-user1', '00:00:00:00:00:01'),
    // -m 0.[0-1]: both ports on one generator lcore (the reference's 0.0,4.1 would put two
    // busy lcores on the one CPU the generator has).
    '--', '-T', '-P', '-m', '0.[0-1]', '--shared-cpu', '--linger', '6000', '--commands', commands,
    ...(timeoutS === undefined ? [] : ['--wait-done', '--timeout', String(timeoutS)]), '--json', '-',
  ]);
  const report = await Promise.race([app.json, app.runner.wait().then(() => undefined)]) as GeneratorRun | undefined;
  if (report === undefined) {
    const exit = await app.runner.wait();
    throw new DpdkError(`the generator ended (code ${exit.code}) without a report:\n${app.lines.slice(-20).join('\n')}`, { code: 'ERR_LAB', operation: 'lab' });
  }
  // OVS folds its datapath's counters into the OpenFlow rules every half second or so:
  // give it a second, then read until two readings agree.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  let ovs = await lab.ovsCounters(ports);
  for (let attempt = 0; attempt < 8; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 600));
    const again = await lab.ovsCounters(ports);
    const same = JSON.stringify(again) === JSON.stringify(ovs);
    ovs = again;
    if (same) break;
  }
  await app.runner.wait();
  return { report, ovs };
}

// The generator's virtio-user ports exist once OVS has connected to them, but OVS enables
// a vhost-user port's queues a moment later, and drops what it would send there before:
// the counted runs give it a second before sending.
const settle = 'delay 1000;';

const referenceFlows = [
  'in_port=2,dl_type=0x800,idle_timeout=0,action=output:3',
  'in_port=3,dl_type=0x800,idle_timeout=0,action=output:2',
  'in_port=1,dl_type=0x800,idle_timeout=0,action=output:4',
  'in_port=4,dl_type=0x800,idle_timeout=0,action=output:1',
];
const referencePorts = ['vhost-user0', 'vhost-user1', 'vhost-user2', 'vhost-user3'];

function subtract(after: OvsCounters, before: OvsCounters): OvsCounters {
  return {
    flows: after.flows.map((flow) => ({ ...flow, packets: flow.packets - (before.flows.find((f) => f.flow === flow.flow)?.packets ?? 0) })),
    ports: after.ports.map((port) => {
      const old = before.ports.find((p) => p.port === port.port);
      const delta = (now: number | null, then: number | null | undefined): number | null => (now === null ? null : now - (then ?? 0));
      return { ...port, rx: delta(port.rx, old?.rx), tx: delta(port.tx, old?.tx), rxDropped: delta(port.rxDropped, old?.rxDropped), txDropped: delta(port.txDropped, old?.txDropped) };
    }),
  };
}

/**
 * Whether OVS's ports, in order, received and sent these [rx, tx] counts and dropped none;
 * null when OVS reports no counters for them (then the check cannot be made).
 */
function portsMatch(ovs: OvsCounters, expected: [number, number][]): boolean | null {
  const ports = expected.map((_, i) => ovs.ports[i]);
  if (ports.some((port) => port === undefined || port.rx === null || port.tx === null)) return null;
  return expected.every(([rx, tx], i) => ports[i].rx === rx && ports[i].tx === tx && (ports[i].rxDropped ?? 0) === 0 && (ports[i].txDropped ?? 0) === 0);
}

function flowPackets(ovs: OvsCounters, inPort: number): number {
  return ovs.flows.filter((flow) => new RegExp(`in_port=${inPort}\\b`).test(flow.flow)).reduce((sum, flow) => sum + flow.packets, 0);
}

/** Experiments 1 (testpmd-style forwarder) and 2 (l2fwd): the counted run, then full rate. */
async function forwardingExperiment(lab: Lab, name: '1' | '2'): Promise<ExperimentResult> {
  const result: ExperimentResult = { name: name === '1' ? 'experiment 1: testpmd forwards' : 'experiment 2: l2fwd forwards', apps: {}, pass: false };
  await lab.topology(referencePorts, referenceFlows);
  const forwarder = await lab.start(name === '1' ? 'testpmd' : 'l2fwd', name === '1' ? 'testpmd' : 'l2fwd', '1', (paths) => [
    '-c', '0xE0', '-n', '1', ...lab.memoryArgs(), '--file-prefix', 'testpmd', '--no-pci',
    '--vdev', lab.vdev(paths, 2, 'vhost-user2', '00:00:00:00:00:02'),
    '--vdev', lab.vdev(paths, 3, 'vhost-user3', '00:00:00:00:00:03'),
    '--',
    ...(name === '1' ?
      ['--burst=64', '--disable-hw-vlan', '--txd=2048', '--rxd=2048', '-a', '--coremask=0xc0', '--stats-period=0', '--json'] :
      // -q 2: one forwarding lcore for both ports, as the machine has one CPU for it.
      ['-p', '0x3', '-q', '2', '-T', '0', '--json']),
  ]);
  try {
    await lab.waitConnected(['vhost-user2', 'vhost-user3'], [forwarder]);
    log(`lab: ${result.name}: counted run (port 0 sends 100, port 1 sends 200, at 10% rate)`);
    const before = await lab.ovsCounters(referencePorts);
    const counted = await generate(lab, 'pktgen', referencePorts, `set all rate 10; set 0 count 100; set 1 count 200; ${settle} str`, 30);
    const generator = counted.report;
    const ovs = subtract(counted.ovs, before);
    const [p0, p1] = generator.ports;
    const checks = [
      { what: 'generator port 0 sent 100', ok: p0?.sent === 100 },
      { what: 'generator port 1 sent 200', ok: p1?.sent === 200 },
      { what: 'port 1 received exactly 100 (from port 0)', ok: p1?.received === 100 },
      { what: 'port 0 received exactly 200 (from port 1)', ok: p0?.received === 200 },
      // Port 0's 100 packets enter OVS on 1 and come back from the forwarder on 3; port 1's 200 on 2, then 4.
      { what: 'OVS flows in_port=1 and in_port=3 matched 100 each', ok: flowPackets(ovs, 1) === 100 && flowPackets(ovs, 3) === 100 },
      { what: 'OVS flows in_port=2 and in_port=4 matched 200 each', ok: flowPackets(ovs, 2) === 200 && flowPackets(ovs, 4) === 200 },
      { what: 'OVS ports: 1 and 3 took in 100 and sent 200, 2 and 4 took in 200 and sent 100, none dropped', ok: portsMatch(ovs, [[100, 200], [200, 100], [100, 200], [200, 100]]) },
    ];
    result.counted = { generator, ovs, checks };

    log(`lab: ${result.name}: full-rate run for ${lab.options.durationS} s`);
    const beforeFull = await lab.ovsCounters(referencePorts);
    const fullRun = await generate(lab, 'pktgen-full', referencePorts, `set all rate 100; str; delay ${lab.options.durationS * 1000}; stp; quit`);
    const full = fullRun.report;
    const ovsFull = subtract(fullRun.ovs, beforeFull);
    const received = full.ports.reduce((sum, port) => sum + port.received, 0);
    result.fullRate = { generator: full, ovs: ovsFull, seconds: lab.options.durationS, mpps: received / lab.options.durationS / 1e6 };
    result.pass = checks.every((check) => check.ok !== false);
  } finally {
    result.apps[forwarder.runner.name] = await lab.stop(forwarder);
  }
  return result;
}

/**
 * The service chain: generator port 0 -> OVS -> the inline IPS (drops UDP to port 6666)
 * -> OVS -> generator port 1; OVS mirrors port 0's traffic to a detect-only IPS.
 */
async function chainExperiment(lab: Lab): Promise<ExperimentResult> {
  const result: ExperimentResult = { name: 'service chain: inline IPS and a mirrored detector', apps: {}, pass: false };
  const ports = ['vhost-user0', 'vhost-user1', 'nf-in', 'nf-out', 'ids'];
  await lab.topology(ports, [
    'in_port=1,dl_type=0x800,actions=output:3,output:5',
    'in_port=4,dl_type=0x800,actions=output:2',
  ]);
  const rule = 'udp,tp_dst=6666';
  const nf = (name: string, mode: 'inline' | 'detect', sockets: string[], prefix: string): Promise<StartedApp> =>
    lab.start(name, 'ips', '1', (paths) => [
      '--lcores', '0@1', '-n', '1', ...(lab.options.noHuge ? ['--no-huge', '-m', '256'] : []), '--file-prefix', prefix, '--no-pci',
      ...sockets.flatMap((socket, i) => ['--vdev', lab.vdev(paths, i, socket, `00:00:00:00:01:0${i}`)]),
      '--', '--mode', mode, '--rule', rule, '--cpu', '1', '--stats-period', '0', '--json',
    ]);
  const ips = await nf('ips', 'inline', ['nf-in', 'nf-out'], 'ips');
  const ids = await nf('ids', 'detect', ['ids'], 'ids');
  try {
    await lab.waitConnected(['nf-in', 'nf-out', 'ids'], [ips, ids]);
    log(`lab: ${result.name}: port 0 sends 300 packets at 10 Kpps, UDP to ports 53, 6666 and 80 in turn; the IPS drops ${rule}`);
    const before = await lab.ovsCounters(ports);
    // Port 0 alone sends, at 10 Kpps: a burst of 300 would overflow the 256-descriptor
    // virtio ring while the OVS PMD waits for its CPU. The run ends once the packets have
    // had time to cross the chain.
    const run = await generate(lab, 'pktgen', ports, `set 0 pps 10000; set 0 dport 53,6666,80; set 0 count 300; ${settle} start 0; delay 3000; stp; quit`);
    const generator = run.report;
    const ovs = subtract(run.ovs, before);
    result.apps.ips = await lab.stop(ips);
    result.apps.ids = await lab.stop(ids);
    const inline = result.apps.ips as { rx?: number; passed?: number; matched?: number } | undefined;
    const detect = result.apps.ids as { rx?: number; matched?: number } | undefined;
    const [p0, p1] = generator.ports;
    const checks = [
      { what: 'generator port 0 sent 300', ok: p0?.sent === 300 },
      { what: 'the inline IPS received 300, dropped 100, passed 200', ok: inline?.rx === 300 && inline.matched === 100 && inline.passed === 200 },
      { what: 'port 1 received the 200 passed packets', ok: p1?.received === 200 },
      { what: 'the detector got all 300 mirrored copies and matched 100', ok: detect?.rx === 300 && detect.matched === 100 },
      { what: 'OVS: in_port=1 matched 300, in_port=4 matched 200', ok: flowPackets(ovs, 1) === 300 && flowPackets(ovs, 4) === 200 },
      { what: 'OVS ports: 300 in from port 0, 300 out to the IPS and 300 to the detector, 200 back and out to port 1', ok: portsMatch(ovs, [[300, 0], [0, 200], [0, 300], [200, 0], [0, 300]]) },
    ];
    result.counted = { generator, ovs, checks };
    result.pass = checks.every((check) => check.ok !== false);
  } finally {
    for (const [name, app] of [['ips', ips], ['ids', ids]] as const) {
      if (result.apps[name] === undefined) result.apps[name] = await lab.stop(app);
    }
  }
  return result;
}

function formatNs(ns: number | undefined): string {
  return ns === undefined ? '-' : ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} us`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}

function summary(result: ExperimentResult): string {
  const lines = [`\n=== ${result.name}: ${result.pass ? 'PASS' : 'FAIL'}${result.error === undefined ? '' : ` (${result.error})`}`];
  if (result.counted !== undefined) {
    const rows = [['generator port', 'sent', 'received', 'dropped', 'latency avg', 'p99']];
    for (const port of result.counted.generator.ports) {
      rows.push([String(port.port), String(port.sent), String(port.received), String(port.dropped ?? 0),
        formatNs(port.latency?.avgNs), formatNs(port.latency?.percentilesNs?.p99)]);
    }
    lines.push('counted run:', table(rows));
    lines.push(table([['OVS flow', 'packets'], ...result.counted.ovs.flows.map((flow) => [flow.flow, String(flow.packets)])]));
    lines.push(table([['OVS port', 'rx', 'tx', 'rx dropped', 'tx dropped'],
      ...result.counted.ovs.ports.map((port) => [`${port.port} ${port.name}`, ...[port.rx, port.tx, port.rxDropped, port.txDropped].map((n) => (n === null ? 'n/a' : String(n)))])]));
    for (const check of result.counted.checks) {
      lines.push(`  ${check.ok === null ? 'n/a ' : check.ok ? 'ok  ' : 'FAIL'} ${check.what}${check.ok === null ? ' (OVS reports no counters for these ports)' : ''}`);
    }
  }
  for (const [name, app] of Object.entries(result.apps)) lines.push(`${name}: ${app === undefined ? '(no summary)' : JSON.stringify(app)}`);
  if (result.fullRate !== undefined) {
    const rows = [['full rate', 'sent', 'received', 'dropped']];
    for (const port of result.fullRate.generator.ports) rows.push([`port ${port.port}`, String(port.sent), String(port.received), String(port.dropped ?? 0)]);
    lines.push(`full-rate run, ${result.fullRate.seconds} s: ${result.fullRate.mpps.toFixed(3)} Mpps received`, table(rows));
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  let options: LabOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`lab: ${error.message}\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    log(usage);
    return 0;
  }
  const lab = new Lab(options);
  const results: ExperimentResult[] = [];
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    log('\nlab: interrupted: cleaning up');
    void lab.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await lab.setUp();
    for (const experiment of options.experiments) {
      if (interrupted) break;
      let result: ExperimentResult;
      try {
        result = experiment === 'chain' ? await chainExperiment(lab) : await forwardingExperiment(lab, experiment);
      } catch (error) {
        result = { name: `experiment ${experiment}`, apps: {}, pass: false, error: error instanceof Error ? error.message : String(error) };
      }
      results.push(result);
      log(summary(result));
    }
  } catch (error) {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await lab.close();
    const report = { date: new Date().toISOString(), options, pass: results.length > 0 && results.every((r) => r.pass), experiments: results };
    writeFileSync(options.jsonPath, JSON.stringify(report, null, 2));
    log(`\nlab: results in ${options.jsonPath}: ${report.pass ? 'PASS' : 'FAIL'}`);
  }
  return results.every((result) => result.pass) ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
}, (error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
