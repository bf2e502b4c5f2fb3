// LcoreWorker: a TypeScript loop on a pinned, EAL-registered thread, and its errors.
import { join, relative } from 'node:path';
import t from 'tap';
import { Batch, LcoreWorker, Mempool, readEthernet } from '../lib/index.js';
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
