/**
 * The read side of {@link Vswitch}: bridges, ports, interfaces and records looked up in
 * the replica of the Open vSwitch tables, with no call to the server.
 */
import { DpdkError, invalidArgument } from '../errors.js';
import { describe } from '../validate.js';
import { isUuid, type Row } from './ovsdb/data.js';
import type { Replica } from './ovsdb/replica.js';
import { mapToRecord, vswitchDb, type InterfaceInfo } from './vswitch-options.js';

/** @internal The tables a {@link Vswitch} monitors. */
export const monitoredTables = ['Open_vSwitch', 'Bridge', 'Port', 'Interface', 'Controller', 'Manager'] as const;

/** @internal Names of the bridges, sorted. */
export function listBridges(replica: Replica): string[] {
  return replica
    .rows('Bridge')
    .map((row) => row['name'] as string)
    .sort();
}

/** @internal Names of the ports of `bridge`, sorted, without the bridge's own internal port. */
export function listPorts(replica: Replica, bridge: string): string[] {
  const row = findBridgeRow(replica, 'listPorts', bridge);
  return portsOf(replica, row)
    .map((port) => port['name'] as string)
    .filter((name) => name !== bridge)
    .sort();
}

/** @internal Names of the interfaces of the ports of `bridge`, sorted, without the bridge's own. */
export function listInterfaces(replica: Replica, bridge: string): string[] {
  const row = findBridgeRow(replica, 'listInterfaces', bridge);
  return portsOf(replica, row)
    .flatMap((port) => interfacesOf(replica, port))
    .map((iface) => iface['name'] as string)
    .filter((name) => name !== bridge)
    .sort();
}

/** @internal The bridge that has port `port`, or undefined. */
export function bridgeOfPort(replica: Replica, port: string): string | undefined {
  const portRow = replica.find('Port', (row) => row['name'] === port);
  if (portRow === undefined) return undefined;
  const bridge = replica.find('Bridge', (row) => (row['ports'] as string[]).includes(portRow['_uuid'] as string));
  return bridge?.['name'] as string | undefined;
}

/**
 * @internal What is known of interface `name`: type, ofport, error, states, options, statistics, status.
 * @throws DpdkError `ENOENT` when there is no such interface.
 */
export function interfaceInfo(replica: Replica, name: string): InterfaceInfo {
  const row = replica.find('Interface', (r) => r['name'] === name);
  if (row === undefined)
    throw new DpdkError(`no interface named ${name}`, { code: 'ENOENT', operation: 'interface', object: name });
  const status = mapToRecord<string>(row['status']);
  // update2 leaves out columns at their default: no `type` is "" (a system interface).
  const type = (row['type'] as string | undefined) ?? '';
  const vhost = type.startsWith('dpdkvhostuser');
  return {
    name,
    uuid: row['_uuid'] as string,
    type,
    ofport: (row['ofport'] as number | null) ?? undefined,
    error: (row['error'] as string | null) ?? undefined,
    adminState: (row['admin_state'] as string | null) ?? undefined,
    linkState: (row['link_state'] as string | null) ?? undefined,
    options: mapToRecord<string>(row['options']),
    statistics: mapToRecord<number | bigint>(row['statistics']),
    status,
    vhostMode: vhost ? status['mode'] : undefined,
    connected: vhost ? status['status'] === 'connected' : undefined,
    externalIds: mapToRecord<string>(row['external_ids']),
  };
}

/**
 * @internal The row of `table` named by `record`: a name (for tables with a `name` column),
 * a uuid, or `.` for the single Open_vSwitch row.
 * @throws DpdkError `EINVAL` for a table not monitored here, `ENOENT` when no row matches.
 */
export function findRecord(replica: Replica, table: string, record: string): Readonly<Row> {
  const operation = 'record';
  if (!(monitoredTables as readonly string[]).includes(table)) {
    invalidArgument(operation, `table ${describe(table)} is not one of ${monitoredTables.join(', ')}`);
  }
  let row: Readonly<Row> | undefined;
  if (table === 'Open_vSwitch' && record === '.') row = replica.rows(table)[0];
  else if (isUuid(record)) row = replica.get(table, record.toLowerCase());
  else {
    const key = table === 'Controller' || table === 'Manager' ? 'target' : 'name';
    row = replica.find(table, (r) => r[key] === record);
  }
  if (row === undefined)
    throw new DpdkError(`no ${table} row ${JSON.stringify(record)}`, { code: 'ENOENT', operation, object: record });
  return row;
}

/**
 * @internal The Open_vSwitch row.
 * @throws DpdkError `ENOENT` when there is none yet.
 */
export function findRootRow(replica: Replica, operation: string): Readonly<Row> {
  const root = replica.rows('Open_vSwitch')[0];
  if (root === undefined) {
    throw new DpdkError(`the database has no Open_vSwitch row yet; call init() first`, {
      code: 'ENOENT',
      operation,
      object: vswitchDb,
    });
  }
  return root;
}

/**
 * @internal The row of bridge `bridge`.
 * @throws DpdkError `ENOENT` when there is no such bridge.
 */
export function findBridgeRow(replica: Replica, operation: string, bridge: string): Readonly<Row> {
  const row = replica.find('Bridge', (r) => r['name'] === bridge);
  if (row === undefined) {
    throw new DpdkError(`no bridge named ${bridge} (bridges: ${listBridges(replica).join(', ') || 'none'})`, {
      code: 'ENOENT',
      operation,
      object: bridge,
    });
  }
  return row;
}

function portsOf(replica: Replica, bridge: Readonly<Row>): Readonly<Row>[] {
  return (bridge['ports'] as string[])
    .map((uuid) => replica.get('Port', uuid))
    .filter((row): row is Readonly<Row> => row !== undefined);
}

function interfacesOf(replica: Replica, port: Readonly<Row>): Readonly<Row>[] {
  return (port['interfaces'] as string[])
    .map((uuid) => replica.get('Interface', uuid))
    .filter((row): row is Readonly<Row> => row !== undefined);
}
