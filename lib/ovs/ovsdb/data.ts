/**
 * OVSDB data in TypeScript form: atoms, values, rows, conditions and mutations, and their
 * codecs to and from JSON, checked against the column types of the schema.
 */
import { DpdkError } from '../../errors.js';
import { isJsonObject, type JsonValue } from './json-stream.js';
import {
  columnKind,
  columnSchema,
  type BaseType,
  type ColumnSchema,
  type ColumnType,
  type TableSchema,
} from './schema.js';

/**
 * A reference, inside one transaction, to the row inserted by the `insert` operation
 * whose `uuidName` is `name` (OVSDB `named-uuid`). Create with {@link namedUuid}.
 */
export class NamedUuid {
  /** The `uuidName` of the insert referred to. */
  readonly name: string;

  /** @throws DpdkError `EINVAL` when `name` is not an OVSDB id (`[_a-zA-Z][_a-zA-Z0-9]*`). */
  constructor(name: string) {
    if (typeof name !== 'string' || !idPattern.test(name)) {
      throw new DpdkError(
        `named-uuid: ${JSON.stringify(name)} is not a valid name (expected letters, digits and "_", not starting with a digit)`,
        { code: 'EINVAL', operation: 'namedUuid' },
      );
    }
    this.name = name;
  }
}

/** Shorthand for `new NamedUuid(name)`. */
export function namedUuid(name: string): NamedUuid {
  return new NamedUuid(name);
}

/**
 * One OVSDB atom as a TypeScript value: `integer` is `number` (or `bigint` beyond 2^53),
 * `real` is `number`, `boolean` is `boolean`, `string` is `string`, `uuid` is its
 * canonical string form (`"6f5e...-..."`), or a {@link NamedUuid} when sending.
 */
export type Atom = string | number | bigint | boolean | NamedUuid;

/**
 * A column value as a TypeScript value, by the column's {@link ColumnKind}: `scalar` is an
 * {@link Atom}; `optional` is an Atom or `null`; `set` is an array of atoms; `map` is a
 * `Map` of atoms.
 */
export type Value = Atom | null | Atom[] | Map<Atom, Atom>;

/**
 * A value given to the client: a {@link Value}, or for sets also a `Set`, for maps
 * with string keys also a plain object.
 */
export type ValueInput =
  Value | ReadonlySet<Atom> | readonly Atom[] | ReadonlyMap<Atom, Atom> | { readonly [key: string]: Atom };

/** A row as received: column name to value. `_uuid` and `_version` are strings. */
export type Row = { [column: string]: Value };

/** A row as given to the client, e.g. for `insert` and `update`. */
export type RowInput = { readonly [column: string]: ValueInput };

const idPattern = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
const uuidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Whether `value` is a UUID in canonical text form. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidPattern.test(value);
}

function describe(value: unknown): string {
  if (value instanceof NamedUuid) return `named-uuid ${value.name}`;
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Map) return 'a Map';
  if (typeof value === 'object') return 'an object';
  return `${String(value)} (${typeof value})`;
}

function invalid(operation: string, where: string, message: string): DpdkError {
  return new DpdkError(`${where}: ${message}`, { code: 'EINVAL', operation, object: where });
}

function atomsEqualJson(a: JsonValue, b: JsonValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a[0] === b[0] && a[1] === b[1];
  // eslint-disable-next-line eqeqeq -- a number and a bigint of the same integer are equal
  return a == b;
}

/**
 * Encodes one atom to its JSON form, checking it against `base`.
 * @throws DpdkError `EINVAL` naming `where`, the value and what the type expects.
 */
export function encodeAtom(base: BaseType, value: unknown, operation: string, where: string): JsonValue {
  let json: JsonValue;
  switch (base.type) {
    case 'integer':
      if (typeof value === 'bigint') json = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) json = value;
      else throw invalid(operation, where, `expected an integer (number or bigint), got ${describe(value)}`);
      if (base.minInteger !== undefined && json < base.minInteger) {
        throw invalid(operation, where, `${json} is below the minimum ${base.minInteger}`);
      }
      if (base.maxInteger !== undefined && json > base.maxInteger) {
        throw invalid(operation, where, `${json} is above the maximum ${base.maxInteger}`);
      }
      break;
    case 'real':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw invalid(operation, where, `expected a finite real number, got ${describe(value)}`);
      }
      json = value;
      break;
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(operation, where, `expected a boolean, got ${describe(value)}`);
      json = value;
      break;
    case 'string':
      if (typeof value !== 'string') throw invalid(operation, where, `expected a string, got ${describe(value)}`);
      json = value;
      break;
    case 'uuid':
      if (value instanceof NamedUuid) return ['named-uuid', value.name];
      if (!isUuid(value)) {
        throw invalid(operation, where, `expected a UUID string or a namedUuid(), got ${describe(value)}`);
      }
      json = ['uuid', value.toLowerCase()];
      break;
  }
  if (base.enum !== undefined && !base.enum.some((allowed) => atomsEqualJson(allowed, json))) {
    const allowed = base.enum.map((a) => (typeof a === 'string' ? JSON.stringify(a) : String(a))).join(', ');
    throw invalid(operation, where, `${describe(value)} is not one of the allowed values: ${allowed}`);
  }
  return json;
}

/**
 * Decodes one atom from its JSON form.
 * @throws DpdkError `EPROTO` when the server sent a value of the wrong type.
 */
export function decodeAtom(base: BaseType, json: JsonValue, where: string): Atom {
  switch (base.type) {
    case 'integer':
      if (typeof json === 'bigint' || (typeof json === 'number' && Number.isInteger(json))) return json;
      break;
    case 'real':
      if (typeof json === 'number') return json;
      if (typeof json === 'bigint') return Number(json);
      break;
    case 'boolean':
      if (typeof json === 'boolean') return json;
      break;
    case 'string':
      if (typeof json === 'string') return json;
      break;
    case 'uuid':
      if (Array.isArray(json) && json.length === 2 && json[0] === 'uuid' && isUuid(json[1])) return json[1];
      break;
  }
  throw new DpdkError(`${where}: the server sent ${describeJson(json)} for a ${base.type}`, {
    code: 'EPROTO',
    operation: 'decode',
    object: where,
  });
}

function describeJson(json: JsonValue): string {
  const text = typeof json === 'bigint' ? json.toString() : JSON.stringify(json);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/** Options of {@link encodeValue}. */
export interface EncodeValueOptions {
  /**
   * Accept any number of elements and, for sets, a single atom: for the values of
   * conditions and mutations, which are not whole column values.
   */
  relaxed?: boolean;
}

function toElements(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (value instanceof Set) return [...value];
  return undefined;
}

function toPairs(value: unknown): [unknown, unknown][] | undefined {
  if (value instanceof Map) return [...value.entries()];
  if (isJsonObject(value) && !(value instanceof Set) && !(value instanceof NamedUuid)) return Object.entries(value);
  return undefined;
}

function checkSize(type: ColumnType, count: number, operation: string, where: string): void {
  if (count < type.min || count > type.max) {
    const max = type.max === Infinity ? 'unlimited' : String(type.max);
    throw invalid(operation, where, `${count} elements given, expected between ${type.min} and ${max}`);
  }
}

/**
 * Encodes a column value to its JSON form (atom, `["set", ...]` or `["map", ...]`),
 * checking it against the column type.
 * @throws DpdkError `EINVAL` naming `where`, the value and what the type expects.
 */
export function encodeValue(
  type: ColumnType,
  value: unknown,
  operation: string,
  where: string,
  options: EncodeValueOptions = {},
): JsonValue {
  const kind = columnKind(type);
  if (kind === 'map') {
    const pairs = toPairs(value);
    if (pairs === undefined) {
      throw invalid(operation, where, `expected a Map (or an object with string keys), got ${describe(value)}`);
    }
    if (options.relaxed !== true) checkSize(type, pairs.length, operation, where);
    const valueType = type.value!;
    return [
      'map',
      pairs.map(([k, v]) => [
        encodeAtom(type.key, k, operation, `${where} key`),
        encodeAtom(valueType, v, operation, `${where}[${String(k)}]`),
      ]),
    ];
  }
  if (kind === 'scalar' && options.relaxed !== true) return encodeAtom(type.key, value, operation, where);
  let elements = toElements(value);
  if (elements === undefined) {
    if (value === null || value === undefined) {
      if (kind === 'scalar') {
        throw invalid(operation, where, `expected a ${type.key.type}, got ${describe(value)}`);
      }
      elements = [];
    } else if (kind !== 'set' || options.relaxed === true) {
      return encodeAtom(type.key, value, operation, where);
    } else {
      throw invalid(operation, where, `expected an array (or Set) of ${type.key.type} values, got ${describe(value)}`);
    }
  }
  if (options.relaxed !== true) checkSize(type, elements.length, operation, where);
  return ['set', elements.map((element, index) => encodeAtom(type.key, element, operation, `${where}[${index}]`))];
}

function wireElements(json: JsonValue): JsonValue[] {
  if (Array.isArray(json) && json[0] === 'set' && json.length === 2 && Array.isArray(json[1])) return json[1];
  return [json];
}

/**
 * Decodes a column value from its JSON form into the TypeScript shape of its
 * {@link ColumnKind}, applying the rule that a one-element set may be sent as its atom.
 * @throws DpdkError `EPROTO` when the value does not match the type.
 */
export function decodeValue(type: ColumnType, json: JsonValue, where: string): Value {
  const kind = columnKind(type);
  if (kind === 'map') {
    if (!Array.isArray(json) || json[0] !== 'map' || !Array.isArray(json[1])) {
      throw new DpdkError(`${where}: the server sent ${describeJson(json)} for a map`, {
        code: 'EPROTO',
        operation: 'decode',
        object: where,
      });
    }
    const map = new Map<Atom, Atom>();
    for (const pair of json[1]) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new DpdkError(`${where}: bad map pair ${describeJson(pair)}`, {
          code: 'EPROTO',
          operation: 'decode',
          object: where,
        });
      }
      map.set(decodeAtom(type.key, pair[0]!, where), decodeAtom(type.value!, pair[1]!, where));
    }
    return map;
  }
  const atoms = wireElements(json).map((element) => decodeAtom(type.key, element, where));
  if (kind === 'set') return atoms;
  if (kind === 'optional') {
    if (atoms.length > 1) {
      throw new DpdkError(`${where}: the server sent ${atoms.length} values for an optional value`, {
        code: 'EPROTO',
        operation: 'decode',
        object: where,
      });
    }
    return atoms[0] ?? null;
  }
  if (atoms.length !== 1) {
    throw new DpdkError(`${where}: the server sent ${atoms.length} values for a scalar`, {
      code: 'EPROTO',
      operation: 'decode',
      object: where,
    });
  }
  return atoms[0]!;
}

/**
 * Decodes a row sent by the server. Columns not in the schema are skipped: a server
 * may know a newer schema than the one fetched.
 * @throws DpdkError `EPROTO` when the row is not an object or a value does not match its type.
 */
export function decodeRow(table: TableSchema, json: JsonValue): Row {
  if (!isJsonObject(json)) {
    throw new DpdkError(`table ${table.name}: the server sent ${describeJson(json)} for a row`, {
      code: 'EPROTO',
      operation: 'decode',
      object: table.name,
    });
  }
  const row: Row = {};
  for (const [name, value] of Object.entries(json)) {
    const column = table.columns.get(name);
    if (column !== undefined) row[name] = decodeValue(column.type, value, `${table.name}.${name}`);
  }
  return row;
}

/**
 * Encodes a row given to the client, checking every column against the schema.
 * @throws DpdkError `EINVAL` for an unknown column, a read-only column or a bad value.
 */
export function encodeRow(table: TableSchema, row: RowInput, operation: string): { [column: string]: JsonValue } {
  if (!isJsonObject(row)) {
    throw invalid(operation, table.name, `expected a row object, got ${describe(row)}`);
  }
  const json: { [column: string]: JsonValue } = {};
  for (const [name, value] of Object.entries(row)) {
    const column = columnSchema(table, name, operation);
    if (name.startsWith('_')) {
      throw invalid(
        operation,
        `${table.name}.${name}`,
        'this column is maintained by the server and cannot be written',
      );
    }
    if (value === undefined) continue;
    json[name] = encodeValue(column.type, value, operation, `${table.name}.${name}`);
  }
  return json;
}

/** The diff of one column in an `update2`/`update3` "modify", applied to the old value. */
export function applyColumnDiff(
  column: ColumnSchema,
  old: Value | undefined,
  diffJson: JsonValue,
  where: string,
): Value {
  const kind = columnKind(column.type);
  const diff = decodeValue(column.type, diffJson, where);
  // ovsdb-server diffs only sets and maps that can hold several elements (ovsdb_datum_diff):
  // for a scalar or an optional value (at most one element) it sends the new value.
  if (kind === 'scalar' || kind === 'optional') return diff;
  if (kind === 'map') {
    const result = new Map(old instanceof Map ? old : []);
    for (const [key, value] of diff as Map<Atom, Atom>) {
      if (result.has(key) && result.get(key) === value) result.delete(key);
      else result.set(key, value);
    }
    return result;
  }
  const oldElements: Atom[] = Array.isArray(old) ? old : old === null || old === undefined ? [] : [old as Atom];
  const result = [...oldElements];
  for (const element of diff as Atom[]) {
    const index = result.indexOf(element);
    if (index >= 0) result.splice(index, 1);
    else result.push(element);
  }
  return result;
}

/** The comparison functions of a condition (RFC 7047 section 5.1). */
export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';

/**
 * A condition `[column, function, value]` of a `where` clause; the value in TypeScript
 * form (a single atom is accepted for a set column). `true` and `false` are the constant
 * conditions that `monitor_cond` accepts.
 */
export type Condition = readonly [column: string, fn: ConditionFunction, value: unknown] | boolean;

/** The mutators of a mutation (RFC 7047 section 5.1). */
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';

/**
 * A mutation `[column, mutator, value]`. For arithmetic mutators the value is one integer
 * or real, of any value: the column's range applies to the result (`+= -5` on a column
 * with minimum 0 holding 10 gives 5); for `insert` a set (array) or a map; for `delete` a set, or for a map column a map or
 * an array of keys.
 */
export type Mutation = readonly [column: string, mutator: Mutator, value: unknown];

const conditionFunctions: readonly string[] = ['<', '<=', '==', '!=', '>=', '>', 'includes', 'excludes'];
const mutators: readonly string[] = ['+=', '-=', '*=', '/=', '%=', 'insert', 'delete'];

/**
 * Encodes a `where` clause against the table schema.
 * @throws DpdkError `EINVAL` for a malformed condition, an unknown column, a bad function or value.
 */
export function encodeWhere(table: TableSchema, where: readonly Condition[], operation: string): JsonValue[] {
  if (!Array.isArray(where)) {
    throw invalid(operation, table.name, `"where" must be an array of conditions, got ${describe(where)}`);
  }
  return where.map((condition, index) => {
    if (typeof condition === 'boolean') return condition;
    if (!Array.isArray(condition) || condition.length !== 3 || typeof condition[0] !== 'string') {
      throw invalid(operation, `${table.name} where[${index}]`, 'expected [column, function, value] or a boolean');
    }
    const [name, fn, value] = condition;
    const column = columnSchema(table, name, operation);
    if (!conditionFunctions.includes(fn)) {
      throw invalid(
        operation,
        `${table.name} where[${index}]`,
        `unknown function ${JSON.stringify(fn)} (expected one of ${conditionFunctions.join(' ')})`,
      );
    }
    const ordered = fn === '<' || fn === '<=' || fn === '>' || fn === '>=';
    if (
      ordered &&
      (columnKind(column.type) !== 'scalar' || (column.type.key.type !== 'integer' && column.type.key.type !== 'real'))
    ) {
      throw invalid(
        operation,
        `${table.name}.${name}`,
        `function "${fn}" applies only to integer and real scalar columns`,
      );
    }
    const scalar =
      columnKind(column.type) === 'scalar' && ((fn !== 'includes' && fn !== 'excludes') || !Array.isArray(value));
    return [
      name,
      fn,
      scalar
        ? encodeAtom(column.type.key, value, operation, `${table.name}.${name}`)
        : encodeValue(column.type, value, operation, `${table.name}.${name}`, { relaxed: true }),
    ];
  });
}

/**
 * Encodes the mutations of a `mutate` operation against the table schema. The operand of
 * an arithmetic mutator (`+=`, `-=`, `*=`, `/=`, `%=`) is checked for its type only: the
 * column's range applies to the result, which ovsdb-server checks (`ERR_OVSDB`,
 * `constraint violation`), as it does division by zero (`domain error`).
 * @throws DpdkError `EINVAL` for a malformed mutation, an unknown column, a bad mutator or value,
 * or an arithmetic mutator on a column that is not integer or real.
 */
export function encodeMutations(table: TableSchema, mutations: readonly Mutation[], operation: string): JsonValue[] {
  if (!Array.isArray(mutations)) {
    throw invalid(operation, table.name, `"mutations" must be an array, got ${describe(mutations)}`);
  }
  return mutations.map((mutation, index) => {
    if (!Array.isArray(mutation) || mutation.length !== 3 || typeof mutation[0] !== 'string') {
      throw invalid(operation, `${table.name} mutations[${index}]`, 'expected [column, mutator, value]');
    }
    const [name, mutator, value] = mutation;
    const column = columnSchema(table, name, operation);
    const where = `${table.name}.${name}`;
    if (!mutators.includes(mutator)) {
      throw invalid(
        operation,
        `${table.name} mutations[${index}]`,
        `unknown mutator ${JSON.stringify(mutator)} (expected one of ${mutators.join(' ')})`,
      );
    }
    if (mutator !== 'insert' && mutator !== 'delete') {
      const key = column.type.key;
      const numeric = mutator === '%=' ? key.type === 'integer' : key.type === 'integer' || key.type === 'real';
      if (columnKind(column.type) === 'map' || !numeric) {
        const types = mutator === '%=' ? 'integer' : 'integer and real';
        throw invalid(operation, where, `mutator "${mutator}" applies only to ${types} columns and sets of them`);
      }
      // The column's range and enum apply to the result, which only the server knows (RFC
      // 7047 section 5.1: "constraint violation"), so the operand is checked for its type only.
      return [name, mutator, encodeAtom({ type: key.type }, value, operation, where)];
    }
    if (columnKind(column.type) === 'map' && mutator === 'delete' && toElements(value) !== undefined) {
      const keysType: ColumnType = { key: column.type.key, min: 0, max: Infinity };
      return [name, mutator, encodeValue(keysType, value, operation, where, { relaxed: true })];
    }
    return [name, mutator, encodeValue(column.type, value, operation, where, { relaxed: true })];
  });
}
