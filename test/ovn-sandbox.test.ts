// OvnSandbox with real daemons: a central and chassis in network namespaces that register,
// build Geneve tunnels to each other and are removed again; bad input refused with nothing
// left behind; a chassis that never binds an LSP ends attach with a clear timeout.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import t from 'tap';
import { OvnSandbox } from '../lib/ovn/sandbox.js';
import { skipDpdkOvn, skipOvn } from './ovn-helpers.js';

function namespaces(prefix: string): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns').filter((name) => name.startsWith(prefix)) : [];
}

t.test(
  'two plain chassis register, tunnel to each other, and close removes everything',
  { skip: skipOvn },
  async (t) => {
    const prefix = `ovnt${process.pid}`;
    const sandbox = await OvnSandbox.start({ chassis: [{ name: 'hv1' }, { name: 'hv2' }], namespacePrefix: prefix });
    t.teardown(() => sandbox.close());
    t.same(namespaces(prefix).sort(), [`${prefix}-hv1`, `${prefix}-hv2`, `${prefix}-underlay`]);
    t.same(
      sandbox.southbound
        .chassis()
        .map((chassis) => [chassis.name, chassis.encaps])
        .sort(),
      [
        ['hv1', [{ type: 'geneve', ip: '192.168.100.1' }]],
        ['hv2', [{ type: 'geneve', ip: '192.168.100.2' }]],
      ],
    );
    const [hv1, hv2] = sandbox.chassis;
    const tunnel = hv1!.vswitch.replica.find('Interface', (row) => row['type'] === 'geneve');
    t.equal((tunnel?.['options'] as Map<string, string>).get('remote_ip'), '192.168.100.2', 'hv1 tunnels to hv2');
    t.match(await hv1!.appctl('tnl/neigh/show'), /192\.168\.100\.2\s+02:00:c0:a8:64:02\s+br-phy/, 'hv1 knows hv2 MAC');
    t.match(await hv2!.appctl('tnl/neigh/show'), /192\.168\.100\.1\s+02:00:c0:a8:64:01\s+br-phy/, 'hv2 knows hv1 MAC');
    const dirs = [sandbox.runDir, hv1!.runDir];
    await sandbox.close();
    await sandbox.close();
    t.same(namespaces(prefix), [], 'the namespaces are gone');
    t.same(
      dirs.filter((dir) => existsSync(dir)),
      [],
      'the directories are gone',
    );
    t.equal(hv1!.pid('ovs-vswitchd'), undefined);
  },
);

t.test('a namespace already in use: EEXIST, and nothing is made', { skip: skipOvn }, async (t) => {
  const prefix = `ovnu${process.pid}`;
  execFileSync('ip', ['netns', 'add', `${prefix}-chassis-2`]);
  t.teardown(() => execFileSync('ip', ['netns', 'delete', `${prefix}-chassis-2`]));
  const before = readdirSync('/tmp').filter((name) => name.startsWith('ovn'));
  await t.rejects(OvnSandbox.start({ chassis: 2, namespacePrefix: prefix }), {
    code: 'EEXIST',
    operation: 'OvnSandbox.start',
    message: `network namespace ${prefix}-chassis-2 already exists (another sandbox, or one left by a killed run: ip netns delete ${prefix}-chassis-2)`,
  });
  t.same(namespaces(prefix), [`${prefix}-chassis-2`], 'no other namespace was made');
  t.same(
    readdirSync('/tmp').filter((name) => name.startsWith('ovn') && !before.includes(name)),
    [],
    'no directory was made',
  );
});

t.test('bad options are refused before anything starts', { skip: skipOvn }, async (t) => {
  await t.rejects(OvnSandbox.start({ chassis: 0 }), {
    code: 'EINVAL',
    message: 'chassis must be an integer from 1 to 250, got 0',
  });
  await t.rejects(OvnSandbox.start({ chassis: [{ name: 'a' }, { name: 'a' }] }), {
    code: 'EINVAL',
    message: 'chassis[1].name a is used twice',
  });
  await t.rejects(OvnSandbox.start({ chassis: [{ name: 'a b' }] }), {
    code: 'EINVAL',
    message: 'chassis[0].name must be 1 to 32 letters, digits, ".", "_" or "-", got "a b"',
  });
  await t.rejects(OvnSandbox.start({ chassis: [{ dpkd: true } as never] }), {
    code: 'EINVAL',
    message: /^Unknown option "dpkd" for OvnSandbox.start chassis\[0\] \(did you mean "dpdk"\?\)$/,
  });
});

t.test(
  'a chassis that never binds: attach times out naming it, and removes its port',
  { skip: skipDpdkOvn(1) },
  async (t) => {
    const sandbox = await OvnSandbox.start({
      chassis: [{ dpdk: true, otherConfig: { 'dpdk-lcore-mask': '0x1', 'pmd-cpu-mask': '0x1' } }],
    });
    t.teardown(() => sandbox.close());
    const chassis = sandbox.chassis[0]!;
    // No logical switch has a port "ghost": northd makes no binding, so no chassis can claim it.
    await t.rejects(chassis.attach('ghost', { socketPath: `${sandbox.runDir}/ghost.sock`, timeoutMs: 1500 }), {
      code: 'ETIMEDOUT',
      operation: 'OvnChassis.attach',
      message:
        'chassis chassis-1 did not bind ghost (the southbound database has no Port_Binding for it: is it a port of a logical switch, and does ovn-northd run?) within 1500 ms',
    });
    t.equal(chassis.portState('ghost'), undefined, 'no port is left with iface-id=ghost');
    t.same(
      chassis.vswitch.listPorts('br-int').filter((port) => port === 'ghost'),
      [],
    );
  },
);
