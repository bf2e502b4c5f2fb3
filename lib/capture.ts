/**
 * Packet capture to pcapng files (`Port.capture`): what a port receives and/or sends, seen
 * wherever it bursts (TypeScript bursts, lcore workers, native engines), written by a thread
 * of its own. native/capture.h says how.
 */
import { DpdkError, invalidArgument } from './errors.js';
import { setRuleRow, ruleWords, toRule } from './filter-table.js';
import { native, type NativeCapture } from './native.js';
import { PacketFilter, type PacketRule } from './packet-filter.js';
import { checkInteger, checkOptions, checkString, describe } from './validate.js';

/** Which packets of a port {@link Port.capture} takes: received, sent, or both. */
export type CaptureDirection = 'rx' | 'tx' | 'both';

/** Options of {@link Port.capture}. */
export interface CaptureOptions {
  /** The pcapng file to write: created, or emptied when it exists. */
  path: string;
  /**
   * `'rx'`: packets as the port received them; `'tx'`: packets as the app handed them to the
   * port to send, before the driver (a packet a full queue refused and that is sent again is
   * captured again). Default `'both'`.
   */
  direction?: CaptureDirection;
  /**
   * Capture only packets one of these rules matches (PacketFilter's syntax and matching:
   * `'udp,tp_dst=53'`, `'tcp,nw_src=10.0.0.0/8'`; non-IPv4 packets match no rule). Default:
   * every packet.
   */
  filter?: readonly (string | PacketRule)[] | PacketFilter;
  /**
   * Bytes kept of each packet, from its start (the file records the original length too).
   * Default 2048: the whole packet in the SDK's default mempool buffers. At most 16384.
   */
  snapLength?: number;
  /** Take at most this many packets, then capture nothing more. Default: no limit. */
  packetLimit?: number;
}

/** Counters of a {@link Capture}. */
export interface CaptureStats {
  /** Packets written to the file (while capturing, those still on their way are not counted yet). */
  captured: number;
  /** Packets the filter did not match. */
  filteredOut: number;
  /**
   * Packets matched but not in the file: no buffer for the copy or a full queue to the
   * writer (the file is written more slowly than the port carries packets), or a failed write.
   */
  dropped: number;
  /** Whether `packetLimit` packets were taken: nothing more is captured. */
  limitReached: boolean;
  /** Whether the capture still watches the port (false after `stop()`, or once the port is closed). */
  capturing: boolean;
}

/** The longest `snapLength`: each of the capture's 2047 buffers holds one packet's bytes. */
export const maxSnapLength = 16384;

const captureKeys = [
  'path',
  'direction',
  'filter',
  'snapLength',
  'packetLimit',
] as const satisfies readonly (keyof CaptureOptions)[];

function compileRules(op: string, filter: unknown): { table: Int32Array } {
  const list = filter instanceof PacketFilter ? filter.rules : filter;
  if (!Array.isArray(list) || list.length === 0 || list.length > 256) {
    invalidArgument(
      op,
      `filter must be a PacketFilter or a list of 1 to 256 rules, got ${Array.isArray(list) ? `${list.length} rules` : describe(list)}`,
    );
  }
  const table = new Int32Array(list.length * ruleWords);
  list.forEach((entry: unknown, i) =>
    setRuleRow(table, i, toRule(op, `filter[${i}]`, entry, 'a rule text or a PacketRule'), false),
  );
  return { table };
}

/**
 * A capture of a port's packets to a pcapng file, from {@link Port.capture}. Copies are taken
 * where the port bursts and written by a thread of the capture's own, so capturing never
 * waits on the disk: what it cannot keep up with is counted as `dropped`. `stop()` (or
 * `close()`) completes the file; a capture still running when EAL is cleaned up (or the
 * process exits) is completed then.
 */
export class Capture {
  /** The file being written. */
  readonly path: string;
  /** What is captured. */
  readonly direction: CaptureDirection;
  readonly #native: NativeCapture;
  #final: CaptureStats | undefined;

  // Private rather than internal: stripping the constructor would leave `new Capture()` open in the .d.ts.
  private constructor(path: string, direction: CaptureDirection, handle: NativeCapture) {
    this.path = path;
    this.direction = direction;
    this.#native = handle;
  }

  /** @internal Checks `options` and starts capturing port `portId` (see {@link Port.capture}). */
  static start(portId: number, options: CaptureOptions): Capture {
    const op = 'Port.capture';
    checkOptions<CaptureOptions>(op, options, captureKeys);
    const path = checkString(op, 'path', options.path);
    const direction = options.direction ?? 'both';
    if (direction !== 'rx' && direction !== 'tx' && direction !== 'both') {
      invalidArgument(op, `direction must be "rx", "tx" or "both", got ${describe(direction)}`);
    }
    const snapLength = checkInteger(op, 'snapLength', options.snapLength ?? 2048, 1, maxSnapLength);
    const packetLimit = checkInteger(op, 'packetLimit', options.packetLimit ?? 0, 0, Number.MAX_SAFE_INTEGER);
    const filter = options.filter === undefined ? undefined : compileRules(op, options.filter);
    const handle = new native.Capture(portId, path, {
      rx: direction !== 'tx',
      tx: direction !== 'rx',
      snapLength,
      packetLimit,
      filter,
    });
    return new Capture(path, direction, handle);
  }

  /** The counters now. */
  stats(): CaptureStats {
    if (this.#final !== undefined) return { ...this.#final };
    const [captured, filteredOut, dropped, limitReached, capturing] = this.#native.stats();
    return { captured, filteredOut, dropped, limitReached: limitReached === 1, capturing: capturing === 1 };
  }

  /**
   * Stops capturing, writes what is still queued and closes the file; returns the final
   * counters. Safe to call twice (the second call only returns them).
   *
   * @throws DpdkError with the errno's code (`ENOSPC`, `EIO`, ...) naming the file when a
   * write failed: the file then holds the packets written before the failure.
   */
  stop(): CaptureStats {
    if (this.#final !== undefined) return { ...this.#final };
    let failure: unknown;
    try {
      this.#native.stop();
    } catch (error) {
      if (!(error instanceof DpdkError)) throw error;
      failure = error;
    }
    this.#final = { ...this.stats(), capturing: false };
    if (failure !== undefined) throw failure;
    return { ...this.#final };
  }

  /** {@link Capture.stop}, for `using` and for symmetry with the SDK's other objects. */
  close(): void {
    this.stop();
  }
}
