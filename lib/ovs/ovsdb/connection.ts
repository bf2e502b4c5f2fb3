/**
 * One JSON-RPC 1.0 connection to an OVSDB peer over unix, TCP or TLS: targets, call
 * options, requests matched to replies, and the errors an OVSDB server returns.
 */
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { DpdkError, invalidArgument } from '../../errors.js';
import { checkOptions, checkTimeout } from '../../validate.js';
import { openStream, type TlsOptions } from '../stream.js';
import { isJsonObject, JsonStreamParser, stringifyJson, type JsonValue } from './json-stream.js';

/** A parsed connection target. */
export type Target = { kind: 'unix'; path: string } | { kind: 'tcp' | 'ssl'; host: string; port: number };

/** Options of {@link JsonRpcConnection.open}. */
export interface ConnectionOptions {
  /** TLS material, required for `ssl:` targets. */
  tls?: TlsOptions;
  /** Give up connecting after this many milliseconds. Default 10000. */
  timeoutMs?: number;
  /** Aborts connecting. */
  signal?: AbortSignal;
  /** Largest message accepted from the peer, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
}

export type { TlsOptions };

/** Options of one call: how long to wait for the reply. */
export interface CallOptions {
  /** Fail with `ETIMEDOUT` after this many milliseconds. Default: the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Fail with `ECANCELED` when this signal aborts. */
  signal?: AbortSignal;
}

const connectionOptionKeys: readonly (keyof ConnectionOptions)[] = ['tls', 'timeoutMs', 'signal', 'maxMessageBytes'];

/**
 * Parses `unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT` (IPv6 hosts in brackets).
 * @throws DpdkError `EINVAL` with what is expected.
 */
export function parseTarget(target: string): Target {
  const bad = (why: string): never =>
    invalidArgument(
      'connect',
      `bad OVSDB target ${JSON.stringify(target)}: ${why} (expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT)`,
      String(target),
    );
  if (typeof target !== 'string') return bad('not a string');
  if (target.startsWith('unix:')) {
    const path = target.slice(5);
    if (path.length === 0) bad('empty path');
    if (Buffer.byteLength(path) >= 108) bad('unix socket paths must be shorter than 108 bytes');
    return { kind: 'unix', path };
  }
  const match = /^(tcp|ssl):(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d+)$/.exec(target);
  if (match === null) return bad('unknown form');
  const port = Number(match[3]);
  if (port < 1 || port > 65535) bad(`port ${port} is out of range 1-65535`);
  const host = match[2]!.startsWith('[') ? match[2]!.slice(1, -1) : match[2]!;
  return { kind: match[1] as 'tcp' | 'ssl', host, port };
}

interface PendingCall {
  method: string;
  resolve: (result: JsonValue) => void;
  reject: (error: DpdkError) => void;
  cleanup: () => void;
}

/** Events of a {@link JsonRpcConnection}. */
export interface JsonRpcConnectionEvents {
  /** A notification (or a request other than `echo`, already answered with an error). */
  notification: [method: string, params: JsonValue[]];
  /** The peer sent something that is not valid JSON-RPC, but the stream can go on. */
  protocolError: [error: DpdkError];
  /** The connection is closed; `error` says why, when not by {@link JsonRpcConnection.close}. */
  close: [error: DpdkError | undefined];
  /** A call was abandoned (timeout or abort) before its reply: its id. */
  abandoned: [id: number, method: string];
}

/** How many ids of abandoned calls are remembered, so their late replies are not protocol errors. */
const abandonedIdsKept = 4096;

/**
 * One JSON-RPC 1.0 connection to an OVSDB peer (RFC 7047 section 4): sends requests and
 * matches replies by id, answers the peer's `echo`, emits notifications. It does not
 * reconnect; {@link OvsdbClient} does.
 */
export class JsonRpcConnection extends EventEmitter<JsonRpcConnectionEvents> {
  /** The target as given, e.g. `unix:/tmp/ovs/db.sock`. */
  readonly target: string;
  readonly #socket: net.Socket;
  readonly #parser: JsonStreamParser;
  readonly #pending = new Map<number, PendingCall>();
  readonly #abandonedIds = new Set<number>();
  #nextId = 1;
  #closed = false;
  /** @internal `Date.now()` of the last bytes received: for the client's inactivity probes. */
  lastReceiveMs = Date.now();

  private constructor(target: string, socket: net.Socket, maxMessageBytes: number | undefined) {
    super();
    this.target = target;
    this.#socket = socket;
    this.#parser = new JsonStreamParser(
      maxMessageBytes === undefined ? { object: target } : { object: target, maxMessageBytes },
    );
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      this.#shutdown(
        new DpdkError(`connection to ${target} failed: ${error.message}`, {
          code: error.code ?? 'ECONNRESET',
          operation: 'receive',
          object: target,
          cause: error,
        }),
      ),
    );
    socket.on('close', () =>
      this.#shutdown(
        new DpdkError(`connection to ${target} closed by the peer`, {
          code: 'ECONNRESET',
          operation: 'receive',
          object: target,
        }),
      ),
    );
  }

  /**
   * Connects to `target`.
   * @throws DpdkError `EINVAL` (bad target or options), `ETIMEDOUT`, `ECANCELED`, or the
   * socket error's code (`ENOENT`, `ECONNREFUSED`, ...).
   */
  static open(target: string, options: ConnectionOptions = {}): Promise<JsonRpcConnection> {
    checkOptions<ConnectionOptions>('connect', options, connectionOptionKeys);
    checkTimeout('connect', options.timeoutMs);
    const parsed = parseTarget(target);
    const { socket, readyEvent: connectEvent } = openStream('connect', target, parsed, options.tls);
    return new Promise((resolve, reject) => {
      const finish = (error: DpdkError | undefined): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.removeListener('error', onError);
        socket.removeListener(connectEvent, onConnect);
        if (error === undefined) {
          resolve(new JsonRpcConnection(target, socket, options.maxMessageBytes));
          return;
        }
        socket.destroy();
        reject(error);
      };
      const onConnect = (): void => finish(undefined);
      const onError = (error: NodeJS.ErrnoException): void =>
        finish(
          new DpdkError(`cannot connect to ${target}: ${error.message}`, {
            code: error.code ?? 'ECONNREFUSED',
            operation: 'connect',
            object: target,
            cause: error,
          }),
        );
      const onAbort = (): void =>
        finish(
          new DpdkError(`connecting to ${target} was aborted`, {
            code: 'ECANCELED',
            operation: 'connect',
            object: target,
          }),
        );
      const timeoutMs = options.timeoutMs ?? 10_000;
      const timer = setTimeout(
        () =>
          finish(
            new DpdkError(`cannot connect to ${target}: no connection within ${timeoutMs} ms`, {
              code: 'ETIMEDOUT',
              operation: 'connect',
              object: target,
            }),
          ),
        timeoutMs,
      );
      socket.once('error', onError);
      socket.once(connectEvent, onConnect);
      if (options.signal?.aborted === true) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Whether the connection is closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Calls still waiting for their reply. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request and resolves with its `result`.
   * @throws DpdkError `ERR_OVSDB` when the peer answers with an error (its `error` and
   * `details` in the message and in `cause`), `ETIMEDOUT`, `ECANCELED`, `ERR_CLOSED`, or
   * the code of the connection failure (`ECONNRESET`, `EPROTO`, ...).
   */
  request(method: string, params: JsonValue[], options: CallOptions = {}): Promise<JsonValue> {
    if (this.#closed) {
      return Promise.reject(
        new DpdkError(`the connection to ${this.target} is closed`, {
          code: 'ERR_CLOSED',
          operation: method,
          object: this.target,
        }),
      );
    }
    const id = this.#nextId++;
    let text: string;
    try {
      text = stringifyJson({ method, params, id });
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<JsonValue>((resolve, reject) => {
      const abandon = (error: DpdkError): void => {
        if (!this.#pending.has(id)) return;
        this.#pending.delete(id);
        cleanup();
        this.#rememberAbandoned(id);
        this.emit('abandoned', id, method);
        reject(error);
      };
      const onAbort = (): void =>
        abandon(new DpdkError(`${method} was aborted`, { code: 'ECANCELED', operation: method, object: this.target }));
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(
              () =>
                abandon(
                  new DpdkError(`no reply from ${this.target} within ${options.timeoutMs} ms`, {
                    code: 'ETIMEDOUT',
                    operation: method,
                    object: this.target,
                  }),
                ),
              options.timeoutMs,
            );
      const cleanup = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      if (options.signal?.aborted === true) {
        reject(new DpdkError(`${method} was aborted`, { code: 'ECANCELED', operation: method, object: this.target }));
        cleanup();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, { method, resolve, reject, cleanup });
      this.#socket.write(text);
    });
  }

  /**
   * Sends a notification (a request with a null id, which gets no reply).
   * @throws DpdkError `ERR_CLOSED` when the connection is closed.
   */
  notify(method: string, params: JsonValue[]): void {
    if (this.#closed) {
      throw new DpdkError(`the connection to ${this.target} is closed`, {
        code: 'ERR_CLOSED',
        operation: method,
        object: this.target,
      });
    }
    this.#socket.write(stringifyJson({ method, params, id: null }));
  }

  /** Closes the connection; pending calls fail with `ERR_CLOSED`. Safe to call twice. */
  close(): void {
    this.#shutdown(
      new DpdkError(`the connection to ${this.target} was closed`, {
        code: 'ERR_CLOSED',
        operation: 'close',
        object: this.target,
      }),
      false,
    );
  }

  /** @internal Drops the connection with `error`, as if the peer had failed: for inactivity probes. */
  fail(error: DpdkError): void {
    this.#shutdown(error);
  }

  #shutdown(error: DpdkError, reportError = true): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    for (const call of this.#pending.values()) {
      call.cleanup();
      call.reject(
        new DpdkError(error.message, {
          code: error.code,
          operation: call.method,
          object: this.target,
          cause: error,
        }),
      );
    }
    this.#pending.clear();
    this.emit('close', reportError ? error : undefined);
  }

  #rememberAbandoned(id: number): void {
    this.#abandonedIds.add(id);
    if (this.#abandonedIds.size > abandonedIdsKept) {
      this.#abandonedIds.delete(this.#abandonedIds.values().next().value!);
    }
  }

  #onData(chunk: Buffer): void {
    this.lastReceiveMs = Date.now();
    let messages: JsonValue[];
    try {
      messages = this.#parser.push(chunk);
    } catch (error) {
      this.#shutdown(error as DpdkError);
      return;
    }
    for (const message of messages) {
      if (this.#closed) return;
      this.#dispatch(message);
    }
  }

  #protocolError(message: string): void {
    this.emit(
      'protocolError',
      new DpdkError(`protocol error from ${this.target}: ${message}`, {
        code: 'EPROTO',
        operation: 'receive',
        object: this.target,
      }),
    );
  }

  #dispatch(message: JsonValue): void {
    if (!isJsonObject(message)) {
      this.#protocolError('a message that is not a JSON object');
      return;
    }
    const method = message['method'];
    const id = message['id'];
    if (typeof method === 'string') {
      const params = Array.isArray(message['params']) ? message['params'] : [];
      if (id === null || id === undefined) {
        this.emit('notification', method, params);
        return;
      }
      if (method === 'echo') {
        this.#socket.write(stringifyJson({ result: params, error: null, id }));
        return;
      }
      this.#socket.write(stringifyJson({ result: null, error: `unknown method ${method}`, id }));
      return;
    }
    if (typeof id !== 'number') {
      this.#protocolError(`a reply with id ${describeId(id)} that no request has`);
      return;
    }
    const call = this.#pending.get(id);
    if (call === undefined) {
      if (this.#abandonedIds.delete(id)) return;
      this.#protocolError(`a reply with id ${id} that no request has`);
      return;
    }
    this.#pending.delete(id);
    call.cleanup();
    const error = message['error'];
    if (error === null || error === undefined) {
      call.resolve(message['result'] ?? null);
      return;
    }
    call.reject(serverError(call.method, this.target, error));
  }
}

function describeId(id: JsonValue | undefined): string {
  if (id === undefined) return 'missing';
  const text = typeof id === 'bigint' ? id.toString() : JSON.stringify(id);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** What an OVSDB server error holds; the `cause` of `ERR_OVSDB` errors. */
export interface OvsdbErrorInfo {
  /** The server's short error, e.g. `constraint violation`, `unknown database`. */
  error: string;
  /** The server's details, when given. */
  details?: string;
  /** For a transaction, the index of the failing operation; equal to the number of operations for a commit error. */
  operationIndex?: number;
  /** For a transaction, every result the server returned (one per operation, plus the commit error). */
  results?: JsonValue[];
}

/**
 * Builds the `ERR_OVSDB` error for a server error value (a string or `{error, details}`);
 * `prefix` says what failed (`operation 1 (abort) failed: `) when the operation alone does not.
 */
export function serverError(
  operation: string,
  object: string,
  error: JsonValue,
  extra: Omit<OvsdbErrorInfo, 'error' | 'details'> = {},
  prefix = '',
): DpdkError {
  const info: OvsdbErrorInfo = { error: 'unknown error', ...extra };
  if (typeof error === 'string') info.error = error;
  else if (isJsonObject(error)) {
    if (typeof error['error'] === 'string') info.error = error['error'];
    if (typeof error['details'] === 'string') info.details = error['details'];
  } else {
    info.error = typeof error === 'bigint' ? error.toString() : JSON.stringify(error);
  }
  const details = info.details === undefined ? '' : ` (${info.details})`;
  return new DpdkError(`${prefix}server error "${info.error}"${details}`, {
    code: 'ERR_OVSDB',
    operation,
    object,
    cause: info,
  });
}
