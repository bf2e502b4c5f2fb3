// Vswitch and the database verbs of dpdk-ts-ovs against a sandbox with a dummy
// ovs-vswitchd, checked against what ovs-vsctl reads back.
import t from 'tap';
import { runDbCommand } from '../bin/ovs-db-commands.js';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { Vswitch } from '../lib/ovs/vswitch.js';
import { vsctl, waitFor } from './ovs-helpers.js';

t.test('vswitch helpers with a dummy ovs-vswitchd', async (t) => {
  const sandbox = await OvsSandbox.start({ vswitchd: 'dummy' });
  t.teardown(() => sandbox.stop());
  const vswitch = await Vswitch.connect(sandbox.dbTarget, { timeoutMs: 10_000 });
  t.teardown(() => vswitch.close());

  t.test('init and other_config', async (t) => {
    await vswitch.init();
    await vswitch.setOtherConfig({
      'dpdk-init': 'false',
      'pmd-cpu-mask': '0x2',
      'vhost-sock-dir': 'vhost',
      'dpdk-extra': '--no-pci',
    });
    t.match(vswitch.getOtherConfig(), {
      'dpdk-init': 'false',
      'pmd-cpu-mask': '0x2',
      'vhost-sock-dir': 'vhost',
      'dpdk-extra': '--no-pci',
    });
    t.equal((await vsctl(sandbox, 'get', 'Open_vSwitch', '.', 'other_config:pmd-cpu-mask')).trim(), '"0x2"');
    await vswitch.setOtherConfig({ 'dpdk-extra': null, 'pmd-cpu-mask': '0x1' });
    t.notOk('dpdk-extra' in vswitch.getOtherConfig());
    t.equal(vswitch.getOtherConfig()['pmd-cpu-mask'], '0x1');
    await t.rejects(vswitch.setOtherConfig({ 'dpdk-init': 'yes' }), {
      code: 'EINVAL',
      message: 'other_config["dpdk-init"] = "yes" is not valid: expected "true", "false" or "try"',
    });
    await t.rejects(vswitch.setOtherConfig({ 'dpdk-lcore-mask': 'cores 1-2' }), {
      code: 'EINVAL',
      message: /expected a hexadecimal CPU mask such as "0x2"$/,
    });
    await t.rejects(vswitch.setOtherConfig({ 'dpdk-socket-mem': '1G' }), {
      code: 'EINVAL',
      message: /expected megabytes per NUMA node/,
    });
    await vsctl(sandbox, '--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:dpdk-lcore-mask=0x4');
    await waitFor('ovs-vsctl change', () => vswitch.getOtherConfig()['dpdk-lcore-mask'] === '0x4');
  });

  t.test('bridges and ports, applied and confirmed', async (t) => {
    await vswitch.addBridge('br0', { datapathType: 'dummy', externalIds: { owner: 'test' } });
    await t.rejects(vswitch.addBridge('br0', { datapathType: 'dummy' }), {
      code: 'EEXIST',
      message: 'bridge br0 already exists',
    });
    await vswitch.addBridge('br0', { datapathType: 'dummy', mayExist: true });
    await vswitch.addPort('br0', 'taken', { type: 'internal' });
    await t.rejects(vswitch.addBridge('taken'), {
      code: 'EEXIST',
      message: "a port or interface named taken already exists on bridge br0; the bridge's own port needs that name",
    });
    await vswitch.deletePort('taken', { bridge: 'br0' });
    await t.rejects(vswitch.deletePort('br0'), {
      code: 'EINVAL',
      message: "port br0 is the bridge's own port; delete the bridge instead",
    });
    await vswitch.addPort('br0', 'p1', { type: 'internal', ofportRequest: 7, externalIds: { vm: 'one' } });
    await vswitch.addPort('br0', 'vhu0', { type: 'internal', ofportRequest: 9 });
    t.same(vswitch.listBridges(), ['br0']);
    t.same(vswitch.listPorts('br0'), ['p1', 'vhu0']);
    t.same(vswitch.listInterfaces('br0'), ['p1', 'vhu0']);
    t.equal((await vsctl(sandbox, 'list-ports', 'br0')).trim(), 'p1\nvhu0');
    t.equal(
      (await vsctl(sandbox, 'get', 'Interface', 'p1', 'ofport')).trim(),
      '7',
      'ofport_request honored, confirmed before returning',
    );
    const p1 = vswitch.interface('p1');
    t.match(p1, {
      name: 'p1',
      type: 'internal',
      ofport: 7,
      error: undefined,
      externalIds: { vm: 'one' },
      vhostMode: undefined,
    });
    t.equal(typeof p1.statistics['rx_packets'], 'number');
    t.equal((await vsctl(sandbox, 'get', 'Bridge', 'br0', 'datapath_type')).trim(), 'dummy');
    await t.rejects(vswitch.addPort('br0', 'p1'), { code: 'EEXIST', message: 'port p1 already exists on bridge br0' });
    await t.rejects(vswitch.addPort('nobr', 'p9'), { code: 'ENOENT', message: 'no bridge named nobr (bridges: br0)' });
    await t.rejects(vswitch.addPort('br0', 'p9', { ofportRequest: 0 }), {
      code: 'EINVAL',
      message: 'ofportRequest must be an integer from 1 to 65279, got 0',
    });
    await t.rejects(vswitch.addPort('br0', 'p9', { type: 'dpdkvhostuserclient' }), {
      code: 'EINVAL',
      message: /needs options\["vhost-server-path"\]/,
    });
    await t.rejects(vswitch.addPort('br0', 'p9', { typ: 'internal' } as never), {
      code: 'EINVAL',
      message: /^Unknown option "typ" for addPort/,
    });
    await t.rejects(vswitch.addPort('br0', 'bad port'), {
      code: 'EINVAL',
      message: /^port name "bad port" is not valid/,
    });
  });

  t.test('a bad interface type is reported as an error, naming the types there are', async (t) => {
    await t.rejects(vswitch.addPort('br0', 'bad0', { type: 'nosuchtype' }), {
      code: 'ERR_OVS_INTERFACE',
      message:
        /^ovs-vswitchd could not add interface bad0: could not open network device bad0 \(.*\); this ovs-vswitchd has no interface type "nosuchtype" \(it has: .*\bdummy\b.*\)$/,
      object: 'bad0',
    });
    t.same(vswitch.listPorts('br0'), ['p1', 'vhu0'], 'the refused port is removed again');
    t.equal((await vsctl(sandbox, 'list-ports', 'br0')).trim(), 'p1\nvhu0');
  });

  t.test('a port with no kernel device on the dummy switch: the error says to use type dummy', async (t) => {
    await t.rejects(vswitch.addPort('br0', 'nodev'), {
      code: 'ERR_OVS_INTERFACE',
      operation: 'addPort',
      message:
        'ovs-vswitchd could not add interface nodev: could not open network device nodev (No such device); ' +
        'there is no kernel network device "nodev" for a system interface; ' +
        "on a dummy or userspace switch without DPDK use type: 'dummy' (or 'internal')",
    });
    t.same(vswitch.listPorts('br0'), ['p1', 'vhu0']);
    await vswitch.addPort('br0', 'nodev', { type: 'dummy' });
    t.equal(vswitch.interface('nodev').type, 'dummy', 'the same name, corrected, is accepted');
    await vswitch.deletePort('nodev');
  });

  t.test('a vhost-user port on a switch without DPDK: the error says it needs DPDK', async (t) => {
    await t.rejects(
      vswitch.addPort('br0', 'vhc0', {
        type: 'dpdkvhostuserclient',
        options: { 'vhost-server-path': `${sandbox.runDir}/vhc0.sock` },
      }),
      {
        code: 'ERR_OVS_INTERFACE',
        message:
          /^ovs-vswitchd could not add interface vhc0: could not open network device vhc0 \(.*\); type "dpdkvhostuserclient" needs OVS with DPDK initialized \(other_config:dpdk-init=true\); this switch has dpdk_initialized=false and its ovs-vswitchd has no DPDK \(dpdk_version "none"\): run OVS's DPDK build/,
      },
    );
    t.same(vswitch.listPorts('br0'), ['p1', 'vhu0']);
  });

  t.test('interface() of an interface of the default (system) type', async (t) => {
    await vswitch.addPort('br0', 'sys0', { noWait: true });
    await waitFor('the replica', () => vswitch.listPorts('br0').includes('sys0'));
    t.equal(vswitch.interface('sys0').type, '', 'update2 leaves the default type out; it reads as ""');
    await vswitch.deletePort('sys0');
  });

  t.test('noWait and a missing ovs-vswitchd', async (t) => {
    await sandbox.killDaemon('ovs-vswitchd');
    await vswitch.addPort('br0', 'nw', { type: 'internal', noWait: true });
    t.equal((await vsctl(sandbox, 'list-ports', 'br0')).trim(), 'nw\np1\nvhu0');
    await t.rejects(vswitch.deletePort('nw', { timeoutMs: 300 }), {
      code: 'ETIMEDOUT',
      message:
        /^ovs-vswitchd did not apply the change \(cur_cfg \d+ < next_cfg \d+\); is ovs-vswitchd running\? \(use noWait without one\) within \d+ ms$/,
    });
    await sandbox.startVswitchd();
    await vswitch.deletePort('nw', { ifExists: true });
    await vswitch.addBridge('br1', { datapathType: 'dummy' });
    t.same(vswitch.listBridges(), ['br0', 'br1']);
  });

  t.test('show prints what ovs-vsctl show prints', async (t) => {
    await vsctl(
      sandbox,
      'set',
      'Port',
      'p1',
      'tag=10',
      '--',
      'set',
      'Interface',
      'vhu0',
      'options:key=value',
      'options:other="a b"',
    );
    await vsctl(
      sandbox,
      '--no-wait',
      'set-manager',
      'ptcp:0:127.0.0.1',
      '--',
      'set',
      'Open_vSwitch',
      '.',
      'ovs_version=3.1.0',
    );
    await vsctl(
      sandbox,
      'set-controller',
      'br1',
      'tcp:127.0.0.1:1',
      '--',
      'set',
      'Bridge',
      'br1',
      'fail_mode=secure',
      '--',
      'set',
      'Port',
      'p1',
      'trunks=1,2',
    );
    let theirs = '';
    await waitFor('the same output', async () => {
      theirs = await vsctl(sandbox, 'show');
      return vswitch.show() === theirs;
    });
    t.equal(vswitch.show(), theirs);
    t.match(theirs, /Port p1\n {12}tag: 10\n {12}trunks: \[1, 2\]\n/);
    t.match(theirs, /Manager "ptcp:0:127.0.0.1"/);
    t.match(theirs, /Controller "tcp:127.0.0.1:1"\n {8}fail_mode: secure/);
    t.match(theirs, /options: {key=value, other="a b"}/);
    t.match(theirs, /ovs_version: "3.1.0"\n$/);
  });

  t.test('ovs-vsctl-like verbs', async (t) => {
    const lines: string[] = [];
    const run = async (verb: string, ...args: string[]): Promise<string[]> => {
      lines.length = 0;
      await runDbCommand(verb, args, { db: sandbox.dbTarget, timeoutMs: 10_000 }, (line) => lines.push(line));
      return [...lines];
    };
    await run('init');
    await run('add-br', 'cli0', 'datapath_type=dummy', 'external_ids:made-by=cli');
    await run('add-port', 'cli0', 'c1', 'type=internal', 'ofport_request=3');
    await run('add-port', 'cli0', 'c2', '--', 'set', 'Interface', 'c2', 'type=internal', 'options:key=x');
    t.same(await run('list-ports', 'cli0'), ['c1', 'c2']);
    t.same(await run('list-br'), ['br0', 'br1', 'cli0']);
    t.same(await run('get', 'Interface', 'c1', 'ofport', 'type'), ['3', 'internal']);
    t.same(await run('get', 'Bridge', 'cli0', 'external_ids:made-by'), ['cli']);
    await run('set', 'Interface', 'c2', 'external_ids:a=b', 'mtu_request=1400');
    t.equal((await vsctl(sandbox, 'get', 'Interface', 'c2', 'external_ids:a', 'mtu_request')).trim(), 'b\n1400');
    await run('set', 'Open_vSwitch', '.', 'other_config:dpdk-socket-mem=1024');
    t.equal((await vsctl(sandbox, 'get', 'Open_vSwitch', '.', 'other_config:dpdk-socket-mem')).trim(), '"1024"');
    t.same((await run('show')).join('\n') + '\n', await vsctl(sandbox, 'show'));
    await run('del-port', 'cli0', 'c1');
    await run('del-port', '--if-exists', 'c1');
    await run('del-br', 'cli0');
    await run('del-br', '--if-exists', 'cli0');
    t.equal((await vsctl(sandbox, 'list-br')).trim(), 'br0\nbr1');
    await t.rejects(run('add-prt', 'x'), {
      code: 'EINVAL',
      message: /^unknown command "add-prt" \(expected one of: show, init, add-br/,
    });
    await t.rejects(run('add-port', 'br0'), {
      code: 'EINVAL',
      message: /^missing the bridge or the port name \(usage: add-port \[--may-exist\] BR PORT/,
    });
    await t.rejects(run('set', 'Interface', 'p1', 'ofport_request=abc'), {
      code: 'EINVAL',
      message: /^Interface.ofport_request: "abc" is not an integer/,
    });
    await t.rejects(run('set', 'Interface', 'p1', 'nosuch=1'), {
      code: 'EINVAL',
      message: /^no column "nosuch" in table "Interface"/,
    });
    await t.rejects(run('del-br', 'nobr'), { code: 'ENOENT', message: /^no bridge named nobr/ });
    await t.rejects(run('add-port', 'br0', 'b1', 'type=nosuchtype'), { code: 'ERR_OVS_INTERFACE' });
    await t.rejects(
      runDbCommand('show', [], { db: sandbox.dbTarget, wait: true } as never, () => undefined),
      {
        code: 'EINVAL',
        message: 'Unknown option "wait" for runDbCommand (did you mean "noWait"?)',
      },
    );
  });
});
