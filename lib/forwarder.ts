/**
 * Forwarding on an lcore behind one interface, whichever loop does the work: the native
 * `Engine` on an EAL worker lcore, or a TypeScript loop module on a pinned `LcoreWorker`
 * (`Forwarder`, main thread), and what such a loop module is given: its streams with
 * their ports and counters (`ForwarderLoop`, worker thread).
 */
import { DpdkError, invalidArgument } from './errors.js';
import type { EngineFilter, FilterStats } from './engine-filter.js';
import { Engine, engineStreamKeys, type EngineStream, type EngineStreamStats, type ForwardMode } from './engine.js';
import { LcoreContext, LcoreWorker } from './lcore.js';
import { Mempool } from './mempool.js';
import { native } from './native.js';
import { Port } from './port.js';
import { checkBoolean, checkInteger, checkOptions, describe } from './validate.js';

/** Options both back ends take. */
export interface ForwarderCommonOptions {
  /** The rx -> tx paths, polled round robin. */
  streams: EngineStream[];
  /** Packets per burst, 1..512. Default 32. */
  burst?: number;
  /** Pool of the packets the loop makes itself (txonly, generator). */
  mempool?: Mempool;
  /** The packet the loop sends when a stream has no `templates`. */
  template?: Uint8Array;
}

/** A native forwarder: an {@link Engine} on an EAL worker lcore (see `EngineOptions`). */
export interface NativeForwarderOptions extends ForwarderCommonOptions {
  /** The EAL worker lcore to run on. */
  lcore: number;
  /** What the engine does with packets. */
  mode: ForwardMode;
  /** See `EngineOptions.timestampOffset`. */
  timestampOffset?: number;
  /** See `EngineOptions.yieldWhenIdle`. */
  yieldWhenIdle?: boolean;
  /** See `EngineOptions.shareCpu`. */
  shareCpu?: boolean;
  /** See `EngineOptions.filter`. */
  filter?: EngineFilter;
}

/**
 * A TypeScript forwarder: a loop module on a pinned {@link LcoreWorker}. The module calls
 * {@link ForwarderLoop.attach} and forwards its streams until `running` turns false.
 */
export interface LoopForwarderOptions extends ForwarderCommonOptions {
  /**
   * The loop module: a path relative to the current directory, or a file URL, with or
   * without its extension (see {@link LcoreWorker.start}).
   */
  loop: string | URL;
  /** The CPU to pin the loop's thread to. */
  cpu: number;
  /** Anything structured-cloneable for the loop ({@link ForwarderLoop.data}). */
  data?: unknown;
  /** Counters the loop keeps besides each stream's rx, tx and dropped. */
  counters?: string[];
  /** See `LcoreWorkerOptions.preload`. */
  preload?: string[];
  /**
   * {@link ForwarderLoop.idle} gives the CPU away (sched_yield) when the loop calls it after
   * a pass that moved no packet or was refused by a full tx queue: for a loop that shares
   * its CPU with another busy poller. Default false (idle() does nothing).
   */
  yieldWhenIdle?: boolean;
}

/** Options of {@link Forwarder.start}: with `loop`, a TypeScript loop; else the native engine. */
export type ForwarderOptions = NativeForwarderOptions | LoopForwarderOptions;

/** Packets counted for one port over forwarders' streams (see {@link Forwarder.portTotals}). */
export interface ForwarderPortTotals {
  /** Packets received from the port. */
  rx: number;
  /** Packets sent to the port. */
  tx: number;
  /** Packets for the port its tx queue refused (freed, not sent). */
  dropped: number;
}

/** A forwarder that failed to stop cleanly, and why (see {@link Forwarder.stopAll}). */
export interface ForwarderFailure {
  /** The forwarder. */
  forwarder: Forwarder;
  /** The loop's error, or a `DpdkError` `ERR_LCORE_WORKER` when its thread exited with a non-zero code. */
  error: unknown;
}

/** A stream as the loop's thread receives it: its ports by index in the worker's port list. */
interface LoopStreamInit extends Omit<EngineStream, 'rxPort' | 'txPort'> {
  rx: number;
  tx: number;
}

/** What {@link Forwarder.start} hands a loop module (as `LcoreWorkerOptions.data`). */
interface ForwarderLoopInit {
  dpdkTsForwarder: true;
  streams: LoopStreamInit[];
  burst: number;
  mempool: string | undefined;
  template: Uint8Array | undefined;
  data: unknown;
  yieldWhenIdle: boolean;
}

const commonKeys = [
  'streams',
  'burst',
  'mempool',
  'template',
] as const satisfies readonly (keyof ForwarderCommonOptions)[];
const nativeKeys = [
  ...commonKeys,
  'lcore',
  'mode',
  'timestampOffset',
  'yieldWhenIdle',
  'shareCpu',
  'filter',
] as const satisfies readonly (keyof NativeForwarderOptions)[];
const loopKeys = [
  ...commonKeys,
  'loop',
  'cpu',
  'data',
  'counters',
  'preload',
  'yieldWhenIdle',
] as const satisfies readonly (keyof LoopForwarderOptions)[];

/** The names of stream `index`'s counters in a loop: received, sent, refused by the tx queue. */
function streamCounterNames(index: number): [string, string, string] {
  return [`rx:${index}`, `tx:${index}`, `dropped:${index}`];
}

function closedError(operation: string): DpdkError {
  return new DpdkError('Forwarder is closed', { code: 'ERR_CLOSED', operation });
}

/** Checks a loop forwarder's streams and turns them into what its thread receives, and the ports it polls. */
function loopStreams(op: string, streams: unknown): { ports: Port[]; init: LoopStreamInit[] } {
  if (!Array.isArray(streams) || streams.length === 0)
    invalidArgument(op, `streams must be a non-empty list, got ${describe(streams)}`);
  const ports: Port[] = [];
  const indexOf = (port: Port): number => {
    if (!ports.includes(port)) ports.push(port);
    return ports.indexOf(port);
  };
  const init = (streams as EngineStream[]).map((stream, i) => {
    const name = `streams[${i}]`;
    checkOptions<EngineStream>(`${op} ${name}`, stream, engineStreamKeys);
    const { rxPort, txPort, ...rest } = stream;
    if (!(rxPort instanceof Port) || !(txPort instanceof Port))
      invalidArgument(op, `${name}.rxPort and ${name}.txPort must be Ports`);
    return {
      ...rest,
      rx: indexOf(rxPort),
      tx: indexOf(txPort),
      rxQueue: checkInteger(op, `${name}.rxQueue`, stream.rxQueue ?? 0, 0, 1023),
      txQueue: checkInteger(op, `${name}.txQueue`, stream.txQueue ?? 0, 0, 1023),
    };
  });
  return { ports, init };
}

/**
 * Streams forwarded on an lcore, by the native {@link Engine} or by a TypeScript loop
 * module on an {@link LcoreWorker}: one way to start them, read their counters per stream
 * while they run, stop and close them, so that an application can offer both back ends
 * without writing each twice.
 */
export class Forwarder {
  /** `native` (an Engine) or `loop` (a TypeScript loop on an LcoreWorker). */
  readonly backend: 'native' | 'loop';
  /** The lcore it runs on: the engine's EAL worker lcore, or the lcore the loop's thread registered as. */
  readonly lcore: number;
  readonly #engine: Engine | undefined;
  readonly #worker: LcoreWorker | undefined;
  /** The port ids of each stream, for the loop's counters. */
  readonly #streamPorts: { rxPort: number; txPort: number }[];
  #stopped = false;
  #closed = false;

  private constructor(engine: Engine | undefined, worker: LcoreWorker | undefined, streams: EngineStream[]) {
    this.#engine = engine;
    this.#worker = worker;
    this.backend = engine !== undefined ? 'native' : 'loop';
    this.lcore = engine?.lcore ?? (worker as LcoreWorker).lcore;
    this.#streamPorts = streams.map((stream) => ({ rxPort: stream.rxPort.id, txPort: stream.txPort.id }));
  }

  /**
   * Starts forwarding: with `loop`, the loop module on a worker thread pinned to `cpu`
   * (resolves once it has attached); else a native engine of `mode` on EAL worker lcore
   * `lcore`. Ports must be started; they cannot be stopped while the forwarder runs.
   */
  static async start(options: ForwarderOptions): Promise<Forwarder> {
    const op = 'Forwarder.start';
    if (options === null || typeof options !== 'object' || !('loop' in options)) {
      checkOptions<NativeForwarderOptions>(op, options, nativeKeys);
      const engine = Engine.create(options);
      engine.start();
      return new Forwarder(engine, undefined, options.streams);
    }
    checkOptions<LoopForwarderOptions>(op, options, loopKeys);
    const burst = checkInteger(op, 'burst', options.burst ?? 32, 1, 512);
    if (options.mempool !== undefined && !(options.mempool instanceof Mempool)) {
      invalidArgument(op, `mempool must be a Mempool, got ${describe(options.mempool)}`);
    }
    const extra = options.counters ?? [];
    if (!Array.isArray(extra)) invalidArgument(op, `counters must be a list of names, got ${describe(extra)}`);
    const { ports, init } = loopStreams(op, options.streams);
    const data: ForwarderLoopInit = {
      dpdkTsForwarder: true,
      streams: init,
      burst,
      mempool: options.mempool?.name,
      template: options.template,
      data: options.data,
      yieldWhenIdle:
        options.yieldWhenIdle === undefined ? false : checkBoolean(op, 'yieldWhenIdle', options.yieldWhenIdle),
    };
    const worker = await LcoreWorker.start(options.loop, {
      cpu: options.cpu,
      ports,
      data,
      counters: [...init.flatMap((_, i) => streamCounterNames(i)), ...extra],
      ...(options.preload === undefined ? {} : { preload: options.preload }),
    });
    return new Forwarder(undefined, worker, options.streams);
  }

  /** Live counters per stream, in the order of the streams given. */
  stats(): EngineStreamStats[] {
    if (this.#closed) throw closedError('Forwarder.stats');
    if (this.#engine !== undefined) return this.#engine.stats();
    const counters = (this.#worker as LcoreWorker).counters();
    return this.#streamPorts.map((ports, i) => {
      const [rx, tx, dropped] = streamCounterNames(i).map((name) => counters[name]);
      return { ...ports, rx, tx, dropped };
    });
  }

  /** @internal The native engine, or undefined for a loop (lib/metrics reads its latency). */
  get engine(): Engine | undefined {
    return this.#engine;
  }

  /** A native forwarder's filter counters (see `Engine.filterStats`); undefined for a loop or without a filter. */
  filterStats(): FilterStats | undefined {
    if (this.#closed) throw closedError('Forwarder.filterStats');
    return this.#engine?.filterStats();
  }

  /**
   * Live counters by name: each stream's `rx:<i>`, `tx:<i>` and `dropped:<i>`, and for a
   * loop the counters it was given.
   */
  counters(): Record<string, number> {
    if (this.#closed) throw closedError('Forwarder.counters');
    if (this.#worker !== undefined) return this.#worker.counters();
    return Object.fromEntries(
      this.stats().flatMap((stats, i) => {
        const [rx, tx, dropped] = streamCounterNames(i);
        return [
          [rx, stats.rx],
          [tx, stats.tx],
          [dropped, stats.dropped],
        ];
      }),
    );
  }

  /**
   * Stops forwarding and waits for the loop to end; the counters stay readable. Rejects
   * with the loop's error if it threw, or with `ERR_LCORE_WORKER` if its thread exited
   * with a non-zero code. Safe to call twice (the second call does nothing).
   */
  async stop(): Promise<void> {
    if (this.#closed) throw closedError('Forwarder.stop');
    await this.#halt();
  }

  async #halt(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#engine?.stop();
    if (this.#worker === undefined) return;
    const code = await this.#worker.stop();
    if (code !== 0) {
      throw new DpdkError(`The loop's thread exited with code ${code}`, {
        code: 'ERR_LCORE_WORKER',
        operation: 'Forwarder.stop',
      });
    }
  }

  /**
   * Stops forwarding if it runs (rejecting as {@link stop} does when the loop failed) and
   * lets go of the engine and its mempool. Safe to call twice; any other use afterwards
   * throws `ERR_CLOSED`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#halt();
    } finally {
      this.#engine?.close();
    }
  }

  /**
   * Stops every forwarder given, even when some fail, and resolves with those that did
   * not stop cleanly and why.
   */
  static async stopAll(forwarders: Iterable<Forwarder>): Promise<ForwarderFailure[]> {
    const failures: ForwarderFailure[] = [];
    for (const forwarder of forwarders) {
      try {
        await forwarder.stop();
      } catch (error) {
        failures.push({ forwarder, error });
      }
    }
    return failures;
  }

  /**
   * The forwarders' stream counters by port id: what each port received (as an rx port),
   * and what was sent to it or dropped for it (as a tx port).
   */
  static portTotals(forwarders: Iterable<Forwarder>): Map<number, ForwarderPortTotals> {
    const totals = new Map<number, ForwarderPortTotals>();
    const of = (port: number): ForwarderPortTotals => {
      let entry = totals.get(port);
      if (entry === undefined) totals.set(port, (entry = { rx: 0, tx: 0, dropped: 0 }));
      return entry;
    };
    for (const forwarder of forwarders) {
      for (const stats of forwarder.stats()) {
        of(stats.rxPort).rx += stats.rx;
        const tx = of(stats.txPort);
        tx.tx += stats.tx;
        tx.dropped += stats.dropped;
      }
    }
    return totals;
  }
}

/** One stream as a loop module sees it: its ports and queues, and its counters' indexes. */
export interface ForwarderLoopStream extends Omit<EngineStream, 'rxPort' | 'rxQueue' | 'txPort' | 'txQueue'> {
  /** Port to receive from. */
  rxPort: Port;
  /** Rx queue. */
  rxQueue: number;
  /** Port to send to. */
  txPort: Port;
  /** Tx queue. */
  txQueue: number;
  /** Index in `counters` of the packets received. */
  rxCounter: number;
  /** Index in `counters` of the packets sent. */
  txCounter: number;
  /** Index in `counters` of the packets the tx queue refused. */
  droppedCounter: number;
}

/**
 * What a loop module started by {@link Forwarder.start} works with: its streams (ports
 * attached in this thread, counter indexes resolved), the burst size, the mempool and
 * template for packets it makes, the application's data, the stop flag and the live
 * counters. Add a stream's packets to `counters[stream.rxCounter]` and so on.
 */
export class ForwarderLoop {
  /** The streams, in the order given to `Forwarder.start`. */
  readonly streams: ForwarderLoopStream[];
  /** Packets per burst. */
  readonly burst: number;
  /** The `mempool` given to `Forwarder.start`, looked up in this thread. */
  readonly mempool: Mempool | undefined;
  /** The `template` given to `Forwarder.start`. */
  readonly template: Uint8Array | undefined;
  /** The `data` given to `Forwarder.start`. */
  readonly data: unknown;
  /** The live counters: the streams' and the extra ones (see {@link counterIndex}). */
  readonly counters: Float64Array;
  /** The lcore context of this thread (its lcore id, CPU and ports). */
  readonly context: LcoreContext;
  /** Whether {@link idle} yields the CPU (`LoopForwarderOptions.yieldWhenIdle`). */
  readonly yieldWhenIdle: boolean;

  private constructor(context: LcoreContext, init: ForwarderLoopInit) {
    this.context = context;
    this.counters = context.counters;
    this.burst = init.burst;
    this.mempool = init.mempool === undefined ? undefined : Mempool.lookup(init.mempool);
    this.template = init.template;
    this.data = init.data;
    this.yieldWhenIdle = init.yieldWhenIdle;
    this.streams = init.streams.map(({ rx, tx, ...stream }, i) => {
      const [rxCounter, txCounter, droppedCounter] = streamCounterNames(i).map((name) => context.counterIndex(name));
      return {
        ...stream,
        rxPort: context.ports[rx],
        txPort: context.ports[tx],
        rxQueue: stream.rxQueue ?? 0,
        txQueue: stream.txQueue ?? 0,
        rxCounter,
        txCounter,
        droppedCounter,
      };
    });
  }

  /** Registers this worker thread with EAL, pins it and returns what the loop works with. */
  static attach(): ForwarderLoop {
    const context = LcoreContext.attach<ForwarderLoopInit | undefined>();
    const init = context.data;
    if (init?.dpdkTsForwarder !== true) {
      throw new DpdkError('ForwarderLoop.attach() must run in a loop module started by Forwarder.start()', {
        code: 'ERR_LCORE_WORKER',
        operation: 'ForwarderLoop.attach',
      });
    }
    return new ForwarderLoop(context, init);
  }

  /** False once the forwarder is stopped: end the loop then. */
  get running(): boolean {
    return this.context.running;
  }

  /**
   * Call after a pass over the streams that moved no packet, or whose sends a full tx queue
   * refused: with `yieldWhenIdle`, gives the CPU to whatever else is ready to run on it (one
   * native call, the `sched_yield()` of DPDK's own pollers); else does nothing.
   */
  idle(): void {
    if (this.yieldWhenIdle) native.yieldCpu();
  }

  /** The index in {@link counters} of a counter given in `LoopForwarderOptions.counters`. */
  counterIndex(name: string): number {
    return this.context.counterIndex(name);
  }
}
