/**
 * The CPUs that run a busy loop of this process (lcore workers, engines) and the one check
 * that refuses a second loop there: two busy pollers on one CPU each get a fraction of it,
 * and neither says so.
 */
import { DpdkError } from './errors.js';
import { formatCpuList } from './host.js';
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

/** "cpu 1" or "cpus 0-1": a CPU set as a refusal names it. */
function cpuWords(cpus: readonly number[]): string {
  return `${cpus.length === 1 ? 'cpu' : 'cpus'} ${formatCpuList(cpus)}`;
}

/**
 * @internal Refuses `cpu`, the CPU an lcore worker is to run on, when it already runs a loop
 * of this process: another lcore worker, or an Engine (or any function launched) on a busy
 * EAL worker lcore whose cpuset holds it.
 * @throws DpdkError `EBUSY` naming what runs there and the fix.
 */
export function checkWorkerCpuFree(op: string, cpu: number): void {
  const busy = (what: string): never => {
    throw new DpdkError(`cpu ${cpu} already runs ${what}: stop it first, or give another cpu`, {
      code: 'EBUSY',
      operation: op,
      object: `cpu ${cpu}`,
    });
  };
  for (const worker of workerCpus) if (worker.cpu === cpu) busy(describeWorker(worker));
  for (const lcore of busyLcores()) if (lcore.cpus.includes(cpu)) busy(describeLcore(lcore));
}

/** @internal What an engine to start asks of {@link checkEngineCpusFree}. */
export interface EngineCpuCheck {
  /** Its EAL worker lcore. */
  lcore: number;
  /** That lcore's cpuset, as EAL reports it (`rte_lcore_cpuset`). */
  cpus: readonly number[];
  /** Whether it may take turns on a CPU with other loops of this process (`EngineOptions.shareCpu`). */
  shareCpu: boolean;
}

/**
 * @internal Refuses an engine's start when its lcore runs something already (always), or when
 * a CPU of its lcore's cpuset already runs an lcore worker or a busy EAL worker lcore of this
 * process (unless `shareCpu`): EAL can map several lcores to one CPU (`--lcores (1,2)@1`,
 * `1@1,2@1`) and give an lcore several CPUs (`3@(0-1)`), and two busy pollers whose cpusets
 * overlap may be scheduled on the same CPU, each getting a fraction of it. Any overlap counts.
 * @throws DpdkError `EBUSY` naming both lcores (or the worker), the shared CPUs and the fix.
 */
export function checkEngineCpusFree(op: string, check: EngineCpuCheck): void {
  const subject = `lcore ${check.lcore} runs on ${cpuWords(check.cpus)}`;
  const busy = (shared: readonly number[], what: string, fix: string): never => {
    const verb = shared.length === 1 ? 'runs' : 'run';
    throw new DpdkError(`${subject}, and ${cpuWords(shared)} already ${verb} ${what}: stop it first, ${fix}`, {
      code: 'EBUSY',
      operation: op,
      object: `cpu ${formatCpuList(shared)}`,
    });
  };
  const elsewhere = 'give an lcore on another cpu, or set shareCpu to take turns';
  const lcores = busyLcores();
  const own = lcores.find((lcore) => lcore.id === check.lcore);
  // One lcore runs one function at a time: shareCpu does not change that.
  if (own !== undefined) busy(check.cpus, describeLcore(own), 'or give an lcore on another cpu');
  if (check.shareCpu) return;
  for (const worker of workerCpus) {
    if (check.cpus.includes(worker.cpu)) busy([worker.cpu], describeWorker(worker), elsewhere);
  }
  for (const lcore of lcores) {
    const shared = lcore.cpus.filter((cpu) => check.cpus.includes(cpu));
    if (shared.length > 0) busy(shared, describeLcore(lcore), elsewhere);
  }
}

/** A busy EAL worker lcore, with the engine that runs on it if one does. */
interface BusyLcore {
  readonly id: number;
  readonly cpus: readonly number[];
  readonly engine: StartedEngine | undefined;
}

/** The EAL worker lcores that run something now (a txonly engine that ended runs nothing). */
function busyLcores(): BusyLcore[] {
  const found: BusyLcore[] = [];
  for (const lcore of native.lcores()) {
    if (lcore.role !== 'worker' || !lcore.busy) continue;
    const engine = engineStartedOn(lcore.id);
    // A txonly engine that sent its txLimit ended: its lcore waits to be collected, nothing runs.
    if (engine !== undefined && !engine.running) continue;
    found.push({ id: lcore.id, cpus: lcore.cpus, engine });
  }
  return found;
}

function describeWorker(worker: WorkerCpu): string {
  return worker.lcore === undefined ? 'an LcoreWorker (starting)' : `an LcoreWorker (lcore ${worker.lcore})`;
}

function describeLcore(lcore: BusyLcore): string {
  const where = `EAL lcore ${lcore.id}${lcore.cpus.length > 1 ? ` (${cpuWords(lcore.cpus)})` : ''}`;
  return lcore.engine === undefined
    ? `a function launched on ${where}`
    : `Engine ${lcore.engine.id} (mode ${lcore.engine.mode}) on ${where}`;
}
