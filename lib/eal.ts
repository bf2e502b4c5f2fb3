/** DPDK's Environment Abstraction Layer: typed EAL options, their translation to EAL arguments, init and cleanup. */
import { isMainThread } from 'node:worker_threads';
import { DpdkError, invalidArgument } from './errors.js';
import { forgetAllChunks } from './batch.js';
import { stopLcoreWorkersAtExit } from './lcore.js';
import { hugepagePools, hugepages } from './host.js';
import { native } from './native.js';
import { checkBoolean, checkInteger, checkOptions, checkString, describe } from './validate.js';

/** DPDK log levels, by name or as numbers 1 (emergency) to 8 (debug). */
export type LogLevel = 'emergency' | 'alert' | 'critical' | 'error' | 'warning' | 'notice' | 'info' | 'debug';

/**
 * Typed EAL options: what DPDK users pass on the command line. Defaults differ from
 * DPDK's so that nothing is left behind: `inMemory` and `singleFileSegments` are on.
 * Telemetry is on, as in DPDK: its socket lives in the runtime directory, which the SDK
 * removes when EAL is cleaned up or the process exits.
 */
export interface EalOptions {
  /** `--lcores`: a map such as `'0@0,1@1'`, or CPU ids for `-l` (lcore i runs on CPU i). */
  lcores?: string | number[];
  /** `-c`: a hexadecimal core mask such as `'0x3'` (instead of `lcores`). */
  coremask?: string;
  /** `--main-lcore`: the lcore of the thread that calls init (the Node main thread). */
  mainLcore?: number;
  /** `-m`: memory to preallocate, in MiB. */
  memoryMb?: number;
  /** `--socket-mem`: MiB per NUMA socket. */
  socketMem?: number[];
  /** `-n`: memory channels. */
  memoryChannels?: number;
  /** `--no-huge`: anonymous memory instead of hugepages (shared with vhost through memfd). */
  noHuge?: boolean;
  /** `--huge-dir`: the hugetlbfs mount to use. */
  hugeDir?: string;
  /** `--no-pci`: do not scan the PCI bus. Default true: virtual devices are the SDK's domain. */
  noPci?: boolean;
  /** `--file-prefix`: keeps the runtime files of several DPDK processes apart. */
  filePrefix?: string;
  /** `--in-memory`: no shared runtime files and no hugepage files. Default true, except with `noHuge`. */
  inMemory?: boolean;
  /** `--single-file-segments`: needed for virtio-user on hugepages. Default true (ignored with `noHuge`). */
  singleFileSegments?: boolean;
  /** `--iova-mode`. */
  iovaMode?: 'pa' | 'va';
  /** `--vdev` devices to create at init, e.g. `'net_null0,size=64'`. */
  vdevs?: string[];
  /** `--log-level`: a global level, or levels per log type pattern (`{ 'pmd.net.vhost.*': 'debug' }`). */
  logLevel?: LogLevel | number | Record<string, LogLevel | number>;
  /**
   * Echo DPDK's log to stderr. Default false: DPDK logs a great deal (a vhost-user port
   * alone logs some 150 `VHOST_CONFIG` lines). The log is captured either way, and a failure
   * quotes what DPDK said about it (`DPDK said: ...` in the error's message).
   */
  printLog?: boolean;
  /**
   * DPDK telemetry (`--no-telemetry` when false). Default true: the process answers on
   * `RUNTIME_DIR/dpdk_telemetry.v2` (`/var/run/dpdk/PREFIX/` for root), which DPDK's
   * `dpdk-telemetry.py -f PREFIX` queries: DPDK's commands (`/ethdev/list`,
   * `/ethdev/stats,0`, `/eal/params`, ...) and the SDK's (`/dpdk_ts/engines`,
   * `/dpdk_ts/engine,ID`, `/dpdk_ts/workers`, `/dpdk_ts/worker,LCORE`, `/dpdk_ts/batches`). The socket and its
   * directory are removed by `Eal.cleanup()` and at process exit.
   */
  telemetry?: boolean;
  /** More EAL arguments, appended as given. */
  extraArgs?: string[];
}

/** @internal The keys of {@link EalOptions}, for checks and tests. */
export const ealOptionKeys = [
  'lcores',
  'coremask',
  'mainLcore',
  'memoryMb',
  'socketMem',
  'memoryChannels',
  'noHuge',
  'hugeDir',
  'noPci',
  'filePrefix',
  'inMemory',
  'singleFileSegments',
  'iovaMode',
  'vdevs',
  'logLevel',
  'printLog',
  'telemetry',
  'extraArgs',
] as const satisfies readonly (keyof EalOptions)[];

const logLevels: readonly LogLevel[] = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'info',
  'debug',
];

/** Options of {@link Eal.init} given EAL arguments rather than {@link EalOptions}. */
export interface EalLogOptions {
  /** Echo DPDK's log to stderr, as {@link EalOptions.printLog}. Default false. */
  printLog?: boolean;
}

/** What EAL reports after init. */
export interface EalInfo {
  /** The lcore id of the thread that called init. */
  mainLcore: number;
  /** How many lcores EAL enabled. */
  lcoreCount: number;
  /** The IOVA mode EAL chose. */
  iovaMode: 'pa' | 'va';
  /** The EAL arguments used. */
  args: string[];
}

/** An EAL lcore: an id, the CPUs it runs on, and whether an engine occupies it. */
export interface LcoreInfo {
  /** The lcore id. */
  id: number;
  /** `main` for the Node main thread's lcore, else `worker` (where engines run). */
  role: 'main' | 'worker';
  /** NUMA socket. */
  socket: number;
  /** CPUs the lcore's thread is pinned to. */
  cpus: number[];
  /** Whether an engine is running on it. */
  busy: boolean;
}

// EAL's short options that take a value: in a cluster such as `-vh`, what follows one of
// these is its value, not more options.
const shortOptionsWithValue = new Set(['a', 'b', 'c', 'd', 'l', 'm', 'n', 'r', 's', 'S', 'w']);

/**
 * Whether EAL would print and call exit() on `arg`, which would end Node: `--help` and
 * `--version` and the abbreviations getopt accepts for them, `-h` (also in a cluster
 * like `-vh`) and `-v`.
 */
function exitsProcess(arg: string): boolean {
  const long = /^--([a-z-]+)$/.exec(arg);
  if (long !== null) return long[1].length >= 2 && ('help'.startsWith(long[1]) || 'version'.startsWith(long[1]));
  if (arg === '-v') return true;
  if (!/^-[a-zA-Z]/.test(arg)) return false;
  for (const option of arg.slice(1)) {
    if (option === 'h') return true;
    if (shortOptionsWithValue.has(option)) return false;
  }
  return false;
}

function logLevelArg(operation: string, name: string, level: unknown): string {
  if (typeof level === 'number') return String(checkInteger(operation, name, level, 1, 8));
  if (typeof level === 'string' && (logLevels as readonly string[]).includes(level)) return level;
  return invalidArgument(operation, `${name} must be one of ${logLevels.join(', ')} or 1..8, got ${describe(level)}`);
}

/** The flags {@link defaultEalFlags} adds, in two groups that go to different places of a command line. */
export interface DefaultEalFlags {
  /** `--in-memory` and `--single-file-segments`, where they apply. */
  memory: string[];
  /** `--no-telemetry` when telemetry is turned off, else nothing. */
  telemetry: string[];
}

/**
 * The one definition of where the SDK's EAL defaults differ from DPDK's, for typed options
 * (`ealArgs`) and command lines (`prepareEalArgs`) alike: `--in-memory` and
 * `--single-file-segments`, so that no runtime or hugepage file is left behind and
 * virtio-user can share hugepage memory with vhost. An undefined setting takes the
 * default: `inMemory` on unless `noHuge` (EAL refuses it with `--no-huge`, which leaves no
 * hugepage files anyway), `singleFileSegments` on (never with `noHuge`), telemetry on as
 * in DPDK (`--no-telemetry` only when it is false).
 */
export function defaultEalFlags(settings: {
  noHuge: boolean;
  inMemory?: boolean;
  singleFileSegments?: boolean;
  telemetry?: boolean;
}): DefaultEalFlags {
  const memory: string[] = [];
  if (settings.inMemory ?? !settings.noHuge) memory.push('--in-memory');
  if ((settings.singleFileSegments ?? true) && !settings.noHuge) memory.push('--single-file-segments');
  return { memory, telemetry: settings.telemetry === false ? ['--no-telemetry'] : [] };
}

/** Translates typed options into EAL arguments. Exported for tests and tools. */
export function ealArgs(options: EalOptions): string[] {
  const op = 'Eal.init';
  checkOptions<EalOptions>(op, options, ealOptionKeys);
  const args: string[] = [];
  if (options.lcores !== undefined && options.coremask !== undefined) {
    invalidArgument(op, 'Give either lcores or coremask, not both');
  }
  if (typeof options.lcores === 'string') {
    if (!/^[0-9@(),-]+$/.test(options.lcores)) {
      invalidArgument(
        op,
        `lcores must be an lcore map such as '0@0,1@1' or a list of CPU ids, got ${describe(options.lcores)}`,
      );
    }
    args.push('--lcores', options.lcores);
  } else if (options.lcores !== undefined) {
    if (!Array.isArray(options.lcores) || options.lcores.length === 0) {
      invalidArgument(
        op,
        `lcores must be an lcore map such as '0@0,1@1' or a non-empty list of CPU ids, got ${describe(options.lcores)}`,
      );
    }
    args.push('-l', options.lcores.map((cpu, i) => checkInteger(op, `lcores[${i}]`, cpu, 0, 1023)).join(','));
  }
  if (options.coremask !== undefined) {
    if (typeof options.coremask !== 'string' || !/^(0x)?[0-9a-fA-F]+$/.test(options.coremask)) {
      invalidArgument(op, `coremask must be a hexadecimal mask such as '0x3', got ${describe(options.coremask)}`);
    }
    args.push('-c', options.coremask);
  }
  if (options.mainLcore !== undefined)
    args.push('--main-lcore', String(checkInteger(op, 'mainLcore', options.mainLcore, 0, 127)));
  if (options.memoryMb !== undefined && options.socketMem !== undefined) {
    invalidArgument(op, 'Give either memoryMb or socketMem, not both');
  }
  if (options.memoryMb !== undefined)
    args.push('-m', String(checkInteger(op, 'memoryMb', options.memoryMb, 1, 1 << 20)));
  if (options.socketMem !== undefined) {
    if (!Array.isArray(options.socketMem) || options.socketMem.length === 0) {
      invalidArgument(op, `socketMem must be a list of MiB per socket, got ${describe(options.socketMem)}`);
    }
    args.push(
      '--socket-mem',
      options.socketMem.map((mb, i) => checkInteger(op, `socketMem[${i}]`, mb, 0, 1 << 20)).join(','),
    );
  }
  if (options.memoryChannels !== undefined)
    args.push('-n', String(checkInteger(op, 'memoryChannels', options.memoryChannels, 1, 32)));
  const noHuge = options.noHuge === undefined ? false : checkBoolean(op, 'noHuge', options.noHuge);
  if (noHuge) args.push('--no-huge');
  if (options.hugeDir !== undefined) {
    if (noHuge) invalidArgument(op, 'hugeDir cannot be used with noHuge');
    args.push('--huge-dir', checkString(op, 'hugeDir', options.hugeDir));
  }
  if (options.noPci === undefined || checkBoolean(op, 'noPci', options.noPci)) args.push('--no-pci');
  if (options.filePrefix !== undefined) {
    const prefix = checkString(op, 'filePrefix', options.filePrefix);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
      invalidArgument(op, `filePrefix must be 1 to 64 letters, digits, '.', '_' or '-', got ${describe(prefix)}`);
    }
    args.push('--file-prefix', prefix);
  }
  const inMemory = options.inMemory === undefined ? undefined : checkBoolean(op, 'inMemory', options.inMemory);
  if (noHuge && inMemory === true) {
    invalidArgument(
      op,
      'inMemory cannot be used with noHuge: EAL refuses --in-memory with --no-huge ("--legacy-mem is not compatible with --in-memory"), and without hugepages no hugepage files are left behind anyway; leave inMemory out',
    );
  }
  const defaults = defaultEalFlags({
    noHuge,
    inMemory,
    singleFileSegments:
      options.singleFileSegments === undefined
        ? undefined
        : checkBoolean(op, 'singleFileSegments', options.singleFileSegments),
    telemetry: options.telemetry === undefined ? undefined : checkBoolean(op, 'telemetry', options.telemetry),
  });
  args.push(...defaults.memory);
  if (options.iovaMode !== undefined) {
    if (options.iovaMode !== 'pa' && options.iovaMode !== 'va') {
      invalidArgument(op, `iovaMode must be 'pa' or 'va', got ${describe(options.iovaMode)}`);
    }
    args.push('--iova-mode', options.iovaMode);
  }
  if (options.vdevs !== undefined) {
    if (!Array.isArray(options.vdevs))
      invalidArgument(op, `vdevs must be a list of device strings, got ${describe(options.vdevs)}`);
    options.vdevs.forEach((vdev, i) => args.push('--vdev', checkString(op, `vdevs[${i}]`, vdev)));
  }
  if (options.logLevel !== undefined) {
    const level = options.logLevel;
    if (typeof level === 'object' && level !== null) {
      for (const [pattern, value] of Object.entries(level)) {
        args.push(`--log-level=${pattern}:${logLevelArg(op, `logLevel[${JSON.stringify(pattern)}]`, value)}`);
      }
    } else {
      args.push(`--log-level=${logLevelArg(op, 'logLevel', level)}`);
    }
  }
  if (options.printLog !== undefined) checkBoolean(op, 'printLog', options.printLog);
  args.push(...defaults.telemetry);
  if (options.extraArgs !== undefined) {
    if (!Array.isArray(options.extraArgs))
      invalidArgument(op, `extraArgs must be a list of strings, got ${describe(options.extraArgs)}`);
    options.extraArgs.forEach((arg, i) => {
      if (exitsProcess(checkString(op, `extraArgs[${i}]`, arg))) {
        invalidArgument(
          op,
          `extraArgs[${i}] ${describe(arg)} makes DPDK print and exit the process: it is not accepted`,
        );
      }
      args.push(arg);
    });
  }
  return args;
}

function checkRawArgs(args: unknown[]): string[] {
  const op = 'Eal.init';
  return args.map((arg, i) => {
    if (typeof arg !== 'string') invalidArgument(op, `EAL argument ${i} must be a string, got ${describe(arg)}`);
    if (arg === '--') invalidArgument(op, `EAL argument ${i} is '--': pass only EAL arguments, not the application's`);
    if (exitsProcess(arg)) {
      invalidArgument(op, `EAL argument ${describe(arg)} makes DPDK print and exit the process: it is not accepted`);
    }
    return arg;
  });
}

/**
 * What EAL arguments ask to preallocate on hugepages: MiB and the option that asks, as the
 * caller wrote it (`memoryMb` or `-m`, `socketMem` or `--socket-mem`), or undefined when they ask for nothing (EAL then takes memory as it
 * goes) or use no hugepages, or name a hugetlbfs mount of their own.
 */
function requestedHugepageMb(args: readonly string[], typed: boolean): { mb: number; option: string } | undefined {
  let requested: { mb: number; option: string } | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--no-huge' || arg === '--huge-dir' || arg.startsWith('--huge-dir=')) return undefined;
    const memory = /^-m(\d+)?$/.exec(arg);
    const socketMem = /^--socket-mem(?:=(.*))?$/.exec(arg);
    if (memory !== null) {
      const value = memory[1] ?? args[++i] ?? '';
      if (/^\d+$/.test(value)) requested = { mb: Number(value), option: typed ? 'memoryMb' : '-m' };
    } else if (socketMem !== null) {
      const value = socketMem[1] ?? args[++i] ?? '';
      if (/^\d+(,\d+)*$/.test(value)) {
        const mb = value.split(',').reduce((sum, part) => sum + Number(part), 0);
        requested = { mb, option: typed ? 'socketMem' : '--socket-mem' };
      }
    }
  }
  return requested;
}

/**
 * How to get `neededMb` of hugepages when `freeMb` are free: what is free of each size, and the
 * `echo` that reserves enough pages of the default size (or of the one size there is). Without
 * `neededMb`, the file to write the number of pages to.
 */
function reserveAdvice(neededMb?: number, freeMb = 0): string {
  const pools = hugepagePools();
  const { pageKb } = hugepages();
  const pool = pools.find((p) => p.pageKb === pageKb) ?? pools[0];
  if (pool === undefined) return 'this machine has no hugepages: reserve some and mount hugetlbfs';
  const sizes = pools.map((p) => `${(p.free * p.pageKb) / 1024} MB of ${p.pageKb} kB`).join(', ');
  if (neededMb === undefined)
    return `${sizes} hugepages are free; reserve more by writing a page count to ${pool.path}`;
  const reserve = pool.total + Math.ceil(Math.max(0, neededMb - freeMb) / (pool.pageKb / 1024));
  return `${sizes} hugepages are free; reserve more with echo ${reserve} > ${pool.path}`;
}

/**
 * Refuses, before DPDK starts, EAL arguments that ask to preallocate more hugepage memory than
 * is free: EAL would fail after it has set up threads and state that it cannot undo, and
 * could not be initialized again in this process.
 */
function checkHugepageMemory(args: readonly string[], typed: boolean): void {
  const requested = requestedHugepageMb(args, typed);
  if (requested === undefined) return;
  const freeMb = hugepagePools().reduce((sum, p) => sum + (p.free * p.pageKb) / 1024, 0);
  if (requested.mb <= freeMb) return;
  const what = requested.option;
  throw new DpdkError(
    `${what} asks for ${requested.mb} MB of hugepages but ${reserveAdvice(requested.mb, freeMb)}, ` +
      `or lower ${what}, or ${typed ? 'pass noHuge: true' : 'pass --no-huge'}`,
    { code: 'ENOMEM', operation: 'Eal.init' },
  );
}

/**
 * Adds what to do to EAL's refusals for want of memory. Others got hugepages between the check
 * above and EAL's allocation, or EAL needed more than it was asked for.
 */
function hint(error: unknown, typed: boolean): never {
  if (
    error instanceof DpdkError &&
    error.code !== 'ERR_EAL_INIT_FAILED' &&
    /hugepage|huge page|Cannot init memory/i.test(error.message)
  ) {
    const asked = /Requested: (\d+)MB, available: (\d+)MB/.exec(error.message);
    const advice =
      asked === null
        ? reserveAdvice()
        : `${reserveAdvice(Number(asked[1]), Number(asked[2]))}, or lower ${typed ? 'memoryMb' : '-m'}`;
    throw new DpdkError(`${error.message}. ${advice}, or ${typed ? 'pass noHuge: true' : 'pass --no-huge'}`, {
      code: error.code,
      errno: error.errno,
      operation: error.operation,
      cause: error,
    });
  }
  throw error;
}

/**
 * DPDK's Environment Abstraction Layer. Initialize it once per process, before any other
 * DPDK object; clean it up (or let the process exit) at the end.
 */
export class Eal {
  private constructor() {}

  /**
   * Initializes EAL with typed options or raw EAL arguments (without the program name).
   * Throws `ERR_EAL_ALREADY_INITIALIZED` on a second call, `ERR_EAL_CLEANED_UP` after
   * cleanup, and a `DpdkError` carrying what DPDK logged when EAL refuses (a refused init
   * removes the runtime directory it created). `ENOMEM`, before DPDK starts, when `memoryMb`
   * (`-m`) or `socketMem` asks for more hugepage memory than is free, naming what to reserve;
   * `ERR_EAL_INIT_FAILED` on a retry after EAL failed past its argument checks (DPDK 22.11 cannot
   * be initialized again in that process). The calling thread keeps its CPU affinity.
   * DPDK's log is not printed unless `printLog` is true.
   */
  static init(options?: EalOptions): EalInfo;
  /**
   * Initializes EAL with EAL arguments as a DPDK program's command line has them (without
   * the program name), e.g. `['-l', '0-1', '--vdev', 'net_null0']`.
   */
  static init(args: string[], logOptions?: EalLogOptions): EalInfo;
  static init(options: EalOptions | string[] = {}, logOptions: EalLogOptions = {}): EalInfo {
    if (!isMainThread) {
      // EAL belongs to the process; the thread that initializes it cleans it up at its end.
      throw new DpdkError('Eal.init() must be called on the main thread', {
        code: 'ERR_EAL_THREAD',
        operation: 'Eal.init',
      });
    }
    const args = Array.isArray(options) ? checkRawArgs(options) : ealArgs(options);
    if (Array.isArray(options)) {
      checkOptions<EalLogOptions>('Eal.init', logOptions, ['printLog']);
      if (logOptions.printLog !== undefined) checkBoolean('Eal.init', 'printLog', logOptions.printLog);
    }
    if (native.ealState() === 'uninitialized') checkHugepageMemory(args, !Array.isArray(options));
    native.setLogEcho((Array.isArray(options) ? logOptions.printLog : options.printLog) ?? false);
    let info;
    try {
      info = native.ealInit(args);
    } catch (error) {
      hint(error, !Array.isArray(options));
    }
    process.once('exit', () => {
      stopLcoreWorkersAtExit();
      native.ealCleanup(true);
    });
    return { ...info, args };
  }

  /**
   * Stops engines, closes ports and mempools, and releases DPDK's memory. Safe to call
   * twice; DPDK cannot be initialized again in this process afterwards. Throws `EBUSY`
   * while LcoreWorker threads run.
   */
  static cleanup(): void {
    native.ealCleanup(false);
    forgetAllChunks();
  }

  /** Whether EAL is initialized and not cleaned up. */
  static get initialized(): boolean {
    return native.ealState() === 'running';
  }

  /** `uninitialized`, `running` or `cleaned-up`. */
  static get state(): 'uninitialized' | 'running' | 'cleaned-up' {
    return native.ealState();
  }

  /** The DPDK version the addon was built against and the one loaded at run time. */
  static get version(): { build: string; runtime: string } {
    const { build, runtime } = native.versions();
    return { build, runtime };
  }

  /** The lcores EAL enabled. */
  static lcores(): LcoreInfo[] {
    return native.lcores();
  }

  /** The CPUs the calling thread may run on. */
  static threadAffinity(): number[] {
    return native.threadAffinity();
  }
}
