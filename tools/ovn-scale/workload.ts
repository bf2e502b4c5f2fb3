/**
 * What the benchmark writes to the northbound database, as a cloud management system
 * would: one logical router, a logical switch per `portsPerSwitch` ports attached to it,
 * and the logical ports, each with a MAC and an IP (`addresses`, `port_security`) and
 * `options:requested-chassis` naming the chassis it is to be bound on (round robin).
 */
import type { Operation, OvsdbClient } from '../../lib/ovs/ovsdb/index.js';
import { namedUuid } from '../../lib/ovs/ovsdb/index.js';

/** The shape of the logical topology. */
export interface Workload {
  ports: number;
  /** Ports per logical switch (at most 250: a /24 each). */
  portsPerSwitch: number;
  /** The chassis names the ports are spread over, round robin. */
  chassis: readonly string[];
  /** Logical ports per NB transaction. */
  transactionSize: number;
}

/** The name of logical port `index`. */
export const portName = (index: number): string => `lsp-${index}`;
const switchName = (index: number): string => `ls-${index}`;
const mac = (prefix: number, index: number): string =>
  [prefix, 0, (index >> 24) & 255, (index >> 16) & 255, (index >> 8) & 255, index & 255]
    .map((byte) => byte.toString(16).padStart(2, '0'))
    .join(':');

/** How many switches `workload` needs. */
export function switchCount(workload: Workload): number {
  return Math.ceil(workload.ports / workload.portsPerSwitch);
}

/** Writes the router and the switches, each with its router port (one transaction); returns switch uuids. */
export async function writeTopology(nb: OvsdbClient, workload: Workload): Promise<string[]> {
  const operations: Operation[] = [];
  const switches = switchCount(workload);
  for (let s = 0; s < switches; s++) {
    const subnet = `10.${s >> 8}.${s & 255}`;
    operations.push(
      {
        op: 'insert',
        table: 'Logical_Router_Port',
        uuidName: `rp${s}`,
        row: { name: `lrp-${s}`, mac: mac(2, s), networks: [`${subnet}.254/24`] },
      },
      {
        op: 'insert',
        table: 'Logical_Switch_Port',
        uuidName: `sp${s}`,
        row: {
          name: `${switchName(s)}-lr`,
          type: 'router',
          addresses: ['router'],
          options: { 'router-port': `lrp-${s}` },
        },
      },
      {
        op: 'insert',
        table: 'Logical_Switch',
        uuidName: `ls${s}`,
        row: { name: switchName(s), ports: [namedUuid(`sp${s}`)] },
      },
    );
  }
  operations.push({
    op: 'insert',
    table: 'Logical_Router',
    row: { name: 'lr0', ports: Array.from({ length: switches }, (_, s) => namedUuid(`rp${s}`)) },
  });
  const results = await nb.transact('OVN_Northbound', operations);
  return Array.from({ length: switches }, (_, s) => (results[s * 3 + 2] as { uuid: string }).uuid);
}

/** The operations that add ports `first` to `end - 1`, each to its switch. */
function portOperations(workload: Workload, switchUuids: readonly string[], first: number, end: number): Operation[] {
  const operations: Operation[] = [];
  const added = new Map<number, ReturnType<typeof namedUuid>[]>();
  for (let index = first; index < end; index++) {
    const s = Math.floor(index / workload.portsPerSwitch);
    const host = (index % workload.portsPerSwitch) + 1;
    const address = `${mac(10, index)} 10.${s >> 8}.${s & 255}.${host}`;
    operations.push({
      op: 'insert',
      table: 'Logical_Switch_Port',
      uuidName: `p${index}`,
      row: {
        name: portName(index),
        addresses: [address],
        port_security: [address],
        options: { 'requested-chassis': workload.chassis[index % workload.chassis.length]! },
      },
    });
    added.set(s, [...(added.get(s) ?? []), namedUuid(`p${index}`)]);
  }
  for (const [s, ports] of added) {
    operations.push({
      op: 'mutate',
      table: 'Logical_Switch',
      where: [['_uuid', '==', switchUuids[s]]],
      mutations: [['ports', 'insert', ports]],
    });
  }
  return operations;
}

/** Writes every port, `transactionSize` per transaction; resolves with the milliseconds it took. */
export async function writePorts(nb: OvsdbClient, workload: Workload, switchUuids: readonly string[]): Promise<number> {
  const started = performance.now();
  for (let first = 0; first < workload.ports; first += workload.transactionSize) {
    const end = Math.min(workload.ports, first + workload.transactionSize);
    await nb.transact('OVN_Northbound', portOperations(workload, switchUuids, first, end));
  }
  return performance.now() - started;
}
