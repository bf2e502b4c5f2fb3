// OvnNorthbound against a real OvnCentral (NB and SB ovsdb-servers, ovn-northd): what it
// writes is judged by ovn-nbctl, and northd's translation read with ovn-sbctl.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { OvnCentral } from '../lib/ovn/central.js';
import { OvnNorthbound } from '../lib/ovn/northbound.js';

const execFileAsync = promisify(execFile);

let central: OvnCentral;
let nb: OvnNorthbound;
t.before(async () => {
  central = await OvnCentral.start();
  nb = await OvnNorthbound.connect(central.nbTarget, { timeoutMs: 10_000 });
});
t.teardown(async () => {
  nb.close();
  await central.close();
});

async function nbctl(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('ovn-nbctl', [`--db=${central.nbTarget}`, '--timeout=5', ...args]);
  return stdout.trim();
}

async function sbctl(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('ovn-sbctl', [`--db=${central.sbTarget}`, '--timeout=5', ...args]);
  return stdout.trim();
}

const mac1 = '00:00:00:00:00:01';

t.test('a switch and its port, as ovn-nbctl reads them, bound in SB by northd', async (t) => {
  await nb.create('switch', { name: 'ls-a', externalIds: { owner: 'test' } });
  await nb.create('switch-port', {
    switch: 'ls-a',
    name: 'ls-a-p1',
    addresses: [`${mac1} 10.0.0.1`],
    portSecurity: [`${mac1} 10.0.0.1`],
    options: { requested_chassis: 'hv1' },
  });
  t.equal(await nbctl('lsp-list', 'ls-a'), `${nb.get('switch-port', 'ls-a-p1').uuid} (ls-a-p1)`);
  t.equal(await nbctl('lsp-get-addresses', 'ls-a-p1'), `${mac1} 10.0.0.1`);
  t.equal(await nbctl('lsp-get-port-security', 'ls-a-p1'), `${mac1} 10.0.0.1`);
  t.equal(await nbctl('get', 'Logical_Switch', 'ls-a', 'external_ids:owner'), 'test');
  await nb.sync();
  t.equal(await sbctl('--bare', '--columns=logical_port', 'find', 'Port_Binding', 'logical_port=ls-a-p1'), 'ls-a-p1');
  t.match(await sbctl('--bare', '--columns=external_ids', 'list', 'Datapath_Binding'), 'name=ls-a');
});

t.test('get returns what create stored, with the holder and names', async (t) => {
  await nb.create('switch', { name: 'ls-g' });
  await nb.create('switch-port', { switch: 'ls-g', name: 'ls-g-p1', addresses: ['dynamic'], enabled: false });
  t.match(nb.get('switch-port', 'ls-g-p1'), {
    name: 'ls-g-p1',
    switch: 'ls-g',
    addresses: ['dynamic'],
    enabled: false,
    type: '',
  });
  t.same(
    nb
      .list('switch-port')
      .map((port) => port.name)
      .filter((name) => name.startsWith('ls-g')),
    ['ls-g-p1'],
  );
});

t.test('update replaces the options given and keeps the others', async (t) => {
  await nb.create('switch', { name: 'ls-u' });
  await nb.create('switch-port', { switch: 'ls-u', name: 'ls-u-p1', addresses: [`${mac1} 10.0.0.1`], type: '' });
  await nb.update('switch-port', 'ls-u-p1', { addresses: [`${mac1} 10.0.0.9`, 'unknown'] });
  t.equal(await nbctl('lsp-get-addresses', 'ls-u-p1'), `${mac1} 10.0.0.9\nunknown`);
  t.equal(nb.get('switch-port', 'ls-u-p1').switch, 'ls-u');
});

t.test('a router, its port and the switch port of type router that joins them', async (t) => {
  await nb.create('switch', { name: 'ls-r' });
  await nb.create('router', { name: 'lr-r' });
  await nb.create('router-port', {
    router: 'lr-r',
    name: 'lr-r-ls',
    mac: '00:00:00:00:ff:01',
    networks: ['10.1.0.1/24'],
  });
  await nb.create('switch-port', {
    switch: 'ls-r',
    name: 'ls-r-lr',
    type: 'router',
    addresses: ['router'],
    options: { 'router-port': 'lr-r-ls' },
  });
  t.match(await nbctl('lrp-list', 'lr-r'), '(lr-r-ls)');
  t.equal(await nbctl('get', 'Logical_Router_Port', 'lr-r-ls', 'mac'), '"00:00:00:00:ff:01"');
  t.equal(await nbctl('get', 'Logical_Router_Port', 'lr-r-ls', 'networks'), '["10.1.0.1/24"]');
  t.equal(await nbctl('lsp-get-type', 'ls-r-lr'), 'router');
  await nb.sync();
  t.equal(await sbctl('--bare', '--columns=type', 'find', 'Port_Binding', 'logical_port=ls-r-lr'), 'patch');
});

t.test('a static route, as lr-route-list shows it', async (t) => {
  await nb.create('router', { name: 'lr-s' });
  const uuid = await nb.create('static-route', { router: 'lr-s', ipPrefix: '0.0.0.0/0', nexthop: '10.2.0.254' });
  t.match(await nbctl('lr-route-list', 'lr-s'), /0\.0\.0\.0\/0\s+10\.2\.0\.254 dst-ip/);
  t.match(nb.get('static-route', uuid), { router: 'lr-s', ipPrefix: '0.0.0.0/0', nexthop: '10.2.0.254' });
});

t.test('a reroute policy, as lr-policy-list shows it and as northd translates it', async (t) => {
  await nb.create('router', { name: 'lr-p' });
  // northd routes a reroute only to a next hop on one of the router's networks.
  await nb.create('router-port', {
    router: 'lr-p',
    name: 'lr-p-nf',
    mac: '00:00:00:00:ff:03',
    networks: ['10.3.1.1/24'],
  });
  await nb.create('router-policy', {
    router: 'lr-p',
    priority: 100,
    match: 'ip4.src == 10.3.0.0/24',
    action: 'reroute',
    nexthops: ['10.3.1.5'],
  });
  await nb.create('router-policy', { router: 'lr-p', priority: 90, match: 'ip4.dst == 10.9.0.9', action: 'drop' });
  const listed = await nbctl('lr-policy-list', 'lr-p');
  t.match(listed, /100\s+ip4\.src == 10\.3\.0\.0\/24\s+reroute\s+10\.3\.1\.5/);
  t.match(listed, /90\s+ip4\.dst == 10\.9\.0\.9\s+drop/);
  await nb.sync();
  t.match(await sbctl('lflow-list', 'lr-p'), /lr_in_policy +\), priority=100 +, match=\(ip4\.src == 10\.3\.0\.0\/24\)/);
});

t.test('ACLs on a switch and on a port group', async (t) => {
  await nb.create('switch', { name: 'ls-acl' });
  await nb.create('switch-port', { switch: 'ls-acl', name: 'ls-acl-p1', addresses: [`${mac1} 10.4.0.1`] });
  await nb.create('port-group', { name: 'pg_acl', ports: ['ls-acl-p1'] });
  await nb.create('acl', {
    switch: 'ls-acl',
    direction: 'from-lport',
    priority: 1001,
    match: 'ip4',
    action: 'allow-related',
  });
  await nb.create('acl', {
    portGroup: 'pg_acl',
    direction: 'to-lport',
    priority: 1002,
    match: 'outport == @pg_acl && tcp.dst == 22',
    action: 'drop',
    name: 'no-ssh',
  });
  t.match(await nbctl('acl-list', 'ls-acl'), /from-lport\s+1001 \(ip4\) allow-related/);
  t.match(await nbctl('acl-list', 'pg_acl'), /to-lport\s+1002 \(outport == @pg_acl && tcp\.dst == 22\) drop/);
  t.equal(await nbctl('get', 'Port_Group', 'pg_acl', 'ports'), `[${nb.get('switch-port', 'ls-acl-p1').uuid}]`);
  t.same(nb.get('port-group', 'pg_acl').ports, ['ls-acl-p1']);
  await nb.sync();
  // northd splits a port group per switch, named after the switch's tunnel key.
  t.match(await sbctl('--bare', '--columns=name,ports', 'list', 'Port_Group'), /\d+_pg_acl\nls-acl-p1/);
});

t.test('an address set, in SB after sync', async (t) => {
  await nb.create('address-set', { name: 'as_web', addresses: ['10.5.0.1', '10.5.1.0/24'] });
  t.equal(await nbctl('get', 'Address_Set', 'as_web', 'addresses'), '["10.5.0.1", "10.5.1.0/24"]');
  await nb.sync();
  t.equal(await sbctl('--bare', '--columns=addresses', 'find', 'Address_Set', 'name=as_web'), '10.5.0.1 10.5.1.0/24');
});

t.test('a load balancer attached to a switch and a router', async (t) => {
  await nb.create('load-balancer', {
    name: 'lb-web',
    vips: { '10.6.0.100:80': '10.6.0.1:8080,10.6.0.2:8080' },
    protocol: 'tcp',
  });
  await nb.create('switch', { name: 'ls-lb', loadBalancers: ['lb-web'] });
  await nb.create('router', { name: 'lr-lb' });
  await nb.update('router', 'lr-lb', { loadBalancers: ['lb-web'] });
  t.match(await nbctl('lb-list'), /lb-web\s+tcp\s+10\.6\.0\.100:80\s+10\.6\.0\.1:8080,10\.6\.0\.2:8080/);
  t.match(await nbctl('ls-lb-list', 'ls-lb'), 'lb-web');
  t.match(await nbctl('lr-lb-list', 'lr-lb'), 'lb-web');
  t.same(nb.get('switch', 'ls-lb').loadBalancers, ['lb-web']);
});

t.test('a mirror attached to a port, in SB after sync', async (t) => {
  await nb.create('mirror', { name: 'mir-1', filter: 'from-lport', sink: '192.168.50.9', type: 'gre', index: 7 });
  await nb.create('switch', { name: 'ls-m' });
  await nb.create('switch-port', {
    switch: 'ls-m',
    name: 'ls-m-p1',
    addresses: [`${mac1} 10.7.0.1`],
    mirrors: ['mir-1'],
  });
  t.match(
    await nbctl('mirror-list'),
    /mir-1:\s+Type\s+:\s+gre\s+Sink\s+:\s+192\.168\.50\.9\s+Filter\s+:\s+from-lport\s+Index\/Key:\s+7/,
  );
  t.equal(await nbctl('get', 'Logical_Switch_Port', 'ls-m-p1', 'mirror_rules'), `[${nb.get('mirror', 'mir-1').uuid}]`);
  await nb.sync();
  t.equal(await sbctl('--bare', '--columns=sink', 'find', 'Mirror', 'name=mir-1'), '192.168.50.9');
});

t.test('a forwarding group of two ports', async (t) => {
  await nb.create('switch', { name: 'ls-fg' });
  await nb.create('switch-port', { switch: 'ls-fg', name: 'ls-fg-p1', addresses: [`${mac1} 10.8.0.1`] });
  await nb.create('switch-port', { switch: 'ls-fg', name: 'ls-fg-p2', addresses: ['00:00:00:00:00:02 10.8.0.2'] });
  await nb.create('forwarding-group', {
    switch: 'ls-fg',
    name: 'fg-1',
    vip: '10.8.0.50',
    vmac: '00:00:00:00:00:50',
    childPorts: ['ls-fg-p1', 'ls-fg-p2'],
  });
  t.match(
    await nbctl('fwd-group-list', 'ls-fg'),
    /fg-1\s+ls-fg\s+10\.8\.0\.50\s+00:00:00:00:00:50\s+ls-fg-p1\s+ls-fg-p2/,
  );
  await nb.sync();
  t.match(await sbctl('lflow-list', 'ls-fg'), /fwd_group\(childports="ls-fg-p1","ls-fg-p2"\)/);
});

t.test('deleting a switch deletes its ports and ACLs with it', async (t) => {
  await nb.create('switch', { name: 'ls-d' });
  await nb.create('switch-port', { switch: 'ls-d', name: 'ls-d-p1' });
  const acl = await nb.create('acl', {
    switch: 'ls-d',
    direction: 'to-lport',
    priority: 1,
    match: 'ip4',
    action: 'allow',
  });
  await nb.delete('switch', 'ls-d');
  t.equal(await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'name=ls-d-p1'), '');
  t.notMatch(await nbctl('--bare', '--columns=_uuid', 'list', 'ACL'), acl);
  await t.rejects(nb.delete('switch', 'ls-d'), { code: 'ENOENT', message: 'logical switch ls-d does not exist' });
  await nb.delete('switch', 'ls-d', { ifExists: true });
});

t.test('deleting a port removes it from its switch', async (t) => {
  await nb.create('switch', { name: 'ls-dp' });
  await nb.create('switch-port', { switch: 'ls-dp', name: 'ls-dp-p1' });
  await nb.delete('switch-port', 'ls-dp-p1');
  t.equal(await nbctl('lsp-list', 'ls-dp'), '');
});

t.test('sync wait=sb resolves with the nb_cfg that northd copied to sb_cfg', async (t) => {
  const cfg = await nb.sync({ wait: 'sb' });
  t.equal(await nbctl('get', 'NB_Global', '.', 'sb_cfg'), String(cfg));
});

t.test('sync wait=hv with no chassis: OVN counts hv_cfg as reached with sb_cfg', async (t) => {
  const cfg = await nb.sync({ wait: 'hv', timeoutMs: 5000 });
  t.equal(await nbctl('get', 'NB_Global', '.', 'hv_cfg'), String(cfg));
});

t.test('sync with northd stopped times out naming what did not catch up', async (t) => {
  const quiet = await OvnCentral.start({ northd: false });
  t.teardown(() => quiet.close());
  const client = await OvnNorthbound.connect(quiet.nbTarget);
  t.teardown(() => client.close());
  await t.rejects(client.sync({ wait: 'sb', timeoutMs: 300 }), {
    code: 'ETIMEDOUT',
    operation: 'sync',
    message: /^ovn-northd did not update sb_cfg to 1 \(it is 0; is ovn-northd running\?\) within \d+ ms$/,
    object: 'NB_Global.sb_cfg',
  });
  await quiet.startNorthd();
  t.equal(await client.sync({ wait: 'sb' }), 2, 'the next sync completes once northd runs');
});

t.test('sync aborted by its signal', async (t) => {
  const quiet = await OvnCentral.start({ northd: false });
  t.teardown(() => quiet.close());
  const client = await OvnNorthbound.connect(quiet.nbTarget);
  t.teardown(() => client.close());
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  await t.rejects(client.sync({ signal: controller.signal }), {
    code: 'ECANCELED',
    message: 'sync was aborted before sb_cfg reached nb_cfg',
  });
});

t.test('bad input', async (t) => {
  await nb.create('switch', { name: 'ls-bad' });
  const portsBefore = await nbctl('--bare', '--columns=name', 'list', 'Logical_Switch_Port');

  t.test('a misspelled option', async (t) => {
    await t.rejects(nb.create('switch-port', { switch: 'ls-bad', name: 'x1', adresses: [] } as never), {
      code: 'EINVAL',
      operation: 'create',
      message: 'Unknown option "adresses" for create (did you mean "addresses"?)',
    });
  });
  t.test('a switch that does not exist', async (t) => {
    await t.rejects(nb.create('switch-port', { switch: 'ls-nope', name: 'x2' }), {
      code: 'ENOENT',
      object: 'ls-nope',
      message: 'logical switch ls-nope does not exist',
    });
  });
  t.test('a duplicate switch name', async (t) => {
    await t.rejects(nb.create('switch', { name: 'ls-bad' }), {
      code: 'EEXIST',
      message: 'logical switch ls-bad already exists',
    });
  });
  t.test('a switch port named like a router port', async (t) => {
    await nb.create('router', { name: 'lr-bad' });
    await nb.create('router-port', { router: 'lr-bad', name: 'taken-port', mac: mac1, networks: ['10.9.0.1/24'] });
    await t.rejects(nb.create('switch-port', { switch: 'ls-bad', name: 'taken-port' }), {
      code: 'EEXIST',
      message: 'logical router port taken-port already exists (switch and router ports share one namespace)',
    });
  });
  t.test('an address that does not parse', async (t) => {
    await t.rejects(
      nb.create('switch-port', { switch: 'ls-bad', name: 'x3', addresses: ['00:00:00:00:00:01 10.0.0.300'] }),
      {
        code: 'EINVAL',
        message:
          'addresses[0] "00:00:00:00:00:01 10.0.0.300" is not an OVN address (expected "MAC [IP...]" such as "00:00:00:00:00:01 10.0.0.1", "MAC dynamic", "dynamic", "router" or "unknown")',
      },
    );
  });
  t.test('a router network without its prefix length', async (t) => {
    await t.rejects(nb.create('router-port', { router: 'lr-bad', name: 'x4', mac: mac1, networks: ['10.0.0.1'] }), {
      code: 'EINVAL',
      message: 'networks[0] must be an address with its prefix length such as "10.0.0.1/24", got "10.0.0.1"',
    });
  });
  t.test('a reroute without next hops', async (t) => {
    await t.rejects(nb.create('router-policy', { router: 'lr-bad', priority: 1, match: 'ip4', action: 'reroute' }), {
      code: 'EINVAL',
      message: 'action "reroute" needs nexthops (the addresses to reroute to)',
    });
  });
  t.test('a port group naming a port that does not exist creates nothing', async (t) => {
    await t.rejects(nb.create('port-group', { name: 'pg_bad', ports: ['ls-bad-nope'] }), {
      code: 'ENOENT',
      message: 'logical switch port ls-bad-nope does not exist',
    });
    t.equal(await nbctl('--bare', '--columns=name', 'find', 'Port_Group', 'name=pg_bad'), '');
  });
  t.test('a load balancer VIP that does not parse', async (t) => {
    await t.rejects(nb.create('load-balancer', { name: 'lb-bad', vips: { '10.0.0.1:http': '10.0.0.2' } }), {
      code: 'EINVAL',
      message: 'vips: VIP "10.0.0.1:http" is not valid (expected "IP" or "IP:PORT")',
    });
  });
  t.test('an ACL on both a switch and a port group', async (t) => {
    await t.rejects(
      nb.create('acl', {
        switch: 'ls-bad',
        portGroup: 'pg_acl',
        direction: 'to-lport',
        priority: 1,
        match: 'ip',
        action: 'drop',
      }),
      { code: 'EINVAL', message: 'ACL needs exactly one of switch or portGroup, got 2' },
    );
  });
  t.test('an unknown kind', async (t) => {
    await t.rejects(nb.create('bridge' as never, { name: 'b' } as never), {
      code: 'EINVAL',
      message: /^unknown kind "bridge" \(expected one of: switch, switch-port, /,
    });
  });
  t.test('updating an object that does not exist', async (t) => {
    await t.rejects(nb.update('router', 'lr-nope', { enabled: false }), {
      code: 'ENOENT',
      operation: 'update',
      message: 'logical router lr-nope does not exist',
    });
  });
  t.test('none of the refused writes left a port behind', async (t) => {
    t.equal(await nbctl('--bare', '--columns=name', 'list', 'Logical_Switch_Port'), portsBefore);
  });
});
