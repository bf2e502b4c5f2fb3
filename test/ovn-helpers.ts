// Helpers of the OVN tests: logical switches made through the SDK's OvnNorthbound, skip
// conditions.
import { existsSync } from 'node:fs';
import { hugepages } from '../lib/host.js';
import { dpdkVswitchd } from '../lib/ovs/sandbox.js';
import { OvnNorthbound } from '../lib/ovn/northbound.js';
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

/** One logical switch port of {@link addLogicalSwitch}: its addresses, or addresses and `options`. */
export type TestPort = string | { addresses: string; options?: Record<string, string> };

/**
 * Adds logical switch `name` with ports `lsp -> addresses` (e.g. `"00:00:00:00:00:01 10.0.0.1"`)
 * through {@link OvnNorthbound}, and waits until ovn-northd has made their port bindings.
 */
export async function addLogicalSwitch(
  sandbox: OvnSandbox,
  name: string,
  ports: Readonly<Record<string, TestPort>>,
): Promise<void> {
  const nb = await OvnNorthbound.connect(sandbox.central.nbTarget, { timeoutMs: 10_000 });
  try {
    await nb.create('switch', { name });
    for (const [lsp, port] of Object.entries(ports)) {
      const { addresses, options } = typeof port === 'string' ? { addresses: port, options: undefined } : port;
      await nb.create('switch-port', {
        switch: name,
        name: lsp,
        addresses: [addresses],
        ...(options === undefined ? {} : { options }),
      });
    }
    await nb.sync({ wait: 'sb' });
  } finally {
    nb.close();
  }
}
