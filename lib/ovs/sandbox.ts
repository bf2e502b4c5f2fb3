/**
 * {@link OvsSandbox}: a private Open vSwitch (ovsdb-server, and ovs-vswitchd with the dummy
 * or the DPDK datapath) in its own directory, for tests and labs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../errors.js';
import { checkOptions, checkTimeout, describe } from '../validate.js';
import { killAndWait, killAtExit, releaseAtExit, runDaemonCommand, runningPid } from './daemon.js';
import { OvsdbClient } from './ovsdb/client.js';

/** Where Debian's `openvswitch-switch-dpdk` puts the DPDK-enabled ovs-vswitchd. */
export const dpdkVswitchd = '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk';
/** The Open_vSwitch database schema installed with Open vSwitch. */
export const vswitchSchema = '/usr/share/openvswitch/vswitch.ovsschema';

/** Which ovs-vswitchd an {@link OvsSandbox} starts. */
export type VswitchdKind = 'none' | 'dummy' | 'dpdk';

/** Options of {@link OvsSandbox.start}. */
export interface OvsSandboxOptions {
  /**
   * `none` (default): only ovsdb-server. `dummy`: `ovs-vswitchd --enable-dummy`, for
   * bridges with `datapath_type=dummy` (no DPDK, no hugepages). `dpdk`: the DPDK
   * ovs-vswitchd ({@link dpdkVswitchd}), for `datapath_type=netdev` bridges.
   */
  vswitchd?: VswitchdKind;
  /**
   * `other_config` of the Open_vSwitch row, written before ovs-vswitchd starts. For
   * `dpdk`, `dpdk-init=true`, `per-port-memory=true` and `dpdk-extra=--no-pci` are the defaults, and a unique
   * `--file-prefix` is always appended to `dpdk-extra` so sandboxes never share DPDK memory.
   */
  otherConfig?: Readonly<Record<string, string>>;
  /** A clustered (single-server raft) database, whose transaction history lets `monitor_cond_since` resume. Default false. */
  clustered?: boolean;
  /** More `--remote` arguments for ovsdb-server, e.g. `ptcp:0:127.0.0.1` or `pssl:6640:127.0.0.1`. */
  remotes?: readonly string[];
  /** TLS files for `pssl:` remotes (ovsdb-server `--private-key --certificate --ca-cert`). */
  tls?: { privateKeyFile: string; certificateFile: string; caCertFile: string };
  /** The prefix of the private directory; keep it short (unix socket paths must stay under 108 bytes). Default `/tmp/ovs`. */
  dirPrefix?: string;
  /** Timeout of each daemon start and of the database setup, in milliseconds. Default 20000. */
  timeoutMs?: number;
  /** More environment for ovs-vswitchd (tests preload a fault-injection library with `LD_PRELOAD`). */
  vswitchdEnv?: Readonly<Record<string, string>>;
}

const sandboxOptionKeys: readonly (keyof OvsSandboxOptions)[] = [
  'vswitchd',
  'otherConfig',
  'clustered',
  'remotes',
  'tls',
  'dirPrefix',
  'timeoutMs',
  'vswitchdEnv',
];

/**
 * A sandbox: a private Open vSwitch, ovsdb-server (and optionally ovs-vswitchd) running in
 * a fresh directory, never touching a system OVS (OVS_RUNDIR, OVS_LOGDIR, OVS_DBDIR all
 * point at it). {@link stop} kills what it started and removes the directory; a process
 * `exit` hook does the same as a backstop.
 */
export class OvsSandbox {
  /** The private directory (run, log and database directory). */
  readonly runDir: string;
  /** The database file. */
  readonly dbPath: string;
  /** The path of ovsdb-server's unix socket. */
  readonly dbSocketPath: string;
  /** The environment for OVS programs run against this sandbox (tests may run `ovs-vsctl` with it). */
  readonly env: NodeJS.ProcessEnv;
  readonly #options: OvsSandboxOptions;
  readonly #timeoutMs: number;
  readonly #filePrefix: string;
  #stopped = false;

  private constructor(options: OvsSandboxOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 20_000;
    this.runDir = mkdtempSync(options.dirPrefix ?? '/tmp/ovs');
    this.dbPath = join(this.runDir, 'conf.db');
    this.dbSocketPath = join(this.runDir, 'db.sock');
    this.#filePrefix = `ovs${randomBytes(4).toString('hex')}`;
    this.env = { ...process.env, OVS_RUNDIR: this.runDir, OVS_LOGDIR: this.runDir, OVS_DBDIR: this.runDir };
  }

  /**
   * Creates the directory and database, starts ovsdb-server, writes the Open_vSwitch row
   * (like `ovs-vsctl --no-wait init`) and `otherConfig`, then starts ovs-vswitchd if asked.
   * On failure everything started is stopped again.
   * @throws DpdkError `EINVAL` for bad options, `ERR_OVS_DAEMON` when a daemon fails to start
   * (with its stderr), `ETIMEDOUT`.
   */
  static async start(options: OvsSandboxOptions = {}): Promise<OvsSandbox> {
    const operation = 'OvsSandbox.start';
    checkOptions<OvsSandboxOptions>(operation, options, sandboxOptionKeys);
    checkTimeout(operation, options.timeoutMs);
    if (options.vswitchd !== undefined && !['none', 'dummy', 'dpdk'].includes(options.vswitchd)) {
      invalidArgument(operation, `vswitchd must be "none", "dummy" or "dpdk", got ${describe(options.vswitchd)}`);
    }
    if (options.tls !== undefined)
      checkOptions(`${operation} tls`, options.tls, ['privateKeyFile', 'certificateFile', 'caCertFile']);
    for (const field of ['otherConfig', 'vswitchdEnv'] as const) {
      for (const [key, value] of Object.entries(options[field] ?? {})) {
        if (typeof value !== 'string')
          invalidArgument(operation, `${field}["${key}"] must be a string, got ${describe(value)}`);
      }
    }
    const sandbox = new OvsSandbox(options);
    killAtExit(sandbox);
    try {
      if (options.clustered === true) {
        await sandbox.#run('ovsdb-tool', [
          'create-cluster',
          sandbox.dbPath,
          vswitchSchema,
          `unix:${join(sandbox.runDir, 'raft.sock')}`,
        ]);
      } else {
        await sandbox.#run('ovsdb-tool', ['create', sandbox.dbPath, vswitchSchema]);
      }
      await sandbox.startOvsdbServer();
      await sandbox.#initDatabase();
      if ((options.vswitchd ?? 'none') !== 'none') await sandbox.startVswitchd();
      return sandbox;
    } catch (error) {
      await sandbox.stop();
      throw error;
    }
  }

  /** The target for {@link OvsdbClient.connect}: `unix:<runDir>/db.sock`. */
  get dbTarget(): string {
    return `unix:${this.dbSocketPath}`;
  }

  /** The OpenFlow management socket of `bridge` (`<runDir>/<bridge>.mgmt`), for `ovs-ofctl`. */
  mgmtSocket(bridge: string): string {
    return join(this.runDir, `${bridge}.mgmt`);
  }

  /**
   * The unixctl socket of a running daemon (for `ovs-appctl -t`), or undefined when it
   * does not run.
   */
  controlSocket(daemon: 'ovsdb-server' | 'ovs-vswitchd'): string | undefined {
    const pid = this.pid(daemon);
    if (pid === undefined) return undefined;
    const program = daemon === 'ovs-vswitchd' && this.#options.vswitchd === 'dpdk' ? 'ovs-vswitchd-dpdk' : daemon;
    return join(this.runDir, `${program}.${pid}.ctl`);
  }

  /** The log file of `daemon`. */
  logFile(daemon: 'ovsdb-server' | 'ovs-vswitchd'): string {
    return join(this.runDir, daemon === 'ovsdb-server' ? 'ovsdb.log' : 'vswitchd.log');
  }

  /** The pid of a running daemon of this sandbox, from its pidfile, or undefined. */
  pid(daemon: 'ovsdb-server' | 'ovs-vswitchd'): number | undefined {
    return runningPid(join(this.runDir, `${daemon}.pid`));
  }

  /** Starts ovsdb-server on the sandbox database (again, after {@link killDaemon}). */
  async startOvsdbServer(): Promise<void> {
    const args = [
      `--remote=punix:${this.dbSocketPath}`,
      '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
      ...(this.#options.remotes ?? []).map((remote) => `--remote=${remote}`),
    ];
    const tls = this.#options.tls;
    if (tls !== undefined) {
      args.push(
        `--private-key=${tls.privateKeyFile}`,
        `--certificate=${tls.certificateFile}`,
        `--ca-cert=${tls.caCertFile}`,
      );
    }
    args.push(
      `--pidfile=${join(this.runDir, 'ovsdb-server.pid')}`,
      '--detach',
      `--log-file=${this.logFile('ovsdb-server')}`,
      '-vconsole:off',
      this.dbPath,
    );
    await this.#run('ovsdb-server', args);
  }

  /** Starts ovs-vswitchd of the kind given at start (again, after {@link killDaemon}). */
  async startVswitchd(): Promise<void> {
    const kind = this.#options.vswitchd ?? 'none';
    if (kind === 'none') {
      invalidArgument('OvsSandbox.startVswitchd', 'the sandbox was started with vswitchd "none"');
    }
    const common = [
      `unix:${this.dbSocketPath}`,
      `--pidfile=${join(this.runDir, 'ovs-vswitchd.pid')}`,
      '--detach',
      `--log-file=${this.logFile('ovs-vswitchd')}`,
      '-vconsole:off',
    ];
    const env = { ...this.env, ...this.#options.vswitchdEnv };
    if (kind === 'dummy') await this.#run('ovs-vswitchd', ['--enable-dummy', '--disable-system', ...common], env);
    else await this.#run(dpdkVswitchd, common, env);
  }

  /**
   * Kills a daemon of the sandbox (SIGTERM, or SIGKILL to simulate a crash) and waits
   * until it is gone. Does nothing when it is not running.
   */
  async killDaemon(daemon: 'ovsdb-server' | 'ovs-vswitchd', signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const pid = this.pid(daemon);
    if (pid !== undefined) await killAndWait(pid, signal, this.#timeoutMs);
  }

  /** Stops the daemons it started, waits for them to exit and removes the directory. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.killDaemon('ovs-vswitchd');
    await this.killDaemon('ovsdb-server');
    this.#removeDirectories();
    releaseAtExit(this);
  }

  /** Removes the sandbox directory and EAL's runtime directory, which ovs-vswitchd-dpdk leaves behind. */
  #removeDirectories(): void {
    rmSync(this.runDir, { recursive: true, force: true });
    rmSync(join('/var/run/dpdk', this.#filePrefix), { recursive: true, force: true });
  }

  /** @internal synchronous last resort at process exit: SIGKILL the daemons, remove the directories. */
  killNow(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const daemon of ['ovs-vswitchd', 'ovsdb-server'] as const) {
      const pid = this.pid(daemon);
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    }
    this.#removeDirectories();
  }

  async #initDatabase(): Promise<void> {
    const client = await OvsdbClient.connect(this.dbTarget, {
      timeoutMs: this.#timeoutMs,
      reconnect: false,
      probeIntervalMs: 0,
    });
    try {
      const otherConfig: Record<string, string> = { ...this.#options.otherConfig };
      if (this.#options.vswitchd === 'dpdk') {
        otherConfig['dpdk-init'] ??= 'true';
        // A mempool per port: with OVS's shared ones, two vhost ports reconnecting at once
        // (after an ovs-vswitchd restart) can fail one port's VHOST_USER_SET_MEM_TABLE while
        // OVS sizes the shared pool, and neither side retries (LAB-NOTES, "OVS restarts").
        otherConfig['per-port-memory'] ??= 'true';
        otherConfig['dpdk-extra'] = `${otherConfig['dpdk-extra'] ?? '--no-pci'} --file-prefix=${this.#filePrefix}`;
      }
      const [existing] = await client.transact('Open_vSwitch', [
        { op: 'select', table: 'Open_vSwitch', where: [], columns: ['_uuid'] },
      ]);
      if (existing.rows.length === 0) {
        await client.transact('Open_vSwitch', [
          { op: 'insert', table: 'Open_vSwitch', row: { other_config: otherConfig } },
        ]);
      } else {
        await client.transact('Open_vSwitch', [
          { op: 'update', table: 'Open_vSwitch', where: [], row: { other_config: otherConfig } },
        ]);
      }
    } finally {
      client.close();
    }
  }

  async #run(file: string, args: string[], env = this.env): Promise<void> {
    await runDaemonCommand(file, args, { env, timeoutMs: this.#timeoutMs, operation: 'OvsSandbox.start' });
  }
}
