// The service chain across three DPDK chassis of an OvnSandbox, with OVN 23.03's own
// mechanisms (tools/lab/ovn-chain.ts): the generator's ports on chassis 1, the inline IPS
// on chassis 2 behind a router policy `reroute`, the detector on chassis 3 fed by an OVN
// Mirror (GRE). The apps are virtio-user servers in this process; the IPS and the detector
// are examples/ips-loop.ts (the IPS example's loop) on pinned worker threads, the
// generator is this thread. Counted at every hop: the apps' counters and OVS's port and
// flow counters on each chassis.
import t from 'tap';
import {
  Batch,
  ETHER_HEADER_LENGTH,
  Forwarder,
  IPV4_HEADER_LENGTH,
  Mempool,
  VirtioUser,
  buildUdpPacket,
  formatMac,
  readIpv4,
  readUdp,
  type Port,
} from '../lib/index.js';
import type { OvnChassis } from '../lib/ovn/chassis.js';
import { OvnSandbox } from '../lib/ovn/sandbox.js';
import { ipsCounterNames, type IpsLoopData } from '../examples/ips-loop.js';
import {
  buildOvnChain,
  chainChassisOptions,
  chainCountersSince,
  chainOvsCounters,
  chainTrace,
  ovnChain,
  type ChainSockets,
} from '../tools/lab/ovn-chain.js';
import { initEal, until } from './helpers/dpdk.js';
import { skipDpdkOvn } from './ovn-helpers.js';

const skip = skipDpdkOvn(3);
const loop = new URL('../examples/ips-loop.ts', `file://${__filename}`);
const rule = 'udp,tp_dst=6666';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test(
  'a service chain across three DPDK chassis: 300 sent on chassis 1, the IPS on chassis 2 drops 100, 200 reach port 1, the detector on chassis 3 sees 300 mirrored and matches 100',
  { skip },
  async (t) => {
    const sandbox = await OvnSandbox.start({ chassis: chainChassisOptions() });
    t.teardown(() => sandbox.close());
    const [chassis1, chassis2, chassis3] = sandbox.chassis as [OvnChassis, OvnChassis, OvnChassis];
    const sockets: ChainSockets = {
      gen0: `${sandbox.runDir}/gen0.sock`,
      gen1: `${sandbox.runDir}/gen1.sock`,
      nfIn: `${sandbox.runDir}/nf-in.sock`,
      nfOut: `${sandbox.runDir}/nf-out.sock`,
      detector: `${sandbox.runDir}/det.sock`,
    };
    await buildOvnChain(sandbox, sockets);
    const { ports: chain } = ovnChain;
    const placed = [
      ['gen0', chassis1],
      ['gen1', chassis1],
      ['nfIn', chassis2],
      ['nfOut', chassis2],
    ] as const;
    for (const [role, chassis] of placed)
      t.match(
        sandbox.whereIs(chain[role].lsp),
        { chassis: chassis.name, ovnInstalled: true },
        `${role} on ${chassis.name}`,
      );

    initEal('ovn-chain', { lcores: '0@0,1@1' });
    const pool = Mempool.create({ name: 'ovn-chain', size: 8191 });
    t.teardown(() => pool.close());
    const macs: Record<keyof ChainSockets, string> = {
      gen0: chain.gen0.mac,
      gen1: chain.gen1.mac,
      nfIn: chain.nfIn.mac,
      nfOut: chain.nfOut.mac,
      detector: ovnChain.detector.mac,
    };
    const names = Object.keys(sockets) as (keyof ChainSockets)[];
    const created = await Promise.all(
      names.map((name) => VirtioUser.createServer({ path: sockets[name], mac: macs[name], timeoutMs: 30_000 })),
    );
    const ports = Object.fromEntries(names.map((name, i) => [name, created[i]!])) as Record<keyof ChainSockets, Port>;
    for (const port of created) {
      t.teardown(() => port.close());
      port.configure({ mempool: pool, rxDescriptors: 1024, txDescriptors: 1024 });
      port.start();
      await port.waitForLink({ timeoutMs: 10_000 });
    }
    for (const [role, chassis] of placed) {
      t.ok(
        await until(() => chassis.portState(chain[role].lsp)?.connected === true, 10_000),
        `${chassis.name} sees the app on ${chain[role].lsp}`,
      );
    }
    t.ok(
      await until(() => chassis3.vswitch.interface(ovnChain.detector.port).connected === true, 10_000),
      "chassis-3 sees the detector on br-phy's port",
    );

    // The IPS returns what it passes to the router: destination the router's nf-out port, source its own.
    const ipsData: IpsLoopData = {
      mode: 'inline',
      rules: [rule],
      macs: { destination: chain.nfOut.routerMac, source: chain.nfOut.mac },
    };
    const ips = await Forwarder.start({
      loop,
      cpu: 1,
      streams: [{ rxPort: ports.nfIn, txPort: ports.nfOut }],
      data: ipsData,
      counters: ipsCounterNames(1),
      yieldWhenIdle: true,
    });
    t.teardown(() => ips.close());
    const detectData: IpsLoopData = { mode: 'detect', rules: [rule], decap: 'gre' };
    const detector = await Forwarder.start({
      loop,
      cpu: 0,
      streams: [{ rxPort: ports.detector, txPort: ports.detector }],
      data: detectData,
      counters: ipsCounterNames(1),
      yieldWhenIdle: true,
    });
    t.teardown(() => detector.close());

    const packets = [53, 6666, 80].map((dstPort) =>
      buildUdpPacket({
        dstMac: chain.gen0.routerMac,
        srcMac: chain.gen0.mac,
        srcIp: chain.gen0.ip,
        dstIp: chain.gen1.ip,
        dstPort,
      }),
    );
    const batch = new Batch(32);
    t.teardown(() => batch.close());
    const drain = (): number => {
      const n = ports.gen1.rxBurst(0, batch);
      batch.free();
      return n;
    };

    // OVN says installed before the apps connect, and OVS enables a vhost port's queues only
    // after: probe, one frame at a time (UDP 53, which the IPS passes), until the chain
    // delivers it to port 1 and its mirrored copy to the detector. Then count from there.
    let probes = 0;
    let through = false;
    let mirrored = false;
    for (const deadline = Date.now() + 20_000; !(through && mirrored) && Date.now() < deadline; probes++) {
      const seen = detector.counters()['rx:0'];
      pool.alloc(batch, 1, packets[0]);
      ports.gen0.txBurst(0, batch);
      batch.free();
      await sleep(50);
      through ||= drain() > 0;
      mirrored ||= detector.counters()['rx:0'] > seen;
    }
    t.ok(through, `the chain delivers to port 1 (after ${probes} probe frames)`);
    t.ok(mirrored, `the mirror delivers to the detector (after ${probes} probe frames)`);
    if (!(through && mirrored)) {
      t.comment(JSON.stringify({ ips: ips.counters(), detector: detector.counters() }));
      t.comment(await chainTrace(sandbox));
    }
    await sleep(500);
    drain(); // probes still in flight

    const before = {
      ips: ips.counters(),
      detector: detector.counters(),
      ovs: await chainOvsCounters(sandbox),
    };
    const total = 300;
    let sent = 0;
    let received = 0;
    const byPort = new Map<number, number>();
    const wrong: string[] = [];
    const receive = (): void => {
      const n = ports.gen1.rxBurst(0, batch);
      for (let i = 0; i < n; i++) {
        const bytes = batch.packet(i).copy();
        const ip = readIpv4(bytes, ETHER_HEADER_LENGTH);
        const udp = readUdp(bytes, ETHER_HEADER_LENGTH, ETHER_HEADER_LENGTH + IPV4_HEADER_LENGTH);
        byPort.set(udp.dstPort, (byPort.get(udp.dstPort) ?? 0) + 1);
        const dst = formatMac(bytes.subarray(0, 6));
        const src = formatMac(bytes.subarray(6, 12));
        // Routed twice (gen0 -> IPS, IPS -> gen1): TTL 64 - 2, and lr0's gen1 port as source.
        if (dst !== chain.gen1.mac || src !== chain.gen1.routerMac || ip.ttl !== 62)
          wrong.push(`${src} > ${dst} ttl ${ip.ttl}`);
      }
      received += n;
      batch.free();
    };
    // One frame of each flow per millisecond or so (3 Kpps): well within what three PMDs on two CPUs carry.
    for (let round = 0; sent < total; round++) {
      for (const packet of packets) pool.alloc(batch, 1, packet);
      while (batch.count > 0) {
        sent += ports.gen0.txBurst(0, batch);
        if (batch.count > 0) await sleep(1);
      }
      receive();
      await sleep(1);
    }
    const ipsRx = (): number => ips.counters()['rx:0'] - before.ips['rx:0'];
    const detectorRx = (): number => detector.counters()['rx:0'] - before.detector['rx:0'];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      receive();
      if (received >= 200 && ipsRx() >= total && detectorRx() >= total) break;
      await sleep(10);
    }
    // Anything more would arrive meanwhile.
    await sleep(500);
    receive();
    const after = { ips: ips.counters(), detector: detector.counters(), ovs: await chainOvsCounters(sandbox) };
    const since = (now: Record<string, number>, then: Record<string, number>, key: string): number =>
      (now[key] ?? 0) - (then[key] ?? 0);
    const inline = {
      rx: since(after.ips, before.ips, 'rx:0'),
      matched: since(after.ips, before.ips, 'matched'),
      passed: since(after.ips, before.ips, 'tx:0'),
      txDropped: since(after.ips, before.ips, 'dropped:0'),
    };
    const detect = {
      rx: since(after.detector, before.detector, 'rx:0'),
      matched: since(after.detector, before.detector, 'matched'),
    };
    const ovs = chainCountersSince(after.ovs, before.ovs);
    t.comment(JSON.stringify({ sent, received, inline, detect, ovs }));

    t.equal(sent, total, 'generator port 0 sent 300 (100 each of UDP 53, 6666, 80)');
    t.same(inline, { rx: 300, matched: 100, passed: 200, txDropped: 0 }, 'the IPS: rx 300, matched 100, passed 200');
    t.equal(received, 200, 'port 1 received the 200 passed');
    t.same(Object.fromEntries(byPort), { 53: 100, 80: 100 }, 'port 1: UDP 53 and 80, 100 each, no 6666');
    t.same(wrong, [], 'each routed twice by lr0 (TTL 62) and sent to port 1 from its router port');
    t.same(detect, { rx: 300, matched: 100 }, 'the detector: 300 mirrored copies, 100 matched inside GRE');

    // OVS, chassis by chassis.
    t.equal(ovs.chassis1.gen0.rx, 300, 'chassis-1: gen0 port received 300');
    t.equal(ovs.chassis2.nfIn.tx, 300, 'chassis-2: nf-in port sent 300 to the IPS');
    t.equal(ovs.chassis2.nfOut.rx, 200, 'chassis-2: nf-out port received 200 from the IPS');
    t.equal(ovs.chassis1.gen1.tx, 200, 'chassis-1: gen1 port sent 200');
    t.equal(ovs.chassis2.geneveToChassis1.rx, 300, 'chassis-2: Geneve from chassis-1 received 300');
    t.equal(ovs.chassis1.geneveToChassis2.rx, 200, 'chassis-1: Geneve from chassis-2 received 200');
    // OVS 3.1's userspace tunnel counts a pushed packet twice in the port's tx (test/ovn-traffic.test.ts).
    t.ok(
      ovs.chassis1.geneveToChassis2.tx >= 300,
      `chassis-1: Geneve to chassis-2 sent (tx +${ovs.chassis1.geneveToChassis2.tx})`,
    );
    t.ok(
      ovs.chassis2.geneveToChassis1.tx >= 200,
      `chassis-2: Geneve to chassis-1 sent (tx +${ovs.chassis2.geneveToChassis1.tx})`,
    );
    t.ok(ovs.chassis1.mirrorGre.tx >= 300, `chassis-1: the mirror's GRE port sent (tx +${ovs.chassis1.mirrorGre.tx})`);
    t.equal(ovs.chassis3.sinkFlow, 300, "chassis-3: br-phy's flow for the sink matched 300");
    t.equal(ovs.chassis3.detector.tx, 300, "chassis-3: br-phy's detector port sent 300");
  },
);
