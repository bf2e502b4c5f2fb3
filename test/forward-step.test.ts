// ForwardStep between ring ports (what is sent on one comes back on it), on the test's
// thread: a verdict's drops, the `drop` and `retry` policies for a full tx queue, counters
// by name and by index. The README walkthrough (test/readme.test.ts) runs it in a worker.
import t from 'tap';
import { Batch, ForwardStep, Mempool, PacketFilter, buildUdpPacket, type Port } from '../lib/index.js';
import { initEal, ringPort } from './helpers/dpdk.js';

initEal('fwdstep');
const pool = Mempool.create({ name: 'fwdstep-pool', size: 8191 });
t.teardown(() => pool.close());

const filter = new PacketFilter(['udp,tp_dst=6666']);
const packets = [53, 6666, 80].map((dstPort) =>
  buildUdpPacket({
    dstMac: '00:00:00:00:00:02',
    srcMac: '00:00:00:00:00:01',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    dstPort,
  }),
);
const notToPort6666 = (batch: Batch, i: number): boolean =>
  filter.match(batch.dataView(i), batch.offsets[i], batch.lengths[i]) < 0;

/** Sends `count` packets on `port` (to UDP ports 53, 6666 and 80 in turn), which it receives back. */
function feed(port: Port, count: number): void {
  const batch = new Batch(1);
  for (let i = 0; i < count; i++) {
    pool.alloc(batch, 1, packets[i % packets.length]);
    if (port.txBurst(0, batch) !== 1) throw new Error(`${port.name} refused packet ${i}`);
  }
  batch.close();
}

/** Receives up to `max` packets waiting on `port` and frees them; returns how many. */
function drain(port: Port, max = Infinity): number {
  const batch = new Batch(32);
  let count = 0;
  while (count < max && port.rxBurst(0, batch) > 0) {
    count += batch.count;
    batch.free();
  }
  batch.close();
  return count;
}

/** Steps until a step moves nothing. */
function runAll(step: ForwardStep, verdict?: (batch: Batch, i: number) => boolean): void {
  while (step.run(verdict) > 0);
}

t.test('forwards what the verdict passes, frees and counts what it drops', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  feed(a, 300);
  const step = new ForwardStep(a, b);
  runAll(step, notToPort6666);
  t.match(step, { rx: 300, tx: 200, filtered: 100, unsent: 0, pending: 0 });
  t.equal(drain(b), 200, 'b got the packets that passed');
  step.close();
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('without a verdict every packet passes', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  feed(a, 100);
  const step = new ForwardStep(a, b, { burst: 7 });
  runAll(step);
  t.match(step, { rx: 100, tx: 100, filtered: 0, unsent: 0 });
  t.equal(drain(b), 100);
  step.close();
  a.close();
  b.close();
});

t.test('unsent: drop frees and counts what a full tx queue refused', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  feed(b, 1023); // net_ring's ring holds 1023 packets: b's tx queue is full
  feed(a, 90);
  const step = new ForwardStep(a, b);
  runAll(step, notToPort6666);
  t.match(step, { rx: 90, tx: 0, filtered: 30, unsent: 60, pending: 0 });
  t.equal(drain(b), 1023, 'b holds only what it held before');
  step.close();
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('unsent: retry keeps what a full tx queue refused and sends it once there is room', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  feed(b, 1023);
  feed(a, 90);
  const step = new ForwardStep(a, b, { unsent: 'retry' });
  t.equal(step.run(notToPort6666), 32, 'the first step received a burst');
  t.equal(step.run(notToPort6666), 0, 'the next sent nothing: the queue is still full');
  t.match(step, { rx: 32, tx: 0, filtered: 11, unsent: 0, pending: 21 });
  t.equal(drain(b, 1), 32, 'one burst taken from b makes room for 32');
  t.equal(step.run(notToPort6666), 21, 'the waiting packets went first');
  t.match(step, { rx: 32, tx: 21, pending: 0 });
  t.equal(drain(b), 1023 - 32 + 21, 'the 21 arrived after what b held');
  runAll(step, notToPort6666);
  t.match(step, { rx: 90, tx: 60, filtered: 30, unsent: 0, pending: 0 });
  t.equal(drain(b), 60 - 21, 'the others arrived once');
  step.close();
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('close frees packets still waiting for a retry and counts them unsent', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  feed(b, 1023);
  feed(a, 32);
  const step = new ForwardStep(a, b, { unsent: 'retry' });
  step.run();
  t.equal(step.pending, 32);
  step.close();
  step.close();
  t.match(step, { unsent: 32, pending: 0 });
  drain(b);
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('counts into an array at the indexes given, besides its own totals', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  feed(a, 30);
  const array = new Float64Array(5);
  const step = new ForwardStep(a, b, { counters: { array, rx: 4, tx: 0, filtered: 2 } });
  runAll(step, notToPort6666);
  t.same([...array], [20, 0, 10, 0, 30], 'rx at 4, tx at 0, filtered at 2, unsent not counted');
  step.close();
  drain(b);
  a.close();
  b.close();
});

t.test('counts into counters kept by name, as an LcoreContext keeps them', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  feed(a, 30);
  const names = ['unsent', 'mine', 'filtered', 'tx', 'rx'];
  const counters = new Float64Array(names.length);
  const step = new ForwardStep(a, b, { counters: { counters, counterIndex: (name) => names.indexOf(name) } });
  runAll(step, notToPort6666);
  t.same([...counters], [0, 0, 10, 20, 30]);
  step.close();
  drain(b);
  a.close();
  b.close();
});

t.test('bad options are refused, saying what was given and what is expected', async (t) => {
  const a = ringPort(pool);
  t.throws(() => new ForwardStep(a, 'b' as unknown as Port), {
    code: 'EINVAL',
    message: 'to must be a Port, got "b"',
  });
  t.throws(() => new ForwardStep(a, a, { unsent: 'keep' as 'drop' }), {
    code: 'EINVAL',
    message: `unsent must be 'drop' or 'retry', got "keep"`,
  });
  t.throws(() => new ForwardStep(a, a, { burst: 0 }), {
    code: 'EINVAL',
    message: 'burst must be an integer from 1 to 4096, got 0',
  });
  t.throws(() => new ForwardStep(a, a, { counters: { array: new Float64Array(2), tx: 2 } }), {
    code: 'EINVAL',
    message: 'counters.tx must be an integer from 0 to 1, got 2',
  });
  a.close();
});
