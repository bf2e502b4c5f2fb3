/** TypeScript loops on their own EAL-registered, pinned threads: LcoreWorker (main thread) and LcoreContext (the loop's thread). */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { checkWorkerCpuFree, claimWorkerCpu, releaseWorkerCpu } from './busy-cpus.js';
import { DpdkError, invalidArgument } from './errors.js';
import { formatCpuList, onlineCpus } from './host.js';
import { native } from './native.js';
import { Port } from './port.js';
import { checkInteger, checkOptions, describe } from './validate.js';

/** Options of {@link LcoreWorker.start}. */
export interface LcoreWorkerOptions {
  /** The CPU to pin the worker thread to. */
  cpu: number;
  /** Ports the loop polls: they cannot be stopped or closed while the worker runs. */
  ports?: Port[];
  /** Names of the live counters the loop keeps. Default `['rx', 'tx', 'dropped']`. */
  counters?: string[];
  /** Anything structured-cloneable for the loop (see {@link LcoreContext.data}). */
  data?: unknown;
  /**
   * Modules to require in the worker before the loop module. Default: for a `.ts` loop
   * module, `tsx/cjs` when it is installed (Node 20 workers do not inherit `--import`).
   */
  preload?: string[];
}

interface LcoreWorkerData {
  dpdkTsLcore: true;
  cpu: number;
  portIds: number[];
  counterNames: string[];
  control: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  data: unknown;
}

// Runs in the worker: loads the preload modules, then the loop module.
const bootstrap = `const { workerData } = require('node:worker_threads');
for (const name of workerData.preload) require(name);
require(workerData.path);`;

// Preload modules are package names (`tsx/cjs`) or paths, found from the current
// directory or from dpdk-ts itself.
function resolvePreload(op: string, name: string): string {
  try {
    return require.resolve(name, { paths: [process.cwd(), __dirname] });
  } catch (error) {
    throw new DpdkError(`Cannot find the preload module ${describe(name)}`, {
      code: 'ENOENT',
      operation: op,
      cause: error,
    });
  }
}

// The loop module is a path relative to the current directory (`src/loop.ts` as
// `./src/loop.ts`: never a package name), an absolute path or a file: URL. It may be named
// without its extension, so that the same code finds `loop.ts` when run from source and
// `loop.js` once compiled.
function resolveLoopModule(op: string, file: unknown): string {
  let path: string | undefined;
  try {
    if (file instanceof URL) path = fileURLToPath(file);
    else if (typeof file === 'string' && file.startsWith('file:')) path = fileURLToPath(new URL(file));
    else if (typeof file === 'string' && file !== '') path = resolve(process.cwd(), file);
  } catch {
    // Another URL scheme, or a malformed file: URL: refused below.
  }
  if (path === undefined) invalidArgument(op, `the loop module must be a path or a file: URL, got ${describe(file)}`);
  try {
    return require.resolve(path);
  } catch (error) {
    throw new DpdkError(
      `Cannot find the loop module ${describe(String(file))}: tried ${path} (with and without an extension); ` +
        'a path is relative to the current directory, or may be a file: URL',
      { code: 'ENOENT', operation: op, object: path, cause: error },
    );
  }
}

function defaultPreload(path: string): string[] {
  if (!/\.[cm]?ts$/.test(path)) return [];
  try {
    require.resolve('tsx/cjs', { paths: [process.cwd(), __dirname] });
    return ['tsx/cjs'];
  } catch {
    return [];
  }
}

// The workers whose threads have not exited, so that the process's exit can stop them first:
// EAL can close the ports (and unlink their vhost-user sockets) only once no thread polls them.
// Each with its CPU and, once attached, its lcore (claimed in busy-cpus.ts, which start() checks).
const runningWorkers = new Set<{ control: Int32Array; worker: Worker; cpu: number; lcore?: number }>();

/**
 * @internal Called at process exit, before EAL shuts down: asks every running loop to end and
 * terminates its thread (the exit cannot wait for a graceful stop); EAL then waits for the
 * threads to leave before it closes the ports.
 */
export function stopLcoreWorkersAtExit(): void {
  for (const { control, worker } of runningWorkers) {
    Atomics.store(control, 0, 1);
    void worker.terminate();
  }
  runningWorkers.clear();
}

const optionKeys = [
  'cpu',
  'ports',
  'counters',
  'data',
  'preload',
] as const satisfies readonly (keyof LcoreWorkerOptions)[];

/**
 * A TypeScript forwarding loop on its own thread, registered with EAL as an lcore and
 * pinned to a CPU. The loop's module calls {@link LcoreContext.attach} and polls until
 * `running` turns false; the main thread reads its counters live and stops it.
 */
export class LcoreWorker {
  readonly #worker: Worker;
  readonly #control: Int32Array;
  readonly #counters: Float64Array;
  readonly #names: string[];
  readonly #ports: Port[];
  readonly #exited: Promise<number>;
  readonly #failure: { error?: unknown; reported?: boolean };
  /** The EAL lcore id the worker registered as. */
  readonly lcore: number;

  private constructor(
    worker: Worker,
    control: Int32Array,
    counters: Float64Array,
    names: string[],
    ports: Port[],
    exited: Promise<number>,
    lcore: number,
    failure: { error?: unknown; reported?: boolean },
  ) {
    this.#worker = worker;
    this.#control = control;
    this.#counters = counters;
    this.#names = names;
    this.#ports = ports;
    this.#exited = exited;
    this.lcore = lcore;
    this.#failure = failure;
  }

  /**
   * Starts the loop module `file` on a pinned worker thread; resolves once it has attached
   * (registered with EAL and pinned), rejects with its error if it fails before that.
   *
   * @param file - The loop module: a path relative to the current directory
   * (`src/loop.ts` and `./src/loop.ts` are the same file; never a package name), an
   * absolute path, or a file: URL (a `URL` or a `file:` string), with or without its
   * extension.
   * @throws DpdkError `ENOENT` naming the absolute path tried when there is no such module;
   * `EBUSY` naming what runs there when `cpu` already runs another lcore worker of this
   * process or an engine (any busy EAL worker lcore pinned to it), with nothing changed;
   * `EINVAL` for bad options.
   */
  static async start(file: string | URL, options: LcoreWorkerOptions): Promise<LcoreWorker> {
    const op = 'LcoreWorker.start';
    checkOptions<LcoreWorkerOptions>(op, options, optionKeys);
    const cpu = checkInteger(op, 'cpu', options.cpu, 0, 1023);
    const online = onlineCpus();
    if (!online.includes(cpu)) {
      invalidArgument(
        op,
        `cpu ${cpu} is not an online CPU of this machine: the online CPUs are ${formatCpuList(online)}`,
      );
    }
    const ports = options.ports ?? [];
    if (!Array.isArray(ports) || ports.some((port) => !(port instanceof Port))) {
      invalidArgument(op, `ports must be a list of Ports, got ${describe(options.ports)}`);
    }
    const names = options.counters ?? ['rx', 'tx', 'dropped'];
    if (
      !Array.isArray(names) ||
      names.some((name) => typeof name !== 'string') ||
      new Set(names).size !== names.length
    ) {
      invalidArgument(op, `counters must be a list of distinct names, got ${describe(options.counters)}`);
    }
    const control = new SharedArrayBuffer(4);
    const counters = new SharedArrayBuffer(8 * Math.max(1, names.length));
    const data: LcoreWorkerData = {
      dpdkTsLcore: true,
      cpu,
      portIds: ports.map((port) => port.id),
      counterNames: names,
      control,
      counters,
      data: options.data,
    };
    // Everything that can fail before the thread starts comes before the ports are marked.
    const path = resolveLoopModule(op, file);
    const preload = (options.preload ?? defaultPreload(path)).map((name) => resolvePreload(op, name));
    // Checked and claimed (claimWorkerCpu, below) with no await between: two starts cannot both pass.
    checkWorkerCpuFree(op, cpu);
    const acquired: Port[] = [];
    try {
      for (const port of ports) {
        port.acquire();
        acquired.push(port);
      }
    } catch (error) {
      for (const port of acquired) port.release();
      throw error;
    }
    const worker = new Worker(bootstrap, { eval: true, workerData: { ...data, preload, path } });
    const failure: { error?: unknown; reported?: boolean } = {};
    worker.on('error', (error) => {
      failure.error ??= error;
    });
    const running: { control: Int32Array; worker: Worker; cpu: number; lcore?: number } = {
      control: new Int32Array(control),
      worker,
      cpu,
    };
    runningWorkers.add(running);
    claimWorkerCpu(running);
    const exited = new Promise<number>((resolve) =>
      worker.once('exit', (code) => {
        runningWorkers.delete(running);
        releaseWorkerCpu(running);
        for (const port of acquired) port.release();
        resolve(code);
      }),
    );
    const lcore = await new Promise<number>((resolve, reject) => {
      worker.once('message', (message: { attached?: number }) => {
        if (typeof message?.attached === 'number') resolve(message.attached);
      });
      void exited.then((code) =>
        reject(
          failure.error ??
            new DpdkError(
              `The lcore worker exited (code ${code}) before ` +
                'attaching: its module must call LcoreContext.attach()',
              { code: 'ERR_LCORE_WORKER', operation: op },
            ),
        ),
      );
    });
    running.lcore = lcore;
    return new LcoreWorker(worker, running.control, new Float64Array(counters), names, ports, exited, lcore, failure);
  }

  /** The loop's counters now, by name (read while it runs). */
  counters(): Record<string, number> {
    return Object.fromEntries(this.#names.map((name, i) => [name, this.#counters[i]]));
  }

  /** The ports the loop polls. */
  get ports(): readonly Port[] {
    return this.#ports;
  }

  /**
   * Settles when the thread ends, whether asked to or not: resolves with its exit code,
   * or rejects with the loop's error if it threw. Watch it to notice a loop that died.
   */
  get exited(): Promise<number> {
    return this.#exited.then((code) => {
      if (this.#failure.error !== undefined) throw this.#failure.error;
      return code;
    });
  }

  /**
   * Asks the loop to end and waits for the thread to exit (`timeoutMs`, default 5000,
   * after which it is terminated). Resolves with the thread's exit code; the first call
   * rejects with the loop's error if it threw. Safe to call twice.
   */
  async stop(timeoutMs = 5000): Promise<number> {
    Atomics.store(this.#control, 0, 1);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const result = await Promise.race([this.#exited, timeout]);
    clearTimeout(timer);
    if (result === undefined) await this.#worker.terminate();
    const code = await this.#exited;
    const error = this.#failure.error;
    if (error !== undefined && !this.#failure.reported) {
      this.#failure.reported = true;
      throw error;
    }
    return code;
  }
}

/**
 * What a loop module running in an {@link LcoreWorker} gets: its ports (attached in this
 * thread), its data, the stop flag and its live counters. `Data` is the type of
 * {@link data}, as the loop module declares it with {@link LcoreContext.attach}.
 */
export class LcoreContext<Data = unknown> {
  /** The EAL lcore id of this thread. */
  readonly lcore: number;
  /** The CPU this thread is pinned to. */
  readonly cpu: number;
  /** The ports given to `LcoreWorker.start`, in order. */
  readonly ports: Port[];
  /** The `data` given to `LcoreWorker.start` (a structured clone of it), typed as `Data`. */
  readonly data: Data;
  /** Live counters, indexed as {@link counterIndex} says: add to them in the loop. */
  readonly counters: Float64Array;
  readonly #names: string[];
  readonly #control: Int32Array;

  private constructor(init: LcoreWorkerData, lcore: number) {
    this.lcore = lcore;
    this.cpu = init.cpu;
    this.ports = init.portIds.map((id) => Port.get(id));
    this.data = init.data as Data;
    this.counters = new Float64Array(init.counters);
    this.#names = init.counterNames;
    this.#control = new Int32Array(init.control);
  }

  /**
   * Registers this worker thread with EAL, pins it and returns its context.
   *
   * @typeParam Data - The type of the `data` given to `LcoreWorker.start`, so that
   * `context.data` needs no cast: `LcoreContext.attach<{ burst: number }>().data.burst`.
   * It is not checked at run time: the loop module and its starter agree on it.
   * @throws DpdkError `ERR_LCORE_WORKER` outside a thread started by `LcoreWorker.start`.
   */
  static attach<Data = unknown>(): LcoreContext<Data> {
    const init = workerData as LcoreWorkerData | undefined;
    if (isMainThread || init?.dpdkTsLcore !== true) {
      throw new DpdkError('LcoreContext.attach() must run in a thread started by LcoreWorker.start()', {
        code: 'ERR_LCORE_WORKER',
        operation: 'LcoreContext.attach',
      });
    }
    // The counters go along for DPDK telemetry (/dpdk_ts/worker,LCORE), which reads them natively.
    const lcore = native.registerThread(init.cpu, new Float64Array(init.counters), init.counterNames);
    const context = new LcoreContext<Data>(init, lcore);
    parentPort?.postMessage({ attached: lcore });
    return context;
  }

  /** False once the main thread called `stop()`: end the loop then. */
  get running(): boolean {
    return Atomics.load(this.#control, 0) === 0;
  }

  /** The index of a counter in {@link counters}. */
  counterIndex(name: string): number {
    const index = this.#names.indexOf(name);
    if (index < 0)
      invalidArgument(
        'LcoreContext.counterIndex',
        `No counter named ${describe(name)}: the counters are ${this.#names.join(', ')}`,
      );
    return index;
  }
}
