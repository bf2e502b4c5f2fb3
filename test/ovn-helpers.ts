// Helpers of the OVN tests: logical switches written straight into the northbound database
// (the tests check chassis and bindings, not a northbound API), skip conditions.
import { existsSync } from 'node:fs';
import { hugepages } from '../lib/host.js';
import { OvsdbClient } from '../lib/ovs/ovsdb/client.js';
import { namedUuid } from '../lib/ovs/ovsdb/data.js';
import { dpdkVswitchd } from '../lib/ovs/sandbox.js';
import type { OvnSandbox } from '../lib/ovn/sandbox.js';

/** Why OVN tests cannot run here, or false. */
export const skipOvn = !existsSync('/usr/bin/ovn-controller')
  ? 'OVN is not installed (apt-get install ovn-central ovn-host)'
  : process.getuid?.() !== 0
    ? 'network namespaces need root'
    : false;

/** Why OVN tests with DPDK chassis cannot run here, or false: each DPDK chassis takes 128 MiB of hugepages. */
export function skipDpdkOvn(chassis: number): string | false {
  if (skipOvn !== false) return skipOvn;
  if (!existsSync(dpdkVswitchd)) return `${dpdkVswitchd} is missing (apt-get install openvswitch-switch-dpdk)`;
  const free = hugepages().free;
  const needed = 64 * chassis + 48;
  return free < needed ? `only ${free} free hugepages (needs ${needed})` : false;
}

/** Adds logical switch `name` with ports `lsp -> addresses` (e.g. `"00:00:00:00:00:01 10.0.0.1"`). */
export async function addLogicalSwitch(
  sandbox: OvnSandbox,
  name: string,
  ports: Readonly<Record<string, string>>,
): Promise<void> {
  const client = await OvsdbClient.connect(sandbox.central.nbTarget, { timeoutMs: 10_000 });
  try {
    const entries = Object.entries(ports);
    await client.transact('OVN_Northbound', [
      ...entries.map(([lsp, addresses], index) => ({
        op: 'insert' as const,
        table: 'Logical_Switch_Port',
        uuidName: `lsp${index}`,
        row: { name: lsp, addresses: [addresses] },
      })),
      {
        op: 'insert',
        table: 'Logical_Switch',
        row: { name, ports: entries.map((_, index) => namedUuid(`lsp${index}`)) },
      },
    ]);
  } finally {
    client.close();
  }
}
