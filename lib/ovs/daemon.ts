/**
 * What `OvsSandbox` and `OvnCentral` share about the daemons they start detached
 * (ovsdb-server, ovs-vswitchd, ovn-northd): running one with a clear error, reading its
 * pidfile, killing it and waiting until it is gone, and killing what is left when the
 * process exits. Not exported from `dpdk-ts/ovs`.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { DpdkError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** Something that owns daemons and can kill them synchronously, at process exit. */
export interface ExitKillable {
  /** SIGKILLs the daemons and removes what they left, synchronously. */
  killNow(): void;
}

const live = new Set<ExitKillable>();
let exitHookInstalled = false;

function killAll(): void {
  for (const owner of live) owner.killNow();
}

/**
 * Kills the daemons of `owner` when the process exits, also on SIGINT, SIGTERM and SIGHUP
 * (which skip `exit` handlers): then the signal is raised again, for its default action,
 * unless someone else handles it. {@link releaseAtExit} undoes it.
 */
export function killAtExit(owner: ExitKillable): void {
  live.add(owner);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Forgets `owner` once it has stopped its daemons itself. */
export function releaseAtExit(owner: ExitKillable): void {
  live.delete(owner);
}

/**
 * Whether process `pid` runs. A killed daemon stays a zombie until init reaps it (it was
 * detached, so it is not our child), which can take seconds in a container: zombies count
 * as gone.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pid in `pidFile` when that process runs, else undefined. */
export function runningPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `signal` to `pid` and waits until it is gone; after `timeoutMs` it is SIGKILLed.
 */
export async function killAndWait(pid: number, signal: 'SIGTERM' | 'SIGKILL', timeoutMs: number): Promise<void> {
  process.kill(pid, signal);
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await sleep(50);
      break;
    }
    await sleep(20);
  }
}

/** How {@link runDaemonCommand} runs a program and names its failures. */
export interface DaemonCommand {
  /** The environment (OVS_RUNDIR and the like point at the private directory). */
  env: NodeJS.ProcessEnv;
  /** How long the program may take (a `--detach` daemon returns once it runs). */
  timeoutMs: number;
  /** `error.operation` of a failure, e.g. `OvsSandbox.start`. */
  operation: string;
}

/**
 * Runs `file` (a tool, or a daemon with `--detach`) to completion.
 * @throws DpdkError `ERR_OVS_DAEMON` with its stderr when it fails, `ENOENT` when it is
 * not installed, `ETIMEDOUT` when it takes longer than `timeoutMs`.
 */
export async function runDaemonCommand(file: string, args: string[], how: DaemonCommand): Promise<void> {
  try {
    await execFileAsync(file, args, { env: how.env, timeout: how.timeoutMs, killSignal: 'SIGKILL' });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    const stderr = failure.stderr?.trim() ?? '';
    throw new DpdkError(
      `${file} failed to start${failure.killed === true ? ` within ${how.timeoutMs} ms` : ''}: ${stderr || failure.message}`,
      {
        code: failure.killed === true ? 'ETIMEDOUT' : failure.code === 'ENOENT' ? 'ENOENT' : 'ERR_OVS_DAEMON',
        operation: how.operation,
        object: file,
        cause: error,
      },
    );
  }
}
