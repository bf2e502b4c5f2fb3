/**
 * The CPUs that run a busy loop of this process (lcore workers, engines) and the one check
 * that refuses a second loop there: two busy pollers on one CPU each get a fraction of it,
 * and neither says so.
 */
import { DpdkError } from './errors.js';
import { native } from './native.js';

/** @internal A started engine, as the check names it. */
export interface StartedEngine {
  readonly id: number;
  readonly mode: string;
  readonly lcore: number;
  /** False once a txonly engine ended by itself: nothing runs on its lcore then. */
  readonly running: boolean;
}

/** @internal An lcore worker whose thread has not exited: its CPU and, once attached, its lcore. */
export interface WorkerCpu {
  readonly cpu: number;
  lcore?: number;
}

// Engines started and not stopped or closed since, the one started last on an lcore last.
const startedEngines = new Set<StartedEngine>();
const workerCpus = new Set<WorkerCpu>();

/** @internal Records an engine as started (call once it runs). */
export function engineStarted(engine: StartedEngine): void {
  startedEngines.delete(engine);
  startedEngines.add(engine);
}

/** @internal Records an engine as stopped or closed. */
export function engineStopped(engine: StartedEngine): void {
  startedEngines.delete(engine);
}

/** @internal Claims a CPU for an lcore worker, until {@link releaseWorkerCpu}. */
export function claimWorkerCpu(claim: WorkerCpu): void {
  workerCpus.add(claim);
}

/** @internal Lets go of a CPU claimed by {@link claimWorkerCpu}. */
export function releaseWorkerCpu(claim: WorkerCpu): void {
  workerCpus.delete(claim);
}

/**
 * @internal The engine started last on EAL lcore `lcore` and not stopped since, if any: it
 * runs there unless it ended by itself (`running` says).
 */
export function engineStartedOn(lcore: number): StartedEngine | undefined {
  let found: StartedEngine | undefined;
  for (const engine of startedEngines) if (engine.lcore === lcore) found = engine;
  return found;
}

/** @internal How {@link checkCpuFree} words a refusal for the caller. */
export interface CpuCheck {
  /** Put before "cpu N already runs ...", e.g. "lcore 1 runs on cpu 1, and". Default none. */
  subject?: string;
  /** What to give instead, e.g. "another cpu". */
  instead: string;
  /** Only busy EAL lcores with this id count (an engine checks its own lcore). Default all. */
  lcore?: number;
}

/**
 * @internal Refuses `cpu` when it already runs a loop of this process: an lcore worker, or
 * an Engine (or any function launched) on a busy EAL worker lcore pinned to it.
 * @throws DpdkError `EBUSY` naming what runs there and the fix.
 */
export function checkCpuFree(op: string, cpu: number, check: CpuCheck): void {
  const busy = (what: string): never => {
    const subject = check.subject === undefined ? '' : `${check.subject} `;
    throw new DpdkError(`${subject}cpu ${cpu} already runs ${what}: stop it first, or give ${check.instead}`, {
      code: 'EBUSY',
      operation: op,
      object: `cpu ${cpu}`,
    });
  };
  for (const worker of workerCpus) {
    if (worker.cpu === cpu)
      busy(worker.lcore === undefined ? 'an LcoreWorker (starting)' : `an LcoreWorker (lcore ${worker.lcore})`);
  }
  for (const lcore of native.lcores()) {
    if (lcore.role !== 'worker' || !lcore.busy || !lcore.cpus.includes(cpu)) continue;
    if (check.lcore !== undefined && lcore.id !== check.lcore) continue;
    const engine = engineStartedOn(lcore.id);
    // A txonly engine that sent its txLimit ended: its lcore waits to be collected, nothing runs.
    if (engine !== undefined && !engine.running) continue;
    busy(
      engine === undefined
        ? `a function launched on EAL lcore ${lcore.id}`
        : `Engine ${engine.id} (mode ${engine.mode}) on EAL lcore ${lcore.id}`,
    );
  }
}
