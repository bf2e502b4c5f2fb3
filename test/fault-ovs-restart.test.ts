// Faults under traffic: ovs-vswitchd killed (SIGKILL) or told to exit, and started again,
// while a native generator sends 20 kpps through two dpdkvhostuserclient ports of a real
// OVS-DPDK to this process's server-mode virtio-user ports. The app must survive, see each
// link go down and up, forward again by itself (the FlowKeeper reinstalls the flows of the
// fail_mode=secure bridge) and lose packets only while OVS was away. The outage and loss
// are printed as comments; the assertions are about correctness, never about timings.
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { initEal } from './helpers/dpdk.js';
import { outage, ovsDpdkSkip, ratePps, Rig, sleep, type Sample } from './helpers/ovs-traffic.js';
import { appctl, waitFor } from './ovs-helpers.js';

const skip = ovsDpdkSkip();

t.test('ovs-vswitchd restarts under traffic', { skip }, async (t) => {
  initEal('fault-ovs', { memoryMb: 128, noHuge: false });
  const rig = await Rig.start(t);
  // Rx rings are filled from the pool at start: what is in use now is the baseline.
  const baseline = rig.pool.stats().inUse;

  async function restart(t: Test, how: 'SIGKILL' | 'exit'): Promise<void> {
    // Settles what the previous case's restart left (once in CI, 32 of 9997 packets were lost in
    // the run right after it, with the run before that whole): printed, not asserted.
    const settle = await rig.quietRun(300);
    t.comment(`settling run: sent ${settle.sent}, received ${settle.received}`);
    const before = await rig.quietRun(500);
    t.ok(before.sent > 0, `before the fault, ${before.sent} packets sent`);
    t.equal(before.received, before.sent, 'before the fault, every packet sent arrived');
    const inUseBefore = rig.pool.stats().inUse;

    const linksFrom = rig.links.length;
    const installed = new Promise((resolve) => rig.keeper.once('installed', resolve));
    const start = rig.sample();
    const samples: Sample[] = [start];
    rig.engine.start();
    const sampler = setInterval(() => samples.push(rig.sample()), 2);
    await sleep(300);
    const faultAt = performance.now();
    const pid = rig.sandbox.pid('ovs-vswitchd')!;
    if (how === 'SIGKILL') await rig.sandbox.killDaemon('ovs-vswitchd', 'SIGKILL');
    else {
      await appctl(rig.sandbox, 'ovs-vswitchd', 'exit');
      await waitFor('ovs-vswitchd to exit', () => rig.sandbox.pid('ovs-vswitchd') === undefined, 20_000);
    }
    const goneAt = performance.now();
    await sleep(500);
    const restartAt = performance.now();
    await rig.sandbox.startVswitchd();
    t.not(rig.sandbox.pid('ovs-vswitchd'), pid, 'a new ovs-vswitchd runs');
    await installed;
    await waitFor('forwarding to resume', () => outage(samples, faultAt) !== undefined, 30_000);
    await sleep(300);
    clearInterval(sampler);
    const drained = await rig.stopAndDrain();
    const end = rig.sample();
    const sent = end.sent - start.sent;
    const received = end.received - start.received + drained;
    const window = outage(samples, faultAt)!;
    const lost = sent - received;
    t.ok(received <= sent, `no packet arrived twice (${received} received of ${sent} sent)`);
    t.ok(lost > 0, 'packets sent while OVS was away are lost');

    for (const port of rig.ports) {
      const events = rig.links.slice(linksFrom).filter((event) => event.port === port.name);
      t.equal(events[0]?.up, false, `${port.name}: 'link' down reached TypeScript first`);
      t.ok(
        events.some((event, i) => i > 0 && event.up),
        `${port.name}: then 'link' up (${events.map((e) => (e.up ? 'up' : 'down')).join(', ')})`,
      );
      t.equal(port.link().up, true, `${port.name}: the link is up again`);
    }

    const after = await rig.quietRun(500);
    t.ok(after.sent > 0, `after the fault, ${after.sent} packets sent`);
    t.equal(after.received, after.sent, 'after the fault, every packet sent arrived: the loss was all in the outage');
    const inUseAfter = rig.pool.stats().inUse;
    t.ok(
      inUseAfter - baseline <= 512,
      `mbufs in use after the fault (${inUseAfter}) are at most the tx rings above the baseline (${baseline})`,
    );

    const ms = (x: number): string => `${x.toFixed(1)} ms`;
    t.comment(
      `${how === 'SIGKILL' ? 'kill -9' : 'ovs-appctl exit'} of ovs-vswitchd at ${ratePps / 1000} kpps: ` +
        `outage ${ms(window.firstAfter.at - window.lastBefore.at)} (last packet ${ms(faultAt - window.lastBefore.at)} ` +
        `before the fault, OVS gone after ${ms(goneAt - faultAt)}, restarted at +${ms(restartAt - faultAt)}, ` +
        `first packet at +${ms(window.firstAfter.at - faultAt)}); sent ${sent}, received ${received}, lost ${lost}; ` +
        `sent during the outage ${window.firstAfter.sent - window.lastBefore.sent}; ` +
        `mbufs in use: baseline ${baseline}, before ${inUseBefore}, after ${inUseAfter}`,
    );
  }

  await t.test('kill -9 and a restart', (t) => restart(t, 'SIGKILL'));
  await t.test('ovs-appctl exit and a restart', (t) => restart(t, 'exit'));

  await t.test('no mbuf leaked: with the engine and ports closed, the pool is whole', async (t) => {
    rig.engine.close();
    for (const port of rig.ports) port.close();
    t.equal(rig.pool.stats().inUse, 0);
    t.comment(`vswitchd log: ${countLines(rig.sandbox.logFile('ovs-vswitchd'), /Failed|failed/)} failure lines`);
  });
});

function countLines(file: string, pattern: RegExp): number {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => pattern.test(line)).length;
  } catch {
    return 0;
  }
}
