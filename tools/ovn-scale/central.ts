/**
 * The OVN central the benchmark measures: a northbound and a southbound ovsdb-server and
 * ovn-northd in a private directory (OVN 23.03 from Debian's `ovn-central`), started fresh
 * for every measured point so that no point inherits another's database.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The daemons of a central, by the names the report uses. */
export type CentralDaemon = 'ovsdb-server NB' | 'ovsdb-server SB' | 'ovn-northd';

/** A running central: its sockets, its daemons' pids, and how to stop it. */
export interface Central {
  dir: string;
  nbTarget: string;
  sbTarget: string;
  /** The pid of each daemon, for /proc readings. */
  pids: Map<CentralDaemon, number>;
  stop(): Promise<void>;
}

function readPid(path: string): number {
  return Number(readFileSync(path, 'utf8').trim());
}

/** Starts NB and SB ovsdb-servers and ovn-northd in a fresh directory under `/tmp`. */
export async function startCentral(): Promise<Central> {
  const dir = mkdtempSync('/tmp/ovnsc');
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVN_RUNDIR: dir };
  const run = (file: string, args: string[]) => execFileAsync(file, args, { env, timeout: 20_000 });
  const started: number[] = [];
  const stop = async (): Promise<void> => {
    for (const pid of started.reverse()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pids = new Map<CentralDaemon, number>();
    for (const [db, table, name] of [
      ['nb', 'OVN_Northbound,NB_Global', 'ovsdb-server NB'],
      ['sb', 'OVN_Southbound,SB_Global', 'ovsdb-server SB'],
    ] as const) {
      await run('ovsdb-tool', ['create', join(dir, `ovn${db}_db.db`), `/usr/share/ovn/ovn-${db}.ovsschema`]);
      await run('ovsdb-server', [
        `--remote=punix:${join(dir, `ovn${db}_db.sock`)}`,
        `--remote=db:${table},connections`,
        `--pidfile=${join(dir, `ovn${db}_db.pid`)}`,
        `--unixctl=${join(dir, `ovn${db}_db.ctl`)}`,
        `--log-file=${join(dir, `ovn${db}_db.log`)}`,
        '--detach',
        '-vconsole:off',
        join(dir, `ovn${db}_db.db`),
      ]);
      const pid = readPid(join(dir, `ovn${db}_db.pid`));
      started.push(pid);
      pids.set(name, pid);
    }
    const nbTarget = `unix:${join(dir, 'ovnnb_db.sock')}`;
    const sbTarget = `unix:${join(dir, 'ovnsb_db.sock')}`;
    await run('ovn-northd', [
      `--ovnnb-db=${nbTarget}`,
      `--ovnsb-db=${sbTarget}`,
      `--pidfile=${join(dir, 'ovn-northd.pid')}`,
      `--log-file=${join(dir, 'ovn-northd.log')}`,
      '--detach',
      '-vconsole:off',
    ]);
    const northd = readPid(join(dir, 'ovn-northd.pid'));
    started.push(northd);
    pids.set('ovn-northd', northd);
    return { dir, nbTarget, sbTarget, pids, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
