// Limits of DPDK's tables and devices: a request past one is refused with the value and
// the limit, and what exists keeps working.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Batch, Mempool, NullPort, Port, RingPort, Vhost, VirtioUser } from '../lib/index.js';
import { initEal, ringPort, socketDir, testPacket, until } from './helpers/dpdk.js';

initEal('exhaust-limits');
const pool = Mempool.create({ name: 'ex-limits', size: 2047, cacheSize: 0 });

/** Whether `port` (a started ring port) still returns what it sends. */
function echoes(port: Port): boolean {
  const batch = new Batch(4);
  pool.alloc(batch, 1, testPacket);
  port.txBurst(0, batch);
  batch.free();
  const got = port.rxBurst(0, batch);
  batch.close();
  return got === 1;
}

t.test('a port past RTE_MAX_ETHPORTS is refused with the limit; the others keep working', async (t) => {
  const first = ringPort(pool);
  const ports: Port[] = [];
  let error: unknown;
  try {
    for (let i = 0; i < 64; i++) ports.push(NullPort.create());
  } catch (caught) {
    error = caught;
  }
  const name = `net_null${ports.length}`;
  t.match(error, {
    name: 'DpdkError',
    code: 'ENOSPC',
    operation: 'NullPort.create',
    message: new RegExp(
      `^Cannot create device "net_null\\d+": 32 ethernet ports exist, the most DPDK was built for \\(RTE_MAX_ETHPORTS 32\\): close a port first$`,
    ),
  });
  t.ok(echoes(first), 'the ports that exist keep working');
  ports.pop()?.close();
  const again = NullPort.create();
  t.pass(`after closing one, a port can be created again (${again.name}, not ${name})`);
  again.close();
  for (const port of ports) port.close();
  first.close();
});

/** NullPorts until the process has `count` ports. */
function fillTo(count: number): Port[] {
  const ports: Port[] = [];
  while (Port.ids().length < count) ports.push(NullPort.create());
  return ports;
}

t.test('a virtio-user server past RTE_MAX_ETHPORTS is refused before it listens', async (t) => {
  const first = ringPort(pool);
  const ports = fillTo(32);
  const path = join(socketDir(t), 'full.sock');
  await t.rejects(VirtioUser.createServer({ path, name: 'net_virtio_user_full', timeoutMs: 5000 }), {
    name: 'DpdkError',
    code: 'ENOSPC',
    operation: 'VirtioUser.createServer',
    object: 'net_virtio_user_full',
    message:
      'Cannot create device "net_virtio_user_full": 32 ethernet ports exist, the most DPDK was built for ' +
      '(RTE_MAX_ETHPORTS 32): close a port first',
  });
  t.notOk(existsSync(path), 'no socket file was made');
  t.equal(Port.ids().length, 32, 'the ports are as they were');
  t.ok(echoes(first), 'the ports that exist keep working');
  for (const port of ports) port.close();
  first.close();
});

t.test('a virtio-user server waiting for its client holds a slot: the next port is refused, naming it', async (t) => {
  const ports = fillTo(31);
  const path = join(socketDir(t), 'waiting.sock');
  const controller = new AbortController();
  const waiting = VirtioUser.createServer({ path, signal: controller.signal });
  t.throws(() => NullPort.create({ name: 'net_null_past' }), {
    name: 'DpdkError',
    code: 'ENOSPC',
    operation: 'NullPort.create',
    message:
      'Cannot create device "net_null_past": 31 ethernet ports exist and 1 is being created (waiting for a ' +
      'vhost-user client), the most DPDK was built for (RTE_MAX_ETHPORTS 32): close a port first',
  });
  await t.rejects(
    VirtioUser.createServer({ path: join(socketDir(t), 'second.sock'), timeoutMs: 5000 }),
    { code: 'ENOSPC', message: /31 ethernet ports exist and 1 is being created/ },
    'a second server is refused too',
  );
  controller.abort();
  await t.rejects(waiting, { code: 'ECANCELED' });
  const last = NullPort.create({ name: 'net_null_past' });
  t.equal(Port.ids().length, 32, 'once the wait ended, its slot is free again');
  last.close();
  for (const port of ports) port.close();
});

t.test('queue counts past the device are refused naming its limits; the port configures again after', async (t) => {
  const port = RingPort.create();
  const { maxRxQueues, maxTxQueues } = port.info();
  t.throws(() => port.configure({ mempool: pool, rxQueues: maxRxQueues + 1 }), {
    name: 'DpdkError',
    code: 'EINVAL',
    operation: 'Port.configure',
    message: new RegExp(
      `^Cannot configure ${maxRxQueues + 1} rx and 1 tx queues \\(device allows ${maxRxQueues} and ${maxTxQueues}\\)`,
    ),
  });
  t.throws(() => port.configure({ mempool: pool, txQueues: maxTxQueues + 1 }), {
    code: 'EINVAL',
    message: new RegExp(`^Cannot configure 1 rx and ${maxTxQueues + 1} tx queues`),
  });
  port.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
  port.start();
  t.ok(echoes(port), 'configured within the limits, it works');
  port.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('descriptor counts past the device are clamped to its limits, reported, and it still forwards', async (t) => {
  const sock = join(socketDir(t), 'desc.sock');
  const vhost = Vhost.create({ iface: sock });
  vhost.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
  vhost.start();
  const virtio = VirtioUser.create({ path: sock });
  const { rxDescriptorsMax, txDescriptorsMax } = virtio.info();
  t.ok(rxDescriptorsMax < 65535, `virtio-user has a limit below the most asked (${rxDescriptorsMax})`);
  const adjusted = virtio.configure({ mempool: pool, rxDescriptors: 65535, txDescriptors: 65535 });
  t.same(adjusted, { rxDescriptors: rxDescriptorsMax, txDescriptors: txDescriptorsMax }, 'configure reports the clamp');
  t.throws(() => virtio.configure({ mempool: pool, rxDescriptors: 0 }), {
    name: 'DpdkError',
    code: 'EINVAL',
    operation: 'Port.configure',
    message: 'rxDescriptors must be an integer from 1 to 65535, got 0',
  });
  t.throws(() => virtio.configure({ mempool: pool, txDescriptors: 65536 }), {
    code: 'EINVAL',
    message: 'txDescriptors must be an integer from 1 to 65535, got 65536',
  });
  virtio.start();
  t.ok(await until(() => vhost.link().up), 'the refused counts left the clamped configuration: the link comes up');
  const batch = new Batch(4);
  let received = 0;
  await until(() => {
    pool.alloc(batch, 1, testPacket);
    virtio.txBurst(0, batch);
    batch.free();
    received += vhost.rxBurst(0, batch);
    batch.free();
    return received > 0;
  });
  t.ok(received > 0, `packets sent on the clamped queues arrive (${received})`);
  batch.close();
  virtio.close();
  vhost.close();
});
