/** The native addon (native/*.cc): the shapes of its exports and its loading, once per thread. */
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
  start(): void;
  stop(): void;
  close(): void;
  stats(): unknown[];
  resetStats(): void;
}
export interface NativeAddon {
  setErrorClass(ctor: typeof DpdkError): void;
  chunkBuffer(id: number): ArrayBuffer;
  ealInit(args: string[]): { mainLcore: number; lcoreCount: number; iovaMode: 'pa' | 'va' };
  ealCleanup(atExit: boolean): void;
  ealState(): 'uninitialized' | 'running' | 'cleaned-up';
  versions(): { build: string; buildNumber: number; runtime: string };
  lcores(): { id: number; role: 'main' | 'worker'; socket: number; cpus: number[]; busy: boolean }[];
  registerThread(cpu: number): number;
  unregisterThread(): void;
  setLogEcho(echo: boolean): void;
  threadAffinity(): number[];
  yieldCpu(): void;
  Mempool: {
    new (name: string, size: number, cacheSize: number, dataRoomSize: number, socket: number): NativeMempool;
    new (name: string): NativeMempool;
  };
  Batch: new (capacity: number) => NativeBatch;
  Port: { new (id: number): NativePort; probe(devargs: string, operation?: string): number; list(): number[] };
  rxBurst(queueHandle: number, batchId: number): number;
  txBurst(queueHandle: number, batchId: number): number;
  txRxBurst(txQueueHandle: number, batchId: number, rxQueueHandle: number): number;
  Engine: new (options: object) => NativeEngine;
}

/** Turns a failure to load the addon into what to do about it. */
function explainLoadFailure(error: Error): string {
  const text = error.message;
  if (/Could not locate the bindings file/.test(text)) {
    return 'the native addon is not built: run `npm run build:native` (needs libdpdk-dev, cmake and g++)';
  }
  if (/librte_\S+: cannot open shared object file/.test(text)) {
    return 'the DPDK runtime libraries are missing: install DPDK 22.11 (`apt-get install dpdk` on Debian 12)';
  }
  if (/version `DPDK_\d+' not found|undefined symbol: rte_/.test(text)) {
    return (
      'the DPDK libraries found at run time do not match the ones the addon was built with: ' +
      'rebuild with `npm run build:native`'
    );
  }
  return 'see the cause';
}

function load(): NativeAddon {
  let addon: NativeAddon;
  try {
    addon = bindings({ bindings: 'dpdk_ts.node', module_root: `${__dirname}/..` }) as NativeAddon;
  } catch (firstError) {
    try {
      // Compiled to dist/lib/, the package root is two levels up.
      addon = bindings({ bindings: 'dpdk_ts.node', module_root: `${__dirname}/../..` }) as NativeAddon;
    } catch {
      const error = firstError as Error;
      throw new DpdkError(
        `Cannot load the dpdk-ts native addon: ${explainLoadFailure(error)} (${error.message.split('\n')[0]})`,
        { code: 'ERR_ADDON_LOAD', operation: 'load', cause: error },
      );
    }
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
