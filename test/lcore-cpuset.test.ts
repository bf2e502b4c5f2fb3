// Loops on different EAL lcores that EAL maps to one CPU: compared by cpuset, refused unless shareCpu.
import t, { type Test } from 'tap';
import { Batch, Eal, Engine, LcoreWorker, Mempool, type Port } from '../lib/index.js';
import { initEal, until, ringPort, testPacket } from './helpers/dpdk.js';

// Lcores 1 and 2 both on CPU 1 (a group, as `--lcores '(1,2)@1'` writes it), lcore 3 on CPUs
// 0 and 1, lcore 4 on CPU 0 (the main lcore's, which polls nothing).
const lcoreMap = '0@0,(1,2)@1,3@(0-1),4@0';
initEal('lcore-cpuset', { lcores: lcoreMap });
const pool = Mempool.create({ name: 'cpuset-pool', size: 4095 });
t.teardown(() => pool.close());
const loop = new URL('./fixtures/macswap-loop.ts', `file://${__filename}`);

/** An io engine from a new ring port to another on `lcore`, yielding when idle (the test machine is shared). */
function ioEngine(lcore: number, extra: { shareCpu?: boolean } = {}): { engine: Engine; ports: [Port, Port] } {
  const ports: [Port, Port] = [ringPort(pool), ringPort(pool)];
  const engine = Engine.create({
    lcore,
    mode: 'io',
    yieldWhenIdle: true,
    streams: [{ rxPort: ports[0], txPort: ports[1] }],
    ...extra,
  });
  return { engine, ports };
}

/** Sends 8 packets into `engine`'s rx port and checks they come out of its tx port. */
async function forwards(t: Test, engine: Engine, [rx, tx]: [Port, Port], what: string): Promise<void> {
  const batch = new Batch(8);
  pool.alloc(batch, 8, testPacket);
  const before = engine.stats()[0].tx;
  t.equal(rx.txBurst(0, batch), 8);
  t.ok(await until(() => engine.stats()[0].tx === before + 8), what);
  t.equal(tx.rxBurst(0, batch), 8);
  batch.free();
  batch.close();
}

function close(engine: Engine, ports: Port[]): void {
  engine.close();
  for (const port of ports) port.close();
}

t.test('EAL reports the cpusets of the lcore map', async (t) => {
  t.same(
    Eal.lcores().map((lcore) => [lcore.id, lcore.cpus]),
    [
      [0, [0]],
      [1, [1]],
      [2, [1]],
      [3, [0, 1]],
      [4, [0]],
    ],
    lcoreMap,
  );
});

t.test('an engine on another lcore mapped to the same CPU is refused, naming both lcores and the CPU', async (t) => {
  const first = ioEngine(1);
  first.engine.start();
  const second = ioEngine(2);
  t.throws(() => second.engine.start(), {
    name: 'DpdkError',
    code: 'EBUSY',
    operation: 'Engine.start',
    object: 'cpu 1',
    message:
      `lcore 2 runs on cpu 1, and cpu 1 already runs Engine ${first.engine.id} (mode io) on EAL lcore 1: ` +
      'stop it first, give an lcore on another cpu, or set shareCpu to take turns',
  });
  t.notOk(second.engine.running, 'the second did not start');
  t.match(
    Eal.lcores().find((lcore) => lcore.id === 2),
    { busy: false },
    'EAL lcore 2 is idle',
  );
  // Not marked as polled: the refused start acquired nothing, so its ports stop.
  for (const port of second.ports) port.stop();
  await forwards(t, first.engine, first.ports, 'the first engine goes on');
  first.engine.stop();
  for (const port of second.ports) port.start();
  second.engine.start();
  t.ok(second.engine.running, 'once the first stopped, lcore 2 takes the second');
  close(second.engine, second.ports);
  close(first.engine, first.ports);
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('engines on lcores whose cpusets do not overlap both run', async (t) => {
  const first = ioEngine(1);
  first.engine.start();
  const second = ioEngine(4);
  second.engine.start();
  t.ok(first.engine.running && second.engine.running, 'lcore 1 (cpu 1) and lcore 4 (cpu 0) both run');
  await forwards(t, second.engine, second.ports, 'the engine on lcore 4 forwards');
  await forwards(t, first.engine, first.ports, 'the engine on lcore 1 forwards');
  close(second.engine, second.ports);
  close(first.engine, first.ports);
});

t.test('an lcore with several CPUs is refused when any of them runs a loop', async (t) => {
  const first = ioEngine(1);
  first.engine.start();
  const wide = ioEngine(3);
  t.throws(() => wide.engine.start(), {
    code: 'EBUSY',
    object: 'cpu 1',
    message:
      `lcore 3 runs on cpus 0-1, and cpu 1 already runs Engine ${first.engine.id} (mode io) on EAL lcore 1: ` +
      'stop it first, give an lcore on another cpu, or set shareCpu to take turns',
  });
  t.notOk(wide.engine.running, 'the engine on lcore 3 did not start');
  close(wide.engine, wide.ports);
  close(first.engine, first.ports);
});

t.test('a busy lcore with several CPUs holds each of them', async (t) => {
  const wide = ioEngine(3);
  wide.engine.start();
  const narrow = ioEngine(4);
  t.throws(() => narrow.engine.start(), {
    code: 'EBUSY',
    object: 'cpu 0',
    message:
      `lcore 4 runs on cpu 0, and cpu 0 already runs Engine ${wide.engine.id} (mode io) on EAL lcore 3 (cpus 0-1): ` +
      'stop it first, give an lcore on another cpu, or set shareCpu to take turns',
  });
  t.notOk(narrow.engine.running, 'the engine on lcore 4 did not start');
  close(narrow.engine, narrow.ports);
  close(wide.engine, wide.ports);
});

t.test('an LcoreWorker on a CPU of a busy lcore with several CPUs is refused', async (t) => {
  const wide = ioEngine(3);
  wide.engine.start();
  const [c] = [ringPort(pool)];
  await t.rejects(LcoreWorker.start(loop, { cpu: 0, ports: [c] }), {
    code: 'EBUSY',
    operation: 'LcoreWorker.start',
    object: 'cpu 0',
    message: `cpu 0 already runs Engine ${wide.engine.id} (mode io) on EAL lcore 3 (cpus 0-1): stop it first, or give another cpu`,
  });
  c.stop(); // not marked as polled
  t.ok(wide.engine.running, 'the engine goes on');
  c.close();
  close(wide.engine, wide.ports);
});

t.test('an engine on another lcore of an LcoreWorker’s CPU is refused, naming the worker', async (t) => {
  const [a, b] = [ringPort(pool), ringPort(pool)];
  const worker = await LcoreWorker.start(loop, {
    cpu: 0,
    ports: [a, b],
    counters: ['rx', 'tx', 'dropped', 'affinity'],
  });
  const wide = ioEngine(3);
  t.throws(() => wide.engine.start(), {
    code: 'EBUSY',
    object: 'cpu 0',
    message:
      `lcore 3 runs on cpus 0-1, and cpu 0 already runs an LcoreWorker (lcore ${worker.lcore}): ` +
      'stop it first, give an lcore on another cpu, or set shareCpu to take turns',
  });
  t.equal(await worker.stop(), 0);
  close(wide.engine, [...wide.ports, a, b]);
});

t.test('with shareCpu, a second engine takes turns on the shared CPU', async (t) => {
  const first = ioEngine(1);
  first.engine.start();
  const second = ioEngine(2, { shareCpu: true });
  second.engine.start();
  t.ok(first.engine.running && second.engine.running, 'lcores 1 and 2 both run on cpu 1');
  await forwards(t, second.engine, second.ports, 'the second engine forwards');
  await forwards(t, first.engine, first.ports, 'the first engine forwards');
  close(second.engine, second.ports);
  close(first.engine, first.ports);
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('shareCpu does not put two engines on one lcore', async (t) => {
  const first = ioEngine(1);
  first.engine.start();
  const second = ioEngine(1, { shareCpu: true });
  t.throws(() => second.engine.start(), {
    code: 'EBUSY',
    message:
      `lcore 1 runs on cpu 1, and cpu 1 already runs Engine ${first.engine.id} (mode io) on EAL lcore 1: ` +
      'stop it first, or give an lcore on another cpu',
  });
  close(second.engine, second.ports);
  close(first.engine, first.ports);
});

t.test('shareCpu must be a boolean', async (t) => {
  const [a] = [ringPort(pool)];
  t.throws(() => Engine.create({ lcore: 2, mode: 'io', streams: [{ rxPort: a, txPort: a }], shareCpu: 1 as never }), {
    code: 'EINVAL',
    operation: 'Engine.create',
    message: 'shareCpu must be true or false, got 1',
  });
  a.close();
});
