/** DPDK's Environment Abstraction Layer: typed EAL options, their translation to EAL arguments, init and cleanup. */
import { isMainThread } from 'node:worker_threads';
import { DpdkError, invalidArgument } from './errors.js';
import { forgetAllChunks } from './batch.js';
import { stopLcoreWorkersAtExit } from './lcore.js';
import { checkHugepageMemory, rememberEalMemory, withMemoryAdvice } from './eal-memory.js';
import { native } from './native.js';
import { checkPeerWait, type PeerWaitOptions } from './peer-wait.js';
import { checkSetupRetry, createWatchedServer, type SetupRetryOptions } from './vhost-retry.js';
import { Port } from './port.js';
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

function checkRawArgs(op: string, args: unknown[]): string[] {
  return args.map((arg, i) => {
    if (typeof arg !== 'string') invalidArgument(op, `EAL argument ${i} must be a string, got ${describe(arg)}`);
    if (arg === '--') invalidArgument(op, `EAL argument ${i} is '--': pass only EAL arguments, not the application's`);
    if (exitsProcess(arg)) {
      invalidArgument(op, `EAL argument ${describe(arg)} makes DPDK print and exit the process: it is not accepted`);
    }
    return arg;
  });
}

/** How {@link Eal.initAsync} waits for its virtio-user servers' clients and watches their setup. */
export interface EalServerWaitOptions extends PeerWaitOptions {
  /**
   * The servers' setup retries, as `VirtioUserServerOptions.setupRetry` (the same default:
   * on); their ports (`Port.get`) emit `setup-failed`, `setup-retry` and `setup-recovered`.
   */
  setupRetry?: SetupRetryOptions | false;
}

/** EAL arguments split where a virtio-user server's `--vdev` first appears. */
interface DeferredVdevs {
  /** What `rte_eal_init` gets: every argument but the deferred `--vdev`s. */
  now: string[];
  /** The devargs of that server and of every `--vdev` after it, in order. */
  after: string[];
}

// A virtio-user server waits inside its probe for the vhost-user client; EAL probes vdevs in the
// order given, so the vdevs after it are deferred too and keep the port ids EAL would give them.
function deferPeerWaitingVdevs(args: string[]): DeferredVdevs {
  const now: string[] = [];
  const after: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let devargs: string | undefined;
    if (args[i] === '--vdev' && i + 1 < args.length) devargs = args[++i];
    else if (args[i].startsWith('--vdev=')) devargs = args[i].slice('--vdev='.length);
    if (devargs === undefined) now.push(args[i]);
    else if (after.length > 0 || waitsForPeer(devargs)) after.push(devargs);
    else now.push('--vdev', devargs);
  }
  return { now, after };
}

function waitsForPeer(devargs: string): boolean {
  const [driver, ...params] = devargs.split(',');
  return /^(net_)?virtio_user/.test(driver) && params.some((param) => /^server=0*[1-9]/.test(param));
}

// The EAL arguments and log echo of init's two forms (typed options, or raw arguments with
// `more` carrying the rest), validated.
function checkInit(
  op: string,
  options: EalOptions | string[],
  more: EalLogOptions & EalServerWaitOptions,
  moreKeys: readonly (keyof (EalLogOptions & EalServerWaitOptions))[],
): { args: string[]; printLog: boolean; typed: boolean } {
  checkOptions<EalLogOptions & EalServerWaitOptions>(op, more, moreKeys);
  if (!Array.isArray(options)) return { args: ealArgs(options), printLog: options.printLog ?? false, typed: true };
  if (more.printLog !== undefined) checkBoolean(op, 'printLog', more.printLog);
  return { args: checkRawArgs(op, options), printLog: more.printLog ?? false, typed: false };
}

// `typed`: whether the caller gave EalOptions, so that advice names memoryMb rather than -m.
function initNow(op: string, args: string[], printLog: boolean, typed: boolean): EalInfo {
  if (!isMainThread) {
    // EAL belongs to the process; the thread that initializes it cleans it up at its end.
    throw new DpdkError(`${op}() must be called on the main thread`, { code: 'ERR_EAL_THREAD', operation: op });
  }
  if (native.ealState() === 'uninitialized') checkHugepageMemory(op, args, typed);
  native.setLogEcho(printLog);
  let info;
  try {
    info = native.ealInit(args);
  } catch (error) {
    withMemoryAdvice(error, typed);
  }
  rememberEalMemory(args, typed);
  process.once('exit', () => {
    stopLcoreWorkersAtExit();
    native.ealCleanup(true);
  });
  return { ...info, args };
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
    const op = 'Eal.init';
    const { args, printLog, typed } = checkInit(op, options, logOptions, ['printLog']);
    const server = deferPeerWaitingVdevs(args).after[0];
    if (server !== undefined) {
      invalidArgument(
        op,
        `vdev ${describe(server)} is a virtio-user server, which waits for its vhost-user client inside ` +
          'rte_eal_init and would block the event loop: use await Eal.initAsync(...) with the same arguments, ' +
          'or create it after init with await VirtioUser.createServer(...)',
      );
    }
    return initNow(op, args, printLog, typed);
  }

  /**
   * {@link Eal.init} for arguments with virtio-user servers (`--vdev
   * net_virtio_user0,path=...,server=1`), as DPDK applications attached to OVS
   * `dpdkvhostuserclient` ports have them: EAL is initialized without them, then each waits
   * for its vhost-user client off the JS thread (timers and I/O go on), in the order given,
   * and the promise resolves once all have connected. The vdevs given after the first server
   * are created after it, so every port gets the id EAL would have given it.
   *
   * @throws DpdkError what {@link Eal.init} throws; `ETIMEDOUT` when `timeoutMs` (counted from
   * the end of EAL's own init) passes before every client connected, `ECANCELED` when `signal` aborts: EAL stays initialized, and the
   * deferred vdevs are not created (those created already are closed).
   */
  static async initAsync(options?: EalOptions, wait?: EalServerWaitOptions): Promise<EalInfo>;
  /** {@link Eal.initAsync} with EAL arguments as a DPDK program's command line has them. */
  static async initAsync(args: string[], options?: EalLogOptions & EalServerWaitOptions): Promise<EalInfo>;
  static async initAsync(
    options: EalOptions | string[] = {},
    more: EalLogOptions & EalServerWaitOptions = {},
  ): Promise<EalInfo> {
    const op = 'Eal.initAsync';
    const keys: (keyof (EalLogOptions & EalServerWaitOptions))[] = ['timeoutMs', 'signal', 'setupRetry'];
    const { args, printLog, typed } = checkInit(
      op,
      options,
      more,
      Array.isArray(options) ? [...keys, 'printLog'] : keys,
    );
    checkPeerWait(op, more);
    const retry = checkSetupRetry(op, more.setupRetry);
    if (more.signal?.aborted) {
      throw new DpdkError('EAL init was aborted before it started', {
        code: 'ECANCELED',
        operation: op,
        cause: more.signal.reason,
      });
    }
    const { now, after } = deferPeerWaitingVdevs(args);
    const info = initNow(op, now, printLog, typed);
    // The clock starts once EAL is up: timeoutMs bounds the wait for the clients, not EAL's own init.
    const deadline = more.timeoutMs === undefined ? undefined : Date.now() + more.timeoutMs;
    const created: Port[] = [];
    try {
      for (const devargs of after) {
        if (!waitsForPeer(devargs)) created.push(Port.adopt(native.Port.probe(devargs, op)));
        else {
          const timeoutMs = deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
          created.push(await createWatchedServer(devargs, op, { timeoutMs, signal: more.signal }, retry));
        }
      }
    } catch (error) {
      for (const port of created) port.close();
      throw error;
    }
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
