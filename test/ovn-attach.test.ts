// OvnChassis.detach and OvnSandbox.move against real daemons: two DPDK chassis (each PMD
// pinned to its own CPU, sleeping when idle), NF ports with no app behind them (OVN binds
// and installs a vhost-user port before the app connects). Detach deletes the port and OVN
// releases the binding; a move rebinds the LSP on the other chassis; bad input, a target
// chassis that never binds and an abort are refused with nothing left half-made.
import t from 'tap';
import { OvnSandbox } from '../lib/ovn/sandbox.js';
import type { OvnChassis } from '../lib/ovn/chassis.js';
import { addLogicalSwitch, skipDpdkOvn } from './ovn-helpers.js';

const skip = skipDpdkOvn(2);

t.test('detach and move', { skip }, async (t) => {
  const sandbox = await OvnSandbox.start({
    chassis: [
      { name: 'hv1', dpdk: true, otherConfig: { 'dpdk-lcore-mask': '0x1', 'pmd-cpu-mask': '0x1' } },
      { name: 'hv2', dpdk: true, otherConfig: { 'dpdk-lcore-mask': '0x2', 'pmd-cpu-mask': '0x2' } },
    ],
  });
  t.teardown(() => sandbox.close());
  const [hv1, hv2] = sandbox.chassis as [OvnChassis, OvnChassis];
  await addLogicalSwitch(sandbox, 'ls0', {
    nf1: '00:00:00:00:00:01 10.0.0.1',
    nf2: '00:00:00:00:00:02 10.0.0.2',
    nf3: '00:00:00:00:00:03 10.0.0.3',
    // OVN lets only hv1 claim it: hv2 never binds it.
    pinned: { addresses: '00:00:00:00:00:04 10.0.0.4', options: { 'requested-chassis': 'hv1' } },
  });
  const socket = (name: string): string => `${sandbox.runDir}/${name}.sock`;
  /** The ports of `chassis`'s br-int with `external_ids:iface-id` = `lsp`, by name. */
  const portsOf = (chassis: OvnChassis, lsp: string): string[] =>
    chassis.vswitch.replica
      .rows('Interface')
      .filter((row) => (row['external_ids'] as Map<string, string> | undefined)?.get('iface-id') === lsp)
      .map((row) => row['name'] as string);

  await t.test('detach deletes the port and OVN releases the binding', async (t) => {
    await hv1.attach('nf1', { socketPath: socket('nf1') });
    t.match(sandbox.whereIs('nf1'), { chassis: 'hv1', ovnInstalled: true }, 'bound to hv1 first');
    t.ok(hv1.vswitch.listPorts('br-int').includes('nf1'));
    await hv1.detach('nf1');
    t.equal(hv1.portState('nf1'), undefined, 'no port of hv1 has iface-id=nf1');
    t.notOk(hv1.vswitch.listPorts('br-int').includes('nf1'), 'port nf1 is gone from br-int');
    t.match(
      sandbox.southbound.whereIs('nf1'),
      { logicalPort: 'nf1', chassis: undefined },
      'Port_Binding.chassis is empty',
    );
    t.match(sandbox.whereIs('nf1'), { chassis: undefined, ovnInstalled: false });
  });

  await t.test('detach of an LSP the chassis does not have: ENOENT', async (t) => {
    await t.rejects(hv1.detach('nf2'), {
      code: 'ENOENT',
      operation: 'OvnChassis.detach',
      message: 'logical switch port nf2 is not attached to chassis hv1',
    });
    await t.rejects(hv1.detach('nf2', { timeoutMs: 1000, tiemout: 5 } as never), {
      code: 'EINVAL',
      message: /^Unknown option "tiemout"/,
    });
  });

  await t.test('move rebinds the LSP on the other chassis and removes the old port', async (t) => {
    await hv1.attach('nf2', { socketPath: socket('nf2') });
    const moved = await sandbox.move('nf2', 'hv2');
    t.same(moved, { lsp: 'nf2', chassis: 'hv2', port: 'nf2', socketPath: socket('nf2') }, 'the same socket by default');
    t.match(sandbox.southbound.whereIs('nf2'), { chassis: 'hv2' }, 'Port_Binding.chassis is hv2');
    t.match(hv2.portState('nf2'), { port: 'nf2', ovnInstalled: true, socketPath: socket('nf2') }, 'installed on hv2');
    t.same(portsOf(hv1, 'nf2'), [], 'the port on hv1 is gone');
    // And back, to a new socket (a second instance of the app on the old host).
    const back = await sandbox.move('nf2', 'hv1', { socketPath: socket('nf2-b'), port: 'nf2b' });
    t.same(back, { lsp: 'nf2', chassis: 'hv1', port: 'nf2b', socketPath: socket('nf2-b') });
    t.match(sandbox.whereIs('nf2'), { chassis: 'hv1', ovnInstalled: true });
    t.same(portsOf(hv2, 'nf2'), [], 'the port on hv2 is gone');
  });

  await t.test('move refuses an unknown chassis, an LSP attached nowhere, and a no-op', async (t) => {
    await t.rejects(sandbox.move('nf2', 'hv9'), {
      code: 'ENOENT',
      operation: 'OvnSandbox.chassisNamed',
      message: 'no chassis named "hv9" (the sandbox has hv1, hv2)',
    });
    await t.rejects(sandbox.move('nf3', 'hv2'), {
      code: 'ENOENT',
      operation: 'OvnSandbox.move',
      message: 'logical switch port "nf3" is not attached to any chassis of the sandbox',
    });
    await t.rejects(sandbox.move('nf2', 'hv1'), {
      code: 'EINVAL',
      message: 'logical switch port nf2 is already on chassis hv1',
    });
    t.match(sandbox.whereIs('nf2'), { chassis: 'hv1', ovnInstalled: true }, 'nf2 stayed where it was');
  });

  await t.test('a target chassis that never binds: ETIMEDOUT naming it and the LSP, NF back home', async (t) => {
    await hv1.attach('pinned', { socketPath: socket('pinned') });
    await t.rejects(sandbox.move('pinned', 'hv2', { timeoutMs: 2000 }), {
      code: 'ETIMEDOUT',
      operation: 'moveNf',
      object: 'pinned',
      message: 'chassis hv2 did not bind pinned (bound to no chassis) within 2000 ms',
    });
    t.same(portsOf(hv2, 'pinned'), [], 'nothing is left on hv2');
    t.match(sandbox.whereIs('pinned'), { chassis: 'hv1', ovnInstalled: true }, 'attached on hv1 again');
    t.same(portsOf(hv1, 'pinned'), ['pinned'], 'with one port');
  });

  await t.test('an aborted move: ECANCELED, nothing left on the target, NF back home', async (t) => {
    await t.rejects(sandbox.move('pinned', 'hv2', { signal: AbortSignal.timeout(500) }), {
      code: 'ECANCELED',
      operation: 'OvnChassis.attach',
    });
    t.same(portsOf(hv2, 'pinned'), [], 'nothing is left on hv2');
    t.match(sandbox.whereIs('pinned'), { chassis: 'hv1', ovnInstalled: true }, 'attached on hv1 again');
  });

  await t.test('an aborted attach: ECANCELED, and its port is removed', async (t) => {
    const controller = new AbortController();
    const attach = hv2.attach('pinned', { socketPath: socket('pinned2'), signal: controller.signal });
    // hv1 holds it: hv2 never binds it, the wait goes on until the abort.
    setTimeout(() => controller.abort(), 300);
    await t.rejects(attach, { code: 'ECANCELED', operation: 'OvnChassis.attach' });
    t.same(portsOf(hv2, 'pinned'), [], 'no port is left on hv2');
  });
});
