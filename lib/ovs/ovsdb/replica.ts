/**
 * {@link Replica}: the local copy of monitored tables, with the appliers of the monitor
 * updates (`update`, `update2`, `update3`) and the changes they make.
 */
import { EventEmitter, on } from 'node:events';
import { DpdkError } from '../../errors.js';
import { applyColumnDiff, decodeRow, type Row } from './data.js';
import { isJsonObject, type JsonValue } from './json-stream.js';
import { tableSchema, type DatabaseSchema, type TableSchema } from './schema.js';

/** One row change seen by a monitor. */
export interface RowChange {
  /** The table of the row. */
  table: string;
  /** The row's `_uuid`. */
  uuid: string;
  /** `insert` (also for initial contents), `modify` or `delete`. */
  kind: 'insert' | 'modify' | 'delete';
  /** The row before the change (monitored columns); absent for `insert`. */
  old?: Readonly<Row>;
  /** The row after the change (monitored columns); absent for `delete`. */
  new?: Readonly<Row>;
}

/** Events of a {@link Replica}. */
export interface ReplicaEvents {
  /** A batch of changes applied together (one update notification, or a resync). */
  change: [changes: RowChange[]];
}

type Tables = Map<string, Map<string, Row>>;

function protocolError(message: string): DpdkError {
  return new DpdkError(`bad monitor update: ${message}`, { code: 'EPROTO', operation: 'monitor' });
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [key, value] of a) if (!b.has(key) || b.get(key) !== value) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((element) => b.includes(element));
  }
  return a === b;
}

function sameRow(a: Row, b: Row): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => sameValue(a[key], b[key]));
}

/**
 * A local copy of some tables of a database, kept up to date by a {@link Monitor}.
 * Rows are plain objects (column to {@link Value}) that include `_uuid`; they are
 * replaced, never mutated, so a row object read once stays as it was.
 */
export class Replica extends EventEmitter<ReplicaEvents> {
  /** The schema the rows are decoded with. */
  schema: DatabaseSchema;
  /**
   * The id of the last transaction seen (from `update3` or `monitor_cond_since`), used to
   * resynchronize after a reconnect; undefined until a server sends one.
   */
  lastTxnId: string | undefined;
  #tables: Tables = new Map();

  /** @param schema the database schema, from {@link OvsdbClient.getSchema}. */
  constructor(schema: DatabaseSchema) {
    super();
    this.schema = schema;
  }

  /** The rows of `table` by uuid (empty when the table is not monitored). */
  table(name: string): ReadonlyMap<string, Readonly<Row>> {
    tableSchema(this.schema, name, 'Replica.table');
    return this.#tables.get(name) ?? new Map();
  }

  /** The rows of `table`, in no particular order. */
  rows(name: string): Readonly<Row>[] {
    return [...this.table(name).values()];
  }

  /** The row `uuid` of `table`, or undefined. */
  get(table: string, uuid: string): Readonly<Row> | undefined {
    return this.table(table).get(uuid);
  }

  /** The first row of `table` for which `predicate` holds, or undefined. */
  find(table: string, predicate: (row: Readonly<Row>) => boolean): Readonly<Row> | undefined {
    for (const row of this.table(table).values()) if (predicate(row)) return row;
    return undefined;
  }

  /**
   * The changes as an async iterator of batches, until `signal` aborts (then it throws
   * the abort reason, as `events.on` does). Batches arriving while the consumer is busy
   * are queued.
   */
  async *changes(signal?: AbortSignal): AsyncGenerator<RowChange[]> {
    for await (const [batch] of on(this, 'change', signal === undefined ? {} : { signal })) {
      yield batch as RowChange[];
    }
  }

  /** Makes sure the monitored tables exist, even when they hold no row yet. */
  track(tables: Iterable<string>): void {
    for (const name of tables) if (!this.#tables.has(name)) this.#tables.set(name, new Map());
  }

  /**
   * Applies `table-updates` of the `monitor` method (each row `{old, new}`), emitting the
   * changes. @throws DpdkError `EPROTO` on a malformed update.
   */
  applyUpdate(json: JsonValue): RowChange[] {
    return this.#emitChanges(this.#applyTo(this.#tables, json, 1));
  }

  /**
   * Applies `table-updates2` of `monitor_cond`/`monitor_cond_since` (each row `initial`,
   * `insert`, `modify` with a diff, or `delete`), emitting the changes.
   * @throws DpdkError `EPROTO` on a malformed update.
   */
  applyUpdate2(json: JsonValue): RowChange[] {
    return this.#emitChanges(this.#applyTo(this.#tables, json, 2));
  }

  /**
   * Replaces the whole contents with the initial contents `json` (of version 1 or 2 of
   * table-updates), emitting the differences as changes: after a resync that could not
   * send only the changes.
   */
  replace(json: JsonValue, version: 1 | 2, tables: Iterable<string>): RowChange[] {
    const fresh: Tables = new Map();
    for (const name of [...tables, ...this.#tables.keys()]) fresh.set(name, new Map());
    this.#applyTo(fresh, json, version);
    const changes: RowChange[] = [];
    for (const [name, rows] of fresh) {
      const oldRows = this.#tables.get(name) ?? new Map<string, Row>();
      for (const [uuid, row] of rows) {
        const old = oldRows.get(uuid);
        if (old === undefined) changes.push({ table: name, uuid, kind: 'insert', new: row });
        else if (!sameRow(old, row)) changes.push({ table: name, uuid, kind: 'modify', old, new: row });
        else rows.set(uuid, old);
      }
      for (const [uuid, old] of oldRows) {
        if (!rows.has(uuid)) changes.push({ table: name, uuid, kind: 'delete', old });
      }
    }
    this.#tables = fresh;
    return this.#emitChanges(changes);
  }

  /** Forgets every row (without events): for a monitor that is canceled. */
  clear(): void {
    this.#tables = new Map();
  }

  #emitChanges(changes: RowChange[]): RowChange[] {
    if (changes.length > 0) this.emit('change', changes);
    return changes;
  }

  #applyTo(tables: Tables, json: JsonValue, version: 1 | 2): RowChange[] {
    if (!isJsonObject(json)) throw protocolError('table-updates is not an object');
    const changes: RowChange[] = [];
    for (const [name, rowUpdates] of Object.entries(json)) {
      const table = this.schema.tables.get(name);
      if (table === undefined) throw protocolError(`unknown table "${name}"`);
      if (!isJsonObject(rowUpdates)) throw protocolError(`updates of table ${name} are not an object`);
      let rows = tables.get(name);
      if (rows === undefined) {
        rows = new Map();
        tables.set(name, rows);
      }
      for (const [uuid, update] of Object.entries(rowUpdates)) {
        if (!isJsonObject(update)) throw protocolError(`update of row ${name} ${uuid} is not an object`);
        const change =
          version === 1 ? this.#applyRow1(table, rows, uuid, update) : this.#applyRow2(table, rows, uuid, update);
        if (change !== undefined) changes.push(change);
      }
    }
    return changes;
  }

  #applyRow1(
    table: TableSchema,
    rows: Map<string, Row>,
    uuid: string,
    update: { [key: string]: JsonValue },
  ): RowChange | undefined {
    const old = rows.get(uuid);
    if (update['new'] === undefined || update['new'] === null) {
      return remove(table, rows, uuid, old);
    }
    return store(table, rows, uuid, old, { ...old, ...decodeRow(table, update['new']), _uuid: uuid });
  }

  #applyRow2(
    table: TableSchema,
    rows: Map<string, Row>,
    uuid: string,
    update: { [key: string]: JsonValue },
  ): RowChange | undefined {
    const old = rows.get(uuid);
    const inserted = update['initial'] ?? update['insert'];
    if (inserted !== undefined) {
      return store(table, rows, uuid, old, { ...decodeRow(table, inserted), _uuid: uuid });
    }
    if ('delete' in update) {
      return remove(table, rows, uuid, old);
    }
    const diff = update['modify'];
    if (!isJsonObject(diff))
      throw protocolError(`update of row ${table.name} ${uuid} has no initial/insert/modify/delete`);
    if (old === undefined) throw protocolError(`"modify" of row ${table.name} ${uuid}, which is not in the replica`);
    const row: Row = { ...old };
    for (const [name, value] of Object.entries(diff)) {
      const column = table.columns.get(name);
      if (column !== undefined) row[name] = applyColumnDiff(column, old[name], value, `${table.name}.${name}`);
    }
    return store(table, rows, uuid, old, row);
  }
}

/** Stores `row` in place of `old` (undefined when the row is new) and describes the change. */
function store(table: TableSchema, rows: Map<string, Row>, uuid: string, old: Row | undefined, row: Row): RowChange {
  rows.set(uuid, row);
  return old === undefined
    ? { table: table.name, uuid, kind: 'insert', new: row }
    : { table: table.name, uuid, kind: 'modify', old, new: row };
}

/** Removes row `uuid` and describes the change; undefined when the replica did not have it. */
function remove(table: TableSchema, rows: Map<string, Row>, uuid: string, old: Row | undefined): RowChange | undefined {
  if (old === undefined) return undefined;
  rows.delete(uuid);
  return { table: table.name, uuid, kind: 'delete', old };
}
