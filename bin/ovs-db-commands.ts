/**
 * The database verbs of dpdk-ts-ovs, like ovs-vsctl's (show, add-br, add-port, set, get,
 * ...): their usage, the parsing of their arguments, and {@link runDbCommand}, which runs one.
 */
import { DpdkError, invalidArgument } from '../lib/errors.js';
import { checkOptions } from '../lib/validate.js';
import { formatAtom, formatValue } from '../lib/ovs/vsctl-format.js';
import { Vswitch, type AddBridgeOptions, type AddPortOptions } from '../lib/ovs/vswitch.js';
import { isUuid, type Atom, type RowInput } from '../lib/ovs/ovsdb/data.js';
import { columnKind, columnSchema, tableSchema, type BaseType, type ColumnType } from '../lib/ovs/ovsdb/schema.js';

/** Options of {@link runDbCommand}. */
export interface DbCommandOptions {
  /** The database target: `unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT`. */
  db: string;
  /** Do not wait for ovs-vswitchd to apply changes (`--no-wait`). */
  noWait?: boolean;
  /** Timeout of the whole command, in milliseconds. Default 30000. */
  timeoutMs?: number;
}

/**
 * Usage of the database verbs, one line each. Settings are `COLUMN=VALUE` (whole column)
 * or `COLUMN:KEY=VALUE` (one key of a map column). A value is a bare word or a JSON
 * string (`"a b"`); a set is `[a,b]` (or `a,b`), a whole map `{k=v,k2=v2}`; commas and
 * `=` inside values are not supported in sets and maps.
 */
export const dbCommandUsage: readonly string[] = [
  'show                                   print the configuration like ovs-vsctl show',
  'init                                   create the Open_vSwitch row if missing',
  'add-br [--may-exist] BR [SETTING]...   add a bridge; settings of the Bridge (datapath_type=netdev, fail_mode=, external_ids:K=V, other_config:K=V)',
  'del-br [--if-exists] BR                delete a bridge and its ports',
  'add-port [--may-exist] BR PORT [SETTING]... [-- set Interface PORT SETTING...]',
  '                                       add a port; settings of its Interface (type=dpdkvhostuser, options:vhost-server-path=P, ofport_request=N, external_ids:K=V, other_config:K=V)',
  'del-port [--if-exists] [BR] PORT       delete a port',
  'set TABLE RECORD SETTING...            set columns (RECORD: a name, a uuid, or . for Open_vSwitch)',
  'get TABLE RECORD COLUMN[:KEY]...       print columns, one per line',
  'list-br                                print the bridges, one per line',
  'list-ports BR                          print the ports of BR, one per line',
];

/** The ovs-vsctl verbs {@link runDbCommand} runs. */
export const dbVerbs: readonly string[] = [
  'show',
  'init',
  'add-br',
  'del-br',
  'add-port',
  'del-port',
  'set',
  'get',
  'list-br',
  'list-ports',
];

/** A bad command line of `verb`: `dpdk-ts-ovs` exits 2 for it (`exitCode`), 1 for a failed transaction. */
function usageError(verb: string, message: string): DpdkError {
  const usage = dbCommandUsage.filter((line) => line.startsWith(`${verb} `)).join('; ');
  const error = new DpdkError(`${message}${usage === '' ? '' : ` (usage: ${usage.replace(/\s{2,}.*$/, '')})`}`, {
    code: 'EINVAL',
    operation: verb,
  });
  return Object.assign(error, { exitCode: 2 });
}

/** One `COLUMN=VALUE` or `COLUMN:KEY=VALUE` argument, split. */
interface Setting {
  /** The column name. */
  column: string;
  /** The map key, for `COLUMN:KEY=VALUE`. */
  key: string | undefined;
  /** The value text, not parsed yet. */
  value: string;
}

function parseSetting(verb: string, argument: string): Setting {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?::([^=]+))?=(.*)$/s.exec(argument);
  if (match === null) throw usageError(verb, `${JSON.stringify(argument)} is not COLUMN=VALUE or COLUMN:KEY=VALUE`);
  return { column: match[1]!, key: match[2], value: match[3]! };
}

function parseAtom(verb: string, base: BaseType, text: string, where: string): Atom {
  const trimmed = text.trim();
  const fail = (expected: string): never => {
    throw usageError(verb, `${where}: ${JSON.stringify(text)} is not ${expected}`);
  };
  switch (base.type) {
    case 'integer': {
      if (!/^-?\d+$/.test(trimmed)) return fail('an integer');
      const value = Number(trimmed);
      return Number.isSafeInteger(value) ? value : BigInt(trimmed);
    }
    case 'real': {
      const value = Number(trimmed);
      return trimmed === '' || !Number.isFinite(value) ? fail('a real number') : value;
    }
    case 'boolean':
      if (trimmed === 'true' || trimmed === 'false') return trimmed === 'true';
      return fail('true or false');
    case 'uuid':
      return isUuid(trimmed) ? trimmed.toLowerCase() : fail('a UUID');
    case 'string':
      if (trimmed.startsWith('"')) {
        try {
          const parsed: unknown = JSON.parse(trimmed);
          if (typeof parsed === 'string') return parsed;
        } catch {
          return fail('a valid quoted string');
        }
      }
      return text;
  }
}

function splitList(text: string, open: string, close: string): string[] {
  const inner = text.startsWith(open) && text.endsWith(close) ? text.slice(1, -1) : text;
  return inner
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function parseColumnValue(verb: string, type: ColumnType, text: string, where: string): RowInput[string] {
  const kind = columnKind(type);
  if (kind === 'map') {
    const map = new Map<Atom, Atom>();
    for (const pair of splitList(text, '{', '}')) {
      const equals = pair.indexOf('=');
      if (equals < 0) throw usageError(verb, `${where}: map entry ${JSON.stringify(pair)} is not KEY=VALUE`);
      map.set(
        parseAtom(verb, type.key, pair.slice(0, equals), `${where} key`),
        parseAtom(verb, type.value!, pair.slice(equals + 1), where),
      );
    }
    return map;
  }
  if (kind === 'set') return splitList(text, '[', ']').map((element) => parseAtom(verb, type.key, element, where));
  if (kind === 'optional' && (text === '' || text === '[]')) return null;
  return parseAtom(verb, type.key, text, where);
}

/** Splits settings into whole columns and single map keys, parsed against `table`'s schema. */
function parseSettings(
  verb: string,
  vswitch: Vswitch,
  table: string,
  settings: readonly string[],
): { values: Record<string, RowInput[string]>; mapKeys: Record<string, Record<string, Atom>> } {
  const schema = tableSchema(vswitch.replica.schema, table, verb);
  const values: Record<string, RowInput[string]> = {};
  const mapKeys: Record<string, Record<string, Atom>> = {};
  for (const argument of settings) {
    const setting = parseSetting(verb, argument);
    const column = columnSchema(schema, setting.column, verb);
    const where = `${table}.${setting.column}`;
    if (setting.key === undefined) {
      values[setting.column] = parseColumnValue(verb, column.type, setting.value, where);
      continue;
    }
    if (columnKind(column.type) !== 'map')
      throw usageError(verb, `${where} is not a map column, so ${setting.column}:KEY=VALUE does not apply`);
    const keys = (mapKeys[setting.column] ??= {});
    keys[setting.key] = parseAtom(verb, column.type.value!, setting.value, `${where}:${setting.key}`);
  }
  return { values, mapKeys };
}

function takeFlags(args: string[], allowed: readonly string[], verb: string): { rest: string[]; flags: Set<string> } {
  const flags = new Set<string>();
  const rest = [...args];
  while (rest.length > 0 && rest[0]!.startsWith('--') && rest[0] !== '--') {
    const flag = rest.shift()!;
    if (!allowed.includes(flag))
      throw usageError(verb, `unknown flag ${flag}${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    flags.add(flag);
  }
  return { rest, flags };
}

function asStringRecord(verb: string, what: string, value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (value instanceof Map) for (const [key, item] of value) record[String(key)] = String(item);
  else throw usageError(verb, `${what} must be a map`);
  return record;
}

/**
 * Runs one ovs-vsctl-like database verb against the database `options.db`, writing its
 * output with `out`, one line per call. Verbs and syntax: {@link dbCommandUsage}.
 * Changes are applied and confirmed (ovs-vswitchd's `cur_cfg`) unless `noWait`.
 * @throws DpdkError `EINVAL` (unknown verb, bad arguments, with the usage), `ENOENT`,
 * `EEXIST`, `ERR_OVS_INTERFACE`, `ETIMEDOUT`, `ERR_OVSDB`, and the connection errors.
 */
export async function runDbCommand(
  verb: string,
  args: string[],
  options: DbCommandOptions,
  out: (line: string) => void,
): Promise<void> {
  checkOptions<DbCommandOptions>('runDbCommand', options, ['db', 'noWait', 'timeoutMs']);
  if (typeof options.db !== 'string') {
    invalidArgument('runDbCommand', 'options.db (the database target, e.g. unix:/run/openvswitch/db.sock) is required');
  }
  if (!dbVerbs.includes(verb)) {
    invalidArgument('runDbCommand', `unknown command ${JSON.stringify(verb)} (expected one of: ${dbVerbs.join(', ')})`);
  }
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string'))
    invalidArgument(verb, 'args must be an array of strings');
  const vswitch = await Vswitch.connect(options.db, {
    noWait: options.noWait ?? false,
    timeoutMs: options.timeoutMs ?? 30_000,
    client: { reconnect: false, probeIntervalMs: 0 },
  });
  try {
    await runVerb(vswitch, verb, args, out);
  } finally {
    vswitch.close();
  }
}

async function runVerb(vswitch: Vswitch, verb: string, args: string[], out: (line: string) => void): Promise<void> {
  switch (verb) {
    case 'show': {
      if (args.length > 0) throw usageError(verb, 'takes no arguments');
      const text = vswitch.show().trimEnd();
      if (text !== '') for (const line of text.split('\n')) out(line);
      return;
    }
    case 'init':
      if (args.length > 0) throw usageError(verb, 'takes no arguments');
      await vswitch.init();
      return;
    case 'list-br':
      if (args.length > 0) throw usageError(verb, 'takes no arguments');
      for (const bridge of vswitch.listBridges()) out(bridge);
      return;
    case 'list-ports':
      if (args.length !== 1) throw usageError(verb, `expected 1 argument (the bridge), got ${args.length}`);
      for (const port of vswitch.listPorts(args[0]!)) out(port);
      return;
    case 'add-br': {
      const { rest, flags } = takeFlags(args, ['--may-exist'], verb);
      const [bridge, ...settings] = rest;
      if (bridge === undefined) throw usageError(verb, 'missing the bridge name');
      const { values, mapKeys } = parseSettings(verb, vswitch, 'Bridge', settings);
      const bridgeOptions: AddBridgeOptions = { mayExist: flags.has('--may-exist') };
      for (const [column, value] of Object.entries(values)) {
        if (column === 'datapath_type') bridgeOptions.datapathType = value as string;
        else if (column === 'fail_mode') bridgeOptions.failMode = value as 'standalone' | 'secure';
        else if (column === 'external_ids') bridgeOptions.externalIds = asStringRecord(verb, column, value);
        else if (column === 'other_config') bridgeOptions.otherConfig = asStringRecord(verb, column, value);
        else
          throw usageError(verb, `Bridge column ${column} cannot be set here; use set Bridge ${bridge} ${column}=...`);
      }
      for (const [column, pairs] of Object.entries(mapKeys)) {
        const merged = {
          ...(column === 'external_ids' ? bridgeOptions.externalIds : bridgeOptions.otherConfig),
          ...pairs,
        } as Record<string, string>;
        if (column === 'external_ids') bridgeOptions.externalIds = merged;
        else if (column === 'other_config') bridgeOptions.otherConfig = merged;
        else
          throw usageError(
            verb,
            `Bridge column ${column} cannot be set here; use set Bridge ${bridge} ${column}:KEY=...`,
          );
      }
      await vswitch.addBridge(bridge, bridgeOptions);
      return;
    }
    case 'del-br': {
      const { rest, flags } = takeFlags(args, ['--if-exists'], verb);
      if (rest.length !== 1) throw usageError(verb, `expected 1 argument (the bridge), got ${rest.length}`);
      await vswitch.deleteBridge(rest[0]!, { ifExists: flags.has('--if-exists') });
      return;
    }
    case 'add-port': {
      const { rest, flags } = takeFlags(args, ['--may-exist'], verb);
      const separator = rest.indexOf('--');
      const head = separator < 0 ? rest : rest.slice(0, separator);
      const [bridge, port, ...settings] = head;
      if (bridge === undefined || port === undefined) throw usageError(verb, 'missing the bridge or the port name');
      if (separator >= 0) {
        const [set, table, record, ...more] = rest.slice(separator + 1);
        if (set !== 'set' || table !== 'Interface' || record !== port) {
          throw usageError(verb, `after "--" only "set Interface ${port} SETTING..." is supported`);
        }
        settings.push(...more);
      }
      const { values, mapKeys } = parseSettings(verb, vswitch, 'Interface', settings);
      const portOptions: AddPortOptions = { mayExist: flags.has('--may-exist') };
      const records: Record<string, Record<string, string>> = {};
      for (const [column, value] of Object.entries(values)) {
        if (column === 'type') portOptions.type = value as string;
        else if (column === 'ofport_request') {
          if (value !== null) portOptions.ofportRequest = Number(value);
        } else if (column === 'options' || column === 'external_ids' || column === 'other_config')
          records[column] = asStringRecord(verb, column, value);
        else
          throw usageError(
            verb,
            `Interface column ${column} cannot be set here; use set Interface ${port} ${column}=...`,
          );
      }
      for (const [column, pairs] of Object.entries(mapKeys)) {
        if (column !== 'options' && column !== 'external_ids' && column !== 'other_config') {
          throw usageError(
            verb,
            `Interface column ${column} cannot be set here; use set Interface ${port} ${column}:KEY=...`,
          );
        }
        records[column] = { ...records[column], ...(pairs as Record<string, string>) };
      }
      if (records['options'] !== undefined) portOptions.options = records['options'];
      if (records['external_ids'] !== undefined) portOptions.externalIds = records['external_ids'];
      if (records['other_config'] !== undefined) portOptions.otherConfig = records['other_config'];
      await vswitch.addPort(bridge, port, portOptions);
      return;
    }
    case 'del-port': {
      const { rest, flags } = takeFlags(args, ['--if-exists'], verb);
      if (rest.length !== 1 && rest.length !== 2)
        throw usageError(verb, `expected [BR] PORT, got ${rest.length} arguments`);
      const port = rest[rest.length - 1]!;
      await vswitch.deletePort(port, {
        ifExists: flags.has('--if-exists'),
        ...(rest.length === 2 ? { bridge: rest[0]! } : {}),
      });
      return;
    }
    case 'set': {
      const [table, record, ...settings] = args;
      if (table === undefined || record === undefined || settings.length === 0)
        throw usageError(verb, 'expected TABLE RECORD SETTING...');
      const { values, mapKeys } = parseSettings(verb, vswitch, table, settings);
      await vswitch.setColumns(table, record, values, mapKeys);
      return;
    }
    case 'get': {
      const [table, record, ...columns] = args;
      if (table === undefined || record === undefined || columns.length === 0)
        throw usageError(verb, 'expected TABLE RECORD COLUMN[:KEY]...');
      const row = vswitch.record(table, record);
      const schema = tableSchema(vswitch.replica.schema, table, verb);
      for (const spec of columns) {
        const colon = spec.indexOf(':');
        const name = colon < 0 ? spec : spec.slice(0, colon);
        const column = columnSchema(schema, name, verb);
        const value = row[name] ?? null;
        if (colon < 0) {
          out(formatValue(column.type, value));
          continue;
        }
        const key = spec.slice(colon + 1);
        if (!(value instanceof Map))
          throw usageError(verb, `${table}.${name} is not a map column, so ${spec} does not apply`);
        const keyAtom = parseAtom(verb, column.type.key, key, `${table}.${name} key`);
        if (!value.has(keyAtom)) {
          throw new DpdkError(`no key ${JSON.stringify(key)} in ${table}.${name} of ${record}`, {
            code: 'ENOENT',
            operation: verb,
            object: record,
          });
        }
        out(formatAtom(value.get(keyAtom)!));
      }
      return;
    }
  }
}
