// LcoreWorker: a TypeScript loop on a pinned, EAL-registered thread, and its errors.
import { join, relative } from 'node:path';
import t from 'tap';
import { Batch, Eal, Engine, LcoreWorker, Mempool, readEthernet } from '../lib/index.js';
import { initEal, until, ringPort, testPacket } from './helpers/dpdk.js';

initEal('lcore');
const pool = Mempool.create({ name: 'lcore-pool', size: 4095 });
t.teardown(() => pool.close());
const loop = new URL('./fixtures/macswap-loop.ts', `file://${__filename}`);
const packet = testPacket;

t.test('a TypeScript macswap loop on a pinned lcore worker', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  const worker = await LcoreWorker.start(loop, {
    cpu: 1,
    ports: [a, b],
    counters: ['rx', 'tx', 'dropped', 'affinity'],
  });
  t.ok(worker.lcore > 1, `registered as lcore ${worker.lcore}, beyond EAL's own`);
  t.throws(() => a.stop(), { code: 'EBUSY', message: /polled by 1 running engine\(s\) or lcore worker\(s\)/ });
  const batch = new Batch(200);
  pool.alloc(batch, 200, packet);
  t.equal(a.txBurst(0, batch), 200);
  t.ok(await until(() => worker.counters().tx === 200), 'live counters while it runs');
  t.equal(worker.counters().affinity, 0b10, 'the worker thread is pinned to CPU 1');
  t.equal(await worker.stop(), 0, 'the loop ends when asked');
  await worker.stop();
  t.match(worker.counters(), { rx: 200, tx: 200, dropped: 0 });
  t.equal(b.rxBurst(0, batch), 200);
  t.match(readEthernet(batch.packet(199).copy()), { dst: '00:00:00:00:00:01', src: '00:00:00:00:00:02' });
  batch.close();
  a.stop();
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('a bare relative path is relative to the current directory, like ./path', async (t) => {
  const bare = relative(process.cwd(), join(__dirname, 'fixtures', 'macswap-loop.ts'));
  t.notMatch(bare, /^[./]/, `${bare} is a bare relative path`);
  const a = ringPort(pool);
  const b = ringPort(pool);
  const counters = ['rx', 'tx', 'dropped', 'affinity'];
  for (const file of [bare, `./${bare}`]) {
    const worker = await LcoreWorker.start(file, { cpu: 1, ports: [a, b], counters });
    t.equal(await worker.stop(), 0, `${file} ran and stopped`);
  }
  a.stop();
  a.close();
  b.close();
});

t.test('worker errors', async (t) => {
  const a = ringPort(pool);
  const failing = await LcoreWorker.start(loop, { cpu: 1, ports: [a], counters: ['rx'] });
  await t.rejects(
    failing.exited,
    { code: 'EINVAL', message: 'No counter named "tx": the counters are rx' },
    'exited rejects when the loop dies',
  );
  await t.rejects(
    failing.stop(),
    { code: 'EINVAL', message: 'No counter named "tx": the counters are rx' },
    "the loop's error reaches stop()",
  );
  t.equal(await failing.stop(), 1, 'reported once: a second stop resolves with the exit code');
  await t.rejects(LcoreWorker.start(loop, { cpu: -1, ports: [a] }), {
    code: 'EINVAL',
    message: /cpu must be an integer from 0 to 1023, got -1/,
  });
  await t.rejects(LcoreWorker.start(loop, { cpu: 1023, ports: [a] }), {
    code: 'EINVAL',
    message: /^cpu 1023 is not an online CPU of this machine: the online CPUs are \d+(-\d+)?(,\d+(-\d+)?)*$/,
  });
  await t.rejects(LcoreWorker.start(loop, { cpu: 1, port: [a] } as never), {
    code: 'EINVAL',
    message: /did you mean "ports"/,
  });
  await t.rejects(LcoreWorker.start('/nonexistent/loop', { cpu: 1, ports: [a] }), {
    code: 'ENOENT',
    message:
      'Cannot find the loop module "/nonexistent/loop": tried /nonexistent/loop (with and without an extension); ' +
      'a path is relative to the current directory, or may be a file: URL',
  });
  await t.rejects(LcoreWorker.start('src/missing-loop.ts', { cpu: 1, ports: [a] }), {
    code: 'ENOENT',
    object: join(process.cwd(), 'src/missing-loop.ts'),
    message:
      `Cannot find the loop module "src/missing-loop.ts": tried ${join(process.cwd(), 'src/missing-loop.ts')} ` +
      '(with and without an extension); a path is relative to the current directory, or may be a file: URL',
  });
  await t.rejects(LcoreWorker.start(new URL('http://example.com/loop.js'), { cpu: 1, ports: [a] }), {
    code: 'EINVAL',
    message: 'the loop module must be a path or a file: URL, got "http://example.com/loop.js"',
  });
  a.stop();
  await t.rejects(LcoreWorker.start(loop, { cpu: 1, ports: [a] }), { code: 'ERR_PORT_STOPPED' });
  a.close();
});

t.test('a CPU that already runs a worker is refused, naming it; nothing changes', async (t) => {
  const [a, b, c] = [ringPort(pool), ringPort(pool), ringPort(pool)];
  const counters = ['rx', 'tx', 'dropped', 'affinity'];
  const first = await LcoreWorker.start(loop, { cpu: 1, ports: [a, b], counters });
  await t.rejects(LcoreWorker.start(loop, { cpu: 1, ports: [c], counters }), {
    name: 'DpdkError',
    code: 'EBUSY',
    operation: 'LcoreWorker.start',
    object: 'cpu 1',
    message: `cpu 1 already runs an LcoreWorker (lcore ${first.lcore}): stop it first, or give another cpu`,
  });
  c.stop(); // not marked as polled: the refused start took nothing
  const batch = new Batch(8);
  pool.alloc(batch, 8, packet);
  t.equal(a.txBurst(0, batch), 8);
  t.ok(await until(() => first.counters().tx === 8), 'the running worker goes on');
  t.equal(await first.stop(), 0);
  c.start();
  const second = await LcoreWorker.start(loop, { cpu: 1, ports: [c], counters });
  t.pass(`once it stopped, cpu 1 takes another worker (lcore ${second.lcore})`);
  t.equal(await second.stop(), 0);
  t.equal(b.rxBurst(0, batch), 8);
  batch.close();
  for (const port of [a, b, c]) port.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('of two starts on one CPU at once, one runs and the other is refused', async (t) => {
  const [a, b] = [ringPort(pool), ringPort(pool)];
  const counters = ['rx', 'tx', 'dropped', 'affinity'];
  const results = await Promise.allSettled([
    LcoreWorker.start(loop, { cpu: 1, ports: [a], counters }),
    LcoreWorker.start(loop, { cpu: 1, ports: [b], counters }),
  ]);
  t.equal(results[0].status, 'fulfilled');
  t.match(results[1], {
    status: 'rejected',
    reason: { code: 'EBUSY', message: /^cpu 1 already runs an LcoreWorker \((starting|lcore \d+)\)/ },
  });
  if (results[0].status === 'fulfilled') t.equal(await results[0].value.stop(), 0);
  b.stop();
  a.close();
  b.close();
});

t.test('a CPU whose EAL lcore runs an engine is refused, naming the engine', async (t) => {
  const [a, b, c] = [ringPort(pool), ringPort(pool), ringPort(pool)];
  const engine = Engine.create({ lcore: 1, mode: 'io', streams: [{ rxPort: a, txPort: b }] });
  engine.start();
  await t.rejects(LcoreWorker.start(loop, { cpu: 1, ports: [c] }), {
    code: 'EBUSY',
    operation: 'LcoreWorker.start',
    message: `cpu 1 already runs Engine ${engine.id} (mode io) on EAL lcore 1: stop it first, or give another cpu`,
  });
  c.stop(); // not marked as polled
  t.ok(engine.running, 'the engine goes on');
  engine.stop();
  c.start();
  const worker = await LcoreWorker.start(loop, { cpu: 1, ports: [c], counters: ['rx', 'tx', 'dropped', 'affinity'] });
  t.equal(await worker.stop(), 0, 'once the engine stopped, cpu 1 takes a worker');
  engine.close();
  for (const port of [a, b, c]) port.close();
});

t.test('a txonly engine that ended by itself does not hold its CPU', async (t) => {
  const [a, b] = [ringPort(pool), ringPort(pool)];
  const engine = Engine.create({
    lcore: 1,
    mode: 'txonly',
    mempool: pool,
    template: packet,
    streams: [{ rxPort: a, txPort: a, txLimit: 16 }],
  });
  engine.start();
  t.ok(await until(() => !engine.running), 'the engine ends after its txLimit');
  const worker = await LcoreWorker.start(loop, {
    cpu: 1,
    ports: [a, b],
    counters: ['rx', 'tx', 'dropped', 'affinity'],
  });
  t.equal(await worker.stop(), 0);
  // The 16 packets went round the two ring ports: take them back before closing.
  const batch = new Batch(32);
  for (const port of [a, b]) while (port.rxBurst(0, batch) > 0) batch.free();
  batch.close();
  engine.close();
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('an engine on an lcore whose CPU runs a worker is refused, naming it; nothing changes', async (t) => {
  const [a, b, c, d] = [ringPort(pool), ringPort(pool), ringPort(pool), ringPort(pool)];
  const counters = ['rx', 'tx', 'dropped', 'affinity'];
  const worker = await LcoreWorker.start(loop, { cpu: 1, ports: [a, b], counters });
  const engine = Engine.create({ lcore: 1, mode: 'io', streams: [{ rxPort: c, txPort: d }] });
  t.throws(() => engine.start(), {
    name: 'DpdkError',
    code: 'EBUSY',
    operation: 'Engine.start',
    object: 'cpu 1',
    message:
      `lcore 1 runs on cpu 1, and cpu 1 already runs an LcoreWorker (lcore ${worker.lcore}): ` +
      'stop it first, give an lcore on another cpu, or set shareCpu to take turns',
  });
  t.notOk(engine.running, 'the engine did not start');
  t.match(
    Eal.lcores().find((lcore) => lcore.id === 1),
    { cpus: [1], busy: false },
    'EAL lcore 1 is idle',
  );
  c.stop(); // not marked as polled: the refused start took nothing
  d.stop();
  const batch = new Batch(8);
  pool.alloc(batch, 8, packet);
  t.equal(a.txBurst(0, batch), 8);
  t.ok(await until(() => worker.counters().tx === 8), 'the running worker goes on');
  t.equal(await worker.stop(), 0);
  t.equal(b.rxBurst(0, batch), 8);
  c.start();
  d.start();
  engine.start();
  t.ok(engine.running, 'once the worker stopped, the engine starts on lcore 1');
  engine.close();
  batch.close();
  for (const port of [a, b, c, d]) port.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('an engine is refused while a worker on its CPU is still starting', async (t) => {
  const [a, b] = [ringPort(pool), ringPort(pool)];
  const starting = LcoreWorker.start(loop, { cpu: 1, ports: [a], counters: ['rx', 'tx', 'dropped', 'affinity'] });
  const engine = Engine.create({ lcore: 1, mode: 'io', streams: [{ rxPort: b, txPort: b }] });
  t.throws(() => engine.start(), {
    code: 'EBUSY',
    message:
      'lcore 1 runs on cpu 1, and cpu 1 already runs an LcoreWorker (starting): ' +
      'stop it first, give an lcore on another cpu, or set shareCpu to take turns',
  });
  t.equal(await (await starting).stop(), 0);
  engine.close();
  b.stop();
  a.close();
  b.close();
});

t.test('an engine on an lcore that runs another engine is refused, naming it; the first goes on', async (t) => {
  const [a, b, c, d] = [ringPort(pool), ringPort(pool), ringPort(pool), ringPort(pool)];
  const first = Engine.create({ lcore: 1, mode: 'io', streams: [{ rxPort: a, txPort: b }] });
  first.start();
  const second = Engine.create({ lcore: 1, mode: 'macswap', streams: [{ rxPort: c, txPort: d }] });
  t.throws(() => second.start(), {
    code: 'EBUSY',
    operation: 'Engine.start',
    object: 'cpu 1',
    message: `lcore 1 runs on cpu 1, and cpu 1 already runs Engine ${first.id} (mode io) on EAL lcore 1: stop it first, or give an lcore on another cpu`,
  });
  t.notOk(second.running, 'the second did not start');
  c.stop(); // not marked as polled
  d.stop();
  const batch = new Batch(8);
  pool.alloc(batch, 8, packet);
  t.equal(a.txBurst(0, batch), 8);
  t.ok(await until(() => first.stats()[0].tx === 8), 'the first engine goes on');
  first.stop();
  t.equal(b.rxBurst(0, batch), 8);
  c.start();
  d.start();
  second.start();
  t.ok(second.running, 'once the first stopped, the second starts');
  second.close();
  first.close();
  batch.close();
  for (const port of [a, b, c, d]) port.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});
