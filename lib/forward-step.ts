/** ForwardStep: one rx -> decide -> tx -> unsent step between two ports, the body of every forwarding loop, counted. */
import { Batch } from './batch.js';
import { invalidArgument } from './errors.js';
import { Port } from './port.js';
import { checkInteger, checkOptions, describe } from './validate.js';

/**
 * Decides packet `index` of `batch` (the bytes are `batch.dataView(index)` from
 * `batch.offsets[index]`, `batch.lengths[index]` long): true passes it on, false drops it.
 * It may edit the packet in place; it must not keep the batch or drop the packet itself.
 */
export type PacketVerdict = (batch: Batch, index: number) => boolean;

/**
 * Counters kept by name, as a loop module has them: an `LcoreContext` or a `ForwarderLoop`.
 * A {@link ForwardStep} adds to those named `rx`, `tx`, `filtered` and `unsent`.
 */
export interface NamedCounters {
  /** The live counters. */
  readonly counters: Float64Array;
  /** The index of a counter in `counters`. */
  counterIndex(name: string): number;
}

/** Where a {@link ForwardStep} adds its counts: an array and each count's index in it (omitted: not added). */
export interface ForwardStepCounterIndexes {
  /** The array to add to, such as `ForwarderLoop.counters`. */
  array: Float64Array;
  /** Index of the packets received. */
  rx?: number;
  /** Index of the packets sent. */
  tx?: number;
  /** Index of the packets the verdict dropped. */
  filtered?: number;
  /** Index of the packets the tx queue refused and that were freed (policy `drop`). */
  unsent?: number;
}

/** Options of {@link ForwardStep}. */
export interface ForwardStepOptions {
  /** Rx queue of the port received from. Default 0. */
  fromQueue?: number;
  /** Tx queue of the port sent to. Default 0. */
  toQueue?: number;
  /** Packets per burst, 1..4096. Default 32. */
  burst?: number;
  /**
   * What to do with packets the tx queue refused (it is full): `drop` frees and counts them
   * as `unsent` (what DPDK's l2fwd does); `retry` keeps them and sends them first at the
   * next steps, receiving nothing new until they are gone, so that a slow peer holds
   * packets back in the rx queue instead of losing them here. Default `drop`.
   */
  unsent?: 'drop' | 'retry';
  /**
   * Where to count, besides the step's own totals: counters kept by name (an
   * `LcoreContext` or `ForwarderLoop`, which must have counters named `rx`, `tx`, `filtered`
   * and `unsent`), or an array and an index per count. Default: the own totals only.
   */
  counters?: NamedCounters | ForwardStepCounterIndexes;
}

const optionKeys = [
  'fromQueue',
  'toQueue',
  'burst',
  'unsent',
  'counters',
] as const satisfies readonly (keyof ForwardStepOptions)[];

/** The counts, in the order of the step's own totals. */
const countNames = ['rx', 'tx', 'filtered', 'unsent'] as const;
const RX = 0;
const TX = 1;
const FILTERED = 2;
const UNSENT = 3;

/**
 * One forwarding step from a port to another, for a loop module on an `LcoreWorker` (or
 * any thread that owns both queues): receive a burst, ask a {@link PacketVerdict} about
 * each packet, send those that pass, and deal with what the tx queue refused as
 * {@link ForwardStepOptions.unsent} says. It counts packets received (`rx`), sent (`tx`),
 * dropped by the verdict (`filtered`) and refused by the tx queue (`unsent`), in its own
 * totals and in the counters given. Two native calls per burst, one reusable batch, no
 * allocation per packet or burst.
 *
 * ```ts
 * const context = LcoreContext.attach();
 * const step = new ForwardStep(context.ports[0], context.ports[1], { counters: context });
 * while (context.running) step.run((batch, i) => filter.match(batch.dataView(i), batch.offsets[i], batch.lengths[i]) < 0);
 * step.close();
 * ```
 */
export class ForwardStep {
  /** The port received from. */
  readonly from: Port;
  /** The port sent to. */
  readonly to: Port;
  readonly #fromQueue: number;
  readonly #toQueue: number;
  readonly #retry: boolean;
  readonly #batch: Batch;
  readonly #totals = new Float64Array(countNames.length);
  // Where each count is added besides #totals; a count not asked for goes to #ignored.
  readonly #arrays: Float64Array[];
  readonly #indexes: number[];

  /** A step from `from` (rx queue `fromQueue`) to `to` (tx queue `toQueue`). */
  constructor(from: Port, to: Port, options: ForwardStepOptions = {}) {
    const op = 'new ForwardStep';
    if (!(from instanceof Port)) invalidArgument(op, `from must be a Port, got ${describe(from)}`);
    if (!(to instanceof Port)) invalidArgument(op, `to must be a Port, got ${describe(to)}`);
    checkOptions<ForwardStepOptions>(op, options, optionKeys);
    this.from = from;
    this.to = to;
    this.#fromQueue = checkInteger(op, 'fromQueue', options.fromQueue ?? 0, 0, 65535);
    this.#toQueue = checkInteger(op, 'toQueue', options.toQueue ?? 0, 0, 65535);
    const burst = checkInteger(op, 'burst', options.burst ?? 32, 1, 4096);
    const unsent = options.unsent ?? 'drop';
    if (unsent !== 'drop' && unsent !== 'retry') {
      invalidArgument(op, `unsent must be 'drop' or 'retry', got ${describe(unsent)}`);
    }
    this.#retry = unsent === 'retry';
    ({ arrays: this.#arrays, indexes: this.#indexes } = counterTargets(op, options.counters));
    this.#batch = new Batch(burst);
  }

  /** Packets received so far. */
  get rx(): number {
    return this.#totals[RX];
  }

  /** Packets sent so far. */
  get tx(): number {
    return this.#totals[TX];
  }

  /** Packets the verdict dropped so far. */
  get filtered(): number {
    return this.#totals[FILTERED];
  }

  /** Packets the tx queue refused and that were freed so far (policy `drop`, or at {@link close}). */
  get unsent(): number {
    return this.#totals[UNSENT];
  }

  /** Packets waiting to be sent again (policy `retry`). */
  get pending(): number {
    return this.#batch.count;
  }

  /**
   * One step: with packets waiting for a retry, sends them again; otherwise receives a
   * burst, drops those `verdict` refuses (every packet passes without one) and sends the
   * rest. Returns how many packets it received, or sent while retrying: 0 when nothing
   * moved (the moment to call `ForwarderLoop.idle()`).
   */
  run(verdict?: PacketVerdict): number {
    const batch = this.#batch;
    if (batch.count > 0) return this.#send();
    const received = this.from.rxBurst(this.#fromQueue, batch);
    if (received === 0) return 0;
    this.#add(RX, received);
    if (verdict !== undefined) {
      const lengths = batch.lengths;
      let filtered = 0;
      for (let i = 0; i < received; i++) {
        if (verdict(batch, i)) continue;
        lengths[i] = 0; // what batch.drop(i) does, without its checks: freed at send
        filtered++;
      }
      if (filtered > 0) this.#add(FILTERED, filtered);
    }
    this.#send();
    return received;
  }

  /** Sends what the batch holds; handles what the queue refused. Returns how many were sent. */
  #send(): number {
    const batch = this.#batch;
    const sent = this.to.txBurst(this.#toQueue, batch);
    if (sent > 0) this.#add(TX, sent);
    if (batch.count > 0 && !this.#retry) this.#freeUnsent();
    return sent;
  }

  #freeUnsent(): void {
    this.#add(UNSENT, this.#batch.count);
    this.#batch.free();
  }

  #add(count: number, n: number): void {
    this.#totals[count] += n;
    this.#arrays[count][this.#indexes[count]] += n;
  }

  /** Frees packets still waiting for a retry (counted as `unsent`) and the step's batch. Safe to call twice. */
  close(): void {
    if (this.#batch.count > 0) this.#freeUnsent();
    this.#batch.close();
  }
}

function counterTargets(
  op: string,
  counters: NamedCounters | ForwardStepCounterIndexes | undefined,
): { arrays: Float64Array[]; indexes: number[] } {
  const ignored: Float64Array = new Float64Array(countNames.length);
  const arrays = countNames.map(() => ignored);
  const indexes = countNames.map((_, i) => i);
  if (counters === undefined) return { arrays, indexes };
  if (counters === null || typeof counters !== 'object') {
    invalidArgument(
      op,
      `counters must be an LcoreContext, a ForwarderLoop or { array, ...indexes }, got ${describe(counters)}`,
    );
  }
  if ('counterIndex' in counters && typeof counters.counterIndex === 'function') {
    countNames.forEach((name, i) => {
      arrays[i] = counters.counters;
      indexes[i] = counters.counterIndex(name);
    });
    return { arrays, indexes };
  }
  const { array, ...given } = counters as ForwardStepCounterIndexes;
  if (!(array instanceof Float64Array)) {
    invalidArgument(op, `counters.array must be a Float64Array, got ${describe(array)}`);
  }
  checkOptions<Omit<ForwardStepCounterIndexes, 'array'>>(op, given, countNames);
  countNames.forEach((name, i) => {
    const index = given[name];
    if (index === undefined) return;
    arrays[i] = array;
    indexes[i] = checkInteger(op, `counters.${name}`, index, 0, array.length - 1);
  });
  return { arrays, indexes };
}
