/**
 * OVSDB monitors: what a monitor asks of each table, the {@link Monitor} handle that
 * {@link OvsdbClient.monitor} returns, the checking and encoding of monitor requests, and
 * the monitor side of the client: starting a monitor on a connection and applying updates.
 */
import { EventEmitter } from 'node:events';
import { DpdkError, invalidArgument } from '../../errors.js';
import { checkOptions, describe } from '../../validate.js';
import type { OvsdbClient } from './client.js';
import type { CallOptions, JsonRpcConnection, OvsdbErrorInfo } from './connection.js';
import { encodeWhere, isUuid, type Condition } from './data.js';
import { isJsonObject, type JsonValue } from './json-stream.js';
import type { Replica } from './replica.js';
import { columnSchema, tableSchema, type DatabaseSchema, type TableSchema } from './schema.js';

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

/** @internal The monitor methods, oldest first: the order in which to fall back. */
export const monitorMethods: readonly MonitorMethod[] = ['monitor', 'monitor_cond', 'monitor_cond_since'];

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
  readonly #client: OvsdbClient;

  // Private rather than internal: stripping the constructor would leave `new Monitor()` open in the .d.ts.
  private constructor(
    client: OvsdbClient,
    db: string,
    id: string,
    replica: Replica,
    requests: { [table: string]: MonitorTableRequest },
    method: MonitorMethod,
  ) {
    super();
    this.#client = client;
    this.db = db;
    this.id = id;
    this.replica = replica;
    // A copy: changeConditions updates it, and the caller's object stays as it was.
    this.requests = Object.fromEntries(Object.entries(requests).map(([table, request]) => [table, { ...request }]));
    this.method = method;
  }

  /** @internal A monitor not yet started: use {@link OvsdbClient.monitor}. */
  static create(
    client: OvsdbClient,
    db: string,
    id: string,
    replica: Replica,
    requests: { [table: string]: MonitorTableRequest },
    method: MonitorMethod,
  ): Monitor {
    return new Monitor(client, db, id, replica, requests, method);
  }

  /**
   * Replaces the `where` conditions of some tables (`monitor_cond_change`); the replica
   * then gains and loses rows accordingly.
   * @throws DpdkError `ENOTSUP` when the monitor is a plain `monitor`, `EINVAL` for bad conditions.
   */
  async changeConditions(
    conditions: { [table: string]: readonly Condition[] },
    options: CallOptions = {},
  ): Promise<void> {
    return this.#client.changeMonitorConditions(this, conditions, options);
  }

  /** Cancels the monitor (`monitor_cancel`); the replica keeps its last rows. Safe to call twice. */
  async cancel(options: CallOptions = {}): Promise<void> {
    return this.#client.cancelMonitor(this, options);
  }
}

const tableRequestKeys: readonly (keyof MonitorTableRequest)[] = ['columns', 'where', 'select'];
const selectKeys: readonly (keyof NonNullable<MonitorTableRequest['select']>)[] = [
  'initial',
  'insert',
  'delete',
  'modify',
];

/**
 * @internal Checks monitor requests against the schema before anything is sent.
 * @throws DpdkError `EINVAL` for no table, unknown tables, columns or options, bad conditions.
 */
export function checkMonitorRequests(schema: DatabaseSchema, requests: { [table: string]: MonitorTableRequest }): void {
  if (!isJsonObject(requests) || Object.keys(requests).length === 0) {
    invalidArgument(
      'monitor',
      `requests must be an object naming at least one table, got ${describe(requests)}`,
      schema.name,
    );
  }
  for (const [table, request] of Object.entries(requests)) {
    const tableInfo = tableSchema(schema, table, 'monitor');
    checkOptions<MonitorTableRequest>(`monitor ${table}`, request, tableRequestKeys);
    if (request.select !== undefined) checkOptions(`monitor ${table} select`, request.select, selectKeys);
    encodeMonitorRequest(tableInfo, request, true, 'monitor');
  }
}

/** @internal The JSON `monitor-request` of one table; `where` only for the conditional methods. */
export function encodeMonitorRequest(
  table: TableSchema,
  request: MonitorTableRequest,
  conditional: boolean,
  operation: string,
): JsonValue {
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

/** `last-txn-id` of a first `monitor_cond_since`: no transaction seen yet. */
const zeroUuid = '00000000-0000-0000-0000-000000000000';

/**
 * @internal Sends the monitor request on `connection`, with the newest method the server
 * accepts, and applies the initial contents: for a resync (`first` false) with
 * `monitor_cond_since`, only the changes missed when the server still knows
 * `replica.lastTxnId`, else the whole contents replace the replica. Updates that arrive
 * meanwhile are queued, then applied; those that fail go to `onProtocolError`.
 */
export async function startMonitor(
  monitor: Monitor,
  connection: JsonRpcConnection,
  options: CallOptions,
  first: boolean,
  onProtocolError: (error: DpdkError) => void,
): Promise<void> {
  const schema = monitor.replica.schema;
  const tables = Object.keys(monitor.requests);
  for (let index = monitorMethods.indexOf(monitor.method); index >= 0; index--) {
    const method = monitorMethods[index]!;
    const conditional = method !== 'monitor';
    if (!conditional && Object.values(monitor.requests).some((request) => request.where !== undefined)) {
      throw new DpdkError(
        'the server supports neither monitor_cond nor monitor_cond_since, so "where" conditions cannot be used',
        {
          code: 'ENOTSUP',
          operation: 'monitor',
          object: monitor.db,
        },
      );
    }
    const encoded: { [table: string]: JsonValue } = {};
    for (const [table, request] of Object.entries(monitor.requests)) {
      encoded[table] = [encodeMonitorRequest(tableSchema(schema, table, method), request, conditional, method)];
    }
    const params: JsonValue[] = [monitor.db, monitor.id, encoded];
    if (method === 'monitor_cond_since') params.push(monitor.replica.lastTxnId ?? zeroUuid);
    monitor.queued = [];
    let result: JsonValue;
    try {
      result = await connection.request(method, params, options);
    } catch (error) {
      monitor.queued = undefined;
      if (
        error instanceof DpdkError &&
        error.code === 'ERR_OVSDB' &&
        (error.cause as OvsdbErrorInfo).error === 'unknown method' &&
        index > 0
      )
        continue;
      throw error;
    }
    monitor.method = method;
    if (method === 'monitor_cond_since') {
      if (
        !Array.isArray(result) ||
        result.length !== 3 ||
        typeof result[0] !== 'boolean' ||
        typeof result[1] !== 'string'
      ) {
        throw new DpdkError(`bad reply from ${connection.target}: the result is not [found, last-txn-id, updates]`, {
          code: 'EPROTO',
          operation: method,
          object: connection.target,
        });
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
    for (const [queuedMethod, queuedParams] of queued)
      applyMonitorUpdate(monitor, queuedMethod, queuedParams, onProtocolError);
    return;
  }
}

/**
 * @internal Handles an `update`, `update2` or `update3` notification for `monitor`: queued
 * while its initial contents are on the way, else applied to its replica.
 */
export function deliverMonitorUpdate(
  monitor: Monitor,
  method: string,
  params: JsonValue[],
  onProtocolError: (error: DpdkError) => void,
): void {
  if (monitor.queued !== undefined) monitor.queued.push([method, params]);
  else applyMonitorUpdate(monitor, method, params, onProtocolError);
}

function applyMonitorUpdate(
  monitor: Monitor,
  method: string,
  params: JsonValue[],
  onProtocolError: (error: DpdkError) => void,
): void {
  try {
    if (method === 'update') monitor.replica.applyUpdate(params[1] ?? null);
    else if (method === 'update2') monitor.replica.applyUpdate2(params[1] ?? null);
    else {
      if (typeof params[1] === 'string' && isUuid(params[1])) monitor.replica.lastTxnId = params[1];
      monitor.replica.applyUpdate2(params[2] ?? null);
    }
  } catch (error) {
    onProtocolError(error as DpdkError);
  }
}
