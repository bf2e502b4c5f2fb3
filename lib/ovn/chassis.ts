/**
 * {@link OvnChassis}: one simulated OVN host, in a network namespace of its own: an
 * ovsdb-server, an ovs-vswitchd (plain, or DPDK for chassis that host network functions)
 * and an ovn-controller, with a netdev `br-phy` carrying the chassis's underlay IP on a veth
 * and a pre-created `br-int`, Geneve in OVS userspace.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DpdkError } from '../errors.js';
import { dpdkVswitchd, vswitchSchema } from '../ovs/sandbox.js';
import { Vswitch } from '../ovs/vswitch.js';
import {
  attachPort,
  detachPort,
  portOfLsp,
  type AttachOptions,
  type AttachedPort,
  type ChassisPortState,
  type DetachOptions,
} from './attach.js';
import { killAndWait, killAtExit, releaseAtExit, runningPid, type ExitKillable } from '../ovs/daemon.js';
import { deleteNamespaceNow, ip, namespaceExists, runProgram } from './chassis-daemons.js';
import type { Southbound } from './southbound.js';

/** The plain (non-DPDK) ovs-vswitchd installed with Open vSwitch. */
export const plainVswitchd = '/usr/sbin/ovs-vswitchd';

/** The daemons of a chassis. */
export type ChassisDaemon = 'ovsdb-server' | 'ovs-vswitchd' | 'ovn-controller';

/** Where a chassis meets the underlay network (made by {@link OvnSandbox}). */
export interface ChassisUnderlay {
  /** The network namespace of the underlay's Linux bridge. */
  namespace: string;
  /** The Linux bridge in that namespace. */
  bridge: string;
  /** The name of the chassis's veth end in the underlay namespace (15 bytes at most). */
  peer: string;
  /** The chassis's IP (the Geneve endpoint, `ovn-encap-ip`), e.g. `192.168.100.1`. */
  ip: string;
  /** The prefix length of the underlay subnet. */
  prefixLength: number;
  /** The MAC of the chassis's `br-phy` (fixed, so that peers can be told it: tunnel neighbours). */
  mac: string;
}

/** What {@link OvnChassis.start} needs. */
export interface OvnChassisConfig {
  /** The chassis name (`system-id`, the southbound `Chassis.name`). */
  name: string;
  /** The network namespace to create for it; it must not exist. */
  namespace: string;
  /** The private directory to create for its databases, sockets and logs. */
  dir: string;
  /** The southbound database, as `ovn-remote` (e.g. `unix:/tmp/ovn/ovnsb_db.sock`). */
  southboundTarget: string;
  /** The southbound replica, to wait for the chassis and its port bindings. */
  southbound: Southbound;
  /** Its place on the underlay. */
  underlay: ChassisUnderlay;
  /** The DPDK ovs-vswitchd ({@link dpdkVswitchd}) rather than the plain one. */
  dpdk: boolean;
  /** `other_config` of its Open_vSwitch row (DPDK and PMD settings). */
  otherConfig: Readonly<Record<string, string>>;
  /** Timeout of each daemon start and wait, in milliseconds. */
  timeoutMs: number;
}

/**
 * One OVN chassis, simulated: its own network namespace, ovsdb-server, ovs-vswitchd and
 * ovn-controller (all with their files in {@link runDir}), a netdev `br-phy` with the
 * chassis's underlay IP on a veth, and `br-int` (netdev, `fail_mode=secure`, in-band off)
 * for ovn-controller. Network functions are attached with {@link attach}. Usually made by
 * {@link OvnSandbox}; {@link close} stops and removes everything.
 */
export class OvnChassis implements ExitKillable {
  /** The chassis name (`system-id`). */
  readonly name: string;
  /** Its network namespace. */
  readonly namespace: string;
  /** Its private directory (OVS and OVN run, log and database directory). */
  readonly runDir: string;
  /** Its underlay IP (the Geneve endpoint). */
  readonly encapIp: string;
  /** The MAC of its `br-phy`. */
  readonly mac: string;
  /** Whether its ovs-vswitchd is the DPDK one (needed for vhost-user ports). */
  readonly dpdk: boolean;
  /** The environment for OVS and OVN programs run against this chassis (`ovs-vsctl`, `ovs-appctl`). */
  readonly env: NodeJS.ProcessEnv;
  readonly #config: OvnChassisConfig;
  readonly #filePrefix: string;
  #vswitch: Vswitch | undefined;
  #closed = false;

  private constructor(config: OvnChassisConfig) {
    this.#config = config;
    this.name = config.name;
    this.namespace = config.namespace;
    this.runDir = config.dir;
    this.encapIp = config.underlay.ip;
    this.mac = config.underlay.mac;
    this.dpdk = config.dpdk;
    this.#filePrefix = `ovn${randomBytes(4).toString('hex')}`;
    const dir = config.dir;
    this.env = {
      ...process.env,
      OVS_RUNDIR: dir,
      OVS_LOGDIR: dir,
      OVS_DBDIR: dir,
      OVS_SYSCONFDIR: dir,
      OVN_RUNDIR: dir,
      OVN_LOGDIR: dir,
      OVN_DBDIR: dir,
      OVN_SYSCONFDIR: dir,
    };
    killAtExit(this);
  }

  /**
   * Creates the namespace and the veth to the underlay, starts ovsdb-server, configures the
   * Open_vSwitch database through {@link Vswitch} (OVN's `external_ids`, `br-int`, `br-phy`),
   * starts ovs-vswitchd, puts the IP on `br-phy`, starts ovn-controller and waits until the
   * chassis is registered in the southbound database. On failure everything it made is
   * removed again.
   * @throws DpdkError `EEXIST` when the namespace exists, `ERR_OVS_DAEMON` when a daemon or
   * `ip` fails (with its stderr), `ETIMEDOUT`.
   */
  static async start(config: OvnChassisConfig): Promise<OvnChassis> {
    if (namespaceExists(config.namespace)) {
      throw new DpdkError(
        `network namespace ${config.namespace} already exists (another sandbox, or one left by a killed run: ip netns delete ${config.namespace})`,
        { code: 'EEXIST', operation: 'OvnChassis.start', object: config.namespace },
      );
    }
    const chassis = new OvnChassis(config);
    try {
      await chassis.#start();
      return chassis;
    } catch (error) {
      await chassis.close();
      throw error;
    }
  }

  /** The Open_vSwitch database of this chassis, through {@link Vswitch} (its replica included). */
  get vswitch(): Vswitch {
    if (this.#vswitch === undefined || this.#closed) {
      throw new DpdkError('OvnChassis is closed', { code: 'ERR_CLOSED', operation: 'OvnChassis.vswitch' });
    }
    return this.#vswitch;
  }

  /** The target of its Open_vSwitch database: `unix:<runDir>/db.sock`. */
  get dbTarget(): string {
    return `unix:${join(this.runDir, 'db.sock')}`;
  }

  /** The OpenFlow management socket of `bridge` on this chassis (`<runDir>/<bridge>.mgmt`). */
  mgmtSocket(bridge: string): string {
    return join(this.runDir, `${bridge}.mgmt`);
  }

  /** The pid of a running daemon of this chassis, or undefined. */
  pid(daemon: ChassisDaemon): number | undefined {
    return runningPid(join(this.runDir, `${daemon}.pid`));
  }

  /**
   * The unixctl socket of a running daemon (for `ovs-appctl -t` / `ovn-appctl -t`), or
   * undefined when it does not run. ovn-controller 23.03 refuses `--unixctl`, so its socket
   * carries its pid.
   */
  controlSocket(daemon: ChassisDaemon): string | undefined {
    const pid = this.pid(daemon);
    if (pid === undefined) return undefined;
    return daemon === 'ovn-controller'
      ? join(this.runDir, `ovn-controller.${pid}.ctl`)
      : join(this.runDir, `${daemon}.ctl`);
  }

  /** The log file of `daemon`. */
  logFile(daemon: ChassisDaemon): string {
    return join(this.runDir, `${daemon}.log`);
  }

  /**
   * Runs `ovs-appctl` against this chassis's ovs-vswitchd (e.g. `tnl/neigh/show`) and
   * returns what it printed.
   * @throws DpdkError `ERR_OVS_DAEMON` when it fails, `ESRCH` when ovs-vswitchd does not run.
   */
  async appctl(...args: string[]): Promise<string> {
    const target = this.controlSocket('ovs-vswitchd');
    if (target === undefined) {
      throw new DpdkError(`ovs-vswitchd of chassis ${this.name} is not running`, {
        code: 'ESRCH',
        operation: 'OvnChassis.appctl',
        object: this.name,
      });
    }
    return runProgram('ovs-appctl', ['-t', target, '--timeout=10', ...args], {
      env: this.env,
      timeoutMs: this.#config.timeoutMs,
      operation: 'OvnChassis.appctl',
    });
  }

  /**
   * Tells this chassis's userspace tunnel the MAC of a peer's underlay IP (`ovs-appctl
   * tnl/neigh/set br-phy IP MAC`), so that its first packets to that peer are not dropped
   * while it resolves the address. Entries age out after 900 s.
   */
  async setTunnelNeighbour(peer: { encapIp: string; mac: string }): Promise<void> {
    await this.appctl('tnl/neigh/set', 'br-phy', peer.encapIp, peer.mac);
  }

  /**
   * Attaches a network function: a `dpdkvhostuserclient` port on `br-int` (named `options.port`,
   * default the LSP's name) connecting to the app's vhost-user server at `options.socketPath`,
   * with `external_ids:iface-id=lsp`; then waits until it is installed: the southbound
   * `Port_Binding` of `lsp` names this chassis and the Interface has
   * `external_ids:ovn-installed=true`. OVN says so before the app connects: see
   * {@link portState} for the link. On failure or timeout the port is removed again.
   * @throws DpdkError `EINVAL`, `EEXIST` (the LSP or the port is already on this chassis),
   * `ERR_OVS_INTERFACE` (ovs-vswitchd refused the port, e.g. a chassis without DPDK),
   * `ETIMEDOUT` ("chassis X did not bind LSP within N ms"), `ECANCELED`.
   */
  async attach(lsp: string, options: AttachOptions): Promise<AttachedPort> {
    return attachPort(this.#context('OvnChassis.attach'), lsp, options);
  }

  /**
   * Detaches LSP `lsp` from this chassis: deletes its port and waits until the southbound
   * binding no longer names this chassis.
   * @throws DpdkError `ENOENT` when no port of this chassis has `iface-id=lsp`, `ETIMEDOUT`, `ECANCELED`.
   */
  async detach(lsp: string, options: DetachOptions = {}): Promise<void> {
    await detachPort(this.#context('OvnChassis.detach'), lsp, options);
  }

  /**
   * The port of LSP `lsp` on this chassis and its state, or undefined when none has
   * `external_ids:iface-id=lsp`: `ovnInstalled` is OVN's word, `linkState` and `connected`
   * are the vhost-user link (whether the app is there).
   */
  portState(lsp: string): ChassisPortState | undefined {
    return portOfLsp(this.vswitch, lsp);
  }

  /**
   * Stops ovn-controller, ovs-vswitchd and ovsdb-server, deletes the namespace (and with it
   * the veth) and removes the directory. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#vswitch?.close();
    for (const daemon of ['ovn-controller', 'ovs-vswitchd', 'ovsdb-server'] as const) {
      const pid = this.pid(daemon);
      if (pid !== undefined) await killAndWait(pid, 'SIGTERM', this.#config.timeoutMs);
    }
    this.#remove();
    releaseAtExit(this);
  }

  /** @internal synchronous last resort at process exit: SIGKILL the daemons, remove what was made. */
  killNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const daemon of ['ovn-controller', 'ovs-vswitchd', 'ovsdb-server'] as const) {
      const pid = this.pid(daemon);
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    }
    this.#remove();
  }

  #remove(): void {
    deleteNamespaceNow(this.namespace);
    rmSync(this.runDir, { recursive: true, force: true });
    rmSync(join('/var/run/dpdk', this.#filePrefix), { recursive: true, force: true });
  }

  #context(operation: string) {
    return { operation, chassis: this.name, vswitch: this.vswitch, southbound: this.#config.southbound };
  }

  async #start(): Promise<void> {
    const config = this.#config;
    const { underlay, timeoutMs } = config;
    const operation = 'OvnChassis.start';
    mkdirSync(this.runDir, { recursive: true });
    await ip(['netns', 'add', this.namespace], operation, timeoutMs);
    await ip(['-n', this.namespace, 'link', 'set', 'lo', 'up'], operation, timeoutMs);
    // Both ends are made inside their namespaces: no name is ever taken in the host's.
    await ip(
      [
        'link',
        'add',
        'eth0',
        'netns',
        this.namespace,
        'type',
        'veth',
        'peer',
        'name',
        underlay.peer,
        'netns',
        underlay.namespace,
      ],
      operation,
      timeoutMs,
    );
    await ip(
      ['-n', underlay.namespace, 'link', 'set', underlay.peer, 'master', underlay.bridge, 'up'],
      operation,
      timeoutMs,
    );
    await ip(['-n', this.namespace, 'link', 'set', 'eth0', 'up'], operation, timeoutMs);

    const dbPath = join(this.runDir, 'conf.db');
    await this.#run('ovsdb-tool', ['create', dbPath, vswitchSchema], false);
    await this.#run(
      'ovsdb-server',
      [
        `--remote=punix:${join(this.runDir, 'db.sock')}`,
        ...this.#daemonArgs('ovsdb-server'),
        `--unixctl=${join(this.runDir, 'ovsdb-server.ctl')}`,
        dbPath,
      ],
      true,
    );
    const vswitch = await Vswitch.connect(this.dbTarget, { timeoutMs });
    this.#vswitch = vswitch;
    const noWait = { noWait: true } as const;
    await vswitch.init(noWait);
    await vswitch.setColumns(
      'Open_vSwitch',
      '.',
      {},
      {
        external_ids: {
          'system-id': this.name,
          hostname: this.name,
          'ovn-remote': config.southboundTarget,
          'ovn-encap-type': 'geneve',
          'ovn-encap-ip': underlay.ip,
          'ovn-bridge': 'br-int',
          'ovn-bridge-datapath-type': 'netdev',
        },
        ...(Object.keys(this.#otherConfig()).length > 0 ? { other_config: this.#otherConfig() } : {}),
      },
      noWait,
    );
    // ovn-controller would create br-int itself, but ports added right after it starts
    // would then fail ("no bridge named br-int").
    await vswitch.addBridge('br-int', {
      ...noWait,
      datapathType: 'netdev',
      failMode: 'secure',
      otherConfig: { 'disable-in-band': 'true' },
    });
    await vswitch.addBridge('br-phy', { ...noWait, datapathType: 'netdev', otherConfig: { hwaddr: underlay.mac } });
    await vswitch.addPort('br-phy', 'eth0', noWait);

    const vswitchdArgs = [this.dbTarget, ...this.#daemonArgs('ovs-vswitchd')];
    // The DPDK daemon would name its socket ovs-vswitchd-dpdk.PID.ctl: one known path instead.
    vswitchdArgs.push(`--unixctl=${join(this.runDir, 'ovs-vswitchd.ctl')}`);
    await this.#run(config.dpdk ? dpdkVswitchd : plainVswitchd, vswitchdArgs, true);
    // Confirms the bridges and the veth port (cur_cfg reaches next_cfg, no interface error).
    await vswitch.apply(operation, [], { timeoutMs }, ['br-int', 'br-phy', 'eth0']);
    await ip(
      ['-n', this.namespace, 'addr', 'add', `${underlay.ip}/${underlay.prefixLength}`, 'dev', 'br-phy'],
      operation,
      timeoutMs,
    );
    await ip(['-n', this.namespace, 'link', 'set', 'br-phy', 'up'], operation, timeoutMs);

    await this.#run('ovn-controller', [this.dbTarget, ...this.#daemonArgs('ovn-controller')], true);
    await config.southbound.waitForChassis(this.name, { timeoutMs });
  }

  /** `other_config` as given, with the DPDK defaults for a DPDK chassis and its private `--file-prefix`. */
  #otherConfig(): Record<string, string> {
    const otherConfig: Record<string, string> = { ...this.#config.otherConfig };
    if (!this.dpdk) return otherConfig;
    otherConfig['dpdk-init'] ??= 'true';
    otherConfig['dpdk-socket-mem'] ??= '128';
    otherConfig['pmd-maxsleep'] ??= '10000';
    // OVS's shared mempool asks first for 262144 mbufs and halves only on ENOMEM; on
    // fragmented hugepages DPDK fails that with ENAMETOOLONG (a memzone per chunk, past ten
    // chunks the name is too long) and OVS drops the port. A mempool per port is sized small.
    otherConfig['per-port-memory'] ??= 'true';
    let extra = otherConfig['dpdk-extra'] ?? '--no-pci';
    // OVS adds --in-memory, which DPDK refuses with --no-huge unless memory is legacy.
    if (/(^|\s)--no-huge(\s|$)/.test(extra) && !/--legacy-mem/.test(extra)) extra += ' --legacy-mem';
    otherConfig['dpdk-extra'] = `${extra} --file-prefix=${this.#filePrefix}`;
    return otherConfig;
  }

  #daemonArgs(daemon: ChassisDaemon): string[] {
    return [
      `--pidfile=${join(this.runDir, `${daemon}.pid`)}`,
      '--detach',
      `--log-file=${this.logFile(daemon)}`,
      '-vconsole:off',
    ];
  }

  async #run(file: string, args: string[], inNamespace: boolean): Promise<void> {
    await runProgram(file, args, {
      env: this.env,
      timeoutMs: this.#config.timeoutMs,
      operation: 'OvnChassis.start',
      ...(inNamespace ? { namespace: this.namespace } : {}),
    });
  }
}
