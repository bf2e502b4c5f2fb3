/** The native addon (native/*.cc): the shapes of its exports and its loading, once per thread. */
import { basename, dirname, resolve, sep } from 'node:path';
import bindings from 'bindings';
import { DpdkError } from './errors.js';

/** What a port is (`Port.info()`; declared here, where the native port returns it). */
export interface PortInfo {
  /** The ethdev port id. */
  id: number;
  /** The device name, e.g. `net_vhost0`. */
  name: string;
  /** The driver, e.g. `net_vhost`. */
  driver: string;
  /** The port's MAC address. */
  mac: string;
  /** NUMA socket, -1 when unknown. */
  socket: number;
  /** Queue limits of the device. */
  maxRxQueues: number;
  /** Queue limits of the device. */
  maxTxQueues: number;
  /** Largest descriptor ring the device allows. */
  rxDescriptorsMax: number;
  /** Largest descriptor ring the device allows. */
  txDescriptorsMax: number;
  /** MTU limits. */
  minMtu: number;
  /** MTU limits. */
  maxMtu: number;
  /** Configured queues. */
  rxQueues: number;
  /** Configured queues. */
  txQueues: number;
  /** Whether the port is started. */
  started: boolean;
  /** Whether the SDK created the device at runtime (it is unplugged on close). */
  hotplugged: boolean;
}

/** Shapes of the native addon's exports (native/*.cc); only the SDK's facades use them. */
export interface NativeMempool {
  readonly name: string;
  readonly dataRoomSize: number;
  close(): void;
  stats(): { size: number; available: number; inUse: number };
  chunks(): number[];
  alloc(batch: NativeBatch, count: number, template?: Uint8Array): number;
}
export interface NativeBatch {
  readonly id: number;
  readonly shared: ArrayBuffer | null;
  free(): void;
  close(): void;
  dropUnset(index: number): void;
}
export interface NativePort {
  readonly id: number;
  readonly started: boolean;
  /** The port's queue handles less the queue: its epoch and id (native/port.cc has the layout). */
  readonly queueBase: number;
  info(): PortInfo;
  configure(
    rxQueues: number,
    txQueues: number,
    rxDescriptors: number,
    txDescriptors: number,
    mempool: NativeMempool,
  ): { rxDescriptors: number; txDescriptors: number };
  start(): void;
  stop(): void;
  close(): void;
  getPromiscuous(): boolean;
  setPromiscuous(on: boolean): void;
  getMac(): string;
  setMac(mac: string): void;
  getMtu(): number;
  setMtu(mtu: number): void;
  link(): { up: boolean; speedMbps: number; fullDuplex: boolean; autoneg: boolean };
  stats(): Record<string, unknown>;
  resetStats(): void;
  xstats(): Record<string, number>;
  resetXstats(): void;
  watchLink(callback: (() => void) | null): void;
  acquire(): void;
  release(): void;
}
export interface NativeEngine {
  readonly running: boolean;
  readonly id: number;
  start(): void;
  stop(): void;
  close(): void;
  stats(): unknown[];
  /** Writes [rx, tx, dropped] of each stream into `into`. */
  counts(into: Float64Array): void;
  /** [packets, bytes] per filter rule, then of unmatched packets. */
  filterStats(): Float64Array;
  resetStats(): void;
}
export interface NativeCapture {
  stop(): void;
  /** [captured, filteredOut, dropped, limitReached (0/1), capturing (0/1)]. */
  stats(): Float64Array;
}
export interface NativeAddon {
  setErrorClass(ctor: typeof DpdkError): void;
  chunkBuffer(id: number): ArrayBuffer;
  ealInit(args: string[]): { mainLcore: number; lcoreCount: number; iovaMode: 'pa' | 'va' };
  ealCleanup(atExit: boolean): void;
  ealState(): 'uninitialized' | 'running' | 'cleaned-up';
  versions(): { build: string; buildNumber: number; runtime: string };
  lcores(): { id: number; role: 'main' | 'worker'; socket: number; cpus: number[]; busy: boolean }[];
  /** `counters` and `names`: the loop's live counters, which telemetry's /dpdk_ts/worker reads. */
  registerThread(cpu: number, counters?: Float64Array, names?: string[]): number;
  unregisterThread(): void;
  setLogEcho(echo: boolean): void;
  /** A position in DPDK's captured log. */
  logMark(): number;
  /** What DPDK logged from `mark` up to `end`, another mark (as far as the capture's tail still holds). */
  logText(mark: number, end: number): string;
  /** Ends the vhost-user connection a virtio-user server on `path` accepted; how many it ended. */
  dropVhostPeer(path: string): number;
  threadAffinity(): number[];
  yieldCpu(): void;
  Mempool: {
    new (name: string, size: number, cacheSize: number, dataRoomSize: number, socket: number): NativeMempool;
    new (name: string): NativeMempool;
  };
  Batch: new (capacity: number) => NativeBatch;
  Port: { new (id: number): NativePort; probe(devargs: string, operation?: string): number; list(): number[] };
  probeWaiting(
    devargs: string,
    operation: string,
    done: (error: Error | null, portId?: number, cancelled?: boolean) => void,
  ): number;
  cancelProbe(ticket: number): boolean;
  rxBurst(queueHandle: number, batchId: number): number;
  txBurst(queueHandle: number, batchId: number): number;
  txRxBurst(txQueueHandle: number, batchId: number, rxQueueHandle: number): number;
  Engine: new (options: object) => NativeEngine;
  Capture: new (
    portId: number,
    path: string,
    options: { rx: boolean; tx: boolean; snapLength: number; packetLimit: number; filter?: { table: Int32Array } },
  ) => NativeCapture;
}

/** The package's root: the loader runs from lib/ (sources) or dist/lib/ (compiled). */
const packageRoot = resolve(__dirname, basename(dirname(__dirname)) === 'dist' ? '../..' : '..');

const buildNeeds =
  "DPDK's headers, pkg-config, cmake and g++ (Debian 12: `apt-get install libdpdk-dev pkg-config cmake g++`)";

/**
 * What to do when the addon was never built. Installed as a dependency, npm builds it with
 * dpdk-ts's install script, which npm skips under `--ignore-scripts` or when its
 * `allowScripts` policy does not allow dpdk-ts; in a checkout, the setup builds it.
 */
function notBuiltAdvice(): string {
  if (!packageRoot.split(sep).includes('node_modules')) {
    return `it is not built: run \`npm run build:native\` in ${packageRoot} (needs ${buildNeeds}), or \`npm run setup\``;
  }
  return (
    "it was not built, because npm did not run dpdk-ts's install script (npm ran with --ignore-scripts, " +
    'or its allowScripts policy did not allow dpdk-ts). Build it from your project: `npm approve-scripts dpdk-ts` ' +
    '(npm >= 11.16; it allows the script for later installs too), then `npm rebuild dpdk-ts`; ' +
    `or build it in place: \`cd ${packageRoot} && npm run build:native\`. The build needs ${buildNeeds}`
  );
}

/** Turns a failure to load the addon into what to do about it, and its code. */
function explainLoadFailure(error: Error): { advice: string; code: string } {
  const text = error.message;
  if (/Could not locate the bindings file/.test(text)) {
    return { advice: notBuiltAdvice(), code: 'ERR_NATIVE_NOT_BUILT' };
  }
  if (/librte_\S+: cannot open shared object file/.test(text)) {
    return {
      advice: 'the DPDK runtime libraries are missing: install DPDK 22.11 (`apt-get install dpdk` on Debian 12)',
      code: 'ERR_ADDON_LOAD',
    };
  }
  if (/version `DPDK_\d+' not found|undefined symbol: rte_/.test(text)) {
    return {
      advice:
        'the DPDK libraries found at run time do not match the ones the addon was built with: ' +
        'rebuild with `npm run build:native`',
      code: 'ERR_ADDON_LOAD',
    };
  }
  return { advice: 'see the cause', code: 'ERR_ADDON_LOAD' };
}

/**
 * Loads the build's addon, or the one `DPDK_TS_ADDON` names (a path to a `.node` file):
 * `npm run test:asan` runs the tests on a sanitizer build in build-asan that way.
 */
function openAddon(override: string | undefined): NativeAddon {
  if (override === undefined || override === '') {
    return bindings({ bindings: 'dpdk_ts.node', module_root: packageRoot }) as NativeAddon;
  }
  const module = { exports: {} };
  process.dlopen(module, resolve(override));
  return module.exports as NativeAddon;
}

function load(): NativeAddon {
  let addon: NativeAddon;
  const override = process.env.DPDK_TS_ADDON;
  try {
    addon = openAddon(override);
  } catch (caught) {
    const error = caught as Error;
    const { advice, code } = override
      ? { advice: `DPDK_TS_ADDON names ${override}, which could not be loaded`, code: 'ERR_ADDON_LOAD' }
      : explainLoadFailure(error);
    throw new DpdkError(`Cannot load the dpdk-ts native addon: ${advice} (${error.message.split('\n')[0]})`, {
      code,
      operation: 'load',
      cause: error,
    });
  }
  addon.setErrorClass(DpdkError);
  const { build, runtime } = addon.versions();
  const release = (v: string): string =>
    v
      .replace(/^DPDK /, '')
      .split('.')
      .slice(0, 2)
      .join('.');
  if (release(build) !== release(runtime)) {
    throw new DpdkError(
      `dpdk-ts was built against ${build} but the DPDK libraries loaded are ${runtime}: ` +
        'rebuild with `npm run build:native`',
      { code: 'ERR_DPDK_VERSION', operation: 'load' },
    );
  }
  return addon;
}

/** The native addon, loaded once per environment (main thread or worker). */
export const native: NativeAddon = load();
