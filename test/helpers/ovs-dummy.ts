// A private OVS with the dummy datapath, set up with the OVS tools themselves (not
// OvsSandbox), for the OpenFlow tests.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { vswitchSchema } from '../../lib/ovs/sandbox.js';

const run = promisify(execFile);

/** A private ovsdb-server + ovs-vswitchd (dummy datapath) in a temporary directory. */
export interface OvsDummy {
  /** The run directory holding the database, sockets, pid and log files. */
  readonly runDir: string;
  /** The OpenFlow management socket target of a bridge: `unix:RUN/BRIDGE.mgmt`. */
  mgmt(bridge: string): string;
  /** Runs ovs-vsctl against the private database; resolves with stdout. */
  vsctl(...args: string[]): Promise<string>;
  /** Runs `ovs-ofctl -O OpenFlow13 VERB unix:RUN/BRIDGE.mgmt ARGS...`; resolves with stdout. */
  ofctl(verb: string, bridge: string, ...args: string[]): Promise<string>;
  /**
   * Adds a dummy-datapath bridge with ports PREFIX1..PREFIXn numbered 1..n (port names
   * are unique across bridges, hence the prefix, default `p`).
   */
  addBridge(bridge: string, options?: { protocols?: string; ports?: number; portPrefix?: string }): Promise<void>;
  /** Kills both daemons and removes the run directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a private OVS (never the system one): every path lives in a fresh directory
 * under /tmp, short enough for unix socket paths (< 108 bytes).
 */
export async function startOvsDummy(): Promise<OvsDummy> {
  const runDir = await mkdtemp('/tmp/of');
  const env = { ...process.env, OVS_RUNDIR: runDir, OVS_LOGDIR: runDir, OVS_DBDIR: runDir };
  const db = `unix:${runDir}/db.sock`;
  const exec = async (command: string, args: string[]): Promise<string> =>
    (await run(command, args, { env, timeout: 30_000 })).stdout;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) {
      return;
    }
    stopped = true;
    for (const daemon of ['ovs-vswitchd', 'ovsdb-server']) {
      const pid = Number(await readFile(`${runDir}/${daemon}.pid`, 'utf8').catch(() => ''));
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGTERM');
          for (let i = 0; i < 100; i++) {
            process.kill(pid, 0);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          process.kill(pid, 'SIGKILL');
        } catch {
          // The daemon is gone: what we wanted.
        }
      }
    }
    await rm(runDir, { recursive: true, force: true });
  };
  try {
    await exec('ovsdb-tool', ['create', `${runDir}/conf.db`, vswitchSchema]);
    await exec('ovsdb-server', [
      `--remote=punix:${runDir}/db.sock`,
      `--pidfile=${runDir}/ovsdb-server.pid`,
      '--detach',
      `--log-file=${runDir}/ovsdb.log`,
      `${runDir}/conf.db`,
    ]);
    await exec('ovs-vsctl', [`--db=${db}`, '--no-wait', 'init']);
    await exec('ovs-vswitchd', [
      '--enable-dummy',
      db,
      `--pidfile=${runDir}/ovs-vswitchd.pid`,
      '--detach',
      `--log-file=${runDir}/vswitchd.log`,
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  const vsctl = (...args: string[]): Promise<string> => exec('ovs-vsctl', [`--db=${db}`, '--timeout=30', ...args]);
  return {
    runDir,
    mgmt: (bridge) => `unix:${runDir}/${bridge}.mgmt`,
    vsctl,
    ofctl: (verb, bridge, ...args) =>
      exec('ovs-ofctl', ['-O', 'OpenFlow13', verb, `unix:${runDir}/${bridge}.mgmt`, ...args]),
    async addBridge(bridge, options = {}) {
      const ports: string[] = [];
      const prefix = options.portPrefix ?? 'p';
      for (let i = 1; i <= (options.ports ?? 4); i++) {
        ports.push(
          '--',
          'add-port',
          bridge,
          `${prefix}${i}`,
          '--',
          'set',
          'Interface',
          `${prefix}${i}`,
          'type=dummy',
          `ofport_request=${i}`,
        );
      }
      await vsctl(
        'add-br',
        bridge,
        '--',
        'set',
        'bridge',
        bridge,
        'datapath_type=dummy',
        `protocols=${options.protocols ?? 'OpenFlow10,OpenFlow13'}`,
        ...ports,
      );
    },
    stop,
  };
}
