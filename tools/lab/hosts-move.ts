/**
 * A live move of a forwarder from one OVN chassis to another under traffic, with the outage
 * measured. A native generator on one chassis sends at a fixed rate through a two-legged
 * forwarder (logical ports `move-a` in, `move-b` out) on a second chassis and counts what
 * comes back; a second instance of the forwarder serves new vhost-user sockets for a third
 * chassis, and {@link OvnSandbox.move} moves both legs there. The outage is the time the
 * generator's receive count stood still around the move, from a timeline sampled every
 * 2 ms. Everything runs in this process (EAL initialized by the caller), the forwarders as
 * native engines that yield when idle, so that no more than two pollers are busy at once:
 * the generator and one forwarder (the old one is stopped before the new one starts).
 */
import {
  Batch,
  Eal,
  Engine,
  Mempool,
  VirtioUser,
  buildUdpPacket,
  type EngineStreamStats,
  type Port,
} from '../../lib/index.js';
import { OpenFlowClient } from '../../lib/ovs/openflow/client.js';
import { OvnNorthbound } from '../../lib/ovn/northbound.js';
import type { OvnChassis } from '../../lib/ovn/chassis.js';
import type { OvnSandbox } from '../../lib/ovn/sandbox.js';
import type { Check, ExperimentResult } from './experiments.js';
import { log, type Lab } from './lab.js';

/** Options of {@link measureMove}. */
export interface MoveRunOptions {
  /** A sandbox with at least two DPDK chassis (three for a move between hosts other than the generator's). */
  sandbox: OvnSandbox;
  /** The chassis of the generator. */
  generator: string;
  /** The chassis of the forwarder before the move. */
  from: string;
  /** The chassis of the forwarder after the move. */
  to: string;
  /** EAL lcores of the generator and of the forwarders (the two instances run one after the other). */
  lcores: { generator: number; forwarder: number };
  /** Packets per second the generator sends. Default 10000. */
  ratePps?: number;
  /** How long the generator runs before the move, in milliseconds. Default 300. */
  leadMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What a packet counter says over one run: sent by the generator and received back. */
export interface RunCount {
  sent: number;
  received: number;
}

/** The figures of one move (see {@link measureMove}); times are in milliseconds. */
export interface MoveFigures {
  ratePps: number;
  /** The chassis: generator, forwarder before and after. */
  chassis: { generator: string; from: string; to: string };
  /** Time with no packet received around the move: the first sample with the last count before it to the first with more. */
  outageMs: number;
  /** The last packet before the outage, relative to the move's start (negative: before it). */
  lastBeforeMs: number;
  /** The first packet after the outage, relative to the move's start. */
  firstAfterMs: number;
  /** How long `OvnSandbox.move` took for both legs (detach, release, attach, bind, install). */
  moveMs: number;
  /** When the second instance's ports were up and its engine started, relative to the move's start. */
  forwarderReadyMs: number;
  /** The run across the move: sent, received (with what was in flight at the end), lost. */
  sent: number;
  received: number;
  lost: number;
  /** Packets the generator sent during the outage. */
  sentDuringOutage: number;
  /**
   * Packets sent before the outage that had not arrived when it began: in the old path's
   * rings and queues at the cut, so lost with it (nothing was lost before: see `before`).
   */
  inFlightAtCut: number;
  /** Runs with no move, before and after it. */
  before: RunCount;
  after: RunCount;
  /** Packets each forwarder instance forwarded during the run across the move (and the quiet runs). */
  forwarded: { first: number; second: number };
  /** Counted by OVS on the target chassis over the run and the quiet run after it. */
  target: { nfPortTx: number; nfPortRx: number; tunnelRx: number; tunnelTx: number };
  /** Probe runs before the path delivered. */
  probes: number;
}

const macs = {
  genOut: '02:00:00:00:10:01',
  genIn: '02:00:00:00:10:02',
  a: '02:00:00:00:10:0a',
  b: '02:00:00:00:10:0b',
} as const;
const lsps = { genOut: 'move-gen-out', genIn: 'move-gen-in', a: 'move-a', b: 'move-b' } as const;

// Long rings: at 10 kpps 1024 descriptors hold 100 ms, more than a loaded shared machine
// keeps a poller off its CPU (with 256, runs lost packets outside the move).
const queueSize = 1024;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  at: number;
  sent: number;
  received: number;
}

/** OpenFlow port stats of `chassis`'s br-int port `ofport`. */
async function portCounters(chassis: OvnChassis, ofport: number): Promise<{ rx: number; tx: number }> {
  const client = await OpenFlowClient.connect(`unix:${chassis.mgmtSocket('br-int')}`, { timeoutMs: 10_000 });
  try {
    const [stats] = await client.portStats(ofport);
    return { rx: Number(stats?.rxPackets ?? 0n), tx: Number(stats?.txPackets ?? 0n) };
  } finally {
    await client.close();
  }
}

/** The OpenFlow port number of `chassis`'s Geneve port to `peer`. */
function tunnelTo(chassis: OvnChassis, peer: OvnChassis): number {
  const row = chassis.vswitch.replica.find(
    'Interface',
    (candidate) =>
      candidate['type'] === 'geneve' && (candidate['options'] as Map<string, string>).get('remote_ip') === peer.encapIp,
  );
  const ofport = Number(row?.['ofport']);
  if (!(ofport > 0)) throw new Error(`chassis ${chassis.name} has no Geneve port to ${peer.name}`);
  return ofport;
}

/** Starts a virtio-user server on `path` (it resolves once OVS has connected) and the port after. */
async function serve(path: string, mac: string, pool: Mempool): Promise<Port> {
  const port = await VirtioUser.createServer({ path, mac, queueSize, timeoutMs: 60_000 });
  port.configure({ mempool: pool, rxDescriptors: queueSize, txDescriptors: queueSize });
  port.start();
  await port.waitForLink({ timeoutMs: 10_000 });
  return port;
}

/**
 * The outage in `samples` around a move that began at `from`: the longest stretch, ending
 * after `from`, where the received count stood still (a shared CPU's stall of a few ms
 * before the move took effect is not it), from the first sample with that count (the last
 * packet before) to the first with more; undefined until the count grew again after it.
 */
export function findOutage(
  samples: readonly Sample[],
  from: number,
): { lastBefore: Sample; firstAfter: Sample } | undefined {
  let best: { lastBefore: Sample; firstAfter: Sample } | undefined;
  let runStart = 0;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i]!.received === samples[runStart]!.received) continue;
    const candidate = { lastBefore: samples[runStart]!, firstAfter: samples[i]! };
    const length = (o: typeof candidate): number => o.firstAfter.at - o.lastBefore.at;
    if (candidate.firstAfter.at > from && (best === undefined || length(candidate) > length(best))) best = candidate;
    runStart = i;
  }
  return best;
}

/**
 * Runs the move under traffic and returns its figures. Makes logical switch `move0` with
 * the generator's two ports and the forwarder's two legs, attaches them, checks that the
 * path delivers (probing until it does: OVS enables a vhost port's queues after OVN says
 * installed), runs 500 ms with no move, then moves both legs to `to` while the generator
 * sends, then runs 500 ms again. Everything it made in this process is closed before it
 * returns; the sandbox keeps the switch and the ports.
 */
export async function measureMove(options: MoveRunOptions): Promise<MoveFigures> {
  const { sandbox, lcores } = options;
  const ratePps = options.ratePps ?? 10_000;
  const say = options.log ?? ((): void => undefined);
  const generatorChassis = sandbox.chassisNamed(options.generator);
  const fromChassis = sandbox.chassisNamed(options.from);
  const toChassis = sandbox.chassisNamed(options.to);
  const socket = (name: string): string => `${sandbox.runDir}/${name}.sock`;
  const closers: (() => unknown)[] = [];
  try {
    const nb = await OvnNorthbound.connect(sandbox.central.nbTarget, { timeoutMs: 10_000 });
    try {
      await nb.create('switch', { name: 'move0' });
      for (const key of ['genOut', 'genIn', 'a', 'b'] as const) {
        await nb.create('switch-port', { switch: 'move0', name: lsps[key], addresses: [macs[key]] });
      }
      await nb.sync({ wait: 'sb' });
    } finally {
      nb.close();
    }

    const pool = Mempool.create({ name: `move${process.pid}`, size: 16383 });
    closers.push(() => pool.close());
    const first = {
      genOut: serve(socket('gen-out'), macs.genOut, pool),
      genIn: serve(socket('gen-in'), macs.genIn, pool),
      a: serve(socket('fwd1-a'), macs.a, pool),
      b: serve(socket('fwd1-b'), macs.b, pool),
    };
    await generatorChassis.attach(lsps.genOut, { socketPath: socket('gen-out') });
    await generatorChassis.attach(lsps.genIn, { socketPath: socket('gen-in') });
    await fromChassis.attach(lsps.a, { socketPath: socket('fwd1-a') });
    await fromChassis.attach(lsps.b, { socketPath: socket('fwd1-b') });
    const [genOut, genIn, a1, b1] = await Promise.all([first.genOut, first.genIn, first.a, first.b]);
    for (const port of [genOut, genIn, a1, b1]) closers.push(() => port.close());
    say(`move: generator on ${generatorChassis.name}, forwarder on ${fromChassis.name}, ports up`);

    const template = buildUdpPacket({ srcMac: macs.genOut, dstMac: macs.a, srcIp: '10.9.0.1', dstIp: '10.9.0.2' });
    const generator = Engine.create({
      lcore: lcores.generator,
      mode: 'generator',
      mempool: pool,
      template,
      yieldWhenIdle: true,
      streams: [
        { rxPort: genOut, txPort: genOut, ratePps },
        { rxPort: genIn, txPort: genIn, send: false },
      ],
    });
    closers.push(() => generator.close());
    const forwarder = (rx: Port, tx: Port): Engine =>
      Engine.create({
        lcore: lcores.forwarder,
        mode: 'mac',
        yieldWhenIdle: true,
        streams: [{ rxPort: rx, txPort: tx, txDestination: macs.genIn }],
      });
    const fwd1 = forwarder(a1, b1);
    let fwd1Closed = false;
    closers.push(() => fwd1Closed || fwd1.close());
    fwd1.start();

    const sample = (): Sample => {
      const [tx, rx] = generator.stats() as [EngineStreamStats, EngineStreamStats];
      return { at: performance.now(), sent: tx.tx, received: rx.rx };
    };
    const batch = new Batch(64);
    closers.push(() => batch.close());
    /** Stops the generator and reads what reaches its receive port afterwards. */
    const stopAndDrain = async (): Promise<number> => {
      generator.stop();
      await sleep(200);
      let drained = 0;
      while (genIn.rxBurst(0, batch) > 0) {
        drained += batch.count;
        batch.free();
      }
      return drained;
    };
    const quietRun = async (ms: number): Promise<RunCount> => {
      const start = sample();
      generator.start();
      await sleep(ms);
      const drained = await stopAndDrain();
      const end = sample();
      return { sent: end.sent - start.sent, received: end.received - start.received + drained };
    };

    let probes = 0;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      probes++;
      if ((await quietRun(50)).received > 0) break;
    }
    const settle = await quietRun(300);
    say(
      `move: path delivers after ${probes} probe run(s); settling run sent ${settle.sent}, received ${settle.received}`,
    );
    const before = await quietRun(500);

    // The second instance serves new sockets before the move: OVS on `to` connects to them.
    const second = { a: serve(socket('fwd2-a'), macs.a, pool), b: serve(socket('fwd2-b'), macs.b, pool) };
    // Settle them even when the run fails before they are awaited.
    second.a.catch(() => undefined);
    second.b.catch(() => undefined);
    const tunnelOfport = tunnelTo(toChassis, generatorChassis);
    const tunnelBefore = await portCounters(toChassis, tunnelOfport);
    const fwd1Before = fwd1.stats()[0]!.tx;

    const start = sample();
    const samples: Sample[] = [start];
    generator.start();
    const sampler = setInterval(() => samples.push(sample()), 2);
    let stopped = false;
    closers.push(() => stopped || clearInterval(sampler));
    await sleep(options.leadMs ?? 300);
    const moveAt = performance.now();
    await Promise.all([
      sandbox.move(lsps.a, toChassis.name, { socketPath: socket('fwd2-a') }),
      sandbox.move(lsps.b, toChassis.name, { socketPath: socket('fwd2-b') }),
    ]);
    const movedAt = performance.now();
    const [a2, b2] = await Promise.all([second.a, second.b]);
    closers.push(
      () => a2.close(),
      () => b2.close(),
    );
    // The old instance's ports are gone from OVS: stop it before the new one polls (two busy pollers at most).
    fwd1.stop();
    const fwd1Moved = fwd1.stats()[0]!.tx;
    fwd1.close();
    fwd1Closed = true;
    const fwd2 = forwarder(a2, b2);
    closers.push(() => fwd2.close());
    fwd2.start();
    const readyAt = performance.now();
    say(
      `move: moved in ${(movedAt - moveAt).toFixed(1)} ms, second instance forwarding at +${(readyAt - moveAt).toFixed(1)} ms`,
    );
    // Resumed: packets come back through the second instance.
    const atReady = sample().received;
    for (const deadline = Date.now() + 30_000; sample().received === atReady;) {
      if (Date.now() > deadline) throw new Error(`no packet came back within 30 s of the move to ${toChassis.name}`);
      await sleep(20);
    }
    await sleep(300);
    clearInterval(sampler);
    stopped = true;
    const drained = await stopAndDrain();
    const end = sample();
    const window = findOutage(samples, moveAt)!;
    const sent = end.sent - start.sent;
    const received = end.received - start.received + drained;
    const after = await quietRun(500);

    const nfPort = (lsp: string): number => toChassis.portState(lsp)?.ofport ?? 0;
    const [aCounters, bCounters, tunnelAfter] = await Promise.all([
      portCounters(toChassis, nfPort(lsps.a)),
      portCounters(toChassis, nfPort(lsps.b)),
      portCounters(toChassis, tunnelOfport),
    ]);
    return {
      ratePps,
      chassis: { generator: generatorChassis.name, from: fromChassis.name, to: toChassis.name },
      outageMs: window.firstAfter.at - window.lastBefore.at,
      lastBeforeMs: window.lastBefore.at - moveAt,
      firstAfterMs: window.firstAfter.at - moveAt,
      moveMs: movedAt - moveAt,
      forwarderReadyMs: readyAt - moveAt,
      sent,
      received,
      lost: sent - received,
      sentDuringOutage: window.firstAfter.sent - window.lastBefore.sent,
      inFlightAtCut: window.lastBefore.sent - start.sent - (window.lastBefore.received - start.received),
      before,
      after,
      forwarded: { first: fwd1Moved - fwd1Before, second: fwd2.stats()[0]!.tx },
      target: {
        nfPortTx: aCounters.tx,
        nfPortRx: bCounters.rx,
        tunnelRx: tunnelAfter.rx - tunnelBefore.rx,
        tunnelTx: tunnelAfter.tx - tunnelBefore.tx,
      },
      probes,
    };
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // Best effort: the first error is the run's.
      }
    }
  }
}

/** The figures as one line, for logs and test comments. */
export function formatMove(figures: MoveFigures): string {
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  return (
    `move of a forwarder ${figures.chassis.from} -> ${figures.chassis.to} at ${figures.ratePps / 1000} kpps ` +
    `(generator on ${figures.chassis.generator}): outage ${ms(figures.outageMs)} (last packet at ${ms(figures.lastBeforeMs)}, ` +
    `first after at +${ms(figures.firstAfterMs)}; move took ${ms(figures.moveMs)}, new instance forwarding at ` +
    `+${ms(figures.forwarderReadyMs)}); sent ${figures.sent}, received ${figures.received}, lost ${figures.lost} ` +
    `(sent during the outage ${figures.sentDuringOutage}, in flight at its start ${figures.inFlightAtCut}); forwarded by the first instance ${figures.forwarded.first}, ` +
    `by the second ${figures.forwarded.second}; before ${figures.before.received}/${figures.before.sent}, after ` +
    `${figures.after.received}/${figures.after.sent}`
  );
}

/** The checks of a move (what the test asserts, for the lab's report). */
export function moveChecks(figures: MoveFigures): Check[] {
  return [
    {
      what: `before the move every packet came back (${figures.before.received}/${figures.before.sent})`,
      ok: figures.before.sent > 0 && figures.before.received === figures.before.sent,
    },
    {
      what: `after the move every packet came back (${figures.after.received}/${figures.after.sent})`,
      ok: figures.after.sent > 0 && figures.after.received === figures.after.sent,
    },
    {
      what: `traffic resumed through ${figures.chassis.to}: its NF port sent the second instance ${figures.target.nfPortTx}, its tunnel from ${figures.chassis.generator} counted ${figures.target.tunnelRx}`,
      ok:
        figures.forwarded.second > 0 &&
        figures.target.nfPortTx >= figures.forwarded.second &&
        figures.target.tunnelRx > 0,
    },
    {
      what: `no packet arrived twice (${figures.received} received of ${figures.sent} sent)`,
      ok: figures.received <= figures.sent,
    },
    {
      what: `nothing lost outside the outage (lost ${figures.lost}: sent during it ${figures.sentDuringOutage}, in flight at its start ${figures.inFlightAtCut})`,
      ok: figures.lost <= figures.sentDuringOutage + figures.inFlightAtCut,
    },
  ];
}

/**
 * `npm run lab -- --hosts 3 --experiment move`: {@link measureMove} on the lab's OVN fabric,
 * the generator on chassis 1, the forwarder moved from chassis 2 to chassis 3, at 10 kpps. The generator and the forwarders run
 * as native engines in the lab's process (EAL initialized here, on the lab's generator and
 * forwarder CPUs), not in containers: the move's second instance must serve its sockets
 * before the move, which the lab's app runners do not do yet.
 */
export async function hostsMoveExperiment(lab: Lab): Promise<ExperimentResult> {
  const cpus = lab.cpus;
  if (!Eal.initialized) {
    Eal.init({
      lcores: `0@${cpus.forwarder},1@${cpus.generator},2@${cpus.forwarder}`,
      memoryMb: 128,
      filePrefix: `lab-move-${process.pid}`,
      noHuge: lab.options.noHuge,
      printLog: false,
    });
  }
  const fabric = lab.ovn;
  const figures = await measureMove({
    sandbox: fabric.sandbox,
    generator: fabric.chassis(1).name,
    from: fabric.chassis(2).name,
    to: fabric.chassis(3).name,
    lcores: { generator: 1, forwarder: 2 },
    ratePps: 10_000,
    log,
  });
  log(`lab: ${formatMove(figures)}`);
  const checks = moveChecks(figures);
  return {
    name: `move: a forwarder from ${figures.chassis.from} to ${figures.chassis.to} under traffic`,
    move: { figures, checks },
    apps: {},
    pass: checks.every((check) => check.ok !== false),
  };
}
