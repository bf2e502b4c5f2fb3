// Faults under traffic: the generator's vhost peer vanishes mid-burst, with a real OVS-DPDK
// on the other side of the sockets. OVS's port is deleted under a running native engine, and
// ovs-vswitchd is killed under a TypeScript burst loop. No crash, no call that hangs, the port
// says what happened ('link' down, stats readable), and it works again once the peer is back.
import t from 'tap';
import { Batch, buildUdpPacket } from '../lib/index.js';
import { initEal } from './helpers/dpdk.js';
import { bridge, ovsDpdkSkip, portNames, Rig, sleep } from './helpers/ovs-traffic.js';
import { waitFor } from './ovs-helpers.js';

const skip = ovsDpdkSkip();

t.test('the vhost peer vanishes mid-burst', { skip }, async (t) => {
  initEal('fault-peer', { memoryMb: 128, noHuge: false });
  const rig = await Rig.start(t);
  const [from, to] = rig.ports;
  const downEvents = (name: string, since: number): boolean[] =>
    rig.links
      .slice(since)
      .filter((event) => event.port === name)
      .map((event) => event.up);

  await t.test('OVS deletes the port under a running native generator', async (t) => {
    rig.engine.start();
    await waitFor('traffic', () => rig.sample().received > 1000, 10_000);
    const since = rig.links.length;
    await rig.vswitch.deletePort(portNames[0]);
    await waitFor("'link' down on the generator's port", () => downEvents(from.name, since).includes(false), 10_000);
    t.equal(from.link().up, false, 'the port reports its link down');
    t.equal(rig.engine.running, true, 'the engine keeps running');
    const stalled = rig.sample();
    await sleep(300);
    t.equal(rig.sample().received, stalled.received, 'nothing arrives while the peer is gone');
    t.ok(from.stats().txPackets >= stalled.sent, 'the port stats are readable');
    const stopStarted = performance.now();
    rig.engine.stop();
    t.equal(rig.engine.running, false, 'the engine stops (its tx queue full, nothing in it hangs)');
    t.comment(`engine.stop() with the peer gone took ${(performance.now() - stopStarted).toFixed(1)} ms`);

    await rig.vswitch.addPort(bridge, portNames[0], {
      type: 'dpdkvhostuserclient',
      options: { 'vhost-server-path': `${rig.sandbox.runDir}/${portNames[0]}.sock` },
      ofportRequest: 1,
    });
    await waitFor("'link' up again", () => downEvents(from.name, since).slice(1).includes(true), 10_000);
    // The first run after the port came back also delivers what the stalled tx ring held when
    // the peer went (sent, and counted, before this run: 256 more received than this run sent,
    // in CI and by hand), so it is printed only; the run after it must lose nothing.
    const first = await rig.quietRun(500);
    t.ok(first.received > 0, `the generator's packets cross again (${first.received} of ${first.sent})`);
    t.comment(`first run after the port came back: sent ${first.sent}, received ${first.received}`);
    const run = await rig.quietRun(500);
    t.equal(run.received, run.sent, `then everything it sends arrives (${run.received} of ${run.sent})`);
  });

  await t.test('ovs-vswitchd killed under a TypeScript burst loop', async (t) => {
    const packet = buildUdpPacket({
      dstMac: '00:00:00:00:00:02',
      srcMac: '00:00:00:00:00:01',
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
    });
    const batch = new Batch(32);
    t.teardown(() => batch.close());
    let slowest = 0;
    let calls = 0;
    // One pass: send a burst from port 0, read a burst on port 1; whatever tx refused is freed.
    const pass = (): { sent: number; received: number } => {
      const started = performance.now();
      rig.pool.alloc(batch, 32, packet);
      const sent = from.txBurst(0, batch);
      batch.free();
      const received = to.rxBurst(0, batch);
      batch.free();
      slowest = Math.max(slowest, performance.now() - started);
      calls++;
      return { sent, received };
    };
    const since = rig.links.length;
    const killed = rig.sandbox.killDaemon('ovs-vswitchd', 'SIGKILL');
    let sentWhileGone = 0;
    const end = performance.now() + 1000;
    while (performance.now() < end) {
      sentWhileGone += pass().sent;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await killed;
    t.ok(calls > 100, `${calls} tx/rx passes ran while ovs-vswitchd died and stayed away`);
    t.ok(slowest < 1000, `no burst call hung (slowest pass ${slowest.toFixed(2)} ms)`);
    t.comment(`with the peer gone, txBurst accepted ${sentWhileGone} packets (its ring) and then none`);
    await waitFor("'link' down on both ports", () => downEvents(from.name, since).includes(false), 10_000);
    t.equal(from.link().up, false);
    t.equal(to.link().up, false);
    t.ok(from.stats().txPackets >= sentWhileGone, 'stats are readable');

    await rig.sandbox.startVswitchd();
    await from.waitForLink({ timeoutMs: 20_000 });
    await to.waitForLink({ timeoutMs: 20_000 });
    await rig.keeper.waitInstalled({ timeoutMs: 20_000 });
    let arrived = 0;
    for (const deadline = Date.now() + 10_000; arrived === 0 && Date.now() < deadline;) {
      arrived += pass().received;
      await sleep(5);
    }
    t.ok(arrived > 0, 'once ovs-vswitchd is back, packets from the loop cross again');
  });
});
