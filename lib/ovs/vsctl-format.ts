/**
 * Open vSwitch configuration as ovs-vsctl prints it: atoms and column values, and the
 * whole `ovs-vsctl show` text of a replica of the Open vSwitch tables.
 */
import { isUuid, type Atom, type Row, type Value } from './ovsdb/data.js';
import type { Replica } from './ovsdb/replica.js';
import { tableSchema, type ColumnType } from './ovsdb/schema.js';

/**
 * What `ovs-vsctl show` prints for `replica` (of the Open_vSwitch, Bridge, Port, Interface,
 * Controller and Manager tables): the Open_vSwitch uuid, managers, bridges with their
 * controllers, ports and interfaces, and the OVS version; `''` before the Open_vSwitch row exists.
 */
export function formatShow(replica: Replica): string {
  const lines: string[] = [];
  const root = replica.rows('Open_vSwitch')[0];
  if (root === undefined) return '';
  lines.push(root['_uuid'] as string);
  const indent = (depth: number): string => ' '.repeat(4 * depth);
  for (const uuid of sortedUuids(root['manager_options'])) {
    const manager = replica.get('Manager', uuid);
    if (manager === undefined) continue;
    lines.push(`${indent(1)}Manager ${formatAtom(manager['target'] as string)}`);
    if (manager['is_connected'] === true) lines.push(`${indent(2)}is_connected: true`);
  }
  for (const bridgeUuid of sortedUuids(root['bridges'])) {
    const bridge = replica.get('Bridge', bridgeUuid);
    if (bridge === undefined) continue;
    lines.push(`${indent(1)}Bridge ${formatAtom(bridge['name'] as string)}`);
    for (const controllerUuid of sortedUuids(bridge['controller'])) {
      const controller = replica.get('Controller', controllerUuid);
      if (controller === undefined) continue;
      lines.push(`${indent(2)}Controller ${formatAtom(controller['target'] as string)}`);
      if (controller['is_connected'] === true) lines.push(`${indent(3)}is_connected: true`);
    }
    showColumns(lines, replica, 'Bridge', bridge, ['fail_mode', 'datapath_type'], indent(2));
    for (const portUuid of sortedUuids(bridge['ports'])) {
      const port = replica.get('Port', portUuid);
      if (port === undefined) continue;
      lines.push(`${indent(2)}Port ${formatAtom(port['name'] as string)}`);
      showColumns(lines, replica, 'Port', port, ['tag', 'trunks'], indent(3));
      for (const ifaceUuid of sortedUuids(port['interfaces'])) {
        const iface = replica.get('Interface', ifaceUuid);
        if (iface === undefined) continue;
        lines.push(`${indent(3)}Interface ${formatAtom(iface['name'] as string)}`);
        showColumns(lines, replica, 'Interface', iface, ['type', 'options', 'error'], indent(4));
      }
    }
  }
  const version = root['ovs_version'];
  if (typeof version === 'string') lines.push(`${indent(1)}ovs_version: ${formatAtom(version)}`);
  return `${lines.join('\n')}\n`;
}

/** Adds the `column: value` lines of `row` that ovs-vsctl show prints, those not at their default. */
function showColumns(
  lines: string[],
  replica: Replica,
  table: string,
  row: Readonly<Row>,
  columns: readonly string[],
  indent: string,
): void {
  const schema = tableSchema(replica.schema, table, 'show');
  for (const column of columns) {
    const value = row[column];
    const type = schema.columns.get(column)?.type;
    if (value === undefined || type === undefined || isDefault(value)) continue;
    lines.push(`${indent}${column}: ${formatValue(type, value)}`);
  }
}

function sortedUuids(value: Value | undefined): string[] {
  if (Array.isArray(value)) return (value as string[]).slice().sort();
  return typeof value === 'string' ? [value] : [];
}

function isDefault(value: Value): boolean {
  if (value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return value instanceof Map && value.size === 0;
}

/** Whether ovs-vsctl prints `text` in quotes: unless it is an identifier-like word that is not a boolean or a uuid. */
function needsQuotes(text: string): boolean {
  return !/^[a-zA-Z_][a-zA-Z0-9_.-]*$/.test(text) || text === 'true' || text === 'false' || isUuid(text);
}

/** Formats an atom the way ovs-vsctl prints it. */
export function formatAtom(atom: Atom): string {
  if (typeof atom === 'string') return needsQuotes(atom) ? JSON.stringify(atom) : atom;
  return String(atom);
}

/** Formats a column value the way ovs-vsctl prints it: sets in `[...]`, maps in `{key=value, ...}`. */
export function formatValue(type: ColumnType, value: Value): string {
  if (value instanceof Map) {
    return `{${[...value.entries()]
      .sort(([a], [b]) => compareAtoms(a, b))
      .map(([key, item]) => `${formatAtom(key)}=${formatAtom(item)}`)
      .join(', ')}}`;
  }
  if (Array.isArray(value)) return `[${value.slice().sort(compareAtoms).map(formatAtom).join(', ')}]`;
  if (value === null) return type.max > 1 ? '[]' : '';
  return formatAtom(value);
}

function compareAtoms(a: Atom, b: Atom): number {
  if (typeof a === 'string' && typeof b === 'string') {
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
