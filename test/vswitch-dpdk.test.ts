// DPDK test: starts the DPDK ovs-vswitchd (openvswitch-switch-dpdk), which needs free
// 2 MiB hugepages (128 MiB here). Skipped when they or the daemon are missing; this test
// does not set hugepages up itself (the project's setup script does).
import { existsSync, readdirSync } from 'node:fs';
import t from 'tap';
import { runDbCommand } from '../bin/ovs-db-commands.js';
import { hugepages } from '../lib/host.js';
import { Batch, Mempool, VirtioUser, buildUdpPacket, type Port } from '../lib/index.js';
import { dpdkVswitchd, OvsSandbox } from '../lib/ovs/sandbox.js';
import { Vswitch } from '../lib/ovs/vswitch.js';
import { initEal } from './helpers/dpdk.js';
import { vsctl } from './ovs-helpers.js';

const freeHugepages = hugepages().free;
const skip = !existsSync(dpdkVswitchd)
  ? `${dpdkVswitchd} is missing (apt-get install openvswitch-switch-dpdk)`
  : freeHugepages < 64
    ? `only ${freeHugepages} free hugepages (needs 64): echo 512 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs none /dev/hugepages`
    : false;

t.test('DPDK ovs-vswitchd: netdev bridge with vhost-user ports', { skip }, async (t) => {
  const sandbox = await OvsSandbox.start({
    vswitchd: 'dpdk',
    otherConfig: { 'dpdk-socket-mem': '128', 'dpdk-lcore-mask': '0x1', 'pmd-cpu-mask': '0x2' },
    timeoutMs: 60_000,
  });
  t.teardown(() => sandbox.stop());
  const vswitch = await Vswitch.connect(sandbox.dbTarget, { timeoutMs: 30_000 });
  t.teardown(() => vswitch.close());
  t.equal(vswitch.getOtherConfig()['dpdk-init'], 'true');
  t.match(vswitch.getOtherConfig()['dpdk-extra'], /^--no-pci --file-prefix=ovs[0-9a-f]{8}$/, 'a private --file-prefix');

  await vswitch.addBridge('ovs-br0', { datapathType: 'netdev' });
  await vswitch.addPort('ovs-br0', 'vhost-user0', { type: 'dpdkvhostuser', ofportRequest: 1 });
  await runDbCommand(
    'add-port',
    ['ovs-br0', 'vhost-user1', '--', 'set', 'Interface', 'vhost-user1', 'type=dpdkvhostuser', 'ofport_request=2'],
    { db: sandbox.dbTarget },
    () => undefined,
  );
  await vswitch.addPort('ovs-br0', 'vhost-client0', {
    type: 'dpdkvhostuserclient',
    options: { 'vhost-server-path': `${sandbox.runDir}/vm.sock` },
    ofportRequest: 3,
  });
  t.match(vswitch.interface('vhost-user0'), { ofport: 1, vhostMode: 'server', connected: false, error: undefined });
  t.match(vswitch.interface('vhost-user1'), { ofport: 2, vhostMode: 'server' });
  t.match(vswitch.interface('vhost-client0'), { ofport: 3, vhostMode: 'client', connected: false });
  t.ok(readdirSync(sandbox.runDir).includes('vhost-user0'), 'the vhost-user socket is in the run directory');
  t.ok(existsSync(sandbox.mgmtSocket('ovs-br0')), 'the OpenFlow management socket exists');
  t.equal(vswitch.show(), await vsctl(sandbox, 'show'));
});

t.test(
  'DPDK ovs-vswitchd without dpdk-init: a vhost-user port is refused, saying DPDK must be initialized',
  { skip: existsSync(dpdkVswitchd) ? false : `${dpdkVswitchd} is missing (apt-get install openvswitch-switch-dpdk)` },
  async (t) => {
    // No EAL starts without dpdk-init, so no hugepages are needed.
    const sandbox = await OvsSandbox.start({ vswitchd: 'dpdk', otherConfig: { 'dpdk-init': 'false' } });
    t.teardown(() => sandbox.stop());
    const vswitch = await Vswitch.connect(sandbox.dbTarget, { timeoutMs: 30_000 });
    t.teardown(() => vswitch.close());
    await vswitch.addBridge('br0', { datapathType: 'netdev' });
    await t.rejects(vswitch.addPort('br0', 'vhost-user0', { type: 'dpdkvhostuser' }), {
      code: 'ERR_OVS_INTERFACE',
      operation: 'addPort',
      message:
        /^ovs-vswitchd could not add interface vhost-user0: .*; type "dpdkvhostuser" needs OVS with DPDK initialized \(other_config:dpdk-init=true\); this switch has dpdk_initialized=false$/,
    });
    t.same(vswitch.listPorts('br0'), []);
  },
);

t.test(
  'DPDK ovs-vswitchd: dpdkvhostuserclient ports connect to virtio-user servers that wait, and a packet crosses',
  { skip },
  async (t) => {
    const sandbox = await OvsSandbox.start({
      vswitchd: 'dpdk',
      otherConfig: { 'dpdk-socket-mem': '128', 'dpdk-lcore-mask': '0x1', 'pmd-cpu-mask': '0x2' },
      timeoutMs: 60_000,
    });
    t.teardown(() => sandbox.stop());
    const vswitch = await Vswitch.connect(sandbox.dbTarget, { timeoutMs: 30_000 });
    t.teardown(() => vswitch.close());
    initEal('vswitch-dpdk', { lcores: '0@0' });
    const pool = Mempool.create({ name: 'vswitch-dpdk', size: 2047 });
    t.teardown(() => pool.close());
    await vswitch.addBridge('br-app', { datapathType: 'netdev' });

    // The servers wait while this thread adds the ports that connect to them through OVSDB:
    // a creation that blocked the event loop could never see its client come. The interval is
    // 1 ms because all of it can take less than 50 ms.
    let ticks = 0;
    const interval = setInterval(() => ticks++, 1);
    const names = ['app0', 'app1'];
    const servers = names.map((name, i) =>
      VirtioUser.createServer({
        path: `${sandbox.runDir}/${name}.sock`,
        mac: `00:00:00:00:00:0${i + 1}`,
        timeoutMs: 30_000,
      }),
    );
    for (const name of names) {
      await vswitch.addPort('br-app', name, {
        type: 'dpdkvhostuserclient',
        options: { 'vhost-server-path': `${sandbox.runDir}/${name}.sock` },
      });
    }
    const ports: Port[] = await Promise.all(servers);
    clearInterval(interval);
    t.ok(ticks > 0, `a 1 ms interval fired ${ticks} times meanwhile`);
    for (const port of ports) {
      t.teardown(() => port.close());
      port.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
      port.start();
      await port.waitForLink({ timeoutMs: 10_000 });
    }
    const [from, to] = ports;
    const packet = buildUdpPacket({
      dstMac: 'ff:ff:ff:ff:ff:ff',
      srcMac: '00:00:00:00:00:01',
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
    });
    const batch = new Batch(32);
    t.teardown(() => batch.close());
    let received: Uint8Array | undefined;
    for (const deadline = Date.now() + 10_000; received === undefined && Date.now() < deadline;) {
      pool.alloc(batch, 1, packet);
      from.txBurst(0, batch);
      batch.free();
      await new Promise((resolve) => setTimeout(resolve, 20));
      to.rxBurst(0, batch);
      if (batch.count > 0) received = batch.packet(0).copy();
      batch.free();
    }
    t.same(received, packet, 'a broadcast from app0 reaches app1 through the bridge');
    t.match(vswitch.interface('app0'), { vhostMode: 'client', connected: true });
  },
);
