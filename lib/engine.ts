/** The native forwarding engine: testpmd-style forward modes and a generator, run in C on an EAL worker lcore. */
import {
  compileFilter,
  filterStats,
  type CompiledFilter,
  type EngineFilter,
  type FilterStats,
} from './engine-filter.js';
import { checkEngineCpusFree, engineStarted, engineStopped } from './busy-cpus.js';
import { invalidArgument } from './errors.js';
import { latencyStats, type LatencyStats, type RawLatency } from './latency.js';
import { Mempool } from './mempool.js';
import { native, type NativeEngine } from './native.js';
import { Port } from './port.js';
import { checkBoolean, checkCountsArray, checkInteger, checkMac, checkOptions, describe } from './validate.js';

/**
 * The native forward modes: testpmd's `io` (forward as is), `mac` (set source to the tx
 * port's MAC and destination to the peer's), `macswap`, `rxonly`, `txonly`; `l2fwd`
 * (DPDK l2fwd's MAC rewrite: destination 02:00:00:00:00:<tx port>); and `generator`
 * (txonly with rate and count, plus rx counting and latency, for a pktgen).
 */
export type ForwardMode = 'io' | 'mac' | 'macswap' | 'rxonly' | 'txonly' | 'l2fwd' | 'generator';

/** The forward modes, in a list. */
export const forwardModes: readonly ForwardMode[] = ['io', 'mac', 'macswap', 'rxonly', 'txonly', 'l2fwd', 'generator'];

/** One rx -> tx path an engine polls. */
export interface EngineStream {
  /** Port to receive from (ignored by txonly). */
  rxPort: Port;
  /** Rx queue. Default 0. */
  rxQueue?: number;
  /** Port to send to (ignored by rxonly). */
  txPort: Port;
  /** Tx queue. Default 0. */
  txQueue?: number;
  /** Destination MAC for `mac` mode (the peer). Default 02:00:00:00:00:<tx port id>. */
  txDestination?: string;
  /** Packets to send, for `txonly` and `generator`; 0 or absent: no limit. */
  txLimit?: number;
  /**
   * Packets per second to send, for `txonly` and `generator`; 0 or absent: full speed. A
   * stream that falls behind gives up the backlog rather than bursting it (see `txSkipped`).
   */
  ratePps?: number;
  /** For `generator`: false makes the stream receive only. Default true. */
  send?: boolean;
  /**
   * Packets this stream sends in turn (e.g. one per flow), for `txonly` and `generator`;
   * default: the engine's `template`.
   */
  templates?: Uint8Array[];
}

/** Options of {@link Engine.create}. */
export interface EngineOptions {
  /** The EAL worker lcore to run on (see `Eal.lcores()`). */
  lcore: number;
  /** What to do with packets. */
  mode: ForwardMode;
  /** Packets per burst, 1..512. Default 32. */
  burst?: number;
  /** The paths to poll, round robin. */
  streams: EngineStream[];
  /** Pool of the packets txonly and generator send. */
  mempool?: Mempool;
  /** The packet txonly and generator send (e.g. from `buildUdpPacket`). */
  template?: Uint8Array;
  /** Where a 12-byte timestamp is written in sent packets and read in received ones, for latency. */
  timestampOffset?: number;
  /**
   * Call sched_yield() after a loop that moved no packet, or (txonly, generator) that left
   * packets a full tx queue refused, so that another poller sharing the CPU (an OVS PMD
   * thread, the consumer of that queue, another app) runs at once instead of after the
   * time slice. For machines with fewer CPUs than busy pollers. Default false.
   */
  yieldWhenIdle?: boolean;
  /**
   * Call sched_yield() after every pass over the streams, busy or not: for a generator that
   * shares its CPU with the forwarder it feeds through a switch that drops rather than
   * refuses (it is then never idle nor blocked, and would keep the CPU for whole time
   * slices while the forwarder's queues overflow). Default false.
   */
  yieldEachPass?: boolean;
  /**
   * Let `start()` run the engine on a CPU that already runs another engine or an
   * `LcoreWorker` of this process: their lcores' cpusets (as EAL maps them, e.g.
   * `--lcores (1,2)@1`) overlap, and the loops take turns, each getting a share of the CPU
   * (with `yieldWhenIdle`/`yieldEachPass`, sooner). Without it such a start is refused with
   * `EBUSY`. Its own lcore must still be idle. Default false.
   */
  shareCpu?: boolean;
  /**
   * PacketFilter rules applied in the loop to every received packet (forwarding modes and
   * rxonly): each rule's action passes or drops what it matches first, with packets and
   * bytes counted per rule (see {@link Engine.filterStats}). In rxonly, which frees
   * everything, the filter only counts. Default: none, every packet passes.
   */
  filter?: EngineFilter;
}

export type { LatencyStats } from './latency.js';

/** Counters of one stream. */
export interface EngineStreamStats {
  /** Rx port id. */
  rxPort: number;
  /** Tx port id. */
  txPort: number;
  /** Packets received. */
  rx: number;
  /** Packets sent. */
  tx: number;
  /**
   * Packets the tx queue refused and the engine freed, not sent: a forwarder drops what it
   * cannot send, as testpmd does. Always 0 for `txonly` and `generator`, which wait for
   * room instead (see `txBlocked`).
   */
  dropped: number;
  /**
   * For `txonly` and `generator`: packets a full tx queue refused at first, which the engine
   * kept and sent later (backpressure, not loss; each packet counts once however many tries
   * it took). `tx` counts only what the port accepted, so a stream with a `txLimit` sends
   * exactly that many. A packet still refused when the engine stops is freed, not counted
   * as sent, and built again if the engine starts again.
   */
  txBlocked?: number;
  /**
   * For a stream with a `ratePps`: packets given up rather than sent late. A stream that falls
   * behind its schedule (its lcore descheduled on a shared CPU, its tx queue full) by more
   * than one burst or 1 ms at its rate resumes the schedule from there instead of catching up
   * at full speed, which would overflow the rings of the ports downstream. A stream with a
   * `txLimit` still sends exactly that many, later.
   */
  txSkipped?: number;
  /** With a filter: packets it dropped (not counted in `dropped`, which the tx queue refused). */
  filtered?: number;
  /** Latency, when timestamps were found. */
  latency?: LatencyStats;
}

/** @internal A stream's counters with the engine's raw latency report. */
export type RawEngineStreamStats = Omit<EngineStreamStats, 'latency'> & { latency?: RawLatency };

const optionKeys = [
  'lcore',
  'mode',
  'burst',
  'streams',
  'mempool',
  'template',
  'timestampOffset',
  'yieldWhenIdle',
  'yieldEachPass',
  'shareCpu',
  'filter',
] as const satisfies readonly (keyof EngineOptions)[];
/** @internal The keys an {@link EngineStream} may have (the Forwarder checks streams with them too). */
export const engineStreamKeys = [
  'rxPort',
  'rxQueue',
  'txPort',
  'txQueue',
  'txDestination',
  'txLimit',
  'ratePps',
  'templates',
  'send',
] as const satisfies readonly (keyof EngineStream)[];

/**
 * A native forwarding loop on an EAL worker lcore: C speed, controlled from TypeScript.
 * Counters are readable while it runs.
 */
export class Engine {
  readonly #native: NativeEngine;
  #closed = false;
  readonly #filter: CompiledFilter | undefined;
  readonly #shareCpu: boolean;
  /** The options it was created with. */
  readonly mode: ForwardMode;
  /** The lcore it runs on. */
  readonly lcore: number;
  /** How many streams it serves (the length of `stats()`). */
  readonly streamCount: number;

  private constructor(
    handle: NativeEngine,
    mode: ForwardMode,
    lcore: number,
    filter: CompiledFilter | undefined,
    shareCpu: boolean,
    streamCount: number,
  ) {
    this.#native = handle;
    this.streamCount = streamCount;
    this.#shareCpu = shareCpu;
    this.#filter = filter;
    this.mode = mode;
    this.lcore = lcore;
  }

  /** Creates an engine (not started). */
  static create(options: EngineOptions): Engine {
    const op = 'Engine.create';
    checkOptions<EngineOptions>(op, options, optionKeys);
    if (!forwardModes.includes(options.mode)) {
      invalidArgument(op, `mode must be one of ${forwardModes.join(', ')}, got ${describe(options.mode)}`);
    }
    const lcore = checkInteger(op, 'lcore', options.lcore, 0, 127);
    const burst = checkInteger(op, 'burst', options.burst ?? 32, 1, 512);
    if (!Array.isArray(options.streams) || options.streams.length === 0) {
      invalidArgument(op, `streams must be a non-empty list, got ${describe(options.streams)}`);
    }
    // Before the templates, which are checked against the pool's data room.
    if (options.mempool !== undefined && !(options.mempool instanceof Mempool)) {
      invalidArgument(op, `mempool must be a Mempool, got ${describe(options.mempool)}`);
    }
    const streams = options.streams.map((stream, i) => {
      const name = `streams[${i}]`;
      checkOptions<EngineStream>(`${op} ${name}`, stream, engineStreamKeys);
      if (!(stream.rxPort instanceof Port) || !(stream.txPort instanceof Port)) {
        invalidArgument(op, `${name}.rxPort and ${name}.txPort must be Ports`);
      }
      return {
        rxPort: stream.rxPort.id,
        rxQueue: checkInteger(op, `${name}.rxQueue`, stream.rxQueue ?? 0, 0, 1023),
        txPort: stream.txPort.id,
        txQueue: checkInteger(op, `${name}.txQueue`, stream.txQueue ?? 0, 0, 1023),
        txDestination:
          stream.txDestination === undefined ? undefined : checkMac(op, `${name}.txDestination`, stream.txDestination),
        txLimit: checkInteger(op, `${name}.txLimit`, stream.txLimit ?? 0, 0, Number.MAX_SAFE_INTEGER),
        ratePps: stream.ratePps === undefined ? 0 : checkRate(op, `${name}.ratePps`, stream.ratePps),
        send: stream.send === undefined ? true : checkBoolean(op, `${name}.send`, stream.send),
        templates:
          stream.templates === undefined
            ? undefined
            : checkTemplates(op, `${name}.templates`, stream.templates, options.mempool),
      };
    });
    const generates = options.mode === 'txonly' || options.mode === 'generator';
    if (options.template !== undefined) checkTemplates(op, 'template', [options.template], options.mempool);
    if (
      generates &&
      (options.mempool === undefined ||
        (options.template === undefined && options.streams.some((stream) => stream.templates === undefined)))
    ) {
      invalidArgument(
        op,
        `mode ${options.mode} needs a mempool and a packet template (template, or templates per stream)`,
      );
    }
    const timestampOffset =
      options.timestampOffset === undefined
        ? undefined
        : checkInteger(op, 'timestampOffset', options.timestampOffset, 0, 65535 - 12);
    const yieldWhenIdle =
      options.yieldWhenIdle === undefined ? false : checkBoolean(op, 'yieldWhenIdle', options.yieldWhenIdle);
    const yieldEachPass =
      options.yieldEachPass === undefined ? false : checkBoolean(op, 'yieldEachPass', options.yieldEachPass);
    if (options.filter !== undefined && generates) {
      invalidArgument(op, `filter applies to received packets: mode ${options.mode} receives none to forward`);
    }
    const shareCpu = options.shareCpu === undefined ? false : checkBoolean(op, 'shareCpu', options.shareCpu);
    const filter = options.filter === undefined ? undefined : compileFilter(op, options.filter);
    const handle = new native.Engine({
      lcore,
      mode: options.mode,
      burst,
      streams,
      mempool: options.mempool?.native,
      template: options.template,
      timestampOffset,
      yieldWhenIdle,
      yieldEachPass,
      filter:
        filter === undefined
          ? undefined
          : {
              table: filter.table,
              defaultDrop: filter.defaultDrop,
              mirrorPort: filter.mirrorPort,
              mirrorQueue: filter.mirrorQueue,
            },
    });
    return new Engine(handle, options.mode, lcore, filter, shareCpu, streams.length);
  }

  /**
   * Launches the loop on its lcore. Ports must be started. Does nothing if it runs already.
   * @throws DpdkError `EBUSY` naming what runs there, with nothing changed, when its lcore
   * runs another engine, or (unless `shareCpu`) a CPU of its lcore's cpuset already runs an
   * `LcoreWorker` of this process or another busy EAL lcore's cpuset holds it too (several
   * lcores mapped to one CPU): the message names both lcores and the shared CPUs;
   * `ERR_PORT_STOPPED` when a port it uses is not started.
   */
  start(): void {
    // A closed engine's start throws ERR_CLOSED (native) whatever runs on its CPU.
    if (!this.running && !this.#closed) {
      const op = 'Engine.start';
      const cpus = native.lcores().find((lcore) => lcore.id === this.lcore)?.cpus ?? [];
      // Checked and claimed (engineStarted) with no await between, like LcoreWorker.start.
      checkEngineCpusFree(op, { lcore: this.lcore, cpus, shareCpu: this.#shareCpu });
    }
    this.#native.start();
    engineStarted(this);
  }

  /** Stops the loop and waits for its lcore. Safe to call twice; `start()` runs it again. */
  stop(): void {
    this.#native.stop();
    engineStopped(this);
  }

  /**
   * Stops the loop and lets go of the mempool (which the engine otherwise keeps from being
   * freed). Safe to call twice; `start()` then throws `ERR_CLOSED`.
   */
  close(): void {
    this.#native.close();
    this.#closed = true;
    engineStopped(this);
  }

  /**
   * The engine's id in DPDK telemetry (`/dpdk_ts/engine,ID` on the telemetry socket; the
   * ids of the engines that exist are in `/dpdk_ts/engines`). Unique in the process.
   */
  get id(): number {
    return this.#native.id;
  }

  /**
   * Whether the loop runs. A txonly engine ends by itself once every stream sent its
   * `txLimit`; a generator keeps receiving (and counting) until stopped.
   */
  get running(): boolean {
    return this.#native.running;
  }

  /** Live counters per stream. */
  stats(): EngineStreamStats[] {
    return this.rawStats().map((raw) => {
      const { latency, ...counters } = raw;
      return latency === undefined ? counters : { ...counters, latency: latencyStats(latency) };
    });
  }

  /**
   * Each stream's packets received, sent and dropped (as in {@link stats}, without the
   * latency), written into `into`: stream i's `[rx, tx, dropped]` at `3 * i`. It allocates
   * nothing, unlike `stats()`: a reader that samples often (pktgen's `--timeline`) reuses
   * one array and leaves no garbage per read.
   * @throws DpdkError `EINVAL` when `into` is not a Float64Array of at least 3 numbers a stream.
   */
  counts(into: Float64Array): Float64Array {
    checkCountsArray('Engine.counts', into, this.streamCount * 3);
    this.#native.counts(into);
    return into;
  }

  /**
   * @internal Live counters per stream with the latency as the engine reports it (every
   * sample, or its histogram's buckets), for a Prometheus histogram (lib/metrics).
   */
  rawStats(): RawEngineStreamStats[] {
    return this.#native.stats() as RawEngineStreamStats[];
  }

  /** Live counters of the filter, per rule and for packets no rule matched; undefined without a filter. */
  filterStats(): FilterStats | undefined {
    return this.#filter === undefined ? undefined : filterStats(this.#filter, this.#native.filterStats());
  }

  /** Zeroes the counters, the filter's too (the engine must be stopped). */
  resetStats(): void {
    this.#native.resetStats();
  }
}

function checkTemplates(op: string, name: string, templates: unknown, mempool: Mempool | undefined): Uint8Array[] {
  const room = mempool === undefined ? 65535 : mempool.dataRoomSize - 128;
  if (!Array.isArray(templates) || templates.length === 0)
    invalidArgument(op, `${name} must be a non-empty list of Uint8Arrays`);
  templates.forEach((packet: unknown, i) => {
    if (!(packet instanceof Uint8Array) || packet.length < 14 || packet.length > room) {
      invalidArgument(
        op,
        `${name}[${i}] must be a Uint8Array of 14 to ${room} bytes, got ${packet instanceof Uint8Array ? `${packet.length} bytes` : describe(packet)}`,
      );
    }
  });
  return templates as Uint8Array[];
}

function checkRate(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalidArgument(op, `${name} must be a number of packets per second >= 0, got ${describe(value)}`);
  }
  return value;
}
