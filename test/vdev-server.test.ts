// A virtio-user server waits for its vhost-user client off the JS thread: timers keep firing,
// a timeout or an AbortSignal ends the wait, and an ended wait leaves no port, socket or fd.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Batch, Eal, Mempool, Port, Vhost, VirtioUser, buildUdpPacket } from '../lib/index.js';
import { initEal, socketDir, until } from './helpers/dpdk.js';

initEal('vdev-server');
const pool = Mempool.create({ name: 'vdev-server-pool', size: 4095 });
t.teardown(() => pool.close());

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** What an ended wait must leave as it found it: ports, the socket file, open fds. */
function snapshot(path: string): { ports: number[]; socket: boolean; fds: number } {
  return { ports: Port.ids(), socket: existsSync(path), fds: openFds() };
}

t.test('the event loop runs while a server waits; a vhost client connecting later completes it', async (t) => {
  const path = join(socketDir(t), 'wait.sock');
  let ticks = 0;
  const interval = setInterval(() => ticks++, 50);
  t.teardown(() => clearInterval(interval));
  const creating = VirtioUser.createServer({ path, mac: '00:00:00:00:00:07', timeoutMs: 20_000 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  // At least twice: a loop blocked for the 500 ms would fire it once, after them. More is
  // usual; fewer than 10 means the machine is starved, not that the wait blocks.
  t.ok(ticks >= 2, `a 50 ms interval fired ${ticks} times in 500 ms of waiting`);
  t.ok(existsSync(path), 'the server socket is there meanwhile');
  const vhost = Vhost.create({ iface: path, client: true });
  t.teardown(() => vhost.close());
  vhost.configure({ mempool: pool });
  vhost.start();
  const virtio = await creating;
  t.teardown(() => virtio.close());
  t.equal(virtio.mac, '00:00:00:00:00:07');
  virtio.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
  virtio.start();
  t.ok(await until(() => vhost.link().up), 'the vhost link comes up');

  const packet = buildUdpPacket({
    dstMac: '00:00:00:00:00:02',
    srcMac: '00:00:00:00:00:07',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
  });
  const batch = new Batch(32);
  t.teardown(() => batch.close());
  for (const [from, to] of [
    [virtio, vhost],
    [vhost, virtio],
  ] as const) {
    const received = await new Promise<Uint8Array | undefined>((resolve) => {
      const deadline = Date.now() + 5000;
      const step = (): void => {
        pool.alloc(batch, 1, packet);
        from.txBurst(0, batch);
        batch.free();
        to.rxBurst(0, batch);
        const got = batch.count > 0 ? batch.packet(0).copy() : undefined;
        batch.free();
        if (got !== undefined || Date.now() > deadline) resolve(got);
        else setTimeout(step, 10);
      };
      step();
    });
    t.same(received, packet, `${from.name} -> ${to.name}: the packet arrives`);
  }
});

t.test('a wait that times out rejects naming the path, and leaves no port, socket or fd', async (t) => {
  const path = join(socketDir(t), 'timeout.sock');
  const before = snapshot(path);
  const started = Date.now();
  await t.rejects(VirtioUser.createServer({ path, timeoutMs: 300, name: 'net_virtio_user_timeout' }), {
    name: 'DpdkError',
    code: 'ETIMEDOUT',
    operation: 'VirtioUser.createServer',
    object: 'net_virtio_user_timeout',
    message: `No vhost-user client connected to ${path} within 300 ms: the port was not created (start the vhost-user side: an OVS dpdkvhostuserclient port, a Vhost port with client: true)`,
  });
  t.ok(Date.now() - started < 3000, 'it rejects soon after the timeout');
  t.same(snapshot(path), before, 'no port, no socket file, no fd left');
  // The name is free again: a client on it succeeds once a server listens.
  const vhost = Vhost.create({ iface: path });
  t.teardown(() => vhost.close());
  vhost.configure({ mempool: pool });
  vhost.start();
  const again = VirtioUser.create({ path, name: 'net_virtio_user_timeout' });
  t.teardown(() => again.close());
  t.equal(again.name, 'net_virtio_user_timeout');
});

t.test('aborting the wait rejects with ECANCELED and the reason, and leaves nothing', async (t) => {
  const path = join(socketDir(t), 'abort.sock');
  const before = snapshot(path);
  const controller = new AbortController();
  const reason = new Error('shutting down');
  setTimeout(() => controller.abort(reason), 200);
  await t.rejects(VirtioUser.createServer({ path, signal: controller.signal }), {
    name: 'DpdkError',
    code: 'ECANCELED',
    operation: 'VirtioUser.createServer',
    message: `Waiting for a vhost-user client to connect to ${path} was aborted: the port was not created`,
    cause: reason,
  });
  t.same(snapshot(path), before, 'no port, no socket file, no fd left');
});

t.test('an already aborted signal rejects at once, before any socket exists', async (t) => {
  const path = join(socketDir(t), 'aborted.sock');
  const creating = VirtioUser.createServer({ path, signal: AbortSignal.abort() });
  t.notOk(existsSync(path), 'no socket was made');
  await t.rejects(creating, {
    code: 'ECANCELED',
    message: `Waiting for a vhost-user client to connect to ${path} was aborted: the port was not created`,
  });
});

t.test('wait options are validated', async (t) => {
  const path = join(socketDir(t), 'options.sock');
  for (const [timeoutMs, given] of [
    [0, '0'],
    [-5, '-5'],
    [1.5, '1.5'],
    [2 ** 31, '2147483648'],
    ['1000', '"1000"'],
  ] as const) {
    await t.rejects(VirtioUser.createServer({ path, timeoutMs: timeoutMs as number }), {
      name: 'DpdkError',
      code: 'EINVAL',
      message: `timeoutMs must be an integer from 1 to 2147483647, got ${given}`,
    });
  }
  await t.rejects(VirtioUser.createServer({ path, signal: 'stop' as never }), {
    code: 'EINVAL',
    message: 'signal must be an AbortSignal, got "stop"',
  });
  await t.rejects(VirtioUser.createServer({ path, server: true } as never), {
    code: 'EINVAL',
    message: /^Unknown option "server" for VirtioUser.createServer/,
  });
  t.notOk(existsSync(path));
});

t.test('create() refuses server: true, pointing to createServer', async (t) => {
  t.throws(() => VirtioUser.create({ path: '/tmp/never.sock', server: true }), {
    code: 'EINVAL',
    operation: 'VirtioUser.create',
    message:
      'server must be false or absent, got true: a server waits for its vhost-user client to connect, which create() cannot do without blocking the event loop; use await VirtioUser.createServer(options)',
  });
});

t.test('while a server waits, its path is refused to other ports, and Eal.cleanup waits for it', async (t) => {
  const path = join(socketDir(t), 'busy.sock');
  const controller = new AbortController();
  const creating = VirtioUser.createServer({ path, signal: controller.signal, name: 'net_virtio_user_busy' });
  const message = `${path} is already the socket of net_virtio_user_busy, which waits for a vhost-user client to connect to it: give each port its own socket path, or abort that creation first`;
  t.throws(() => Vhost.create({ iface: path }), { code: 'EADDRINUSE', operation: 'Vhost.create', message });
  t.throws(() => VirtioUser.create({ path }), { code: 'EADDRINUSE', message });
  await t.rejects(VirtioUser.createServer({ path }), { code: 'EADDRINUSE', message });
  t.throws(() => Eal.cleanup(), {
    code: 'EBUSY',
    message:
      '1 virtio-user server port creation(s) still wait for their vhost-user client: await or abort them before Eal.cleanup()',
  });
  controller.abort();
  await t.rejects(creating, { code: 'ECANCELED' });
  t.notOk(existsSync(path), 'the refused ports did not end the wait nor leave a socket');
});
