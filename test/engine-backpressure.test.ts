// Engine backpressure and latency: a generating engine counts as sent what a port accepted,
// keeps what a full tx queue refused (no leak, no loss), and reports honest percentiles.
import t from 'tap';
import { Batch, Engine, Mempool, type Port } from '../lib/index.js';
import { initEal, until, ringPort, testPacket } from './helpers/dpdk.js';

// Lcore 1 (CPU 1) runs the engines; the test thread plays the peer that reads the ring.
initEal('engine-bp');
const pool = Mempool.create({ name: 'engine-bp-pool', size: 8191 });
t.teardown(() => pool.close());

// Receives and frees at most `max` packets from the port; returns how many.
function take(port: Port, max = Infinity): number {
  const batch = new Batch(64);
  let taken = 0;
  while (taken < max) {
    const n = port.rxBurst(0, batch);
    if (n === 0) break;
    taken += n;
    batch.free();
  }
  batch.close();
  return taken;
}

/**
 * A generator engine on lcore 1 that listens on `quiet` and sends on `stalled`, whose ring
 * nobody reads but the test; `ratePps` paces it. Started.
 */
function stalledGenerator(ratePps?: number): { quiet: Port; stalled: Port; engine: Engine } {
  const quiet = ringPort(pool);
  const stalled = ringPort(pool);
  const engine = Engine.create({
    lcore: 1,
    mode: 'generator',
    mempool: pool,
    template: testPacket,
    yieldWhenIdle: true,
    streams: [{ rxPort: quiet, txPort: stalled, ratePps }],
  });
  engine.start();
  return { quiet, stalled, engine };
}

t.test('a generator facing a stalled peer neither leaks mbufs nor counts refused packets as sent', async (t) => {
  const baseline = pool.stats().inUse;
  const { quiet, stalled, engine } = stalledGenerator();
  t.ok(await until(() => (engine.stats()[0].txBlocked ?? 0) > 0), 'the ring filled up and refused packets');
  const sentWhenFull = engine.stats()[0].tx;
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(engine.stats()[0].tx, sentWhenFull, 'nothing more counts as sent while the peer reads nothing');
  engine.stop();
  const stats = engine.stats()[0];
  t.equal(stats.dropped, 0, 'nothing is counted as dropped');
  t.equal(stats.txSkipped, undefined, 'a stream with no rate gives nothing up');
  t.equal(pool.stats().inUse - baseline, stats.tx, 'the packets held at stop went back to the pool');
  t.equal(take(stalled), stats.tx, 'sent is exactly what the peer can read');
  t.equal(pool.stats().inUse, baseline, 'and once read, every mbuf is back');
  engine.close();
  quiet.close();
  stalled.close();
});

t.test('a counted stream through a slow consumer sends exactly its count', async (t) => {
  const baseline = pool.stats().inUse;
  const port = ringPort(pool);
  const count = 5000;
  const engine = Engine.create({
    lcore: 1,
    mode: 'txonly',
    mempool: pool,
    template: testPacket,
    burst: 64,
    streams: [{ rxPort: port, txPort: port, txLimit: count }],
  });
  engine.start();
  let received = 0;
  // The ring holds about a fifth of the count: the engine must wait for this reader.
  while (engine.running && received < 2 * count) {
    received += take(port, 100);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  engine.stop();
  received += take(port);
  const stats = engine.stats()[0];
  t.equal(received, count, 'the consumer received exactly the count');
  t.match(stats, { tx: count, dropped: 0 });
  t.ok(stats.txBlocked! > 0, `the ring pushed back (${stats.txBlocked} packets waited)`);
  t.equal(pool.stats().inUse, baseline, 'no mbuf leaked');
  engine.close();
  port.close();
});

t.test('latency percentiles are exact while few, estimated (and said so) when many', async (t) => {
  const loop = ringPort(pool);
  for (const [count, exact] of [
    [100, true],
    [6000, false],
  ] as const) {
    const engine = Engine.create({
      lcore: 1,
      mode: 'generator',
      mempool: pool,
      template: testPacket,
      timestampOffset: 42,
      streams: [{ rxPort: loop, txPort: loop, txLimit: count, ratePps: 200_000 }],
    });
    engine.start();
    t.ok(await until(() => engine.stats()[0].rx === count), `${count}: everything sent came back`);
    engine.stop();
    const latency = engine.stats()[0].latency!;
    const { p50, p90, p99, p999 } = latency.percentilesNs;
    t.equal(latency.samples, count);
    t.equal(latency.percentilesExact, exact, `${count} samples: percentilesExact ${exact}`);
    t.ok(
      latency.minNs <= p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= latency.maxNs,
      'ordered within min and max',
    );
    if (exact) {
      t.same(latency.resolutionNs, { p50: 0, p90: 0, p99: 0, p999: 0 });
      t.equal(p999, latency.maxNs, 'the nearest-rank p99.9 of 100 samples is the largest');
    } else {
      t.ok(latency.resolutionNs.p50 > 0, `estimates say their resolution (p50 to ${latency.resolutionNs.p50} ns)`);
    }
    engine.close();
  }
  loop.close();
});

t.test('a rate-limited generator that fell behind gives up the backlog instead of bursting it', async (t) => {
  // At 2000 pps, 1.5 s held back by a full ring leaves it 3000 packets behind: sent at once
  // they would fill the ring again (the lab lost hundreds at its peers' rings after each
  // stall of a shared CPU). It may be one burst ahead of the schedule (32), no more.
  const { quiet, stalled, engine } = stalledGenerator(2000);
  // The ring is full once nothing more is sent for 100 ms: it then holds `capacity`.
  let capacity = -1;
  for (const end = Date.now() + 20_000; Date.now() < end;) {
    const before = engine.stats()[0].tx;
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (engine.stats()[0].tx === before && (engine.stats()[0].txBlocked ?? 0) > 0) {
      capacity = before;
      break;
    }
  }
  t.ok(capacity > 0, `the ring filled up (${capacity} packets): the generator is held back`);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const drainedAt = Date.now();
  // Frees most of the ring at once (not all: a reader that kept going would take a
  // catch-up burst as it came), leaving at most two rx bursts (128) in it.
  const left = capacity - take(stalled, capacity - 64);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const inRing = take(stalled);
  const elapsedS = (Date.now() - drainedAt) / 1000;
  engine.stop();
  // What was left, what the schedule allows since the drain, the held burst and one more.
  const allowed = left + Math.ceil(elapsedS * 2000) + 2 * 32;
  t.ok(
    inRing <= allowed,
    `${inRing} packets in the ring ${Math.round(elapsedS * 1000)} ms after the drain (at most ${allowed}; it holds ${capacity})`,
  );
  t.ok(inRing > left, 'and it went on sending');
  const skipped = engine.stats()[0].txSkipped ?? 0;
  t.ok(skipped >= 3000 - 2 * 32, `it gave up ${skipped} packets: the 1.5 s it was held back, less one burst`);
  engine.close();
  take(stalled);
  quiet.close();
  stalled.close();
});
