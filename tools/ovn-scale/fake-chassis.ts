/**
 * Simulated chassis, as OVN's own scale tests make them: rows in the southbound database
 * (Encap, Chassis, Chassis_Private) with no ovn-controller behind them. The benchmark then
 * plays the part of their controllers: it claims the ports northd asks them to
 * (Port_Binding.requested_chassis -> chassis, up) and acknowledges every `nb_cfg` that
 * northd publishes (Chassis_Private.nb_cfg), so that `hv_cfg` advances. Without the
 * acknowledgement `hv_cfg` would stay at 0 whenever one fake chassis exists; with it,
 * `hv_cfg` measures northd and the southbound server, and the fake chassis answer at once.
 */
import type { Monitor, OvsdbClient, Operation } from '../../lib/ovs/ovsdb/index.js';
import { namedUuid } from '../../lib/ovs/ovsdb/index.js';

/** The `external_ids` key that marks the benchmark's fake chassis (and nothing else). */
export const fakeMarker = { 'ovn-scale': 'fake' } as const;

/** The name of fake chassis `index`. */
export function fakeChassisName(index: number): string {
  return `fake-${index}`;
}

/** Writes `count` fake chassis, `perTransaction` per transaction. */
export async function createFakeChassis(sb: OvsdbClient, count: number, perTransaction = 50): Promise<void> {
  for (let first = 0; first < count; first += perTransaction) {
    const operations: Operation[] = [];
    for (let index = first; index < Math.min(count, first + perTransaction); index++) {
      const name = fakeChassisName(index);
      operations.push(
        {
          op: 'insert',
          table: 'Encap',
          uuidName: `e${index}`,
          // 10.64.0.0/10: one address per chassis, up to 4 million.
          row: {
            type: 'geneve',
            ip: `10.${64 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`,
            chassis_name: name,
          },
        },
        {
          op: 'insert',
          table: 'Chassis',
          uuidName: `c${index}`,
          row: { name, hostname: name, encaps: [namedUuid(`e${index}`)], external_ids: fakeMarker },
        },
        {
          op: 'insert',
          table: 'Chassis_Private',
          row: { name, chassis: namedUuid(`c${index}`), external_ids: fakeMarker },
        },
      );
    }
    await sb.transact('OVN_Southbound', operations);
  }
}

/**
 * Acts as the fake chassis's controllers: on every new `SB_Global.nb_cfg`, one transaction
 * sets `Chassis_Private.nb_cfg` of all fake chassis to it. Returns a function that stops it.
 */
export async function acknowledgeNbCfg(sb: OvsdbClient): Promise<() => Promise<void>> {
  const monitor = await sb.monitor('OVN_Southbound', { SB_Global: { columns: ['nb_cfg'] } });
  let acknowledged = 0;
  let pending = Promise.resolve();
  const onChange = (): void => {
    const global = monitor.replica.rows('SB_Global')[0];
    const nbCfg = Number(global?.['nb_cfg'] ?? 0);
    if (nbCfg <= acknowledged) return;
    acknowledged = nbCfg;
    pending = pending
      .then(async () => {
        await sb.transact('OVN_Southbound', [
          {
            op: 'update',
            table: 'Chassis_Private',
            where: [['external_ids', 'includes', fakeMarker]],
            row: { nb_cfg: nbCfg, nb_cfg_timestamp: Date.now() },
          },
        ]);
      })
      .catch(() => {
        // The central stopped under it: the wait on hv_cfg reports what did not catch up.
      });
  };
  monitor.replica.on('change', onChange);
  onChange();
  return async () => {
    monitor.replica.off('change', onChange);
    await pending;
    await monitor.cancel().catch(() => undefined);
  };
}

/**
 * Claims, as a controller would, every port whose requested chassis is a fake one:
 * `Port_Binding.chassis` = the requested chassis, `up` = true, `perTransaction` ports per
 * transaction. Reads the bindings with `monitor` (Port_Binding: logical_port,
 * requested_chassis, chassis; Chassis: external_ids). Returns how many ports it claimed.
 */
export async function claimPorts(sb: OvsdbClient, monitor: Monitor, perTransaction = 500): Promise<number> {
  const fake = new Set(
    monitor.replica
      .rows('Chassis')
      // A column at its default (empty) is left out of the rows the server sends.
      .filter((row) => (row['external_ids'] as Map<string, string> | undefined)?.get('ovn-scale') === 'fake')
      .map((row) => row['_uuid'] as string),
  );
  const operations: Operation[] = [];
  for (const binding of monitor.replica.rows('Port_Binding')) {
    const requested = binding['requested_chassis'];
    if (typeof requested !== 'string' || !fake.has(requested) || binding['chassis'] === requested) continue;
    operations.push({
      op: 'update',
      table: 'Port_Binding',
      where: [['_uuid', '==', binding['_uuid']]],
      row: { chassis: requested, up: true },
    });
  }
  for (let first = 0; first < operations.length; first += perTransaction) {
    await sb.transact('OVN_Southbound', operations.slice(first, first + perTransaction));
  }
  return operations.length;
}
