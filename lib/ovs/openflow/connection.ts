/**
 * The transport under an {@link OpenFlowClient}: the stream to the switch, the HELLO and
 * FEATURES handshake, keepalives, the switch's echo requests and errors, and each request
 * sent and matched to its reply (the requests awaiting replies are kept in replies.ts).
 */
import type { Socket } from 'node:net';
import { DpdkError, errnoOf } from '../../errors.js';
import { openStream } from '../stream.js';
import { checkInteger, checkOptions, checkTimeout } from '../../validate.js';
import {
  decodeErrorMessage,
  decodeFeaturesReply,
  encodeHello,
  encodeMessage,
  FrameDecoder,
  helloVersions,
  OFP13_VERSION,
  OFPT,
  type OpenFlowErrorInfo,
  type OpenFlowMessage,
  type SwitchFeatures,
} from './codec.js';
import type { OpenFlowClient } from './client.js';
import { helloError, versionError } from './handshake.js';
import { abortedError, PendingReplies, withDeadline, type CheckedCall, type ExpectOptions } from './replies.js';
import { parseTarget } from './target.js';
import { callOptionKeys, clientOptionKeys, type CallOptions, type OpenFlowClientOptions } from './client-options.js';

const defaultTimeoutMs = 10_000;
const defaultMaxReplyBytes = 64 * 1024 * 1024;

/**
 * @internal The OpenFlow 1.3 connection an {@link OpenFlowClient} sends its requests on:
 * replies are matched to requests by xid, the switch's echo requests answered, and every
 * failure closes it with a `DpdkError`.
 */
export class OpenFlowConnection {
  /** The target as given to {@link OpenFlowConnection.open}. */
  readonly target: string;
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder();
  /** The requests awaiting replies, and the xids in use. */
  readonly replies: PendingReplies;
  readonly #timeoutMs: number;
  // The socket's event once it can carry OpenFlow: `secureConnect` over TLS.
  readonly #readyEvent: 'connect' | 'secureConnect';
  #closedError: DpdkError | undefined;
  #onClosed: ((error: DpdkError) => void) | undefined;
  readonly #closedPromise = new Promise<DpdkError>((resolve) => (this.#onClosed = resolve));
  #switchFeatures: SwitchFeatures | undefined;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  /** Whether anything arrived from the switch since the last keepalive tick. */
  #heardFromSwitch = false;
  #helloWaiter: { resolve(message: OpenFlowMessage): void; reject(error: DpdkError): void } | undefined;

  // TypeScript's `private` here (a constructor cannot be #private): use open().
  private constructor(
    target: string,
    socket: Socket,
    timeoutMs: number,
    maxReplyBytes: number,
    readyEvent: 'connect' | 'secureConnect',
  ) {
    this.target = target;
    this.#socket = socket;
    this.#readyEvent = readyEvent;
    this.#timeoutMs = timeoutMs;
    this.replies = new PendingReplies(target, maxReplyBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code && errnoOf(error.code) !== undefined ? error.code : 'ECONNRESET';
      this.#shutdown(
        new DpdkError(`connection to ${target} failed: ${error.message}`, {
          code,
          operation: 'OpenFlowClient',
          object: target,
          cause: error,
        }),
      );
    });
    socket.on('close', () => {
      this.#shutdown(
        new DpdkError(`connection to ${target} was closed by the switch`, {
          code: 'ECONNRESET',
          operation: 'OpenFlowClient',
          object: target,
        }),
      );
    });
  }

  /** Connects, negotiates OpenFlow 1.3 and reads the switch's features: {@link OpenFlowClient.connect}. */
  static async open(target: string, options: OpenFlowClientOptions = {}): Promise<OpenFlowConnection> {
    const operation = 'OpenFlowClient.connect';
    checkOptions<OpenFlowClientOptions>(operation, options, clientOptionKeys);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? defaultTimeoutMs;
    const maxReplyBytes = checkInteger(
      operation,
      'maxReplyBytes',
      options.maxReplyBytes ?? defaultMaxReplyBytes,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    const keepaliveMs = checkTimeout(operation, options.keepaliveMs, 'keepaliveMs');
    const parsed = parseTarget(target);
    if (options.signal?.aborted) {
      throw abortedError(operation, target, options.signal);
    }
    const { socket, readyEvent } = openStream(operation, target, parsed, options.tls);
    const connection = new OpenFlowConnection(target, socket, timeoutMs, maxReplyBytes, readyEvent);
    try {
      await withDeadline(
        operation,
        target,
        { timeoutMs, signal: options.signal },
        () => connection.#handshake(),
        () => socket.destroy(),
      );
    } catch (error) {
      connection.#shutdown(error as DpdkError);
      socket.destroy();
      throw error;
    }
    if (keepaliveMs !== undefined) {
      connection.#startKeepalive(keepaliveMs);
    }
    return connection;
  }

  #startKeepalive(intervalMs: number): void {
    this.#keepaliveTimer = setInterval(() => {
      if (this.#heardFromSwitch) {
        this.#heardFromSwitch = false;
        return;
      }
      this.echo().catch((error: DpdkError) => {
        if (error.code === 'ETIMEDOUT') {
          this.#shutdown(
            new DpdkError(`${this.target} did not answer a keepalive echo within ${this.#timeoutMs} ms`, {
              code: 'ETIMEDOUT',
              operation: 'keepalive',
              object: this.target,
            }),
          );
          this.#socket.destroy();
        }
      });
    }, intervalMs);
    // A keepalive alone must not keep the process running.
    this.#keepaliveTimer.unref();
  }

  /** The switch's FEATURES_REPLY, read while connecting. */
  get features(): SwitchFeatures {
    return this.#switchFeatures!;
  }

  /** True once the connection is closed. */
  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  /** Resolves, once the connection is closed, with the error that closed it. */
  whenClosed(): Promise<DpdkError> {
    return this.#closedPromise;
  }

  async #handshake(): Promise<void> {
    const hello = new Promise<OpenFlowMessage>((resolve, reject) => {
      this.#helloWaiter = { resolve, reject };
    });
    // Awaited only after the connect: keep an early rejection from counting as unhandled.
    hello.catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      this.#socket.once(this.#readyEvent, resolve);
      this.#socket.once('error', reject);
    }).catch((error: NodeJS.ErrnoException) => {
      // A refused TLS handshake keeps its own code (CERT_HAS_EXPIRED, ...): it says why.
      const tlsRefusal =
        this.#readyEvent === 'secureConnect' && error.code !== undefined && errnoOf(error.code) === undefined;
      const code = error.code && (errnoOf(error.code) !== undefined || tlsRefusal) ? error.code : 'ECONNREFUSED';
      throw new DpdkError(`cannot connect to ${this.target}: ${error.message}`, {
        code,
        operation: 'OpenFlowClient.connect',
        object: this.target,
        cause: error,
      });
    });
    // HELLO and FEATURES_REQUEST share an xid (nothing answers HELLO by it), so that the first
    // request after them gets 2, as ovs-ofctl's first request does (dump-flows prints it).
    const handshakeXid = this.replies.reserveXid();
    this.#socket.write(encodeHello(handshakeXid));
    const switchHello = await hello;
    const versions = helloVersions(switchHello);
    if (!versions.includes(OFP13_VERSION)) {
      throw versionError(this.target, versions);
    }
    this.#checkOpen('features');
    const call = { timeoutMs: this.#timeoutMs, signal: undefined };
    const [reply] = await this.request(
      'features',
      encodeMessage(OFPT.FEATURES_REQUEST, handshakeXid),
      OFPT.FEATURES_REPLY,
      call,
    );
    this.#switchFeatures = decodeFeaturesReply(reply!);
  }

  #onData(chunk: Buffer): void {
    this.#heardFromSwitch = true;
    let messages: OpenFlowMessage[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (error) {
      this.#failProtocol((error as Error).message);
      return;
    }
    for (const message of messages) {
      if (this.#closedError) {
        return;
      }
      this.#onMessage(message);
    }
  }

  #failProtocol(message: string): void {
    this.#shutdown(
      new DpdkError(`protocol error from ${this.target}: ${message}`, {
        code: 'EPROTO',
        operation: 'OpenFlowClient',
        object: this.target,
      }),
    );
    this.#socket.destroy();
  }

  #onMessage(message: OpenFlowMessage): void {
    const waiter = this.#helloWaiter;
    if (waiter) {
      // The switch's first message must be its HELLO (or an error refusing ours).
      this.#helloWaiter = undefined;
      if (message.type === OFPT.HELLO) {
        waiter.resolve(message);
      } else if (message.type === OFPT.ERROR) {
        waiter.reject(helloError(this.target, message));
      } else {
        waiter.reject(
          new DpdkError(`${this.target} sent message type ${message.type} before HELLO`, {
            code: 'EPROTO',
            operation: 'OpenFlowClient.connect',
            object: this.target,
          }),
        );
      }
      return;
    }
    if (message.version !== OFP13_VERSION) {
      if (message.type === OFPT.ERROR) {
        this.#shutdown(helloError(this.target, message));
        this.#socket.destroy();
        return;
      }
      this.#failProtocol(
        `message type ${message.type} has version ${message.version}, but OpenFlow 1.3 (4) was negotiated`,
      );
      return;
    }
    switch (message.type) {
      case OFPT.ECHO_REQUEST:
        this.#socket.write(encodeMessage(OFPT.ECHO_REPLY, message.xid, message.body));
        return;
      case OFPT.ERROR:
        this.#onError(message);
        return;
      default:
        this.replies.onReply(message);
    }
  }

  #onError(message: OpenFlowMessage): void {
    let info: OpenFlowErrorInfo;
    try {
      info = decodeErrorMessage(message.body);
    } catch (error) {
      this.#failProtocol((error as Error).message);
      return;
    }
    this.replies.onError(message.xid, info);
  }

  /** Rejects everything outstanding with `error` and marks the connection closed. */
  #shutdown(error: DpdkError): void {
    if (this.#closedError) {
      return;
    }
    this.#closedError = error;
    this.#onClosed!(error);
    clearInterval(this.#keepaliveTimer);
    this.#helloWaiter?.reject(error);
    this.#helloWaiter = undefined;
    this.replies.rejectAll(error);
  }

  #checkOpen(operation: string): void {
    if (this.#closedError) {
      throw new DpdkError(`the connection to ${this.target} is closed (${this.#closedError.message})`, {
        code: 'ERR_CLOSED',
        operation,
        object: this.target,
        cause: this.#closedError,
      });
    }
  }

  /**
   * Starts a public call: fails with `ERR_CLOSED` on a closed connection, and checks the
   * call options once, before anything is sent: unknown keys and bad timeouts are
   * `EINVAL`, an already-aborted signal `ECANCELED`.
   */
  begin(operation: string, options: CallOptions): CheckedCall {
    this.#checkOpen(operation);
    checkOptions<CallOptions>(operation, options, callOptionKeys);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? this.#timeoutMs;
    if (options.signal?.aborted) {
      throw abortedError(operation, this.target, options.signal);
    }
    return { timeoutMs, signal: options.signal };
  }

  /** Sends `message` (a whole OpenFlow message) to the switch, awaiting nothing. */
  write(message: Buffer): void {
    this.#socket.write(message);
  }

  /**
   * Sends `message` and resolves with the body of the reply to its xid, or the bodies of
   * every multipart part (with `whole`: each reply message whole, header included).
   */
  request(
    operation: string,
    message: Buffer,
    replyType: number,
    call: CheckedCall,
    options: ExpectOptions = {},
  ): Promise<Buffer[]> {
    const xid = message.readUInt32BE(4);
    const reply = this.replies.expect(xid, operation, replyType, options);
    this.#socket.write(message);
    return withDeadline(
      operation,
      this.target,
      call,
      () => reply,
      () => this.replies.forget(xid),
    );
  }

  /** Sends an echo request and resolves with the echoed payload: a liveness check. */
  async echo(payload: Buffer = Buffer.alloc(0), options: CallOptions = {}): Promise<Buffer> {
    const call = this.begin('echo', options);
    const [body] = await this.request(
      'echo',
      encodeMessage(OFPT.ECHO_REQUEST, this.replies.reserveXid(), payload),
      OFPT.ECHO_REPLY,
      call,
    );
    return body!;
  }

  /** Sends a barrier request: resolves once the switch has processed every earlier message. */
  barrier(call: CheckedCall): Promise<Buffer[]> {
    return this.request(
      'barrier',
      encodeMessage(OFPT.BARRIER_REQUEST, this.replies.reserveXid()),
      OFPT.BARRIER_REPLY,
      call,
    );
  }

  /** Closes the connection; outstanding and later calls fail with `ERR_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    this.#shutdown(
      new DpdkError(`the connection to ${this.target} was closed by the client`, {
        code: 'ERR_CLOSED',
        operation: 'close',
        object: this.target,
      }),
    );
    if (this.#socket.destroyed) {
      return;
    }
    await new Promise<void>((resolve) => {
      this.#socket.once('close', () => resolve());
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    });
  }
}
