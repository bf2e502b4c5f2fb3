// Forwarder on ring ports (what is sent on one comes back on it), with both back ends:
// the native Engine on lcore 1 (CPU 1) and a TypeScript loop (fixtures/forward-loop.ts)
// on a worker thread pinned to CPU 1. The test thread feeds and drains the ports.
import t, { type Test } from 'tap';
import { Batch, Forwarder, Mempool, type ForwarderOptions, type Port } from '../lib/index.js';
import { initEal, ringPort, testPacket, until } from './helpers/dpdk.js';

initEal('forwarder');
const pool = Mempool.create({ name: 'forwarder-pool', size: 8191 });
t.teardown(() => pool.close());
const loop = new URL('./fixtures/forward-loop.ts', `file://${__filename}`);

/** Where each back end runs, for `streams`. */
const backends = {
  native: (streams: ForwarderOptions['streams']): ForwarderOptions => ({ lcore: 1, mode: 'io', streams }),
  loop: (streams: ForwarderOptions['streams']): ForwarderOptions => ({ loop, cpu: 1, streams }),
};

function feed(port: Port, count: number): void {
  const batch = new Batch(count);
  pool.alloc(batch, count, testPacket);
  port.txBurst(0, batch);
  batch.close();
}

function drain(port: Port): number {
  const batch = new Batch(64);
  let count = 0;
  while (port.rxBurst(0, batch) > 0) {
    count += batch.count;
    batch.free();
  }
  batch.close();
  return count;
}

/** Started ring ports. */
function ringPorts(count: number): Port[] {
  return Array.from({ length: count }, () => ringPort(pool));
}

/** Closes the ports and checks that every mbuf went back to the pool. */
function closePorts(t: Test, ...ports: Port[]): void {
  for (const port of ports) port.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
}

for (const [backend, options] of Object.entries(backends)) {
  t.test(`${backend}: forwards each stream and counts it with its port ids`, async (t) => {
    const [a, b, c, d] = ringPorts(4);
    feed(a, 300);
    feed(c, 200);
    const forwarder = await Forwarder.start(
      options([
        { rxPort: a, txPort: b },
        { rxPort: c, txPort: d },
      ]),
    );
    t.equal(forwarder.backend, backend);
    t.ok(
      await until(() => forwarder.stats().reduce((sum, stream) => sum + stream.tx, 0) === 500),
      'every packet forwarded',
    );
    await forwarder.stop();
    t.match(forwarder.stats(), [
      { rxPort: a.id, txPort: b.id, rx: 300, tx: 300, dropped: 0 },
      { rxPort: c.id, txPort: d.id, rx: 200, tx: 200, dropped: 0 },
    ]);
    t.equal(drain(b), 300, 'stream 0 sent to b');
    t.equal(drain(d), 200, 'stream 1 sent to d');
    await forwarder.close();
    closePorts(t, a, b, c, d);
  });

  t.test(`${backend}: counters() names each stream's counters`, async (t) => {
    const [a, b] = ringPorts(2);
    feed(a, 100);
    const forwarder = await Forwarder.start(options([{ rxPort: a, txPort: b }]));
    t.ok(await until(() => forwarder.counters()['tx:0'] === 100), 'tx:0 counts live');
    await forwarder.close();
    drain(b);
    closePorts(t, a, b);
  });

  t.test(`${backend}: the ports cannot be stopped while it runs`, async (t) => {
    const [a, b] = ringPorts(2);
    const forwarder = await Forwarder.start(options([{ rxPort: a, txPort: b }]));
    t.throws(() => a.stop(), { code: 'EBUSY' });
    await forwarder.close();
    closePorts(t, a, b);
  });

  t.test(`${backend}: stop twice is safe and the counters stay readable`, async (t) => {
    const [a, b] = ringPorts(2);
    const forwarder = await Forwarder.start(options([{ rxPort: a, txPort: b }]));
    await forwarder.stop();
    await forwarder.stop();
    t.match(forwarder.stats(), [{ rx: 0, tx: 0, dropped: 0 }]);
    await forwarder.close();
    closePorts(t, a, b);
  });

  t.test(`${backend}: close twice is safe, any other use afterwards throws ERR_CLOSED`, async (t) => {
    const [a, b] = ringPorts(2);
    const forwarder = await Forwarder.start(options([{ rxPort: a, txPort: b }]));
    await forwarder.close();
    await forwarder.close();
    t.throws(() => forwarder.stats(), {
      code: 'ERR_CLOSED',
      message: 'Forwarder is closed',
      operation: 'Forwarder.stats',
    });
    t.throws(() => forwarder.counters(), { code: 'ERR_CLOSED', message: 'Forwarder is closed' });
    await t.rejects(forwarder.stop(), { code: 'ERR_CLOSED', message: 'Forwarder is closed' });
    closePorts(t, a, b);
  });
}

t.test('portTotals sums the streams of several forwarders by port', async (t) => {
  const [a, b, c] = ringPorts(3);
  feed(a, 100);
  feed(c, 50);
  const first = await Forwarder.start(backends.native([{ rxPort: a, txPort: b }]));
  // CPU 0: the engine's lcore 1 runs on CPU 1, which a worker may not share.
  const second = await Forwarder.start({ ...backends.loop([{ rxPort: c, txPort: b }]), cpu: 0 });
  t.ok(await until(() => first.stats()[0].tx === 100 && second.stats()[0].tx === 50), 'both forwarded');
  t.same(await Forwarder.stopAll([first, second]), [], 'both stopped cleanly');
  t.same(
    Forwarder.portTotals([first, second]),
    new Map([
      [a.id, { rx: 100, tx: 0, dropped: 0 }],
      [b.id, { rx: 0, tx: 150, dropped: 0 }],
      [c.id, { rx: 50, tx: 0, dropped: 0 }],
    ]),
  );
  await first.close();
  await second.close();
  drain(b);
  closePorts(t, a, b, c);
});

t.test('a loop keeps the extra counters it is given', async (t) => {
  const [a, b] = ringPorts(2);
  feed(a, 64);
  const forwarder = await Forwarder.start({
    loop,
    cpu: 1,
    streams: [{ rxPort: a, txPort: b }],
    data: 'count-bursts',
    counters: ['bursts'],
  });
  t.ok(await until(() => forwarder.counters()['tx:0'] === 64), 'forwarded');
  t.ok(forwarder.counters().bursts >= 1, 'bursts counted');
  await forwarder.close();
  drain(b);
  closePorts(t, a, b);
});

t.test('a loop that throws: stop rejects with its error, stopAll reports it', async (t) => {
  const [a, b] = ringPorts(2);
  const failing = await Forwarder.start({ loop, cpu: 1, streams: [{ rxPort: a, txPort: b }], data: 'throw' });
  const failures = await Forwarder.stopAll([failing]);
  t.equal(failures.length, 1);
  t.equal(failures[0].forwarder, failing);
  t.match(failures[0].error, { message: 'the loop failed on purpose' });
  await failing.close();
  closePorts(t, a, b);
});

t.test('a loop whose thread exits with a non-zero code: stop rejects with ERR_LCORE_WORKER', async (t) => {
  const [a, b] = ringPorts(2);
  const exiting = await Forwarder.start({ loop, cpu: 1, streams: [{ rxPort: a, txPort: b }], data: 'exit' });
  await t.rejects(exiting.stop(), { code: 'ERR_LCORE_WORKER', message: "The loop's thread exited with code 3" });
  await exiting.close();
  closePorts(t, a, b);
});

t.test('a loop with yieldWhenIdle forwards every packet, also after idling', async (t) => {
  const [a, b] = ringPorts(2);
  feed(a, 300);
  const forwarder = await Forwarder.start({ loop, cpu: 1, streams: [{ rxPort: a, txPort: b }], yieldWhenIdle: true });
  t.ok(await until(() => forwarder.counters()['tx:0'] === 300), 'every packet forwarded');
  // Idle passes now yield; packets fed later still go through.
  feed(a, 100);
  t.ok(await until(() => forwarder.counters()['tx:0'] === 400), 'packets fed while it idles are forwarded');
  await forwarder.close();
  t.equal(drain(b), 400);
  closePorts(t, a, b);
});

t.test('bad options get precise errors', async (t) => {
  const [a, b] = ringPorts(2);
  await t.rejects(Forwarder.start({ loop, cpu: 1, streams: [{ rxPort: a, txPort: b }], count: 1 } as never), {
    code: 'EINVAL',
    message: /Unknown option "count" for Forwarder.start \(did you mean "counters"\?\)/,
  });
  await t.rejects(Forwarder.start({ loop, cpu: 1, streams: [{ rxPort: a.id, txPort: b }] } as never), {
    code: 'EINVAL',
    message: 'streams[0].rxPort and streams[0].txPort must be Ports',
  });
  await t.rejects(Forwarder.start({ loop, cpu: 1, streams: [{ rxPort: a, txPort: b }], yieldWhenIdle: 1 } as never), {
    code: 'EINVAL',
    message: 'yieldWhenIdle must be true or false, got 1',
  });
  await t.rejects(Forwarder.start({ loop, cpu: 1, streams: [] }), {
    code: 'EINVAL',
    message: 'streams must be a non-empty list, got []',
  });
  await t.rejects(Forwarder.start({ lcore: 1, mode: 'io', streams: [{ rxPort: a, txPort: b }], cpu: 1 } as never), {
    code: 'EINVAL',
    message: /Unknown option "cpu" for Forwarder.start/,
  });
  closePorts(t, a, b);
});
