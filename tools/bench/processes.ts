/**
 * The DPDK processes `npm run bench` starts: each in its own process group, its periodic
 * port statistics parsed as they are printed, and everything it leaves behind (runtime
 * directories, hugepage files, vhost-user sockets) removed when the benchmark ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root: where the benchmark runs its programs. */
export const repoRoot = join(__dirname, '..', '..');

/** Cumulative port counters at the end of one statistics block, and when it arrived. */
export interface Snapshot {
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

/** A DPDK process the benchmark started, and the statistics blocks it printed. */
export class DpdkProcess {
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
          cpuSeconds: this.cpuSeconds(),
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

  /** CPU time (user + system, all threads) it has used so far, in seconds. */
  cpuSeconds(): number {
    return this.child.pid === undefined ? NaN : processCpuSeconds(this.child.pid);
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

/** Resolves once `path` exists; rejects if `owner` exits first or `timeoutMs` passes. */
export async function waitForFile(path: string, timeoutMs: number, owner: DpdkProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (owner.child.exitCode !== null)
      throw new Error(`${owner.describe()} exited before creating ${path}:\n${owner.tail()}`);
    if (Date.now() > deadline)
      throw new Error(`${owner.describe()} did not create ${path} in ${timeoutMs} ms:\n${owner.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let nextPrefix = 0;

/** A fresh `--file-prefix`, remembered so that its files are removed at the end. */
export function uniquePrefix(): string {
  const prefix = `dts-bench-${process.pid}-${nextPrefix++}`;
  prefixes.push(prefix);
  return prefix;
}

/** The directory of this run's vhost-user sockets, made on first use and removed at the end. */
export function socketDirectory(): string {
  socketDir ??= mkdtempSync(join(tmpdir(), 'dts-bench-'));
  return socketDir;
}

function hugepageFiles(): string[] {
  try {
    return readdirSync('/dev/hugepages');
  } catch {
    return [];
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

/** Stops every process still running (SIGINT, then SIGKILL) and removes their files. */
export async function shutdown(): Promise<void> {
  await Promise.all([...running].map((dpdk) => dpdk.stop(3000)));
  removeLeftovers();
}

/** Last resort when the benchmark dies: nothing it started may outlive it. */
export function killAll(): void {
  for (const dpdk of running) signalGroup(dpdk.child, 'SIGKILL');
}
