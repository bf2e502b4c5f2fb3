/**
 * What a Node app keeps, read through memory-probe.mjs: the soak starts its dpdk-ts apps
 * with that module preloaded, then, at each sample, signals the app (SIGUSR2) and reads the
 * memory it wrote right after a full garbage collection.
 */
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { AppPaths } from '../lab/runner.js';

/** The preload's name, in the socket directory (the one directory an app in a container shares with the host). */
const probeFile = 'memory-probe.mjs';

/** The variable that names the file the probe writes (memory-probe.mjs reads it). */
const memoryFileVariable = 'DPDK_TS_SOAK_MEMORY_FILE';

/** How long an app may take to collect and write its memory after the signal. */
const answerTimeoutMs = 2000;

/** A Node app's memory right after a full garbage collection, KiB. */
export interface CollectedMemory {
  /** Resident memory. */
  rssKiB: number;
  /** V8's heap in use: live JavaScript objects. */
  heapUsedKiB: number;
}

/** Puts the preload into `socketDir` (the host's side of it), for the apps to load. */
export function installMemoryProbe(socketDir: string): void {
  copyFileSync(join(__dirname, probeFile), join(socketDir, probeFile), 0);
}

/** Where the app called `app` writes its memory, in `socketDir`. */
export function memoryFile(socketDir: string, app: string): string {
  return join(socketDir, `soak-memory-${app}.json`);
}

/** The environment that loads the preload into the app called `app`, with the paths it sees. */
export function memoryProbeEnv(paths: AppPaths, app: string): Record<string, string> {
  return {
    NODE_OPTIONS: `--expose-gc --import=${join(paths.socketDir, probeFile)}`,
    [memoryFileVariable]: memoryFile(paths.socketDir, app),
  };
}

/**
 * Signals the app with host pid `pid` to collect its garbage and reads what it wrote to
 * `file` (its host path); undefined when it did not answer in time (gone, or restarting).
 */
export async function collectedMemory(pid: number, file: string): Promise<CollectedMemory | undefined> {
  // SIGUSR2 ends a process that does not catch it: only one that loaded the probe is signalled.
  if (!loadedProbe(pid)) return undefined;
  rmSync(file, { force: true });
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  for (const deadline = Date.now() + answerTimeoutMs; Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const usage = JSON.parse(text) as { rss: number; heapUsed: number };
    return { rssKiB: Math.round(usage.rss / 1024), heapUsedKiB: Math.round(usage.heapUsed / 1024) };
  }
  return undefined;
}

/**
 * Whether process `pid` was started with the probe (its environment names the memory file)
 * and has its SIGUSR2 handler in place (its `SigCgt` mask in /proc); false when it is gone.
 */
function loadedProbe(pid: number): boolean {
  try {
    const environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const mask = /^SigCgt:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return (
      environment.some((entry) => entry.startsWith(`${memoryFileVariable}=`)) &&
      mask !== null &&
      (BigInt(`0x${mask[1]}`) & (1n << BigInt(constants.signals.SIGUSR2 - 1))) !== 0n
    );
  } catch {
    return false;
  }
}
