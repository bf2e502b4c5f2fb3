// A live move of a forwarder between OVN chassis under traffic (tools/lab/hosts-move.ts):
// three DPDK chassis, a native generator on chassis-1 sending 10 kpps through a two-legged
// forwarder on chassis-2, a second forwarder instance serving new sockets for chassis-3,
// and OvnSandbox.move of both legs while the generator sends. Asserted: traffic resumes
// through chassis-3 (counted at its NF port and its tunnel port), no packet arrives twice,
// none is lost outside the outage. The outage and loss are printed, not asserted.
// Two CPUs: chassis-1's PMD on CPU 0, the others' on CPU 1, all sleeping when idle; the
// generator's lcore on CPU 1 and the forwarder's on CPU 0, both yielding when idle, and
// only one forwarder instance polling at a time.
import t from 'tap';
import { OvnSandbox } from '../lib/ovn/sandbox.js';
import { formatMove, measureMove } from '../tools/lab/hosts-move.js';
import { initEal } from './helpers/dpdk.js';
import { skipDpdkOvn } from './ovn-helpers.js';

const skip = skipDpdkOvn(3);

t.test('a forwarder moved from chassis-2 to chassis-3 under 10 kpps', { skip }, async (t) => {
  const pmd = (cpus: string): Record<string, string> => ({
    'dpdk-lcore-mask': cpus,
    'pmd-cpu-mask': cpus,
    // Short sleeps: at 10 kpps a 1 ms sleep leaves 20 packets in a 256-descriptor ring.
    'pmd-maxsleep': '500',
  });
  const sandbox = await OvnSandbox.start({
    chassis: [
      { dpdk: true, otherConfig: pmd('0x1') },
      { dpdk: true, otherConfig: pmd('0x2') },
      { dpdk: true, otherConfig: pmd('0x2') },
    ],
  });
  t.teardown(() => sandbox.close());
  initEal('ovn-move', { lcores: '0@0,1@1,2@0', memoryMb: 128 });

  const figures = await measureMove({
    sandbox,
    generator: 'chassis-1',
    from: 'chassis-2',
    to: 'chassis-3',
    lcores: { generator: 1, forwarder: 2 },
    ratePps: 10_000,
    log: (line) => t.comment(line),
  });
  t.comment(formatMove(figures));
  for (const chassis of sandbox.chassis) {
    const coverage = (await chassis.appctl('coverage/show'))
      .split('\n')
      .filter((line) => /drop|overflow|error|fail/i.test(line) && !/total: 0$/.test(line.trim()));
    t.comment(`${chassis.name} coverage: ${coverage.join(' | ')}`);
    t.comment(`${chassis.name} dpctl: ${(await chassis.appctl('dpctl/show', '-s')).replace(/\n\s*/g, ' ')}`);
  }
  t.comment(JSON.stringify(figures));

  t.ok(figures.before.sent > 0, `before the move, ${figures.before.sent} packets sent`);
  t.equal(figures.before.received, figures.before.sent, 'before the move, every packet sent came back');
  t.match(sandbox.whereIs('move-a'), { chassis: 'chassis-3', ovnInstalled: true }, 'leg a on chassis-3');
  t.match(sandbox.whereIs('move-b'), { chassis: 'chassis-3', ovnInstalled: true }, 'leg b on chassis-3');
  for (const chassis of ['chassis-1', 'chassis-2']) {
    t.equal(sandbox.chassisNamed(chassis).portState('move-a'), undefined, `no port of leg a left on ${chassis}`);
  }
  t.ok(figures.forwarded.second > 0, `the second instance forwarded ${figures.forwarded.second}`);
  t.ok(figures.after.sent > 0, `after the move, ${figures.after.sent} packets sent`);
  t.equal(figures.after.received, figures.after.sent, 'after the move, every packet sent came back');
  t.ok(
    figures.target.nfPortTx >= figures.forwarded.second,
    `chassis-3's port of leg a sent the second instance all it forwarded (${figures.target.nfPortTx} >= ${figures.forwarded.second})`,
  );
  t.ok(
    figures.target.tunnelRx > 0,
    // OVS 3.1 counts fewer in the userspace tunnel port's rx than it delivers (16260 for 16738 seen): printed.
    `chassis-3's Geneve port from chassis-1 received them (${figures.target.tunnelRx} counted)`,
  );
  t.ok(
    figures.target.nfPortRx >= figures.forwarded.second,
    `chassis-3's port of leg b took them back (${figures.target.nfPortRx})`,
  );
  t.ok(
    figures.received <= figures.sent,
    `no packet arrived twice (${figures.received} received of ${figures.sent} sent)`,
  );
  t.ok(
    figures.received + figures.after.received <= figures.forwarded.first + figures.forwarded.second,
    'no more came back than the two instances forwarded',
  );
  t.ok(
    figures.lost <= figures.sentDuringOutage + figures.inFlightAtCut,
    `nothing lost outside the outage (lost ${figures.lost}: sent during it ${figures.sentDuringOutage}, in flight at its start ${figures.inFlightAtCut})`,
  );
  t.ok(figures.firstAfterMs > 0 && figures.outageMs > 0, 'the outage is measured after the move began');
});
