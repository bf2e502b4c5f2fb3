import { EventEmitter } from 'node:events';
import { DpdkError } from '../../errors.js';
import {
  checkOptionKeys,
  checkTimeout,
  JsonRpcConnection,
  serverError,
  type CallOptions,
  type OvsdbErrorInfo,
  type TlsOptions,
} from './connection.js';
import {
  decodeRow,
  encodeMutations,
  encodeRow,
  encodeWhere,
  isUuid,
  type Condition,
  type Mutation,
  type Row,
  type RowInput,
} from './data.js';
import type { JsonValue } from './json-stream.js';
import { Replica } from './replica.js';
import { columnSchema, parseSchema, tableSchema, type DatabaseSchema, type TableSchema } from './schema.js';

/** `insert`: adds a row; `uuidName` lets later operations refer to it with `namedUuid()`. */
export interface InsertOperation {
  /** The operation. */
  op: 'insert';
  /** The table to insert into. */
  table: string;
  /** The column values; columns left out get their defaults. */
  row?: RowInput;
  /** The name other operations of the transaction use for the new row (`uuid-name`). */
  uuidName?: string;
  /** The uuid the new row gets (an Open vSwitch extension of RFC 7047). */
  uuid?: string;
}
/** `select`: reads the rows matching `where`; all columns when `columns` is omitted. */
export interface SelectOperation {
  /** The operation. */
  op: 'select';
  /** The table to read. */
  table: string;
  /** The conditions rows must all meet; `[]` for every row. */
  where: readonly Condition[];
  /** The columns to return. */
  columns?: readonly string[];
}
/** `update`: sets the columns of `row` in the rows matching `where`. */
export interface UpdateOperation {
  /** The operation. */
  op: 'update';
  /** The table to change. */
  table: string;
  /** The conditions rows must all meet; `[]` for every row. */
  where: readonly Condition[];
  /** The columns to set and their new values. */
  row: RowInput;
}
/** `mutate`: applies `mutations` to the rows matching `where`. */
export interface MutateOperation {
  /** The operation. */
  op: 'mutate';
  /** The table to change. */
  table: string;
  /** The conditions rows must all meet; `[]` for every row. */
  where: readonly Condition[];
  /** The mutations, applied in order. */
  mutations: readonly Mutation[];
}
/** `delete`: removes the rows matching `where`. */
export interface DeleteOperation {
  /** The operation. */
  op: 'delete';
  /** The table to delete from. */
  table: string;
  /** The conditions rows must all meet; `[]` for every row. */
  where: readonly Condition[];
}
/**
 * `wait`: blocks the transaction until the `columns` of the rows matching `where` are
 * (`until: '=='`) or are not (`'!='`) exactly `rows`, for at most `timeout` ms (0: fail at once).
 */
export interface WaitOperation {
  /** The operation. */
  op: 'wait';
  /** The table to watch. */
  table: string;
  /** The conditions rows must all meet; `[]` for every row. */
  where: readonly Condition[];
  /** The columns compared; defaults to the columns named in `rows`. */
  columns?: readonly string[];
  /** Wait until the rows are equal (`==`) or different (`!=`). */
  until: '==' | '!=';
  /** The expected rows (only `columns`). */
  rows: readonly RowInput[];
  /** Milliseconds to wait at most; omitted waits for ever, 0 fails at once. */
  timeout?: number;
}
/** `commit`: asks for a durable commit when `durable`. */
export interface CommitOperation {
  /** The operation. */
  op: 'commit';
  /** Whether the commit must reach the disk before the reply. */
  durable: boolean;
}
/** `abort`: makes the transaction fail (its result is an error). */
export interface AbortOperation {
  /** The operation. */
  op: 'abort';
}
/** `comment`: logs `comment` with the transaction. */
export interface CommentOperation {
  /** The operation. */
  op: 'comment';
  /** The text logged. */
  comment: string;
}
/** `assert`: fails the transaction unless this client holds `lock`. */
export interface AssertOperation {
  /** The operation. */
  op: 'assert';
  /** The lock that must be held. */
  lock: string;
}

/** One operation of a transaction (RFC 7047 section 5.2), values in TypeScript form. */
export type Operation =
  | InsertOperation
  | SelectOperation
  | UpdateOperation
  | MutateOperation
  | DeleteOperation
  | WaitOperation
  | CommitOperation
  | AbortOperation
  | CommentOperation
  | AssertOperation;

/** The result of an operation, by its kind. */
export type OperationResult<O extends Operation> = O extends InsertOperation
  ? { uuid: string }
  : O extends SelectOperation
    ? { rows: Row[] }
    : O extends UpdateOperation | MutateOperation | DeleteOperation
      ? { count: number }
      : Record<string, never>;

/** The results of a transaction: one per operation, typed by the operation. */
export type TransactResults<Ops extends readonly Operation[]> = { -readonly [K in keyof Ops]: OperationResult<Ops[K]> };

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

/** What a monitor asks of one table. */
export interface MonitorTableRequest {
  /** The columns to replicate; all when omitted. */
  columns?: readonly string[];
  /** Only rows matching all these conditions (`monitor_cond` and later). */
  where?: readonly Condition[];
  /** Which kinds of changes to send; all by default. */
  select?: { initial?: boolean; insert?: boolean; delete?: boolean; modify?: boolean };
}

/** The monitor methods, oldest first. */
export type MonitorMethod = 'monitor' | 'monitor_cond' | 'monitor_cond_since';

/** Options of {@link OvsdbClient.monitor}. */
export interface MonitorOptions extends CallOptions {
  /** The newest method to try; older ones are tried when the server lacks it. Default `monitor_cond_since`. */
  method?: MonitorMethod;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const METHOD_ORDER: readonly MonitorMethod[] = ['monitor', 'monitor_cond', 'monitor_cond_since'];

/** Events of a {@link Monitor}. */
export interface MonitorEvents {
  /** The server canceled the monitor (e.g. the database was removed or converted); it is not restored. */
  canceled: [];
  /** The monitor could not be restored after a reconnect; it is canceled. */
  lost: [error: DpdkError];
  /**
   * The monitor was restored after a reconnect: with only the changes missed (`changes`,
   * `monitor_cond_since` found the last transaction id) or with the whole contents (`full`).
   */
  resynced: [kind: 'changes' | 'full'];
}

/**
 * A monitor of some tables of a database: keeps {@link replica} up to date. Created by
 * {@link OvsdbClient.monitor}; restored automatically after a reconnect.
 */
export class Monitor extends EventEmitter<MonitorEvents> {
  /** The database monitored. */
  readonly db: string;
  /** The rows, kept up to date; listen to its `change` event or iterate `changes()`. */
  readonly replica: Replica;
  /** The JSON-RPC id of the monitor (`json-value` in RFC 7047). */
  readonly id: string;
  /** The method the server accepted. */
  method: MonitorMethod;
  /** Whether the monitor was canceled (by {@link cancel} or by the server). */
  canceled = false;
  /** @internal the tables and what is asked of them, as sent (conditions are updated by changeConditions). */
  requests: { [table: string]: MonitorTableRequest };
  /** @internal updates received before the initial contents were applied. */
  queued: [method: string, params: JsonValue[]][] | undefined;
  private readonly client: OvsdbClient;

  /** @internal use {@link OvsdbClient.monitor}. */
  constructor(client: OvsdbClient, db: string, id: string, replica: Replica, requests: { [table: string]: MonitorTableRequest }, method: MonitorMethod) {
    super();
    this.client = client;
    this.db = db;
    this.id = id;
    this.replica = replica;
    this.requests = requests;
    this.method = method;
  }

  /**
   * Replaces the `where` conditions of some tables (`monitor_cond_change`); the replica
   * then gains and loses rows accordingly.
   * @throws DpdkError `ENOTSUP` when the monitor is a plain `monitor`, `EINVAL` for bad conditions.
   */
  async changeConditions(conditions: { [table: string]: readonly Condition[] }, options: CallOptions = {}): Promise<void> {
    return this.client.changeMonitorConditions(this, conditions, options);
  }

  /** Cancels the monitor (`monitor_cancel`); the replica keeps its last rows. Safe to call twice. */
  async cancel(options: CallOptions = {}): Promise<void> {
    return this.client.cancelMonitor(this, options);
  }
}

type ClientState = 'ready' | 'reconnecting' | 'closed';

/**
 * An OVSDB client (RFC 7047 with the Open vSwitch extensions of ovsdb-server(7)).
 * Connect with {@link OvsdbClient.connect}; close with {@link close}.
 */
export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  /** The target, e.g. `unix:/tmp/ovsab12/db.sock`. */
  readonly target: string;
  private readonly options: OvsdbClientOptions;
  private readonly defaultTimeoutMs: number;
  private connection: JsonRpcConnection;
  private state: ClientState = 'ready';
  private readonly schemas = new Map<string, DatabaseSchema>();
  private readonly monitors = new Map<string, Monitor>();
  /** Locks asked for, and whether each is held. */
  private readonly locks = new Map<string, boolean>();
  private dbChangeAware = false;
  private nextMonitorId = 1;
  private probeTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly readyWaiters = new Set<() => void>();

  private constructor(target: string, connection: JsonRpcConnection, options: OvsdbClientOptions) {
    super();
    this.target = target;
    this.options = options;
    this.defaultTimeoutMs = options.timeoutMs ?? 30_000;
    this.connection = connection;
    this.attach(connection);
    this.startProbe();
  }

  /**
   * Connects to an OVSDB server at `unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT`.
   * @throws DpdkError `EINVAL` for bad arguments, or the connection error (`ENOENT`,
   * `ECONNREFUSED`, `ETIMEDOUT`, ...).
   */
  static async connect(target: string, options: OvsdbClientOptions = {}): Promise<OvsdbClient> {
    checkOptionKeys(
      options,
      ['tls', 'timeoutMs', 'connectTimeoutMs', 'reconnect', 'probeIntervalMs', 'maxMessageBytes', 'signal'],
      'OvsdbClient.connect',
    );
    checkTimeout(options.timeoutMs, 'OvsdbClient.connect');
    checkTimeout(options.connectTimeoutMs, 'OvsdbClient.connect');
    if (typeof options.reconnect === 'object') {
      checkOptionKeys(options.reconnect, ['initialDelayMs', 'maxDelayMs'], 'OvsdbClient.connect reconnect');
      checkTimeout(options.reconnect.initialDelayMs, 'OvsdbClient.connect reconnect.initialDelayMs');
      checkTimeout(options.reconnect.maxDelayMs, 'OvsdbClient.connect reconnect.maxDelayMs');
    }
    if (
      options.probeIntervalMs !== undefined &&
      (typeof options.probeIntervalMs !== 'number' || !(options.probeIntervalMs >= 0))
    ) {
      throw new DpdkError(
        `OvsdbClient.connect: probeIntervalMs must be 0 (off) or a positive number of milliseconds, got ${String(options.probeIntervalMs)}`,
        { code: 'EINVAL', operation: 'OvsdbClient.connect' },
      );
    }
    const connection = await JsonRpcConnection.open(target, OvsdbClient.connectionOptions(options, options.signal));
    return new OvsdbClient(target, connection, options);
  }

  private static connectionOptions(options: OvsdbClientOptions, signal: AbortSignal | undefined) {
    return {
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
      ...(signal === undefined ? {} : { signal }),
      timeoutMs: options.connectTimeoutMs ?? 10_000,
    };
  }

  /** Whether the client is connected and resynchronized (false while reconnecting and once closed). */
  get isConnected(): boolean {
    return this.state === 'ready';
  }

  /** Lists the databases of the server (`list_dbs`). */
  async listDbs(options: CallOptions = {}): Promise<string[]> {
    const result = await this.call('list_dbs', [], options);
    if (!Array.isArray(result) || !result.every((name): name is string => typeof name === 'string')) {
      throw this.protocolFailure('list_dbs', 'the result is not an array of strings');
    }
    return result;
  }

  /**
   * The schema of `db` (`get_schema`), cached; `refresh` fetches it again.
   * @throws DpdkError `ERR_OVSDB` (e.g. `unknown database`) and the errors of every call.
   */
  async getSchema(db: string, options: CallOptions & { refresh?: boolean } = {}): Promise<DatabaseSchema> {
    checkOptionKeys(options, ['timeoutMs', 'signal', 'refresh'], 'get_schema');
    checkName(db, 'database', 'get_schema');
    const cached = this.schemas.get(db);
    if (cached !== undefined && options.refresh !== true) return cached;
    const { refresh: _refresh, ...callOptions } = options;
    const schema = parseSchema(await this.call('get_schema', [db], callOptions));
    this.schemas.set(db, schema);
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
    checkOptionKeys(options, ['timeoutMs', 'signal'], 'transact');
    if (!Array.isArray(operations) || operations.length === 0) {
      throw new DpdkError('transact: operations must be a non-empty array', { code: 'EINVAL', operation: 'transact', object: db });
    }
    const schema = await this.getSchema(db, options);
    const encoded = operations.map((operation, index) => encodeOperation(schema, operation, index));
    let results: JsonValue;
    try {
      results = await this.call('transact', [db, ...encoded], options);
    } catch (error) {
      throw outcomeUnknown(error, db);
    }
    if (!Array.isArray(results)) throw this.protocolFailure('transact', 'the result is not an array');
    const failed = results.findIndex(
      (result) => typeof result === 'object' && result !== null && !Array.isArray(result) && result['error'] !== undefined && result['error'] !== null,
    );
    if (failed >= 0) {
      const result = results[failed] as { [key: string]: JsonValue };
      const what = failed >= operations.length ? 'the commit' : `operation ${failed} (${operations[failed]!.op})`;
      throw serverError('transact', db, result, { operationIndex: failed, results }, `${what} failed: `);
    }
    if (results.length < operations.length || results.some((result) => result === null)) {
      throw this.protocolFailure('transact', `${results.length} results for ${operations.length} operations, and no error`);
    }
    return operations.map((operation, index) => decodeResult(schema, operation, results[index]!)) as TransactResults<Ops>;
  }

  /**
   * Starts monitoring `db` and resolves once the replica holds the initial contents.
   * Tries `monitor_cond_since`, then `monitor_cond`, then `monitor`, as the server allows.
   * @throws DpdkError `EINVAL` for unknown tables or columns or bad conditions, `ENOTSUP`
   * for conditions on a server with only `monitor`, and the errors of every call.
   */
  async monitor(db: string, requests: { [table: string]: MonitorTableRequest }, options: MonitorOptions = {}): Promise<Monitor> {
    checkOptionKeys(options, ['timeoutMs', 'signal', 'method'], 'monitor');
    if (options.method !== undefined && !METHOD_ORDER.includes(options.method)) {
      throw new DpdkError(`monitor: unknown method "${String(options.method)}" (expected ${METHOD_ORDER.join(', ')})`, {
        code: 'EINVAL',
        operation: 'monitor',
      });
    }
    const { method: _method, ...callOptions } = options;
    const schema = await this.getSchema(db, callOptions);
    checkMonitorRequests(schema, requests);
    const deadline = Date.now() + (options.timeoutMs ?? this.defaultTimeoutMs);
    await this.waitReady('monitor', deadline, options.signal);
    const monitor = new Monitor(this, db, `monitor-${this.nextMonitorId++}`, new Replica(schema), copyRequests(requests), options.method ?? 'monitor_cond_since');
    this.monitors.set(monitor.id, monitor);
    try {
      await this.startMonitor(
        monitor,
        this.connection,
        { ...callOptions, timeoutMs: Math.max(1, deadline - Date.now()) },
        true,
      );
    } catch (error) {
      this.monitors.delete(monitor.id);
      throw error;
    }
    return monitor;
  }

  /** @internal see {@link Monitor.changeConditions}. */
  async changeMonitorConditions(monitor: Monitor, conditions: { [table: string]: readonly Condition[] }, options: CallOptions): Promise<void> {
    checkOptionKeys(options, ['timeoutMs', 'signal'], 'monitor_cond_change');
    if (monitor.canceled) throw new DpdkError(`monitor_cond_change: monitor ${monitor.id} is canceled`, { code: 'ERR_CLOSED', operation: 'monitor_cond_change' });
    if (monitor.method === 'monitor') {
      throw new DpdkError('monitor_cond_change: the server accepted only a plain monitor, whose conditions cannot change', {
        code: 'ENOTSUP',
        operation: 'monitor_cond_change',
      });
    }
    const schema = monitor.replica.schema;
    const change: { [table: string]: JsonValue } = {};
    for (const [table, where] of Object.entries(conditions)) {
      if (monitor.requests[table] === undefined) {
        throw new DpdkError(`monitor_cond_change: table "${table}" is not monitored by ${monitor.id} (monitored: ${Object.keys(monitor.requests).join(', ')})`, {
          code: 'EINVAL',
          operation: 'monitor_cond_change',
        });
      }
      change[table] = [{ where: encodeWhere(tableSchema(schema, table, 'monitor_cond_change'), where, 'monitor_cond_change') }];
    }
    await this.call('monitor_cond_change', [monitor.id, monitor.id, change], options);
    for (const [table, where] of Object.entries(conditions)) monitor.requests[table] = { ...monitor.requests[table], where: [...where] };
  }

  /** @internal see {@link Monitor.cancel}. */
  async cancelMonitor(monitor: Monitor, options: CallOptions): Promise<void> {
    checkOptionKeys(options, ['timeoutMs', 'signal'], 'monitor_cancel');
    if (monitor.canceled) return;
    monitor.canceled = true;
    this.monitors.delete(monitor.id);
    if (this.state === 'closed') return;
    await this.call('monitor_cancel', [monitor.id], options);
  }

  /**
   * Asks for the lock `name` (`lock`). Resolves true when granted now; otherwise the
   * `locked` event tells when it is. Locks are asked for again after a reconnect.
   */
  async lock(name: string, options: CallOptions = {}): Promise<boolean> {
    return this.lockCall('lock', name, options);
  }

  /** Takes the lock `name` from its holder (`steal`), who gets a `stolen` notification. */
  async steal(name: string, options: CallOptions = {}): Promise<boolean> {
    return this.lockCall('steal', name, options);
  }

  /** Releases (or stops waiting for) the lock `name` (`unlock`). */
  async unlock(name: string, options: CallOptions = {}): Promise<void> {
    checkName(name, 'lock', 'unlock');
    this.locks.delete(name);
    await this.call('unlock', [name], options);
  }

  /** Whether this client holds the lock `name`. */
  holdsLock(name: string): boolean {
    return this.locks.get(name) === true;
  }

  /** Sends an `echo` and resolves with what the server echoed. */
  async echo(payload: JsonValue[] = [], options: CallOptions = {}): Promise<JsonValue[]> {
    if (!Array.isArray(payload)) {
      throw new DpdkError(`echo: the payload must be an array of JSON values, got ${typeof payload}`, { code: 'EINVAL', operation: 'echo' });
    }
    const result = await this.call('echo', payload, options);
    if (!Array.isArray(result)) throw this.protocolFailure('echo', 'the result is not an array');
    return result;
  }

  /** The server's id (`get_server_id`): a UUID that changes when the server restarts. */
  async getServerId(options: CallOptions = {}): Promise<string> {
    const result = await this.call('get_server_id', [], options);
    if (typeof result !== 'string') throw this.protocolFailure('get_server_id', 'the result is not a string');
    return result;
  }

  /**
   * Tells the server whether this client copes with databases being added, removed or
   * converted (`set_db_change_aware`): then monitors of a changed database are canceled
   * (`canceled` event of {@link Monitor}) rather than the connection closed. Restored
   * after a reconnect.
   */
  async setDbChangeAware(aware = true, options: CallOptions = {}): Promise<void> {
    if (typeof aware !== 'boolean') {
      throw new DpdkError(`set_db_change_aware: expected a boolean, got ${String(aware)}`, { code: 'EINVAL', operation: 'set_db_change_aware' });
    }
    await this.call('set_db_change_aware', [aware], options);
    this.dbChangeAware = aware;
  }

  /** Closes the client: pending calls fail with `ERR_CLOSED`, no reconnection. Safe to call twice. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.probeTimer);
    clearTimeout(this.reconnectTimer);
    this.connection.close();
    for (const wake of this.readyWaiters) wake();
    this.emit('closed');
  }

  /** Drops the current connection as if it had failed, to exercise reconnection (tests, debugging). */
  dropConnection(): void {
    this.connection.fail(
      new DpdkError(`connection to ${this.target} dropped on request`, { code: 'ECONNRESET', operation: 'dropConnection', object: this.target }),
    );
  }

  private async lockCall(method: 'lock' | 'steal', name: string, options: CallOptions): Promise<boolean> {
    checkName(name, 'lock', method);
    this.locks.set(name, this.locks.get(name) ?? false);
    const result = await this.call(method, [name], options);
    const locked = typeof result === 'object' && result !== null && !Array.isArray(result) && result['locked'] === true;
    if (this.locks.has(name)) this.locks.set(name, locked || this.locks.get(name) === true);
    return locked;
  }

  private protocolFailure(operation: string, message: string): DpdkError {
    return new DpdkError(`${operation}: bad reply from ${this.target}: ${message}`, { code: 'EPROTO', operation, object: this.target });
  }

  /** Waits (within the call's deadline) for a ready connection, then sends the request. */
  private async call(method: string, params: JsonValue[], options: CallOptions): Promise<JsonValue> {
    checkOptionKeys(options, ['timeoutMs', 'signal'], method);
    checkTimeout(options.timeoutMs, method);
    const deadline = Date.now() + (options.timeoutMs ?? this.defaultTimeoutMs);
    await this.waitReady(method, deadline, options.signal);
    return this.connection.request(method, params, {
      timeoutMs: Math.max(1, deadline - Date.now()),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  private waitReady(method: string, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.readyWaiters.delete(finish);
        if (this.state === 'ready') resolve();
        else if (this.state === 'closed') reject(new DpdkError(`${method}: the client is closed`, { code: 'ERR_CLOSED', operation: method, object: this.target }));
        else if (signal?.aborted === true) reject(new DpdkError(`${method} was aborted`, { code: 'ECANCELED', operation: method, object: this.target }));
        else reject(new DpdkError(`${method}: not reconnected to ${this.target} in time`, { code: 'ETIMEDOUT', operation: method, object: this.target }));
      };
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      this.readyWaiters.add(finish);
      signal?.addEventListener('abort', finish, { once: true });
      if (signal?.aborted === true || this.state === 'closed') finish();
    });
  }

  private attach(connection: JsonRpcConnection): void {
    connection.on('notification', (method, params) => this.onNotification(method, params));
    connection.on('protocolError', (error) => this.emit('protocolError', error));
    connection.on('abandoned', (id, method) => {
      if (method === 'transact' && !connection.isClosed) connection.notify('cancel', [id]);
    });
    connection.on('close', (error) => {
      if (error !== undefined && connection === this.connection) this.onDrop(error);
    });
  }

  private startProbe(): void {
    const interval = this.options.probeIntervalMs ?? 5000;
    if (interval === 0) return;
    let probing = false;
    this.probeTimer = setInterval(() => {
      const connection = this.connection;
      if (this.state !== 'ready' || probing || connection.isClosed || Date.now() - connection.lastReceiveMs < interval) return;
      probing = true;
      connection
        .request('echo', ['probe'], { timeoutMs: interval })
        .catch((error: DpdkError) => {
          if (error.code === 'ETIMEDOUT') {
            connection.fail(
              new DpdkError(`no reply to the inactivity probe from ${this.target} within ${interval} ms`, {
                code: 'ETIMEDOUT',
                operation: 'echo',
                object: this.target,
              }),
            );
          }
        })
        .finally(() => {
          probing = false;
        });
    }, Math.max(50, Math.floor(interval / 2)));
    this.probeTimer.unref();
  }

  private onDrop(error: DpdkError): void {
    // While reconnecting, a failure of the new connection fails reconnect(), which retries.
    if (this.state !== 'ready') return;
    this.emit('disconnected', error);
    if (this.options.reconnect === false) {
      this.close();
      return;
    }
    this.state = 'reconnecting';
    const backoff = typeof this.options.reconnect === 'object' ? this.options.reconnect : {};
    this.scheduleReconnect(backoff.initialDelayMs ?? 100, backoff.maxDelayMs ?? 8000);
  }

  private scheduleReconnect(delayMs: number, maxDelayMs: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.reconnect().then(
        () => {
          if (this.state === 'closed') return;
          if (this.connection.isClosed) {
            // Dropped again after the resync but before becoming ready: onDrop ignored it.
            this.scheduleReconnect(delayMs, maxDelayMs);
            return;
          }
          this.state = 'ready';
          for (const wake of this.readyWaiters) wake();
          this.emit('reconnected');
        },
        (error: DpdkError) => {
          if (this.state === 'closed') return;
          const next = Math.min(delayMs * 2, maxDelayMs);
          this.emit('reconnectFailed', error, next);
          this.scheduleReconnect(next, maxDelayMs);
        },
      );
    }, delayMs);
  }

  /** Opens a new connection and restores what the old one had: change awareness, monitors, locks. */
  private async reconnect(): Promise<void> {
    const connection = await JsonRpcConnection.open(this.target, OvsdbClient.connectionOptions(this.options, undefined));
    if (this.state === 'closed') {
      connection.close();
      return;
    }
    this.connection = connection;
    this.attach(connection);
    const timeoutMs = this.defaultTimeoutMs;
    try {
      if (this.dbChangeAware) await connection.request('set_db_change_aware', [true], { timeoutMs });
      const refreshed = new Map<string, DatabaseSchema>();
      for (const monitor of this.monitors.values()) {
        let schema = refreshed.get(monitor.db);
        if (schema === undefined) {
          schema = parseSchema(await connection.request('get_schema', [monitor.db], { timeoutMs }));
          refreshed.set(monitor.db, schema);
          this.schemas.set(monitor.db, schema);
        }
        monitor.replica.schema = schema;
        try {
          await this.startMonitor(monitor, connection, { timeoutMs }, false);
        } catch (error) {
          if (connection.isClosed) throw error;
          this.monitors.delete(monitor.id);
          monitor.canceled = true;
          monitor.emit('lost', error as DpdkError);
        }
      }
      for (const name of this.locks.keys()) {
        this.locks.set(name, false);
        const result = await connection.request('lock', [name], { timeoutMs });
        if (typeof result === 'object' && result !== null && !Array.isArray(result) && result['locked'] === true) {
          this.locks.set(name, true);
          this.emit('locked', name);
        }
      }
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /**
   * Sends the monitor request, with the newest method the server accepts, and applies the
   * initial contents: for a resync with `monitor_cond_since`, only the changes missed when
   * the server still knows `replica.lastTxnId`, else the whole contents replace the replica.
   */
  private async startMonitor(monitor: Monitor, connection: JsonRpcConnection, options: CallOptions, first: boolean): Promise<void> {
    const schema = monitor.replica.schema;
    const tables = Object.keys(monitor.requests);
    for (let index = METHOD_ORDER.indexOf(monitor.method); index >= 0; index--) {
      const method = METHOD_ORDER[index]!;
      const conditional = method !== 'monitor';
      if (!conditional && Object.values(monitor.requests).some((request) => request.where !== undefined)) {
        throw new DpdkError('monitor: the server supports neither monitor_cond nor monitor_cond_since, so "where" conditions cannot be used', {
          code: 'ENOTSUP',
          operation: 'monitor',
          object: monitor.db,
        });
      }
      const encoded: { [table: string]: JsonValue } = {};
      for (const [table, request] of Object.entries(monitor.requests)) {
        encoded[table] = [encodeMonitorRequest(tableSchema(schema, table, method), request, conditional, method)];
      }
      const params: JsonValue[] = [monitor.db, monitor.id, encoded];
      if (method === 'monitor_cond_since') params.push(monitor.replica.lastTxnId ?? ZERO_UUID);
      monitor.queued = [];
      let result: JsonValue;
      try {
        result = await connection.request(method, params, options);
      } catch (error) {
        monitor.queued = undefined;
        if (error instanceof DpdkError && error.code === 'ERR_OVSDB' && (error.cause as OvsdbErrorInfo).error === 'unknown method' && index > 0) continue;
        throw error;
      }
      monitor.method = method;
      if (method === 'monitor_cond_since') {
        if (!Array.isArray(result) || result.length !== 3 || typeof result[0] !== 'boolean' || typeof result[1] !== 'string') {
          throw this.protocolFailure(method, 'the result is not [found, last-txn-id, updates]');
        }
        const [found, lastTxnId, updates] = result;
        if (found && !first) monitor.replica.applyUpdate2(updates!);
        else monitor.replica.replace(updates!, 2, tables);
        monitor.replica.lastTxnId = lastTxnId;
        if (!first) monitor.emit('resynced', found ? 'changes' : 'full');
      } else {
        monitor.replica.lastTxnId = undefined;
        monitor.replica.replace(result, conditional ? 2 : 1, tables);
        if (!first) monitor.emit('resynced', 'full');
      }
      const queued = monitor.queued;
      monitor.queued = undefined;
      for (const [queuedMethod, queuedParams] of queued) this.applyMonitorUpdate(monitor, queuedMethod, queuedParams);
      return;
    }
  }

  private onNotification(method: string, params: JsonValue[]): void {
    switch (method) {
      case 'update':
      case 'update2':
      case 'update3': {
        const monitor = typeof params[0] === 'string' ? this.monitors.get(params[0]) : undefined;
        if (monitor === undefined) {
          this.emit('protocolError', this.protocolFailure(method, `an update for unknown monitor ${String(params[0])}`));
          return;
        }
        if (monitor.queued !== undefined) monitor.queued.push([method, params]);
        else this.applyMonitorUpdate(monitor, method, params);
        return;
      }
      case 'locked':
      case 'stolen': {
        const name = params[0];
        if (typeof name !== 'string' || !this.locks.has(name)) return;
        this.locks.set(name, method === 'locked');
        this.emit(method, name);
        return;
      }
      case 'monitor_canceled': {
        const monitor = typeof params[0] === 'string' ? this.monitors.get(params[0]) : undefined;
        if (monitor === undefined) return;
        monitor.canceled = true;
        this.monitors.delete(monitor.id);
        this.schemas.delete(monitor.db);
        monitor.emit('canceled');
        return;
      }
      default:
        this.emit('notification', method, params);
    }
  }

  private applyMonitorUpdate(monitor: Monitor, method: string, params: JsonValue[]): void {
    try {
      if (method === 'update') monitor.replica.applyUpdate(params[1] ?? null);
      else if (method === 'update2') monitor.replica.applyUpdate2(params[1] ?? null);
      else {
        if (typeof params[1] === 'string' && isUuid(params[1])) monitor.replica.lastTxnId = params[1];
        monitor.replica.applyUpdate2(params[2] ?? null);
      }
    } catch (error) {
      this.emit('protocolError', error as DpdkError);
    }
  }
}

function checkName(name: unknown, what: string, operation: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new DpdkError(`${operation}: the ${what} name must be a non-empty string, got ${JSON.stringify(name) ?? String(name)}`, {
      code: 'EINVAL',
      operation,
    });
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
    `transact: the connection dropped with the transaction in flight; it may or may not have been committed (${error.message})`,
    { code: 'ERR_OUTCOME_UNKNOWN', operation: 'transact', object: db, cause: error },
  );
}

function copyRequests(requests: { [table: string]: MonitorTableRequest }): { [table: string]: MonitorTableRequest } {
  return Object.fromEntries(Object.entries(requests).map(([table, request]) => [table, { ...request }]));
}

function checkMonitorRequests(schema: DatabaseSchema, requests: { [table: string]: MonitorTableRequest }): void {
  if (typeof requests !== 'object' || requests === null || Object.keys(requests).length === 0) {
    throw new DpdkError('monitor: requests must be an object naming at least one table', { code: 'EINVAL', operation: 'monitor', object: schema.name });
  }
  for (const [table, request] of Object.entries(requests)) {
    const tableInfo = tableSchema(schema, table, 'monitor');
    checkOptionKeys(request, ['columns', 'where', 'select'], `monitor ${table}`);
    if (request.select !== undefined) checkOptionKeys(request.select, ['initial', 'insert', 'delete', 'modify'], `monitor ${table} select`);
    encodeMonitorRequest(tableInfo, request, true, 'monitor');
  }
}

function encodeMonitorRequest(table: TableSchema, request: MonitorTableRequest, conditional: boolean, operation: string): JsonValue {
  const json: { [key: string]: JsonValue } = {};
  if (request.columns !== undefined) {
    json['columns'] = request.columns.map((column) => {
      columnSchema(table, column, operation);
      return column;
    });
  }
  if (request.select !== undefined) json['select'] = { ...request.select };
  if (conditional && request.where !== undefined) json['where'] = encodeWhere(table, request.where, operation);
  return json;
}

function checkOperationKeys(operation: Operation, index: number, keys: readonly string[]): void {
  checkOptionKeys(operation, ['op', ...keys], `transact operation ${index} (${operation.op})`);
}

function encodeOperation(schema: DatabaseSchema, operation: Operation, index: number): JsonValue {
  if (typeof operation !== 'object' || operation === null) {
    throw new DpdkError(`transact: operation ${index} is not an object`, { code: 'EINVAL', operation: 'transact' });
  }
  const name = `transact operation ${index} (${operation.op})`;
  const table = (): TableSchema => tableSchema(schema, (operation as { table: string }).table, name);
  switch (operation.op) {
    case 'insert': {
      checkOperationKeys(operation, index, ['table', 'row', 'uuidName', 'uuid']);
      const json: { [key: string]: JsonValue } = { op: 'insert', table: operation.table, row: encodeRow(table(), operation.row ?? {}, name) };
      if (operation.uuidName !== undefined) json['uuid-name'] = operation.uuidName;
      if (operation.uuid !== undefined) {
        if (!isUuid(operation.uuid)) throw new DpdkError(`${name}: uuid ${JSON.stringify(operation.uuid)} is not a UUID`, { code: 'EINVAL', operation: name });
        json['uuid'] = operation.uuid;
      }
      return json;
    }
    case 'select': {
      checkOperationKeys(operation, index, ['table', 'where', 'columns']);
      const t = table();
      const json: { [key: string]: JsonValue } = { op: 'select', table: operation.table, where: encodeWhere(t, operation.where, name) };
      if (operation.columns !== undefined) json['columns'] = operation.columns.map((c) => columnSchema(t, c, name).name);
      return json;
    }
    case 'update': {
      checkOperationKeys(operation, index, ['table', 'where', 'row']);
      const t = table();
      return { op: 'update', table: operation.table, where: encodeWhere(t, operation.where, name), row: encodeRow(t, operation.row, name) };
    }
    case 'mutate': {
      checkOperationKeys(operation, index, ['table', 'where', 'mutations']);
      const t = table();
      return {
        op: 'mutate',
        table: operation.table,
        where: encodeWhere(t, operation.where, name),
        mutations: encodeMutations(t, operation.mutations, name),
      };
    }
    case 'delete': {
      checkOperationKeys(operation, index, ['table', 'where']);
      return { op: 'delete', table: operation.table, where: encodeWhere(table(), operation.where, name) };
    }
    case 'wait': {
      checkOperationKeys(operation, index, ['table', 'where', 'columns', 'until', 'rows', 'timeout']);
      const t = table();
      if (operation.until !== '==' && operation.until !== '!=') {
        throw new DpdkError(`${name}: until must be "==" or "!=", got ${JSON.stringify(operation.until)}`, { code: 'EINVAL', operation: name });
      }
      if (!Array.isArray(operation.rows)) throw new DpdkError(`${name}: rows must be an array of rows`, { code: 'EINVAL', operation: name });
      const columns = operation.columns ?? [...new Set(operation.rows.flatMap((row) => Object.keys(row)))];
      const json: { [key: string]: JsonValue } = {
        op: 'wait',
        table: operation.table,
        where: encodeWhere(t, operation.where, name),
        columns: columns.map((c) => columnSchema(t, c, name).name),
        until: operation.until,
        rows: operation.rows.map((row) => encodeRow(t, row, name)),
      };
      if (operation.timeout !== undefined) {
        if (!Number.isSafeInteger(operation.timeout) || operation.timeout < 0) {
          throw new DpdkError(`${name}: timeout must be an integer number of milliseconds >= 0, got ${String(operation.timeout)}`, { code: 'EINVAL', operation: name });
        }
        json['timeout'] = operation.timeout;
      }
      return json;
    }
    case 'commit':
      checkOperationKeys(operation, index, ['durable']);
      if (typeof operation.durable !== 'boolean') {
        throw new DpdkError(`${name}: durable must be a boolean, got ${String(operation.durable)}`, { code: 'EINVAL', operation: name });
      }
      return { op: 'commit', durable: operation.durable };
    case 'abort':
      checkOperationKeys(operation, index, []);
      return { op: 'abort' };
    case 'comment':
      checkOperationKeys(operation, index, ['comment']);
      if (typeof operation.comment !== 'string') {
        throw new DpdkError(`${name}: comment must be a string`, { code: 'EINVAL', operation: name });
      }
      return { op: 'comment', comment: operation.comment };
    case 'assert':
      checkOperationKeys(operation, index, ['lock']);
      checkName(operation.lock, 'lock', name);
      return { op: 'assert', lock: operation.lock };
    default:
      throw new DpdkError(
        `transact: operation ${index} has unknown op ${JSON.stringify((operation as { op: unknown }).op)} (expected insert, select, update, mutate, delete, wait, commit, abort, comment, assert)`,
        { code: 'EINVAL', operation: 'transact' },
      );
  }
}

function decodeResult(schema: DatabaseSchema, operation: Operation, json: JsonValue): unknown {
  const result = typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {};
  switch (operation.op) {
    case 'insert': {
      const uuid = result['uuid'];
      if (!Array.isArray(uuid) || uuid[0] !== 'uuid' || !isUuid(uuid[1])) {
        throw new DpdkError('transact: the server sent an insert result without a uuid', { code: 'EPROTO', operation: 'transact' });
      }
      return { uuid: uuid[1] };
    }
    case 'select': {
      const table = tableSchema(schema, operation.table, 'transact');
      const rows = result['rows'];
      if (!Array.isArray(rows)) throw new DpdkError('transact: the server sent a select result without rows', { code: 'EPROTO', operation: 'transact' });
      return { rows: rows.map((row) => decodeRow(table, row)) };
    }
    case 'update':
    case 'mutate':
    case 'delete': {
      const count = result['count'];
      if (typeof count !== 'number') throw new DpdkError(`transact: the server sent a ${operation.op} result without a count`, { code: 'EPROTO', operation: 'transact' });
      return { count };
    }
    default:
      return {};
  }
}
