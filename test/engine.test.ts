// Engine: each native forward mode on ring ports, the generator, and bad options.
import t, { type Test } from 'tap';
import { Batch, Engine, Mempool, buildUdpPacket, readEthernet, type ForwardMode, type Port } from '../lib/index.js';
import { initEal, until, ringPort, testPacket } from './helpers/dpdk.js';

// Lcore 1 (CPU 1) runs the engines; the test thread feeds and drains ring ports.
initEal('engine');
const pool = Mempool.create({ name: 'engine-pool', size: 8191 });
t.teardown(() => pool.close());

const packet = testPacket;

function drain(port: Port): Uint8Array[] {
  const batch = new Batch(64);
  const packets: Uint8Array[] = [];
  while (port.rxBurst(0, batch) > 0) {
    for (let i = 0; i < batch.count; i++) packets.push(batch.packet(i).copy());
    batch.free();
  }
  batch.close();
  return packets;
}

function feed(port: Port, count: number): void {
  const batch = new Batch(count);
  pool.alloc(batch, count, packet);
  port.txBurst(0, batch);
  batch.close();
}

async function forward(
  t: Test,
  mode: ForwardMode,
  check: (out: Uint8Array[], a: Port, b: Port) => void,
): Promise<void> {
  const a = ringPort(pool);
  const b = ringPort(pool);
  feed(a, 500);
  const engine = Engine.create({ lcore: 1, mode, streams: [{ rxPort: a, txPort: b }] });
  engine.start();
  t.ok(await until(() => engine.stats()[0].rx === 500), `${mode}: the engine received 500`);
  t.throws(() => a.stop(), {
    code: 'EBUSY',
    message: /Port is polled by 1 running engine\(s\) or lcore worker\(s\): stop them first/,
  });
  engine.stop();
  engine.stop();
  const stats = engine.stats()[0];
  const out = drain(b);
  if (mode === 'rxonly') {
    t.match(stats, { rx: 500, tx: 0, dropped: 0 });
    t.equal(out.length, 0);
  } else {
    t.match(stats, { rxPort: a.id, txPort: b.id, rx: 500, tx: 500, dropped: 0 });
    t.equal(out.length, 500, `${mode}: 500 forwarded`);
  }
  check(out, a, b);
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, `${mode}: no mbuf leaked`);
}

t.test('io forwards as is', (t) => forward(t, 'io', (out) => t.same(out[0], packet)));
t.test('macswap swaps the MACs', (t) =>
  forward(t, 'macswap', (out) => {
    t.match(readEthernet(out[499]), { dst: '00:00:00:00:00:01', src: '00:00:00:00:00:02' });
  }),
);
t.test('mac sets the tx port MAC and the peer', (t) =>
  forward(t, 'mac', (out, _a, b) => {
    t.match(readEthernet(out[0]), { dst: `02:00:00:00:00:${b.id.toString(16).padStart(2, '0')}`, src: b.mac });
  }),
);
t.test('l2fwd rewrites like DPDK l2fwd', (t) =>
  forward(t, 'l2fwd', (out, _a, b) => {
    t.match(readEthernet(out[0]), { dst: `02:00:00:00:00:${b.id.toString(16).padStart(2, '0')}`, src: b.mac });
    t.same(out[0].subarray(12), packet.subarray(12), 'the rest of the packet is untouched');
  }),
);
t.test('rxonly receives and frees', (t) => forward(t, 'rxonly', () => undefined));

t.test('txonly sends exactly txLimit packets of the template, then stops', async (t) => {
  const b = ringPort(pool);
  const engine = Engine.create({
    lcore: 1,
    mode: 'txonly',
    mempool: pool,
    template: packet,
    streams: [{ rxPort: b, txPort: b, txLimit: 300, ratePps: 1_000_000 }],
  });
  engine.start();
  t.ok(await until(() => !engine.running), 'stops by itself at the limit');
  engine.stop();
  t.match(engine.stats()[0], { tx: 300, dropped: 0 });
  const out = drain(b);
  t.equal(out.length, 300);
  t.same(out[299], packet);
  engine.close();
  b.close();
});

t.test('txonly with yieldEachPass still sends exactly txLimit packets', async (t) => {
  const b = ringPort(pool);
  const engine = Engine.create({
    lcore: 1,
    mode: 'txonly',
    mempool: pool,
    template: packet,
    yieldEachPass: true,
    streams: [{ rxPort: b, txPort: b, txLimit: 300 }],
  });
  engine.start();
  t.ok(await until(() => !engine.running), 'stops by itself at the limit');
  engine.stop();
  t.match(engine.stats()[0], { tx: 300, dropped: 0 });
  t.equal(drain(b).length, 300);
  engine.close();
  b.close();
});

t.test("txonly sends each stream's templates in turn", async (t) => {
  const b = ringPort(pool);
  const flows = [1, 2, 3].map((srcPort) =>
    buildUdpPacket({
      dstMac: '00:00:00:00:00:02',
      srcMac: '00:00:00:00:00:01',
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort,
    }),
  );
  const engine = Engine.create({
    lcore: 1,
    mode: 'txonly',
    mempool: pool,
    streams: [{ rxPort: b, txPort: b, txLimit: 9, templates: flows }],
  });
  engine.start();
  t.ok(await until(() => !engine.running));
  engine.stop();
  t.same(drain(b), [...flows, ...flows, ...flows]);
  engine.close();
  t.throws(
    () =>
      Engine.create({
        lcore: 1,
        mode: 'txonly',
        mempool: pool,
        streams: [{ rxPort: b, txPort: b, templates: [new Uint8Array(4)] }],
      }),
    { code: 'EINVAL', message: /streams\[0\].templates\[0\] must be a Uint8Array of 14 to 2048 bytes, got 4 bytes/ },
  );
  b.close();
});

t.test('an engine holds its mempool; a finished engine frees its lcore for the next', async (t) => {
  const b = ringPort(pool);
  const own = Mempool.create({ name: 'engine-own', size: 1023 });
  const first = Engine.create({
    lcore: 1,
    mode: 'txonly',
    mempool: own,
    template: packet,
    streams: [{ rxPort: b, txPort: b, txLimit: 10 }],
  });
  t.throws(() => own.close(), { code: 'EBUSY', message: /used by 1 port queue\(s\) or engine\(s\)/ });
  first.start();
  t.ok(await until(() => !first.running), 'the first engine ends by itself');
  const second = Engine.create({ lcore: 1, mode: 'rxonly', streams: [{ rxPort: b, txPort: b }] });
  second.start();
  first.stop();
  t.ok(second.running, 'stopping the finished engine leaves the next one running');
  second.stop();
  t.equal(second.stats()[0].rx, 10);
  b.close();
  t.throws(() => own.close(), { code: 'EBUSY' }, 'still held by the stopped engine');
  first.close();
  first.close();
  own.close();
});

t.test('generator measures latency from timestamps', async (t) => {
  const loop = ringPort(pool);
  const engine = Engine.create({
    lcore: 1,
    mode: 'generator',
    mempool: pool,
    template: packet,
    timestampOffset: 42,
    burst: 16,
    streams: [{ rxPort: loop, txPort: loop, txLimit: 200, ratePps: 100_000 }],
  });
  engine.start();
  t.ok(await until(() => engine.stats()[0].rx === 200), 'everything sent came back');
  engine.stop();
  const stats = engine.stats()[0];
  t.match(stats, { tx: 200, rx: 200, latency: { samples: 200 } });
  // counts(): the same counters, written into the array it is given (reused, not a new one).
  const into = new Float64Array(3).fill(-1);
  t.equal(engine.counts(into), into, 'counts() fills and returns the array it is given');
  t.same([...into], [stats.rx, stats.tx, stats.dropped], 'counts() reads [rx, tx, dropped] as stats() does');
  t.throws(() => engine.counts(new Float64Array(2)), {
    code: 'EINVAL',
    message: /into must be a Float64Array of at least 3 numbers \(3 a stream\), got one of 2/,
  });
  t.throws(() => engine.counts([0, 0, 0] as unknown as Float64Array), {
    code: 'EINVAL',
    message: /into must be a Float64Array of at least 3 numbers/,
  });
  const latency = stats.latency!;
  t.ok(latency.minNs > 0 && latency.minNs <= latency.avgNs && latency.avgNs <= latency.maxNs, 'min <= avg <= max');
  t.ok(latency.percentilesNs.p50 <= latency.percentilesNs.p99, 'percentiles are ordered');
  engine.resetStats();
  t.match(engine.stats()[0], { tx: 0, rx: 0 });
  const listener = Engine.create({
    lcore: 1,
    mode: 'generator',
    mempool: pool,
    template: packet,
    streams: [{ rxPort: loop, txPort: loop, send: false }],
  });
  feed(loop, 10);
  listener.start();
  t.ok(await until(() => listener.stats()[0].rx === 10), 'a receive-only stream counts what arrives');
  listener.stop();
  t.equal(listener.stats()[0].tx, 0, 'and sends nothing');
  engine.close();
  listener.close();
  t.throws(() => listener.start(), { code: 'ERR_CLOSED', message: 'Engine is closed' });
  loop.close();
});

t.test('a generator at a fixed rate sends again as soon as it is restarted', async (t) => {
  const loop = ringPort(pool);
  const engine = Engine.create({
    lcore: 1,
    mode: 'generator',
    mempool: pool,
    template: packet,
    streams: [{ rxPort: loop, txPort: loop, ratePps: 100_000 }],
  });
  engine.start();
  t.ok(await until(() => engine.stats()[0].tx >= 100_000, 5000), 'the first run sent 100000 (1 s at the rate)');
  engine.stop();
  const first = engine.stats()[0].tx;
  engine.start();
  // The rate counts this run's packets only: before, the restarted stream stayed silent
  // until the packets of the first run were "due" again (1 s here).
  t.ok(await until(() => engine.stats()[0].tx > first, 500), 'the restarted generator sends within 500 ms');
  engine.stop();
  engine.close();
  loop.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('bad engine options', async (t) => {
  const p = ringPort(pool);
  const stream = { rxPort: p, txPort: p };
  t.throws(() => Engine.create({ lcore: 1, mode: 'fast' as ForwardMode, streams: [stream] }), {
    code: 'EINVAL',
    message: /mode must be one of io, mac, macswap, rxonly, txonly, l2fwd, generator, got "fast"/,
  });
  t.throws(() => Engine.create({ lcore: 0, mode: 'io', streams: [stream] }), {
    code: 'EINVAL',
    message: /lcore 0 is not an EAL worker lcore/,
  });
  t.throws(() => Engine.create({ lcore: 1, mode: 'io', streams: [] }), {
    code: 'EINVAL',
    message: /streams must be a non-empty list/,
  });
  t.throws(() => Engine.create({ lcore: 1, mode: 'io', yieldEachPass: 'yes' as never, streams: [stream] }), {
    code: 'EINVAL',
    message: 'yieldEachPass must be true or false, got "yes"',
  });
  t.throws(() => Engine.create({ lcore: 1, mode: 'io', burst: 0, streams: [stream] }), {
    code: 'EINVAL',
    message: /burst must be an integer from 1 to 512, got 0/,
  });
  t.throws(
    () =>
      Engine.create({
        lcore: 1,
        mode: 'txonly',
        mempool: null as never,
        streams: [{ ...stream, templates: [packet] }],
      }),
    { code: 'EINVAL', message: /mempool must be a Mempool, got null/ },
    'a bad mempool is named before templates are checked against it',
  );
  t.throws(() => Engine.create({ lcore: 1, mode: 'txonly', streams: [stream] }), {
    code: 'EINVAL',
    message: /mode txonly needs a mempool and a packet template \(template, or templates per stream\)/,
  });
  t.throws(() => Engine.create({ lcore: 1, mode: 'io', streams: [{ ...stream, rxQueu: 1 } as never] }), {
    message: /did you mean "rxQueue"/,
  });
  const engine = Engine.create({ lcore: 1, mode: 'io', streams: [{ ...stream, rxQueue: 3 }] });
  t.throws(() => engine.start(), { code: 'ERR_PORT_STOPPED', message: /needs started ports with those queues/ });
  const first = Engine.create({ lcore: 1, mode: 'io', streams: [stream] });
  first.start();
  const second = Engine.create({ lcore: 1, mode: 'io', streams: [stream] });
  t.throws(() => second.start(), {
    code: 'EBUSY',
    message: /^lcore 1 runs on cpu 1, and cpu 1 already runs Engine \d+ \(mode io\) on EAL lcore 1/,
  });
  first.stop();
  p.close();
});
