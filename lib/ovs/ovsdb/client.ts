/**
 * The OVSDB client: {@link OvsdbClient} connects, calls the RFC 7047 methods (transact,
 * monitor, locks, ...), and restores monitors and locks on each new connection (the
 * reconnection itself is in reconnector.ts, the monitor protocol in monitor.ts).
 */
import { EventEmitter } from 'node:events';
import { DpdkError, invalidArgument } from '../../errors.js';
import { checkBoolean, checkOptions, checkString, checkTimeout, describe } from '../../validate.js';
import { JsonRpcConnection, serverError, type CallOptions, type TlsOptions } from './connection.js';
import { encodeWhere, type Condition } from './data.js';
import { isJsonObject, type JsonValue } from './json-stream.js';
import {
  checkMonitorRequests,
  deliverMonitorUpdate,
  Monitor,
  monitorMethods,
  startMonitor,
  type MonitorOptions,
  type MonitorTableRequest,
} from './monitor.js';
import { decodeResult, encodeOperation, type Operation, type TransactResults } from './operations.js';
import { Reconnector } from './reconnector.js';
import { Replica } from './replica.js';
import { parseSchema, tableSchema, type DatabaseSchema } from './schema.js';

/** Options of {@link OvsdbClient.connect}. */
export interface OvsdbClientOptions {
  /** TLS material, for `ssl:` targets. */
  tls?: TlsOptions;
  /** Default timeout of each call, in milliseconds. Default 30000. */
  timeoutMs?: number;
  /** Timeout of each connection attempt, in milliseconds. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * Reconnect after the connection drops, with exponential backoff from `initialDelayMs`
   * (default 100) to `maxDelayMs` (default 8000), then resynchronize monitors and take
   * locks again. `false` to close the client instead. Default true.
   */
  reconnect?: boolean | { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * After this many milliseconds with nothing received, send an `echo`; drop the
   * connection (and reconnect) if it gets no reply within as long again. 0 disables.
   * Default 5000.
   */
  probeIntervalMs?: number;
  /** Largest message accepted from the server, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Aborts the first connection attempt. */
  signal?: AbortSignal;
}

/** Events of an {@link OvsdbClient}. */
export interface OvsdbClientEvents {
  /** The connection dropped; the client reconnects unless `reconnect: false`. */
  disconnected: [error: DpdkError];
  /** A reconnection succeeded and monitors and locks were restored. */
  reconnected: [];
  /** A reconnection attempt failed; another follows after `delayMs`. */
  reconnectFailed: [error: DpdkError, delayMs: number];
  /** The client is closed for good (by {@link OvsdbClient.close}, or a drop without `reconnect`). */
  closed: [];
  /** The lock `name` was granted (after waiting for it, or again after a reconnect). */
  locked: [name: string];
  /** The lock `name` was stolen by another client. */
  stolen: [name: string];
  /** The server sent something invalid that could be skipped. */
  protocolError: [error: DpdkError];
  /** A notification the client does not handle itself. */
  notification: [method: string, params: JsonValue[]];
}

const clientOptionKeys: readonly (keyof OvsdbClientOptions)[] = [
  'tls',
  'timeoutMs',
  'connectTimeoutMs',
  'reconnect',
  'probeIntervalMs',
  'maxMessageBytes',
  'signal',
];
const reconnectKeys = ['initialDelayMs', 'maxDelayMs'] as const;
const callOptionKeys: readonly (keyof CallOptions)[] = ['timeoutMs', 'signal'];

/**
 * An OVSDB client (RFC 7047 with the Open vSwitch extensions of ovsdb-server(7)).
 * Connect with {@link OvsdbClient.connect}; close with {@link close}.
 */
export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  /** The target, e.g. `unix:/tmp/ovsab12/db.sock`. */
  readonly target: string;
  readonly #defaultTimeoutMs: number;
  readonly #link: Reconnector;
  readonly #schemas = new Map<string, DatabaseSchema>();
  readonly #monitors = new Map<string, Monitor>();
  /** Locks asked for, and whether each is held. */
  readonly #locks = new Map<string, boolean>();
  #dbChangeAware = false;
  #nextMonitorId = 1;
  /** Reports what the server sent wrong and could be skipped (e.g. an update that does not apply). */
  readonly #onProtocolError = (error: DpdkError): void => {
    this.emit('protocolError', error);
  };

  private constructor(target: string, connection: JsonRpcConnection, options: OvsdbClientOptions) {
    super();
    this.target = target;
    this.#defaultTimeoutMs = options.timeoutMs ?? 30_000;
    this.#link = new Reconnector(this, connection, options, OvsdbClient.#connectionOptions(options, undefined), {
      attach: (newConnection) => this.#attach(newConnection),
      restore: (newConnection) => this.#restore(newConnection),
    });
  }

  /**
   * Connects to an OVSDB server at `unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT`.
   * @throws DpdkError `EINVAL` for bad arguments, or the connection error (`ENOENT`,
   * `ECONNREFUSED`, `ETIMEDOUT`, ...).
   */
  static async connect(target: string, options: OvsdbClientOptions = {}): Promise<OvsdbClient> {
    const operation = 'OvsdbClient.connect';
    checkOptions<OvsdbClientOptions>(operation, options, clientOptionKeys);
    checkTimeout(operation, options.timeoutMs);
    checkTimeout(operation, options.connectTimeoutMs, 'connectTimeoutMs');
    if (typeof options.reconnect === 'object') {
      checkOptions(`${operation} reconnect`, options.reconnect, reconnectKeys);
      checkTimeout(operation, options.reconnect.initialDelayMs, 'reconnect.initialDelayMs');
      checkTimeout(operation, options.reconnect.maxDelayMs, 'reconnect.maxDelayMs');
    }
    // 0 turns the probe off.
    if (options.probeIntervalMs !== 0) checkTimeout(operation, options.probeIntervalMs, 'probeIntervalMs');
    const connection = await JsonRpcConnection.open(target, OvsdbClient.#connectionOptions(options, options.signal));
    return new OvsdbClient(target, connection, options);
  }

  static #connectionOptions(options: OvsdbClientOptions, signal: AbortSignal | undefined) {
    return {
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
      ...(signal === undefined ? {} : { signal }),
      timeoutMs: options.connectTimeoutMs ?? 10_000,
    };
  }

  /** Whether the client is connected and resynchronized (false while reconnecting and once closed). */
  get isConnected(): boolean {
    return this.#link.state === 'ready';
  }

  /** Lists the databases of the server (`list_dbs`). */
  async listDbs(options: CallOptions = {}): Promise<string[]> {
    const result = await this.#call('list_dbs', [], options);
    if (!Array.isArray(result) || !result.every((name): name is string => typeof name === 'string')) {
      throw this.#protocolFailure('list_dbs', 'the result is not an array of strings');
    }
    return result;
  }

  /**
   * The schema of `db` (`get_schema`), cached; `refresh` fetches it again.
   * @throws DpdkError `ERR_OVSDB` (e.g. `unknown database`) and the errors of every call.
   */
  async getSchema(db: string, options: CallOptions & { refresh?: boolean } = {}): Promise<DatabaseSchema> {
    checkOptions('get_schema', options, [...callOptionKeys, 'refresh']);
    checkString('get_schema', 'database name', db);
    const cached = this.#schemas.get(db);
    if (cached !== undefined && options.refresh !== true) return cached;
    const { refresh: _refresh, ...callOptions } = options;
    const schema = parseSchema(await this.#call('get_schema', [db], callOptions));
    this.#schemas.set(db, schema);
    return schema;
  }

  /**
   * Runs a transaction (`transact`). Tables, columns and values are checked against the
   * schema before anything is sent. Resolves with one typed result per operation.
   *
   * @throws DpdkError `EINVAL` for a bad operation (before sending); `ERR_OVSDB` when an
   * operation or the commit fails, with the server's `error` and `details` in the message
   * and an {@link OvsdbErrorInfo} (index of the failing operation, all results) as `cause`;
   * `ERR_OUTCOME_UNKNOWN` when the connection dropped with the transaction in flight;
   * `ETIMEDOUT` or `ECANCELED` (a `cancel` is then sent; the outcome is unknown).
   */
  async transact<const Ops extends readonly Operation[]>(
    db: string,
    operations: Ops,
    options: CallOptions = {},
  ): Promise<TransactResults<Ops>> {
    checkOptions('transact', options, callOptionKeys);
    if (!Array.isArray(operations) || operations.length === 0) {
      invalidArgument('transact', `operations must be a non-empty array, got ${describe(operations)}`, db);
    }
    const schema = await this.getSchema(db, options);
    const encoded = operations.map((operation, index) => encodeOperation(schema, operation, index));
    let results: JsonValue;
    try {
      results = await this.#call('transact', [db, ...encoded], options);
    } catch (error) {
      throw outcomeUnknown(error, db);
    }
    if (!Array.isArray(results)) throw this.#protocolFailure('transact', 'the result is not an array');
    const failed = results.findIndex(
      (result) => isJsonObject(result) && result['error'] !== undefined && result['error'] !== null,
    );
    if (failed >= 0) {
      const result = results[failed] as { [key: string]: JsonValue };
      const what = failed >= operations.length ? 'the commit' : `operation ${failed} (${operations[failed]!.op})`;
      throw serverError('transact', db, result, { operationIndex: failed, results }, `${what} failed: `);
    }
    if (results.length < operations.length || results.some((result) => result === null)) {
      throw this.#protocolFailure(
        'transact',
        `${results.length} results for ${operations.length} operations, and no error`,
      );
    }
    return operations.map((operation, index) =>
      decodeResult(schema, operation, results[index]!),
    ) as TransactResults<Ops>;
  }

  /**
   * Starts monitoring `db` and resolves once the replica holds the initial contents.
   * Tries `monitor_cond_since`, then `monitor_cond`, then `monitor`, as the server allows.
   * @throws DpdkError `EINVAL` for unknown tables or columns or bad conditions, `ENOTSUP`
   * for conditions on a server with only `monitor`, and the errors of every call.
   */
  async monitor(
    db: string,
    requests: { [table: string]: MonitorTableRequest },
    options: MonitorOptions = {},
  ): Promise<Monitor> {
    checkOptions('monitor', options, [...callOptionKeys, 'method']);
    if (options.method !== undefined && !monitorMethods.includes(options.method)) {
      invalidArgument('monitor', `unknown method ${describe(options.method)} (expected ${monitorMethods.join(', ')})`);
    }
    const { method: _method, ...callOptions } = options;
    const schema = await this.getSchema(db, callOptions);
    checkMonitorRequests(schema, requests);
    const deadline = Date.now() + (options.timeoutMs ?? this.#defaultTimeoutMs);
    await this.#link.waitReady('monitor', deadline, options.signal);
    const monitor = Monitor.create(
      this,
      db,
      `monitor-${this.#nextMonitorId++}`,
      new Replica(schema),
      requests,
      options.method ?? 'monitor_cond_since',
    );
    this.#monitors.set(monitor.id, monitor);
    try {
      await startMonitor(
        monitor,
        this.#link.connection,
        { ...callOptions, timeoutMs: Math.max(1, deadline - Date.now()) },
        true,
        this.#onProtocolError,
      );
    } catch (error) {
      this.#monitors.delete(monitor.id);
      throw error;
    }
    return monitor;
  }

  /** @internal see {@link Monitor.changeConditions}. */
  async changeMonitorConditions(
    monitor: Monitor,
    conditions: { [table: string]: readonly Condition[] },
    options: CallOptions,
  ): Promise<void> {
    checkOptions('monitor_cond_change', options, callOptionKeys);
    if (monitor.canceled)
      throw new DpdkError(`monitor ${monitor.id} is canceled`, {
        code: 'ERR_CLOSED',
        operation: 'monitor_cond_change',
      });
    if (monitor.method === 'monitor') {
      throw new DpdkError('the server accepted only a plain monitor, whose conditions cannot change', {
        code: 'ENOTSUP',
        operation: 'monitor_cond_change',
      });
    }
    const schema = monitor.replica.schema;
    const change: { [table: string]: JsonValue } = {};
    for (const [table, where] of Object.entries(conditions)) {
      if (monitor.requests[table] === undefined) {
        invalidArgument(
          'monitor_cond_change',
          `table "${table}" is not monitored by ${monitor.id} (monitored: ${Object.keys(monitor.requests).join(', ')})`,
        );
      }
      change[table] = [
        { where: encodeWhere(tableSchema(schema, table, 'monitor_cond_change'), where, 'monitor_cond_change') },
      ];
    }
    await this.#call('monitor_cond_change', [monitor.id, monitor.id, change], options);
    for (const [table, where] of Object.entries(conditions))
      monitor.requests[table] = { ...monitor.requests[table], where: [...where] };
  }

  /** @internal see {@link Monitor.cancel}. */
  async cancelMonitor(monitor: Monitor, options: CallOptions): Promise<void> {
    checkOptions('monitor_cancel', options, callOptionKeys);
    if (monitor.canceled) return;
    monitor.canceled = true;
    this.#monitors.delete(monitor.id);
    if (this.#link.state === 'closed') return;
    await this.#call('monitor_cancel', [monitor.id], options);
  }

  /**
   * Asks for the lock `name` (`lock`). Resolves true when granted now; otherwise the
   * `locked` event tells when it is. Locks are asked for again after a reconnect.
   */
  async lock(name: string, options: CallOptions = {}): Promise<boolean> {
    return this.#lockCall('lock', name, options);
  }

  /** Takes the lock `name` from its holder (`steal`), who gets a `stolen` notification. */
  async steal(name: string, options: CallOptions = {}): Promise<boolean> {
    return this.#lockCall('steal', name, options);
  }

  /** Releases (or stops waiting for) the lock `name` (`unlock`). */
  async unlock(name: string, options: CallOptions = {}): Promise<void> {
    checkString('unlock', 'lock name', name);
    this.#locks.delete(name);
    await this.#call('unlock', [name], options);
  }

  /** Whether this client holds the lock `name`. */
  holdsLock(name: string): boolean {
    return this.#locks.get(name) === true;
  }

  /** Sends an `echo` and resolves with what the server echoed. */
  async echo(payload: JsonValue[] = [], options: CallOptions = {}): Promise<JsonValue[]> {
    if (!Array.isArray(payload)) {
      invalidArgument('echo', `the payload must be an array of JSON values, got ${describe(payload)}`);
    }
    const result = await this.#call('echo', payload, options);
    if (!Array.isArray(result)) throw this.#protocolFailure('echo', 'the result is not an array');
    return result;
  }

  /** The server's id (`get_server_id`): a UUID that changes when the server restarts. */
  async getServerId(options: CallOptions = {}): Promise<string> {
    const result = await this.#call('get_server_id', [], options);
    if (typeof result !== 'string') throw this.#protocolFailure('get_server_id', 'the result is not a string');
    return result;
  }

  /**
   * Tells the server whether this client copes with databases being added, removed or
   * converted (`set_db_change_aware`): then monitors of a changed database are canceled
   * (`canceled` event of {@link Monitor}) rather than the connection closed. Restored
   * after a reconnect.
   */
  async setDbChangeAware(aware = true, options: CallOptions = {}): Promise<void> {
    checkBoolean('set_db_change_aware', 'aware', aware);
    await this.#call('set_db_change_aware', [aware], options);
    this.#dbChangeAware = aware;
  }

  /** Closes the client: pending calls fail with `ERR_CLOSED`, no reconnection. Safe to call twice. */
  close(): void {
    if (this.#link.state === 'closed') return;
    this.#link.close();
    this.emit('closed');
  }

  /** Drops the current connection as if it had failed, to exercise reconnection (tests, debugging). */
  dropConnection(): void {
    this.#link.connection.fail(
      new DpdkError(`connection to ${this.target} dropped on request`, {
        code: 'ECONNRESET',
        operation: 'dropConnection',
        object: this.target,
      }),
    );
  }

  async #lockCall(method: 'lock' | 'steal', name: string, options: CallOptions): Promise<boolean> {
    checkString(method, 'lock name', name);
    this.#locks.set(name, this.#locks.get(name) ?? false);
    const result = await this.#call(method, [name], options);
    const locked = isJsonObject(result) && result['locked'] === true;
    if (this.#locks.has(name)) this.#locks.set(name, locked || this.#locks.get(name) === true);
    return locked;
  }

  #protocolFailure(operation: string, message: string): DpdkError {
    return new DpdkError(`bad reply from ${this.target}: ${message}`, {
      code: 'EPROTO',
      operation,
      object: this.target,
    });
  }

  /** Waits (within the call's deadline) for a ready connection, then sends the request. */
  async #call(method: string, params: JsonValue[], options: CallOptions): Promise<JsonValue> {
    checkOptions(method, options, callOptionKeys);
    checkTimeout(method, options.timeoutMs);
    const deadline = Date.now() + (options.timeoutMs ?? this.#defaultTimeoutMs);
    await this.#link.waitReady(method, deadline, options.signal);
    return this.#link.connection.request(method, params, {
      timeoutMs: Math.max(1, deadline - Date.now()),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  #attach(connection: JsonRpcConnection): void {
    connection.on('notification', (method, params) => this.#onNotification(method, params));
    connection.on('protocolError', (error) => this.emit('protocolError', error));
    connection.on('abandoned', (id, method) => {
      if (method === 'transact' && !connection.isClosed) connection.notify('cancel', [id]);
    });
  }

  /** Restores on a new connection what the old one had: change awareness, monitors, locks. */
  async #restore(connection: JsonRpcConnection): Promise<void> {
    const timeoutMs = this.#defaultTimeoutMs;
    if (this.#dbChangeAware) await connection.request('set_db_change_aware', [true], { timeoutMs });
    const refreshed = new Map<string, DatabaseSchema>();
    for (const monitor of this.#monitors.values()) {
      let schema = refreshed.get(monitor.db);
      if (schema === undefined) {
        schema = parseSchema(await connection.request('get_schema', [monitor.db], { timeoutMs }));
        refreshed.set(monitor.db, schema);
        this.#schemas.set(monitor.db, schema);
      }
      monitor.replica.schema = schema;
      try {
        await startMonitor(monitor, connection, { timeoutMs }, false, this.#onProtocolError);
      } catch (error) {
        if (connection.isClosed) throw error;
        this.#monitors.delete(monitor.id);
        monitor.canceled = true;
        monitor.emit('lost', error as DpdkError);
      }
    }
    for (const name of this.#locks.keys()) {
      this.#locks.set(name, false);
      const result = await connection.request('lock', [name], { timeoutMs });
      if (isJsonObject(result) && result['locked'] === true) {
        this.#locks.set(name, true);
        this.emit('locked', name);
      }
    }
  }

  #onNotification(method: string, params: JsonValue[]): void {
    switch (method) {
      case 'update':
      case 'update2':
      case 'update3': {
        const monitor = typeof params[0] === 'string' ? this.#monitors.get(params[0]) : undefined;
        if (monitor === undefined) {
          this.emit(
            'protocolError',
            this.#protocolFailure(method, `an update for unknown monitor ${String(params[0])}`),
          );
          return;
        }
        deliverMonitorUpdate(monitor, method, params, this.#onProtocolError);
        return;
      }
      case 'locked':
      case 'stolen': {
        const name = params[0];
        if (typeof name !== 'string' || !this.#locks.has(name)) return;
        this.#locks.set(name, method === 'locked');
        this.emit(method, name);
        return;
      }
      case 'monitor_canceled': {
        const monitor = typeof params[0] === 'string' ? this.#monitors.get(params[0]) : undefined;
        if (monitor === undefined) return;
        monitor.canceled = true;
        this.#monitors.delete(monitor.id);
        this.#schemas.delete(monitor.db);
        monitor.emit('canceled');
        return;
      }
      default:
        this.emit('notification', method, params);
    }
  }
}

/**
 * Turns the failure of a sent transaction into `ERR_OUTCOME_UNKNOWN` when the connection
 * dropped under it: the connection wraps drop errors (with the drop as `cause`), while
 * timeouts, aborts and server errors have none.
 */
function outcomeUnknown(error: unknown, db: string): unknown {
  if (!(error instanceof DpdkError) || !(error.cause instanceof DpdkError)) return error;
  return new DpdkError(
    `the connection dropped with the transaction in flight; it may or may not have been committed (${error.message})`,
    { code: 'ERR_OUTCOME_UNKNOWN', operation: 'transact', object: db, cause: error },
  );
}
