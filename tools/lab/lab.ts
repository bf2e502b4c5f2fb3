/**
 * The lab's resources and their lifecycle: a private OVS-DPDK configured through the
 * SDK's OVSDB and OpenFlow clients (bridge, vhost-user ports, flows, counters), the
 * container engine and images, and the apps, started in containers or as processes and
 * stopped again. {@link Lab.close} releases everything, on success, failure and Ctrl-C.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DpdkError } from '../../lib/errors.js';
import { freeHugepageMb } from '../../lib/host.js';
import { OpenFlowClient } from '../../lib/ovs/openflow/client.js';
import { parseFlowMod } from '../../lib/ovs/openflow/flow-syntax.js';
import { OvsSandbox } from '../../lib/ovs/sandbox.js';
import { Vswitch } from '../../lib/ovs/vswitch.js';
import type { AppEalSettings, VirtioPort } from './app-args.js';
import { appMetricsArg, appMetricsUrl, scrapePortPackets, type PortPacketCounts } from './app-metrics.js';
import type { CApp } from './c-apps.js';
import { cpuMask, planCpus, type CpuPlan } from './cpu-plan.js';
import { DockerEngine, type AppExit } from './docker-engine.js';
import { buildBaseImage, buildImage } from './images.js';
import { maxConcurrentApps, type LabOptions } from './options.js';
import { OvnFabric } from './ovn-fabric.js';
import { readOvsCounters, type OvsCounters } from './ovs-counters.js';
import { ContainerAppRunner, HostAppRunner, type AppPaths, type AppRunner, type AppRunnerOptions } from './runner.js';

/** The dpdk-ts checkout the lab runs from (its dist/, build/ and examples/docker/). */
export const packageRoot = resolve(__dirname, '..', '..');
/** The apps' --file-prefix values: the reference setup's, and the service chain's. */
const appFilePrefixes = ['pktgen', 'testpmd', 'ips', 'ids'];
const bridge = 'ovs-br0';
/**
 * Hugepage memory the lab needs free: OVS takes 256 to 384 MiB (`dpdk-socket-mem`,
 * `dpdk-socket-limit`), the two apps of an experiment the rest as they need it.
 */
const neededHugepageMb = 768;
/** With `--hosts N`: each chassis's OVS takes 128 to 256 MiB, the apps the rest. */
const hostsHugepageMb = (hosts: number): number => 128 * hosts + 512;

/** Prints a line of the lab's progress. */
export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** An app started for an experiment, with its output kept for the summary and for failures. */
export interface StartedApp {
  /** Where it runs. */
  runner: AppRunner;
  /** Its last 400 lines of output. */
  lines: string[];
  /** Resolves with the first JSON line the app prints. */
  json: Promise<unknown>;
  /** Where it serves its metrics (`--metrics`), if it does. */
  metricsUrl?: string;
  /** Its ports' packet counts as its metrics said, once {@link Lab.readMetrics} read them. */
  metrics?: PortPacketCounts;
}

/** A dpdk-ts example (`dist/examples/<example>.js`) or one of DPDK's C apps. */
export type LabProgram = { example: string } | { c: CApp };

/** What {@link Lab.start} starts. */
export interface LabApp {
  /** Unique among the running apps; `[name]` prefixes its lines. */
  name: string;
  /** What to run. */
  program: LabProgram;
  /** The CPU to pin it to. */
  cpu: number;
  /** Its command line, from the paths it sees. */
  args: (paths: AppPaths) => string[];
  /** The reference setup's command line of this app, shown once beside the one it runs with. */
  reference?: string;
  /** Pipe its stdin, for `started.runner.write()`. Default false. */
  interactive?: boolean;
  /** Extra environment variables, from the paths it sees. */
  env?: (paths: AppPaths) => Record<string, string>;
}

/** Runs the experiments; owns every resource it starts and releases them in `close()`. */
export class Lab {
  /** The command line's options. */
  readonly options: LabOptions;
  /** Which CPU OVS and each app run on. */
  readonly cpus: CpuPlan;
  // Where the apps' virtio-user sockets are: the lab's own directory when the apps serve
  // them (OVS dpdkvhostuserclient), OVS's run directory when OVS does (dpdkvhostuser:
  // OVS accepts only a vhost-sock-dir relative to it).
  readonly #ownSocketDir: string;
  #sandbox: OvsSandbox | undefined;
  #vswitch: Vswitch | undefined;
  #ovn: OvnFabric | undefined;
  #docker: DockerEngine | undefined;
  #image: string | undefined;
  #apps = new Set<StartedApp>();
  /** The `--metrics` port index of each running app that serves metrics. */
  #metricsIndexes = new Map<StartedApp, number>();
  /** Apps whose command line was shown beside the reference's. */
  #noted = new Set<string>();

  constructor(options: LabOptions, cpus: CpuPlan = planCpus(undefined, options.placement)) {
    this.options = options;
    this.cpus = cpus;
    // 0700 (mkdtemp's mode, made explicit): only root, which OVS and the apps run as,
    // may reach the sockets; a vhost-user peer maps the app's packet memory.
    this.#ownSocketDir = mkdtempSync(join(tmpdir(), 'lab-'));
    chmodSync(this.#ownSocketDir, 0o700);
  }

  /**
   * The permission bits of the socket directory and of each socket in it: nobody but its
   * owner may reach the sockets (a vhost-user peer reads and writes the app's memory).
   */
  socketModes(): { dir: number; sockets: Record<string, number> } {
    const dir = this.socketDir;
    const sockets: Record<string, number> = {};
    for (const name of readdirSync(dir)) {
      const stat = statSync(join(dir, name));
      if (stat.isSocket()) sockets[name] = stat.mode & 0o777;
    }
    return { dir: statSync(dir).mode & 0o777, sockets };
  }

  /** The lab's private OVS (`--fault` kills and starts its daemons). */
  get ovs(): OvsSandbox {
    return this.#sandbox as OvsSandbox;
  }

  /**
   * The OVN fabric of `--hosts N` (chassis, northbound database, attached ports, counters).
   * @throws DpdkError `ERR_LAB` when the lab runs the one OVS.
   */
  get ovn(): OvnFabric {
    if (this.#ovn === undefined)
      throw new DpdkError('the lab runs one OVS, not OVN chassis (--hosts)', { code: 'ERR_LAB', operation: 'lab' });
    return this.#ovn;
  }

  /** The lab's OVSDB helpers, whose replica says each interface's state. */
  get vswitch(): Vswitch {
    return this.#vswitch as Vswitch;
  }

  /** The OpenFlow target of the lab's bridge (`unix:<run dir>/<bridge>.mgmt`). */
  get openflowTarget(): string {
    return `unix:${(this.#sandbox as OvsSandbox).mgmtSocket(bridge)}`;
  }

  /** The host directory of the vhost-user sockets. */
  get socketDir(): string {
    return this.options.vhostMode === 'server' ? (this.#sandbox as OvsSandbox).runDir : this.#ownSocketDir;
  }

  /** Checks prerequisites, starts OVS-DPDK, and builds the images. */
  async setUp(): Promise<void> {
    const freeMb = freeHugepageMb();
    const hosts = this.options.hosts;
    const neededMb = hosts > 0 ? hostsHugepageMb(hosts) : neededHugepageMb;
    if (!this.options.noHuge && freeMb < neededMb) {
      throw new DpdkError(
        `only ${freeMb} MiB of hugepages are free, the lab needs ${neededMb} MiB: reserve them with ` +
          "'echo 512 > /proc/sys/vm/nr_hugepages' as root, or run with --no-huge",
        { code: 'ENOMEM', operation: 'lab' },
      );
    }
    if (hosts > 0) await this.#startOvn(hosts);
    else await this.#startOvs();
    if (this.options.containers) {
      log('lab: preparing the container engine and images (no registry: debootstrap, then docker build)');
      this.#docker = await DockerEngine.ensure({ log: (line: string) => log(`lab: ${line}`) });
      const base = await buildBaseImage(this.#docker);
      this.#image = await buildImage(this.#docker, {
        name: 'dpdk-ts-app',
        dockerfile: join(packageRoot, 'examples/docker/Dockerfile.app'),
        baseImage: base,
        stagePackageFrom: packageRoot,
      });
    }
  }

  /** The one OVS-DPDK, configured through the SDK's OVSDB client. */
  async #startOvs(): Promise<void> {
    // OVS adds --in-memory unless --legacy-mem is given, and EAL refuses --in-memory with --no-huge.
    const dpdkExtra = `--no-pci${this.options.noHuge ? ' --no-huge --legacy-mem -m 1024' : ' --in-memory --single-file-segments'}`;
    log(
      `lab: starting OVS-DPDK (private run dir; PMD on CPU ${this.cpus.ovs}, pmd-maxsleep ${this.options.pmdMaxSleepUs} us; ` +
        `generator on CPU ${this.cpus.generator}, forwarder on CPU ${this.cpus.forwarder}; ${this.options.noHuge ? 'no hugepages' : 'hugepages'})`,
    );
    this.#sandbox = await OvsSandbox.start({
      vswitchd: 'dpdk',
      timeoutMs: 60000,
      otherConfig: {
        'dpdk-init': 'true',
        'dpdk-lcore-mask': cpuMask(this.cpus.ovs),
        'pmd-cpu-mask': cpuMask(this.cpus.ovs),
        // OVS grows its memory on demand (mempools per port MTU) until the hugepages are
        // gone; a limit leaves the apps theirs, and OVS retries with smaller mempools.
        ...(this.options.noHuge ? {} : { 'dpdk-socket-mem': '256', 'dpdk-socket-limit': '384' }),
        'dpdk-extra': dpdkExtra,
        // An idle PMD thread sleeps up to this long (OVS 3.1), leaving the CPU it shares
        // to the poller beside it: 0.11 Mpps through experiment 1 without, 0.9 with 50 us
        // (README, "Sharing two CPUs").
        'pmd-maxsleep': String(this.options.pmdMaxSleepUs),
        // A mempool per port. With OVS's shared mempools, two vhost ports reconnecting at
        // once (an ovs-vswitchd restart, forwarders restarting between rounds) race while
        // OVS sizes the shared pool: one port's VHOST_USER_SET_MEM_TABLE failed ("failed
        // to allocate memory for dev->guest_pages") in 1 of 11 restarts, the app's
        // virtio-user said "Failed to start device", and neither side retried, leaving the
        // port down for good; 0 of 15 with per-port memory (LAB-NOTES, "OVS restarts").
        'per-port-memory': 'true',
      },
    });
    this.#vswitch = await Vswitch.connect(this.#sandbox.dbTarget, { timeoutMs: 60000 });
  }

  /** `--hosts N`: OVN's central and N DPDK chassis, every PMD on the OVS CPU. */
  async #startOvn(hosts: number): Promise<void> {
    log(
      `lab: starting OVN with ${hosts} DPDK chassis (network namespaces, Geneve in OVS userspace; every chassis's PMD ` +
        `on CPU ${this.cpus.ovs}, pmd-maxsleep ${this.options.pmdMaxSleepUs} us; generator on CPU ${this.cpus.generator}, ` +
        `forwarder on CPU ${this.cpus.forwarder}; ${this.options.noHuge ? 'no hugepages' : 'hugepages'})`,
    );
    this.#ovn = await OvnFabric.start({
      hosts,
      cpus: this.cpus,
      noHuge: this.options.noHuge,
      pmdMaxSleepUs: this.options.pmdMaxSleepUs,
      socketDir: this.#ownSocketDir,
    });
  }

  /** The bridge with `ports` (names, OpenFlow numbers from 1) and `flows`, made anew. */
  async topology(ports: string[], flows: string[]): Promise<void> {
    const vswitch = this.#vswitch as Vswitch;
    await vswitch.deleteBridge(bridge, { ifExists: true });
    // fail_mode=secure: a bridge without flows drops. In standalone mode a restarted
    // ovs-vswitchd forwards with NORMAL until the flows are back: the generator's packets
    // then went straight to its other port as well as through the forwarder (it received
    // 6028 more than it sent in 1.3 s), bypassing the network function.
    await vswitch.addBridge(bridge, { datapathType: 'netdev', failMode: 'secure' });
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
      await openflow.flowMods([
        parseFlowMod('', { command: 'delete' }),
        ...flows.map((flow) => parseFlowMod(flow, { command: 'add', portMap })),
      ]);
    } finally {
      await openflow.close();
    }
    log(
      `lab: ${bridge}: ${ports.map((name, i) => `${name}=${i + 1}`).join(' ')} (${type}); flows: ${flows.join(' ; ')}`,
    );
  }

  async #openflow(): Promise<OpenFlowClient> {
    return OpenFlowClient.connect(this.openflowTarget, { timeoutMs: 10000 });
  }

  /**
   * OVS's flow counters and the counters of ports `names` (OpenFlow numbers from 1) now;
   * with `--hosts`, those of `names` on their chassis and of every tunnel port (see
   * {@link OvnFabric.counters}).
   */
  async ovsCounters(names: string[]): Promise<OvsCounters> {
    if (this.#ovn !== undefined) return this.#ovn.counters(names);
    const openflow = await this.#openflow();
    try {
      return await readOvsCounters(openflow, names);
    } finally {
      await openflow.close();
    }
  }

  /**
   * Waits until OVS reports these vhost-user interfaces connected to their virtio peers;
   * fails at once, with its last lines, if one of `apps` exits meanwhile.
   */
  async waitConnected(names: string[], apps: StartedApp[], timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ended: StartedApp[] = [];
    for (const app of apps) void app.runner.wait().then(() => ended.push(app));
    for (;;) {
      if (ended.length > 0) {
        const app = ended[0];
        throw new DpdkError(
          `${app.runner.name} exited before OVS saw it connected:\n${app.lines.slice(-15).join('\n')}`,
          { code: 'ERR_LAB', operation: 'lab' },
        );
      }
      const states = names.map((name) => this.#connected(name));
      if (states.every((connected) => connected)) return;
      if (Date.now() > deadline) {
        const waiting = names.filter((_, i) => !states[i]);
        throw new DpdkError(`OVS did not see ${waiting.join(', ')} connected within ${timeoutMs / 1000} s`, {
          code: 'ETIMEDOUT',
          operation: 'lab',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * Waits until OVS reports these vhost-user interfaces disconnected, after their app
   * stopped: the next app on the same sockets is then not taken for connected early.
   */
  async waitDisconnected(names: string[], timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (names.every((name) => !this.#connected(name))) return;
      if (Date.now() > deadline) {
        throw new DpdkError(
          `OVS still sees ${names.join(', ')} connected ${timeoutMs / 1000} s after their app stopped`,
          {
            code: 'ETIMEDOUT',
            operation: 'lab',
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Whether OVS (or the chassis that has it) sees vhost-user port `name` connected to its virtio peer. */
  #connected(name: string): boolean {
    if (this.#ovn !== undefined) return this.#ovn.connected(name);
    return (this.#vswitch as Vswitch).interface(name).connected === true;
  }

  /** The EAL settings of an app pinned to `cpu` with these ports, as it sees its paths. */
  appEal(paths: AppPaths, cpu: number, filePrefix: string, ports: VirtioPort[]): AppEalSettings {
    return {
      cpu,
      filePrefix,
      noHuge: this.options.noHuge,
      ports,
      vhostMode: this.options.vhostMode,
      socketDir: paths.socketDir,
    };
  }

  /** Starts an app in a container or as a process, pinned to its CPU. */
  async start(app: LabApp): Promise<StartedApp> {
    const program = app.program;
    if ('c' in program && !existsSync(program.c.host)) {
      // The app image's copy is staged from the host's (staging.ts): it is missing there too.
      throw new DpdkError(`${program.c.host} is missing: ${program.c.install}`, { code: 'ENOENT', operation: 'lab' });
    }
    // stdbuf: a C app's stdout is block-buffered into a pipe, and lost when a signal ends it.
    const cPath = 'c' in program ? (this.options.containers ? program.c.image : program.c.host) : undefined;
    let jsonSeen: (value: unknown) => void = () => undefined;
    const started: StartedApp = {
      runner: undefined as unknown as AppRunner,
      lines: [],
      json: new Promise((resolve) => {
        jsonSeen = resolve;
      }),
    };
    // --metrics: a dpdk-ts app takes the first port no running app holds.
    const address = 'example' in program ? this.options.metrics : undefined;
    const used = new Set(this.#metricsIndexes.values());
    const index = Array.from({ length: maxConcurrentApps }, (_, i) => i).find((i) => !used.has(i));
    if (address !== undefined && index === undefined) {
      throw new DpdkError(`--metrics: no port left for ${app.name}: ${maxConcurrentApps} apps already serve metrics`, {
        code: 'ERR_LAB',
        operation: 'lab',
      });
    }
    const metricsArgs = address === undefined ? [] : ['--metrics', appMetricsArg(address, index as number)];
    const options: AppRunnerOptions = {
      name: app.name,
      program: 'example' in program ? program : { executable: 'stdbuf' },
      cpus: String(app.cpu),
      args:
        cPath === undefined
          ? (paths) => [...app.args(paths), ...metricsArgs]
          : (paths) => ['-oL', cPath, ...app.args(paths)],
      socketDir: this.socketDir,
      interactive: app.interactive === true,
      ...(app.env === undefined ? {} : { env: app.env }),
      hostNetwork: address !== undefined,
      onLine: (line) => {
        started.lines.push(line);
        if (line.startsWith('{')) {
          const value = lastJson([line]);
          if (value !== undefined) jsonSeen(value);
        }
        if (started.lines.length > 400) started.lines.shift();
        if (this.options.verbose || /^pktgen: [\d.]+s \|/.test(line)) log(`[${app.name}] ${line}`);
      },
    };
    started.runner = this.options.containers
      ? await ContainerAppRunner.start(this.#docker as DockerEngine, this.#image as string, options)
      : await HostAppRunner.start(options, packageRoot);
    this.#apps.add(started);
    if (address !== undefined) {
      this.#metricsIndexes.set(started, index as number);
      void started.runner.wait().then(() => this.#metricsIndexes.delete(started));
      started.metricsUrl = appMetricsUrl(address, index as number);
      log(`lab: [${app.name}] serves its metrics at ${started.metricsUrl}`);
    }
    const shownName = cPath ?? ('example' in program ? program.example : '');
    if (app.reference !== undefined && !this.#noted.has(shownName)) {
      this.#noted.add(shownName);
      // The virtio-user devices are left out: they only repeat the topology.
      const shown = app
        .args(started.runner.paths)
        .filter((arg, i, argv) => arg !== '--vdev' && argv[i - 1] !== '--vdev')
        .map((arg) => (/[\s;"'()[\]]/.test(arg) ? `'${arg}'` : arg));
      log(`lab: note: ${shownName} runs on CPU ${app.cpu} with ${shown.join(' ')}`);
      log(
        `lab: note: (the reference setup's command line, for a machine with more CPUs and NUMA sockets: ${app.reference})`,
      );
    }
    return started;
  }

  /**
   * Reads the app's port packet counts from its metrics (`--metrics`; nothing without, or
   * once the app has ended), prints them and keeps them in `app.metrics`. A failure to read
   * is printed, not thrown: the app's own report still counts.
   */
  async readMetrics(app: StartedApp): Promise<PortPacketCounts | undefined> {
    // An app that has ended has given its port back: another program may answer there.
    if (app.metricsUrl === undefined || !this.#metricsIndexes.has(app)) return undefined;
    try {
      app.metrics = await scrapePortPackets(app.metricsUrl);
      log(`lab: [${app.runner.name}] metrics: its ports received ${app.metrics.rx} and sent ${app.metrics.tx} packets`);
    } catch (error) {
      log(`lab: [${app.runner.name}] metrics: ${error instanceof Error ? error.message : String(error)}`);
    }
    return app.metrics;
  }

  /**
   * Stops an app (SIGTERM, then SIGKILL after 10 s), having read its metrics first if it
   * serves them, and returns its last JSON line, if any.
   */
  async stop(app: StartedApp): Promise<unknown> {
    if (app.metrics === undefined) await this.readMetrics(app);
    await app.runner.kill('SIGTERM', 10000);
    this.#apps.delete(app);
    return lastJson(app.lines);
  }

  /** Kills an app at once (SIGKILL: a crash, `docker kill`), without reading its metrics. */
  async crash(app: StartedApp): Promise<AppExit> {
    const exit = await app.runner.kill('SIGKILL', 5000);
    this.#apps.delete(app);
    return exit;
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
    await this.#ovn?.close().catch(() => undefined);
    await this.#docker?.stop().catch(() => undefined);
    rmSync(this.#ownSocketDir, { recursive: true, force: true });
  }
}

/** The last line of `lines` that parses as JSON. */
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
