// The lab's fault runs: fault-figures.ts on recorded samples (no DPDK), then `npm run lab --
// --fault container-restart` and `--fault ovsdb-restart` in containers (ovs-restart is in
// lab-local.test.ts). Figures, not speeds: the runs' outages are bounded only to catch a hang.
import t from 'tap';
import type { Timeline, TimelineSample } from '../examples/pktgen/report.js';
import { accountFaults, faultFigures, firstStall, lastRun, nothingLostOutside } from '../tools/lab/fault-figures.js';
import { parseLabOptions, type LabOptions } from '../tools/lab/options.js';
import { at, checkAccounting, runFault } from './helpers/lab-run.js';

/**
 * A timeline of two ports sampled every 10 ms for `ms`, each sending `perSample` per
 * sample while `sending(t)`, and receiving what its peer sent in the same sample unless
 * `dropped(t, port)`. Port 0 receives what port 1 sent and the other way round.
 */
function timeline(
  ms: number,
  perSample: number,
  dropped: (atMs: number, port: number) => boolean,
  sending: (atMs: number) => boolean = (atMs) => atMs >= 20 && atMs < ms - 20,
): Timeline {
  const samples: TimelineSample[] = [];
  const sent = [0, 0];
  const received = [0, 0];
  for (let atMs = 0; atMs <= ms; atMs += 10) {
    if (sending(atMs)) {
      for (const port of [0, 1]) {
        sent[port] += perSample;
        if (!dropped(atMs, 1 - port)) received[1 - port] += perSample;
      }
    }
    samples.push({ atMs, sent: [...sent], received: [...received] });
  }
  return { intervalMs: 10, startedAtMs: 0, samples, links: [] };
}

const totals = (line: Timeline): [number, number] => {
  const last = line.samples[line.samples.length - 1];
  return [last.sent[0] + last.sent[1], last.received[0] + last.received[1]];
};

t.test('an outage of both ports: its length, its window, and the loss all inside it (no DPDK)', async (t) => {
  // Nothing arrives from 500 ms to 790 ms (samples 500..790 see no growth).
  const line = timeline(1500, 100, (atMs) => atMs >= 500 && atMs < 800);
  const [sent, received] = totals(line);
  const figures = faultFigures(line, 495, sent, received);
  t.equal(figures.outageMs, 300, 'from the last sample that saw packets (490) to the last that saw none (790)');
  t.same(figures.window, { fromMs: 490, toMs: 800 });
  t.equal(figures.lost, 30 * 2 * 100, '30 samples of both ports');
  t.equal(figures.lostDuring, figures.lost);
  t.equal(figures.lostBefore, 0);
  t.equal(figures.lostAfter, 0);
  t.equal(figures.inFlightTolerance, 200, "one interval's packets of both ports");
  t.ok(nothingLostOutside(figures));
});

t.test('packets in flight when the stall began are lost in the window, not before it (no DPDK)', async (t) => {
  // The window's first sample (490) sees only half its interval's packets arrive, and the
  // rest never do: they were in flight when the stall began.
  const line = timeline(1500, 100, (atMs) => atMs >= 500 && atMs < 800);
  for (const sample of line.samples) {
    if (sample.atMs >= 490) sample.received = sample.received.map((count) => count - 50);
  }
  const [sent, received] = totals(line);
  const figures = faultFigures(line, 495, sent, received);
  t.same(figures.window, { fromMs: 490, toMs: 800 });
  t.equal(figures.lost, 30 * 2 * 100 + 2 * 50);
  t.equal(figures.lostBefore, 0);
  t.equal(figures.lostDuring, figures.lost);
});

t.test('one port stops longer than the other: the outage runs to the last recovery (no DPDK)', async (t) => {
  const line = timeline(1500, 100, (atMs, port) => atMs >= 500 && atMs < (port === 0 ? 600 : 900));
  const [sent, received] = totals(line);
  const figures = faultFigures(line, 500, sent, received);
  t.equal(figures.stalls.length, 2);
  t.equal(figures.outageMs, 400);
  t.same(figures.window, { fromMs: 490, toMs: 900 });
});

t.test('a port that never recovers: no outage figure, every loss from its stop on (no DPDK)', async (t) => {
  const line = timeline(1500, 100, (atMs, port) => atMs >= 500 && port === 1);
  const [sent, received] = totals(line);
  const figures = faultFigures(line, 500, sent, received);
  t.equal(figures.outageMs, null);
  t.equal(figures.stalls.find((stall) => stall.port === 1)?.toMs, null);
  t.equal(figures.lostBefore, 0);
  t.equal(figures.lostDuring, figures.lost);
});

t.test('a fault that stops nothing: outage 0, and loss before or after it is reported (no DPDK)', async (t) => {
  const clean = timeline(1500, 100, () => false);
  const [sent, received] = totals(clean);
  const figures = faultFigures(clean, 700, sent, received);
  t.equal(figures.outageMs, 0);
  t.equal(figures.window, null);
  t.equal(figures.lost, 0);
  t.ok(nothingLostOutside(figures));
  // A steady loss (a full ring) is loss outside any fault's window.
  const lossy = timeline(1500, 100, (atMs) => atMs % 100 === 0);
  const [lossySent, lossyReceived] = totals(lossy);
  const steady = faultFigures(lossy, 700, lossySent, lossyReceived);
  t.equal(steady.outageMs, 0, 'a one-sample gap is no outage');
  t.notOk(nothingLostOutside(steady));
});

t.test(
  'stalls before the fault, one sample long, and at the end of sending are not the outage (no DPDK)',
  async (t) => {
    const line = timeline(1500, 100, (atMs) => (atMs >= 200 && atMs < 260) || atMs === 900);
    t.same(firstStall(line.samples, 0, 0), { port: 0, fromMs: 190, toMs: 260, outageMs: 60 });
    t.equal(
      firstStall(line.samples, 0, 400),
      null,
      'the one-sample gap at 900 ms and the end of the run are not stalls',
    );
  },
);

t.test('the lab option --fault and --fault-pps (no DPDK)', async (t) => {
  const options = parseLabOptions(['--fault', 'ovs-restart', '--fault=container-restart']) as LabOptions;
  t.same(options.faults, ['ovs-restart', 'container-restart']);
  t.same(options.experiments, [], 'a fault run alone runs no other experiment');
  t.equal(options.faultPps, 20_000);
  t.same(options.metrics, { host: '127.0.0.1', port: 9460 }, 'the apps serve metrics (the lab reads their mbufs)');
  t.same(
    (parseLabOptions(['--fault', 'ovs-restart', '--metrics', '127.0.0.1:9500']) as LabOptions).metrics,
    { host: '127.0.0.1', port: 9500 },
    'where --metrics says',
  );
  t.equal((parseLabOptions([]) as LabOptions).metrics, undefined, 'no metrics without --fault or --metrics');
  t.equal((parseLabOptions(['--fault-pps', '0']) as LabOptions).faultPps, 0);
  t.same((parseLabOptions([]) as LabOptions).faults, []);
  t.throws(() => parseLabOptions(['--fault', 'reboot']), {
    message: '--fault must be ovs-restart, container-restart, ovsdb-restart, got "reboot"',
  });
  t.throws(() => parseLabOptions(['--fault-pps', '-1']), {
    message: '--fault-pps must be 0 to 14880952 packets per second, got "-1"',
  });
});

t.test('several faults in one run: each window, and every lost packet inside one (no DPDK)', async (t) => {
  const line = timeline(3000, 100, (atMs) => (atMs >= 500 && atMs < 700) || (atMs >= 2000 && atMs < 2100));
  const [sent, received] = totals(line);
  const accounting = accountFaults(line, [495, 1995], sent, received);
  t.same(
    accounting.windows.map((window) => [window.outageMs, window.lostDuring]),
    [
      [200, 20 * 200],
      [100, 10 * 200],
    ],
  );
  t.equal(accounting.lost, 30 * 200);
  t.equal(accounting.lostOutside, 0);
  // A loss between the faults is outside every window.
  const leaky = timeline(3000, 100, (atMs) => (atMs >= 500 && atMs < 700) || atMs === 1200);
  const [leakySent, leakyReceived] = totals(leaky);
  const leaked = accountFaults(leaky, [495, 1995], leakySent, leakyReceived);
  t.equal(leaked.lostOutside, 200);
  t.equal(leaked.windows[1].outageMs, 0);
});

t.test('a probe before the run: its samples (counters reset at str) are not the run (no DPDK)', async (t) => {
  const run = timeline(1000, 10, () => false);
  // Two probe rounds of 8 packets per port before the run's str reset the counters.
  const probe: TimelineSample[] = [
    { atMs: -40, sent: [8, 8], received: [0, 0] },
    { atMs: -30, sent: [8, 8], received: [8, 8] },
  ];
  t.same(lastRun([...probe, ...run.samples]), run.samples);
  t.same(lastRun(run.samples), run.samples);
  const [sent, received] = totals(run);
  const withProbe = faultFigures({ ...run, samples: [...probe, ...run.samples] }, 500, sent, received);
  const without = faultFigures(run, 500, sent, received);
  t.same(withProbe, without);
  t.equal(withProbe.inFlightTolerance, 20);
});

t.test('the lab with --fault container-restart: the forwarder killed, a new one forwards again', async (t) => {
  const { report, fault } = await runFault(t, 'container-restart');
  if (fault === undefined) return;
  const figures = fault.figures;
  const faultAt = at(fault, /^fault: container-restart$/);
  const killed = at(fault, /^forwarder container killed/);
  const started = at(fault, /^forwarder started again$/);
  t.ok(killed >= faultAt && started > killed, 'the container killed after the fault, a new one started after that');
  // OVS's ports of the forwarder went down and came back; the generator's never went down
  // while the forwarder was away (they do when the generator quits at the end).
  for (const port of ['OVS vhost-user2', 'OVS vhost-user3']) {
    const down = fault.links.find((link) => link.port === port && !link.up && link.atMs >= faultAt);
    const up = fault.links.find((link) => link.port === port && link.up && link.atMs > (down?.atMs ?? Infinity));
    t.ok(down !== undefined && up !== undefined, `${port} went down after the fault and came back up`);
  }
  t.same(
    fault.links.filter((link) => !link.up && link.atMs <= started && !/vhost-user[23]$/.test(link.port)),
    [],
    "no other port went down while the forwarder's container was away",
  );
  // Sanity bounds only: the kill and a new container on the lab's vfs storage take seconds.
  t.ok(
    figures.outageMs !== null && figures.outageMs > 0 && figures.outageMs < 60_000,
    `an outage of ${figures.outageMs} ms`,
  );
  t.ok(
    figures.window !== null && figures.window.fromMs >= faultAt - figures.intervalMs && figures.window.toMs > killed,
    'the window starts at the fault and ends after the kill',
  );
  t.ok(figures.lostDuring > 0, 'packets were lost in the outage');
  checkAccounting(t, fault);
  const forwarder = report.experiments[0].apps[fault.forwarder];
  t.ok((forwarder?.forwarded ?? 0) > 0, `the new forwarder forwarded ${forwarder?.forwarded} packets`);
});

t.test('the lab with --fault ovsdb-restart: ovsdb-server restarted, traffic never stops', async (t) => {
  const { fault } = await runFault(t, 'ovsdb-restart');
  if (fault === undefined) return;
  const figures = fault.figures;
  const faultAt = at(fault, /^fault: ovsdb-restart$/);
  const killed = at(fault, /^ovsdb-server killed/);
  const started = at(fault, /^ovsdb-server started again$/);
  const resynced = at(fault, /^OVSDB reconnected, monitors restored$/);
  t.ok(killed >= faultAt && started > killed, 'ovsdb-server killed after the fault and started again');
  // The client may see the connection go before killDaemon() returns.
  t.ok(at(fault, /^OVSDB connection lost$/) >= faultAt, "the lab's OVSDB client saw the connection lost");
  t.ok(resynced > started, 'and reconnected to the new server');
  t.ok(at(fault, /^OVS sees every port connected$/) >= resynced, 'OVS then saw every port connected');
  // ovs-vswitchd keeps forwarding without its database: neither OVS nor the generator saw
  // a port go down, and traffic went on but for what the shared CPUs may stall (one run:
  // 20 ms, 2.5 s after the fault).
  t.same(
    fault.links.filter((link) => !link.up && link.atMs >= faultAt && link.atMs <= at(fault, /^OVS sees every/)),
    [],
    'no port went down',
  );
  t.ok(figures.outageMs !== null && figures.outageMs < 2000, `no outage, or a short stall: ${figures.outageMs} ms`);
  checkAccounting(t, fault);
});
