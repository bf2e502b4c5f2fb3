/**
 * The requests of an {@link OpenFlowClient} awaiting their replies: xid allocation, replies
 * and OFPT_ERRORs matched to requests by xid, multipart reassembly (bounded by
 * `maxReplyBytes`), and the deadline (timeout, abort) of each call.
 */
import { DpdkError } from '../../errors.js';
import type { OpenFlowClient } from './client.js';
import { encodeMessage, OFPT, type OpenFlowErrorInfo, type OpenFlowMessage } from './codec.js';
import { decodeMultipartReply, OFPMPF_REPLY_MORE } from './multipart.js';

/** @internal Call options once checked: the effective timeout, and the signal if any. */
export interface CheckedCall {
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** @internal The `ECANCELED` error of a call whose signal aborted it. */
export function abortedError(operation: string, target: string, signal: AbortSignal | undefined): DpdkError {
  return new DpdkError(`${operation} on ${target} was aborted`, {
    code: 'ECANCELED',
    operation,
    object: target,
    cause: signal?.reason,
  });
}

/** @internal An `ERR_OPENFLOW` error for the switch's refusal of `what`, carrying the decoded error as `openflowError`. */
export function openflowError(target: string, what: string, info: OpenFlowErrorInfo): DpdkError {
  const explanation = info.description ? ` (${info.description})` : '';
  const error = new DpdkError(`${target} rejected ${what}: ${info.typeName} ${info.codeName}${explanation}`, {
    code: 'ERR_OPENFLOW',
    operation: what,
    object: target,
  });
  return Object.assign(error, { openflowError: info });
}

/**
 * @internal Runs `work` under a timeout and an abort signal; on either, runs `cleanup` and
 * fails with `ETIMEDOUT` / `ECANCELED`.
 */
export async function withDeadline<T>(
  operation: string,
  target: string,
  call: CheckedCall,
  work: () => Promise<T>,
  cleanup: () => void,
): Promise<T> {
  const { timeoutMs, signal } = call;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      cleanup();
      reject(
        new DpdkError(`${operation} on ${target} timed out after ${timeoutMs} ms`, {
          code: 'ETIMEDOUT',
          operation,
          object: target,
        }),
      );
    }, timeoutMs);
    onAbort = () => {
      cleanup();
      reject(abortedError(operation, target, signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort) {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** @internal Options of {@link PendingReplies.expect}. */
export interface ExpectOptions {
  /**
   * Resolve with each reply message whole, as the switch sent it (header included), not
   * with the bodies: for what must show the switch's bytes (`ovs-ofctl`'s hex dumps).
   */
  whole?: boolean;
}

/** The bytes of `message` as the switch sent them: its header (the length follows from the body) and body. */
function wholeMessage(message: OpenFlowMessage): Buffer {
  return encodeMessage(message.type, message.xid, message.body, message.version);
}

/** A request awaiting its reply. Multipart replies collect parts until the last one. */
interface PendingReply {
  readonly operation: string;
  readonly replyType: number;
  readonly whole: boolean;
  readonly parts: Buffer[];
  partBytes: number;
  resolve(parts: Buffer[]): void;
  reject(error: DpdkError): void;
}

/**
 * @internal The bookkeeping of an {@link OpenFlowClient}'s outstanding requests: which xids
 * are in use, what each awaits, and where the switch's errors for each go.
 */
export class PendingReplies {
  readonly #target: string;
  readonly #maxReplyBytes: number;
  readonly #pending = new Map<number, PendingReply>();
  /** Errors for requests that have no reply of their own (flow mods), by xid. */
  readonly #errorSinks = new Map<number, (error: OpenFlowErrorInfo) => void>();
  #nextXid = 1;

  constructor(target: string, maxReplyBytes: number) {
    this.#target = target;
    this.#maxReplyBytes = maxReplyBytes;
  }

  /** The next xid, whether or not it is in use (for messages nothing answers by xid). */
  allocateXid(): number {
    const xid = this.#nextXid;
    this.#nextXid = this.#nextXid >= 0xffffffff ? 1 : this.#nextXid + 1;
    return xid;
  }

  /** The next xid that no outstanding request uses. */
  reserveXid(): number {
    let xid = this.allocateXid();
    while (this.#pending.has(xid) || this.#errorSinks.has(xid)) {
      xid = this.allocateXid();
    }
    return xid;
  }

  /**
   * Resolves with the body of the reply of type `replyType` to `xid`, or the bodies of every
   * multipart part; with `whole`, with the reply messages themselves.
   */
  expect(xid: number, operation: string, replyType: number, options: ExpectOptions = {}): Promise<Buffer[]> {
    const whole = options.whole ?? false;
    return new Promise<Buffer[]>((resolve, reject) => {
      this.#pending.set(xid, { operation, replyType, whole, parts: [], partBytes: 0, resolve, reject });
    });
  }

  /** Stops waiting for the reply to `xid` (the call timed out or was aborted). */
  forget(xid: number): void {
    this.#pending.delete(xid);
  }

  /** Sends the switch's errors for `xid`, a request with no reply of its own, to `sink`. */
  setErrorSink(xid: number, sink: (error: OpenFlowErrorInfo) => void): void {
    this.#errorSinks.set(xid, sink);
  }

  /** Stops sending the errors for `xid` anywhere. */
  deleteErrorSink(xid: number): void {
    this.#errorSinks.delete(xid);
  }

  /** Delivers the switch's decoded OFPT_ERROR for `xid` to its request. */
  onError(xid: number, info: OpenFlowErrorInfo): void {
    const pending = this.#pending.get(xid);
    const sink = this.#errorSinks.get(xid);
    if (pending) {
      this.#pending.delete(xid);
      pending.reject(openflowError(this.#target, pending.operation, info));
    } else if (sink) {
      sink(info);
    }
  }

  /** Delivers a reply (or one part of a multipart reply) to its request; ignores unknown xids. */
  onReply(message: OpenFlowMessage): void {
    const pending = this.#pending.get(message.xid);
    if (!pending) {
      return;
    }
    if (message.type !== pending.replyType) {
      this.#pending.delete(message.xid);
      pending.reject(
        new DpdkError(
          `${this.#target} answered ${pending.operation} with message type ${message.type}, expected ${pending.replyType}`,
          { code: 'EPROTO', operation: pending.operation, object: this.#target },
        ),
      );
      return;
    }
    if (message.type !== OFPT.MULTIPART_REPLY) {
      this.#pending.delete(message.xid);
      pending.resolve([pending.whole ? wholeMessage(message) : message.body]);
      return;
    }
    let part;
    try {
      part = decodeMultipartReply(message.body);
    } catch (error) {
      this.#pending.delete(message.xid);
      pending.reject(error as DpdkError);
      return;
    }
    pending.partBytes += part.body.length;
    if (pending.partBytes > this.#maxReplyBytes) {
      this.#pending.delete(message.xid);
      pending.reject(
        new DpdkError(
          `${pending.operation} reply from ${this.#target} exceeds maxReplyBytes (${this.#maxReplyBytes})`,
          {
            code: 'EMSGSIZE',
            operation: pending.operation,
            object: this.#target,
          },
        ),
      );
      return;
    }
    pending.parts.push(pending.whole ? wholeMessage(message) : part.body);
    if ((part.flags & OFPMPF_REPLY_MORE) === 0) {
      this.#pending.delete(message.xid);
      pending.resolve(pending.parts);
    }
  }

  /** Rejects every outstanding request with `error` and forgets every error sink. */
  rejectAll(error: DpdkError): void {
    for (const pending of this.#pending.values()) {
      pending.reject(error);
    }
    this.#pending.clear();
    this.#errorSinks.clear();
  }
}
