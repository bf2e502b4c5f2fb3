/**
 * {@link OvnCentral}: OVN's central services (the OVN_Northbound and OVN_Southbound
 * ovsdb-servers and ovn-northd) in a private directory, for tests, labs and benchmarks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DpdkError } from '../errors.js';
import { killAndWait, killAtExit, releaseAtExit, runDaemonCommand, runningPid } from '../ovs/daemon.js';
import { OvsdbClient } from '../ovs/ovsdb/client.js';
import { checkBoolean, checkOptions, checkSocketPath, checkTimeout } from '../validate.js';

/** The OVN_Northbound database schema installed with OVN (Debian's `ovn-common`). */
export const ovnNbSchema = '/usr/share/ovn/ovn-nb.ovsschema';
/** The OVN_Southbound database schema installed with OVN. */
export const ovnSbSchema = '/usr/share/ovn/ovn-sb.ovsschema';

/** A daemon an {@link OvnCentral} runs: the two database servers and ovn-northd. */
export type OvnCentralDaemon = 'nb-ovsdb' | 'sb-ovsdb' | 'ovn-northd';

/** Options of {@link OvnCentral.start}. */
export interface OvnCentralOptions {
  /**
   * Whether to start ovn-northd, which translates the northbound database into the
   * southbound one. Default true; without it, NB writes succeed but nothing reaches the
   * southbound database (`sync` times out), until {@link OvnCentral.startNorthd}.
   */
  northd?: boolean;
  /** The prefix of the private directory; keep it short (unix socket paths must stay under 108 bytes). Default `/tmp/ovn`. */
  dirPrefix?: string;
  /** Timeout of each daemon start and of the database setup, in milliseconds. Default 20000. */
  timeoutMs?: number;
}

const centralOptionKeys: readonly (keyof OvnCentralOptions)[] = ['northd', 'dirPrefix', 'timeoutMs'];

/**
 * OVN's central services in a fresh directory: an ovsdb-server for OVN_Northbound, one for
 * OVN_Southbound (each listening on a unix socket there and on the `connections` of its
 * global row, as Debian's `ovn-ctl` starts them), and ovn-northd between them. Nothing
 * touches a system OVN (OVS_RUNDIR, OVN_RUNDIR and the log and database directories all
 * point at the private directory). {@link close} stops the daemons and removes the
 * directory; a process `exit` hook does the same as a backstop (also on SIGINT, SIGTERM
 * and SIGHUP).
 *
 * ```ts
 * const central = await OvnCentral.start();
 * const nb = await OvsdbClient.connect(central.nbTarget);
 * // ... ovn-controllers connect to central.sbTarget
 * await central.close();
 * ```
 */
export class OvnCentral {
  /** The private directory (run, log and database directory of the three daemons). */
  readonly runDir: string;
  /** The path of the OVN_Northbound ovsdb-server's unix socket. */
  readonly nbSocket: string;
  /** The path of the OVN_Southbound ovsdb-server's unix socket. */
  readonly sbSocket: string;
  /** The OVN_Northbound database file. */
  readonly nbDbPath: string;
  /** The OVN_Southbound database file. */
  readonly sbDbPath: string;
  /** The environment for OVN programs run against this central (tests may run `ovn-nbctl` with it). */
  readonly env: NodeJS.ProcessEnv;
  readonly #timeoutMs: number;
  #closed = false;

  private constructor(dirPrefix: string, timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.runDir = mkdtempSync(dirPrefix);
    this.nbSocket = join(this.runDir, 'ovnnb_db.sock');
    this.sbSocket = join(this.runDir, 'ovnsb_db.sock');
    this.nbDbPath = join(this.runDir, 'ovnnb_db.db');
    this.sbDbPath = join(this.runDir, 'ovnsb_db.db');
    const dir = this.runDir;
    this.env = {
      ...process.env,
      OVS_RUNDIR: dir,
      OVS_LOGDIR: dir,
      OVS_DBDIR: dir,
      OVN_RUNDIR: dir,
      OVN_LOGDIR: dir,
      OVN_DBDIR: dir,
    };
  }

  /**
   * Creates the directory and both databases, starts both ovsdb-servers, writes the
   * global rows (as `ovn-nbctl init` and `ovn-sbctl init` do), then starts ovn-northd
   * unless `northd: false`. On failure everything started is stopped again.
   * @throws DpdkError `EINVAL` for bad options, `ERR_OVS_DAEMON` when a daemon fails to
   * start (with its stderr), `ENOENT` when OVN is not installed, `ETIMEDOUT`.
   */
  static async start(options: OvnCentralOptions = {}): Promise<OvnCentral> {
    const operation = 'OvnCentral.start';
    checkOptions<OvnCentralOptions>(operation, options, centralOptionKeys);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? 20_000;
    const northd = options.northd === undefined ? true : checkBoolean(operation, 'northd', options.northd);
    const dirPrefix = options.dirPrefix ?? '/tmp/ovn';
    // mkdtemp adds 6 characters; the longest socket name is "ovnnb_db.sock".
    checkSocketPath(operation, 'dirPrefix (with "XXXXXX/ovnnb_db.sock")', `${dirPrefix}XXXXXX/ovnnb_db.sock`);
    const central = new OvnCentral(dirPrefix, timeoutMs);
    killAtExit(central);
    try {
      await central.#run('ovsdb-tool', ['create', central.nbDbPath, ovnNbSchema]);
      await central.#run('ovsdb-tool', ['create', central.sbDbPath, ovnSbSchema]);
      await central.startDatabase('nb-ovsdb');
      await central.startDatabase('sb-ovsdb');
      await central.#initGlobal(central.nbTarget, 'OVN_Northbound', 'NB_Global');
      await central.#initGlobal(central.sbTarget, 'OVN_Southbound', 'SB_Global');
      if (northd) await central.startNorthd();
      return central;
    } catch (error) {
      await central.close();
      throw error;
    }
  }

  /** The target of the northbound database for {@link OvsdbClient.connect} or `ovn-nbctl --db`: `unix:<nbSocket>`. */
  get nbTarget(): string {
    return `unix:${this.nbSocket}`;
  }

  /** The target of the southbound database (for ovn-controller's `ovn-remote`, `ovn-sbctl --db`): `unix:<sbSocket>`. */
  get sbTarget(): string {
    return `unix:${this.sbSocket}`;
  }

  /** The pid of a running daemon of this central, from its pidfile, or undefined. */
  pid(daemon: OvnCentralDaemon): number | undefined {
    return runningPid(join(this.runDir, `${daemon}.pid`));
  }

  /** The log file of `daemon` (`<runDir>/<daemon>.log`). */
  logFile(daemon: OvnCentralDaemon): string {
    return join(this.runDir, `${daemon}.log`);
  }

  /** The unixctl socket of a running daemon (for `ovs-appctl -t`), or undefined when it does not run. */
  controlSocket(daemon: OvnCentralDaemon): string | undefined {
    return this.pid(daemon) === undefined ? undefined : join(this.runDir, `${daemon}.ctl`);
  }

  /**
   * Starts the ovsdb-server of one database (again, after {@link stopDaemon}).
   * @throws DpdkError `ERR_CLOSED` after {@link close}, else as {@link start}.
   */
  async startDatabase(daemon: 'nb-ovsdb' | 'sb-ovsdb'): Promise<void> {
    this.#checkOpen('OvnCentral.startDatabase');
    const [socket, db, schema] =
      daemon === 'nb-ovsdb'
        ? [this.nbSocket, this.nbDbPath, 'OVN_Northbound,NB_Global']
        : [this.sbSocket, this.sbDbPath, 'OVN_Southbound,SB_Global'];
    await this.#run('ovsdb-server', [
      `--remote=punix:${socket}`,
      `--remote=db:${schema},connections`,
      ...this.#daemonArgs(daemon),
      db,
    ]);
  }

  /**
   * Starts ovn-northd (again, after {@link stopNorthd}, or when the central was started
   * with `northd: false`). Does nothing when it runs.
   * @throws DpdkError `ERR_CLOSED` after {@link close}, else as {@link start}.
   */
  async startNorthd(): Promise<void> {
    this.#checkOpen('OvnCentral.startNorthd');
    if (this.pid('ovn-northd') !== undefined) return;
    await this.#run('ovn-northd', [
      `--ovnnb-db=${this.nbTarget}`,
      `--ovnsb-db=${this.sbTarget}`,
      ...this.#daemonArgs('ovn-northd'),
    ]);
  }

  /** Stops ovn-northd and waits until it is gone (so that the databases stop being translated). */
  async stopNorthd(): Promise<void> {
    await this.stopDaemon('ovn-northd');
  }

  /**
   * Stops a daemon of the central (SIGTERM, or SIGKILL to simulate a crash) and waits
   * until it is gone. Does nothing when it is not running.
   */
  async stopDaemon(daemon: OvnCentralDaemon, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const pid = this.pid(daemon);
    if (pid !== undefined) await killAndWait(pid, signal, this.#timeoutMs);
  }

  /** Stops the daemons, waits for them to exit and removes the directory. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stopDaemon('ovn-northd');
    await this.stopDaemon('nb-ovsdb');
    await this.stopDaemon('sb-ovsdb');
    rmSync(this.runDir, { recursive: true, force: true });
    releaseAtExit(this);
  }

  /** @internal synchronous last resort at process exit: SIGKILL the daemons, remove the directory. */
  killNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const daemon of ['ovn-northd', 'nb-ovsdb', 'sb-ovsdb'] as const) {
      const pid = this.pid(daemon);
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    }
    rmSync(this.runDir, { recursive: true, force: true });
  }

  #checkOpen(operation: string): void {
    if (this.#closed) throw new DpdkError('OvnCentral is closed', { code: 'ERR_CLOSED', operation });
  }

  #daemonArgs(daemon: OvnCentralDaemon): string[] {
    return [
      `--pidfile=${join(this.runDir, `${daemon}.pid`)}`,
      // Two ovsdb-servers share the directory: name each control socket after its daemon.
      `--unixctl=${join(this.runDir, `${daemon}.ctl`)}`,
      '--detach',
      `--log-file=${this.logFile(daemon)}`,
      '-vconsole:off',
    ];
  }

  /** Inserts the database's one global row, which `sync` bumps and northd expects. */
  async #initGlobal(target: string, database: string, table: string): Promise<void> {
    const client = await OvsdbClient.connect(target, {
      timeoutMs: this.#timeoutMs,
      reconnect: false,
      probeIntervalMs: 0,
    });
    try {
      await client.transact(database, [{ op: 'insert', table, row: {} }]);
    } finally {
      client.close();
    }
  }

  async #run(file: string, args: string[]): Promise<void> {
    await runDaemonCommand(file, args, { env: this.env, timeoutMs: this.#timeoutMs, operation: 'OvnCentral.start' });
  }
}
