/**
 * The operations of an OVSDB transaction (RFC 7047 section 5.2) as TypeScript types, their
 * results, and their codecs: each operation checked against the schema and encoded to
 * JSON, each result decoded.
 */
import { DpdkError, invalidArgument } from '../../errors.js';
import { checkBoolean, checkInteger, checkOptions, checkString, describe } from '../../validate.js';
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
import { isJsonObject, type JsonValue } from './json-stream.js';
import { columnSchema, tableSchema, type DatabaseSchema, type TableSchema } from './schema.js';

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

/** The keys each operation may have, beside `op`. */
const operationKeys: { readonly [Op in Operation['op']]: readonly string[] } = {
  insert: ['table', 'row', 'uuidName', 'uuid'],
  select: ['table', 'where', 'columns'],
  update: ['table', 'where', 'row'],
  mutate: ['table', 'where', 'mutations'],
  delete: ['table', 'where'],
  wait: ['table', 'where', 'columns', 'until', 'rows', 'timeout'],
  commit: ['durable'],
  abort: [],
  comment: ['comment'],
  assert: ['lock'],
};

/**
 * @internal Checks operation `index` of a transaction against the schema and encodes it.
 * @throws DpdkError `EINVAL` naming the operation, what is wrong and what is expected.
 */
export function encodeOperation(schema: DatabaseSchema, operation: Operation, index: number): JsonValue {
  if (!isJsonObject(operation as unknown))
    invalidArgument('transact', `operation ${index} must be an object, got ${describe(operation)}`);
  if (!Object.hasOwn(operationKeys, operation.op)) {
    invalidArgument(
      'transact',
      `operation ${index} has unknown op ${JSON.stringify((operation as { op: unknown }).op)} (expected ${Object.keys(operationKeys).join(', ')})`,
    );
  }
  const name = `transact operation ${index} (${operation.op})`;
  checkOptions<{ [key: string]: unknown }>(name, operation as unknown, ['op', ...operationKeys[operation.op]]);
  const table = (): TableSchema => tableSchema(schema, (operation as { table: string }).table, name);
  switch (operation.op) {
    case 'insert': {
      const json: { [key: string]: JsonValue } = {
        op: 'insert',
        table: operation.table,
        row: encodeRow(table(), operation.row ?? {}, name),
      };
      if (operation.uuidName !== undefined) json['uuid-name'] = operation.uuidName;
      if (operation.uuid !== undefined) {
        if (!isUuid(operation.uuid)) invalidArgument(name, `uuid must be a UUID, got ${describe(operation.uuid)}`);
        json['uuid'] = operation.uuid;
      }
      return json;
    }
    case 'select': {
      const t = table();
      const json: { [key: string]: JsonValue } = {
        op: 'select',
        table: operation.table,
        where: encodeWhere(t, operation.where, name),
      };
      if (operation.columns !== undefined)
        json['columns'] = operation.columns.map((c) => columnSchema(t, c, name).name);
      return json;
    }
    case 'update': {
      const t = table();
      return {
        op: 'update',
        table: operation.table,
        where: encodeWhere(t, operation.where, name),
        row: encodeRow(t, operation.row, name),
      };
    }
    case 'mutate': {
      const t = table();
      return {
        op: 'mutate',
        table: operation.table,
        where: encodeWhere(t, operation.where, name),
        mutations: encodeMutations(t, operation.mutations, name),
      };
    }
    case 'delete':
      return { op: 'delete', table: operation.table, where: encodeWhere(table(), operation.where, name) };
    case 'wait': {
      const t = table();
      if (operation.until !== '==' && operation.until !== '!=') {
        invalidArgument(name, `until must be "==" or "!=", got ${describe(operation.until)}`);
      }
      if (!Array.isArray(operation.rows))
        invalidArgument(name, `rows must be an array of rows, got ${describe(operation.rows)}`);
      const columns = operation.columns ?? [...new Set(operation.rows.flatMap((row) => Object.keys(row)))];
      const json: { [key: string]: JsonValue } = {
        op: 'wait',
        table: operation.table,
        where: encodeWhere(t, operation.where, name),
        columns: columns.map((c) => columnSchema(t, c, name).name),
        until: operation.until,
        rows: operation.rows.map((row) => encodeRow(t, row, name)),
      };
      if (operation.timeout !== undefined)
        json['timeout'] = checkInteger(name, 'timeout', operation.timeout, 0, Number.MAX_SAFE_INTEGER);
      return json;
    }
    case 'commit':
      return { op: 'commit', durable: checkBoolean(name, 'durable', operation.durable) };
    case 'abort':
      return { op: 'abort' };
    case 'comment':
      // An empty comment is still a comment: not checkString, which wants a non-empty one.
      if (typeof operation.comment !== 'string')
        invalidArgument(name, `comment must be a string, got ${describe(operation.comment)}`);
      return { op: 'comment', comment: operation.comment };
    case 'assert':
      return { op: 'assert', lock: checkString(name, 'lock name', operation.lock) };
  }
}

/**
 * @internal Decodes the result of `operation` as the server sent it.
 * @throws DpdkError `EPROTO` when the result lacks what the operation returns.
 */
export function decodeResult(schema: DatabaseSchema, operation: Operation, json: JsonValue): unknown {
  const result = isJsonObject(json) ? json : {};
  const badResult = (what: string): DpdkError =>
    new DpdkError(`the server sent ${what}`, { code: 'EPROTO', operation: 'transact' });
  switch (operation.op) {
    case 'insert': {
      const uuid = result['uuid'];
      if (!Array.isArray(uuid) || uuid[0] !== 'uuid' || !isUuid(uuid[1]))
        throw badResult('an insert result without a uuid');
      return { uuid: uuid[1] };
    }
    case 'select': {
      const table = tableSchema(schema, operation.table, 'transact');
      const rows = result['rows'];
      if (!Array.isArray(rows)) throw badResult('a select result without rows');
      return { rows: rows.map((row) => decodeRow(table, row)) };
    }
    case 'update':
    case 'mutate':
    case 'delete': {
      const count = result['count'];
      if (typeof count !== 'number') throw badResult(`a ${operation.op} result without a count`);
      return { count };
    }
    default:
      return {};
  }
}
