/**
 * OVSDB schemas (RFC 7047 section 3.2): their TypeScript types, the parser of what
 * `get_schema` returns, and the lookups of tables and columns that name what exists.
 */
import { DpdkError } from '../../errors.js';
import { isJsonObject, type JsonValue } from './json-stream.js';

/** The OVSDB atomic types (RFC 7047 section 3.1). */
export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

/** The type of a column's keys or values: an atomic type plus its constraints. */
export interface BaseType {
  /** The atomic type. */
  readonly type: AtomicType;
  /** The allowed values, in JSON form (atoms), when the schema restricts them. */
  readonly enum?: readonly JsonValue[];
  /** Integer range, inclusive, when restricted. */
  readonly minInteger?: number | bigint;
  /** See {@link minInteger}. */
  readonly maxInteger?: number | bigint;
  /** Real range, inclusive, when restricted. */
  readonly minReal?: number;
  /** See {@link minReal}. */
  readonly maxReal?: number;
  /** String length range (in UTF-8 bytes), when restricted. */
  readonly minLength?: number;
  /** See {@link minLength}. */
  readonly maxLength?: number;
  /** For uuid atoms: the table referred to. */
  readonly refTable?: string;
  /** For uuid atoms with a `refTable`: whether the reference is strong or weak. */
  readonly refType?: 'strong' | 'weak';
}

/**
 * The type of a column: a scalar (min 1, max 1), an optional value (min 0, max 1), a set
 * (max > 1) or a map (with `value`).
 */
export interface ColumnType {
  /** Type of the atoms (set or scalar), or of the map keys. */
  readonly key: BaseType;
  /** Type of the map values; present only for maps. */
  readonly value?: BaseType;
  /** Fewest elements, 0 or 1. */
  readonly min: number;
  /** Most elements; `Infinity` for "unlimited". */
  readonly max: number;
}

/** What shape a column's values take in TypeScript; see {@link columnKind}. */
export type ColumnKind = 'scalar' | 'optional' | 'set' | 'map';

/** A column of a table. */
export interface ColumnSchema {
  /** The column name. */
  readonly name: string;
  /** The column type. */
  readonly type: ColumnType;
  /** Whether the column is ephemeral (not persisted). */
  readonly ephemeral: boolean;
  /** Whether the column may be changed after insertion. */
  readonly mutable: boolean;
}

/** A table of a database. */
export interface TableSchema {
  /** The table name. */
  readonly name: string;
  /** The columns, including the implicit `_uuid` and `_version`. */
  readonly columns: ReadonlyMap<string, ColumnSchema>;
  /** Whether rows live without being referenced (root set). */
  readonly isRoot: boolean;
  /** Largest number of rows, `Infinity` when unlimited. */
  readonly maxRows: number;
  /** Sets of columns whose values must be unique together. */
  readonly indexes: readonly (readonly string[])[];
}

/** A database schema (RFC 7047 section 3.2), parsed from `get_schema`. */
export interface DatabaseSchema {
  /** The database name, e.g. `Open_vSwitch`. */
  readonly name: string;
  /** The schema version, e.g. `8.3.1`. */
  readonly version: string;
  /** The schema checksum, when given. */
  readonly cksum?: string;
  /** The tables by name. */
  readonly tables: ReadonlyMap<string, TableSchema>;
  /** The schema as the server sent it. */
  readonly json: JsonValue;
}

const atomicTypes: readonly string[] = ['integer', 'real', 'boolean', 'string', 'uuid'];

const uuidBase: BaseType = { type: 'uuid' };

function schemaError(message: string): DpdkError {
  return new DpdkError(`invalid OVSDB schema: ${message}`, { code: 'EPROTO', operation: 'get_schema' });
}

function parseBaseType(json: JsonValue, where: string): BaseType {
  if (typeof json === 'string') {
    if (!atomicTypes.includes(json)) throw schemaError(`${where}: unknown atomic type "${json}"`);
    return { type: json as AtomicType };
  }
  if (!isJsonObject(json) || typeof json['type'] !== 'string' || !atomicTypes.includes(json['type'])) {
    throw schemaError(`${where}: expected an atomic type or {"type": ...}`);
  }
  const base: { -readonly [K in keyof BaseType]: BaseType[K] } = { type: json['type'] as AtomicType };
  const enumJson = json['enum'];
  if (enumJson !== undefined) {
    base.enum =
      Array.isArray(enumJson) && enumJson[0] === 'set' && Array.isArray(enumJson[1]) ? enumJson[1] : [enumJson];
  }
  const numeric = (name: string): number | bigint | undefined => {
    const value = json[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' && typeof value !== 'bigint') throw schemaError(`${where}: ${name} is not a number`);
    return value;
  };
  base.minInteger = numeric('minInteger');
  base.maxInteger = numeric('maxInteger');
  base.minReal = numeric('minReal') as number | undefined;
  base.maxReal = numeric('maxReal') as number | undefined;
  base.minLength = numeric('minLength') as number | undefined;
  base.maxLength = numeric('maxLength') as number | undefined;
  if (typeof json['refTable'] === 'string') {
    base.refTable = json['refTable'];
    base.refType = json['refType'] === 'weak' ? 'weak' : 'strong';
  }
  for (const key of Object.keys(base) as (keyof BaseType)[]) if (base[key] === undefined) delete base[key];
  return base;
}

function parseColumnType(json: JsonValue, where: string): ColumnType {
  if (typeof json === 'string') return { key: parseBaseType(json, where), min: 1, max: 1 };
  if (!isJsonObject(json) || json['key'] === undefined) throw schemaError(`${where}: expected a type`);
  const min = json['min'] ?? 1;
  const maxJson = json['max'] ?? 1;
  const max = maxJson === 'unlimited' ? Infinity : maxJson;
  if ((min !== 0 && min !== 1) || typeof max !== 'number' || max < 1) {
    throw schemaError(`${where}: bad min/max (${String(min)}, ${String(maxJson)})`);
  }
  const type: ColumnType = { key: parseBaseType(json['key'], `${where}.key`), min, max };
  return json['value'] === undefined ? type : { ...type, value: parseBaseType(json['value'], `${where}.value`) };
}

/**
 * Parses a schema as returned by `get_schema`.
 * @throws DpdkError `EPROTO` when the schema is malformed.
 */
export function parseSchema(json: JsonValue): DatabaseSchema {
  if (!isJsonObject(json) || typeof json['name'] !== 'string' || !isJsonObject(json['tables'])) {
    throw schemaError('expected an object with "name" and "tables"');
  }
  const tables = new Map<string, TableSchema>();
  for (const [tableName, tableJson] of Object.entries(json['tables'])) {
    if (!isJsonObject(tableJson) || !isJsonObject(tableJson['columns'])) {
      throw schemaError(`table "${tableName}" has no "columns" object`);
    }
    const columns = new Map<string, ColumnSchema>();
    columns.set('_uuid', { name: '_uuid', type: { key: uuidBase, min: 1, max: 1 }, ephemeral: false, mutable: false });
    columns.set('_version', {
      name: '_version',
      type: { key: uuidBase, min: 1, max: 1 },
      ephemeral: false,
      mutable: false,
    });
    for (const [columnName, columnJson] of Object.entries(tableJson['columns'])) {
      if (!isJsonObject(columnJson)) throw schemaError(`column "${tableName}.${columnName}" is not an object`);
      columns.set(columnName, {
        name: columnName,
        type: parseColumnType(columnJson['type'] ?? null, `${tableName}.${columnName}`),
        ephemeral: columnJson['ephemeral'] === true,
        mutable: columnJson['mutable'] !== false,
      });
    }
    const indexes = Array.isArray(tableJson['indexes'])
      ? tableJson['indexes']
          .filter(Array.isArray)
          .map((index) => index.filter((c): c is string => typeof c === 'string'))
      : [];
    const maxRows = tableJson['maxRows'];
    tables.set(tableName, {
      name: tableName,
      columns,
      isRoot: tableJson['isRoot'] === true,
      maxRows: typeof maxRows === 'number' ? maxRows : Infinity,
      indexes,
    });
  }
  const schema: DatabaseSchema = {
    name: json['name'],
    version: typeof json['version'] === 'string' ? json['version'] : '',
    tables,
    json,
  };
  return typeof json['cksum'] === 'string' ? { ...schema, cksum: json['cksum'] } : schema;
}

/** How a column's values look in TypeScript: the {@link ColumnKind} of its type. */
export function columnKind(type: ColumnType): ColumnKind {
  if (type.value !== undefined) return 'map';
  if (type.max > 1) return 'set';
  return type.min === 0 ? 'optional' : 'scalar';
}

/**
 * The schema of a table, checked to exist.
 * @throws DpdkError `EINVAL` naming the table and the tables that exist.
 */
export function tableSchema(schema: DatabaseSchema, table: string, operation: string): TableSchema {
  const found = schema.tables.get(table);
  if (found === undefined) {
    throw new DpdkError(
      `no table "${table}" in database "${schema.name}" (tables: ${[...schema.tables.keys()].join(', ')})`,
      { code: 'EINVAL', operation, object: schema.name },
    );
  }
  return found;
}

/**
 * The schema of a column, checked to exist.
 * @throws DpdkError `EINVAL` naming the column, the table and the columns that exist.
 */
export function columnSchema(table: TableSchema, column: string, operation: string): ColumnSchema {
  const found = table.columns.get(column);
  if (found === undefined) {
    throw new DpdkError(
      `no column "${column}" in table "${table.name}" (columns: ${[...table.columns.keys()].join(', ')})`,
      { code: 'EINVAL', operation, object: table.name },
    );
  }
  return found;
}
