import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { Mempool, Vhost, VirtioUser } from '../lib/index.js';
import { initEal, socketDir, until } from './helpers/dpdk.js';
import { vhostVirtioPair } from './helpers/vhost-pair.js';

initEal('vdev');
const pool = Mempool.create({ name: 'vdev-pool', size: 8191 });
t.teardown(() => pool.close());

t.test('devargs are validated before DPDK sees them', async (t) => {
  const long = `/tmp/${'x'.repeat(103)}`;
  const cases: [() => unknown, RegExp][] = [
    [() => VirtioUser.create({ path: long }), /path is 108 bytes long but a unix socket path can have at most 107/],
    [() => VirtioUser.create({ path: '/tmp/a,b' }), /path cannot contain commas, '=' or spaces/],
    [
      () => VirtioUser.create({ path: '/tmp/s', mac: '00:00:00:00:00:0g' }),
      /mac must be a MAC address like 00:00:00:00:00:01, got "00:00:00:00:00:0g"/,
    ],
    [() => VirtioUser.create({ path: '/tmp/s', queues: 9 }), /queues must be an integer from 1 to 8, got 9/],
    [
      () => VirtioUser.create({ path: '/tmp/s', queueSize: 100 }),
      /queueSize must be a power of two from 64 to 32768, got 100/,
    ],
    [
      () => VirtioUser.create({ path: '/tmp/s', packed: true } as never),
      /Unknown option "packed" for VirtioUser.create \(did you mean "packedRing"\?\)/,
    ],
    [() => Vhost.create({ iface: '/tmp/s', queues: 0 }), /queues must be an integer from 1 to 8, got 0/],
    [() => Vhost.create({ iface: '/tmp/s', client: 'yes' } as never), /client must be true or false, got "yes"/],
    [() => Vhost.create({ iface: '/tmp/s', name: 'eth0' }), /name must start with "net_vhost"/],
  ];
  for (const [create, message] of cases) t.throws(create, { name: 'DpdkError', code: 'EINVAL', message });
  t.equal(
    VirtioUser.devargs({
      path: '/tmp/s',
      mac: '00:00:00:00:00:05',
      queues: 2,
      queueSize: 1024,
      server: true,
      packedRing: true,
      name: 'net_virtio_user7',
    }),
    'net_virtio_user7,path=/tmp/s,mac=00:00:00:00:00:05,queues=2,queue_size=1024,server=1,packed_vq=1',
  );
  t.equal(
    Vhost.devargs({ iface: '/tmp/s', queues: 2, client: true, name: 'net_vhost7' }),
    'net_vhost7,iface=/tmp/s,queues=2,client=1',
  );
});

/** Leaves a socket file at `path` that nothing listens on, as a process killed while serving it does. */
function staleSocket(path: string): void {
  const serve = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', serve]);
  if (!lstatSync(path).isSocket()) throw new Error(`no stale socket at ${path}`);
}

/** A socket at `path` that this process serves until the test ends. */
async function liveSocket(t: { teardown(fn: () => void): void }, path: string): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => server.close());
}

t.test('a virtio-user port with no vhost peer says that no server listens at its path', async (t) => {
  const dir = socketDir(t);
  const path = join(dir, 'nobody.sock');
  t.throws(() => VirtioUser.create({ path }), {
    name: 'DpdkError',
    code: 'ENOENT',
    operation: 'VirtioUser.create',
    message: new RegExp(
      `^No vhost-user server listens at ${path} \\(no such file\\): start the vhost-user side first .*or create a server with VirtioUser.createServer to wait for it .*\\(DPDK said: .*connect error`,
    ),
  });
  t.throws(() => VirtioUser.create({ path }), { code: 'ENOENT' }, 'the same on a second try (no stale errno)');
});

t.test('a virtio-user port whose server has ended says so', async (t) => {
  const path = join(socketDir(t), 'ended.sock');
  staleSocket(path);
  t.throws(() => VirtioUser.create({ path }), {
    code: 'ECONNREFUSED',
    operation: 'VirtioUser.create',
    message: new RegExp(
      `^No vhost-user server listens at ${path} \\(the socket file is there but nothing accepts connections: its server has ended\\)`,
    ),
  });
});

t.test('a second Vhost port on a socket path is refused, naming the port that has it', async (t) => {
  const iface = join(socketDir(t), 'one.sock');
  const first = Vhost.create({ iface });
  t.teardown(() => first.close());
  first.configure({ mempool: pool });
  for (const client of [false, true]) {
    t.throws(() => Vhost.create({ iface, client }), {
      name: 'DpdkError',
      code: 'EADDRINUSE',
      operation: 'Vhost.create',
      message: `${iface} is already the socket of port ${first.id} (${first.name}), which serves it: give each port its own socket path, or close port ${first.id} first`,
    });
  }
  t.ok(lstatSync(iface).isSocket(), "the first port's socket is still there");
  const virtio = VirtioUser.create({ path: iface });
  t.teardown(() => virtio.close());
  t.pass('a virtio-user client of the same path is the loopback, and allowed');
});

t.test('a stale vhost server socket left by a process that died is removed, and the server starts', async (t) => {
  const iface = join(socketDir(t), 'vhost.sock');
  staleSocket(iface);
  const vhost = Vhost.create({ iface });
  t.teardown(() => vhost.close());
  vhost.configure({ mempool: pool });
  vhost.start();
  t.ok(lstatSync(iface).isSocket(), 'the port serves its path');
  const virtio = VirtioUser.create({ path: iface });
  t.teardown(() => virtio.close());
  t.pass('and a client reaches it');
});

t.test('a stale virtio-user server socket is removed too', async (t) => {
  const path = join(socketDir(t), 'virtio.sock');
  staleSocket(path);
  // A vhost client started first retries in the background (once a second) until the server listens.
  const vhost = Vhost.create({ iface: path, client: true });
  t.teardown(() => vhost.close());
  vhost.configure({ mempool: pool });
  vhost.start();
  const virtio = await VirtioUser.createServer({ path, timeoutMs: 10_000 });
  t.teardown(() => virtio.close());
  t.ok(lstatSync(path).isSocket(), 'the port serves its path');
  t.ok(await until(() => vhost.link().up), 'and the vhost client connected to it');
});

t.test('a live socket of another server is never removed: the port is refused', async (t) => {
  const path = join(socketDir(t), 'live.sock');
  await liveSocket(t, path);
  const inUse = {
    code: 'EADDRINUSE',
    message: `Another process already serves ${path} (a DPDK application, OVS or QEMU?): choose another socket path, or stop that process`,
  };
  t.throws(() => Vhost.create({ iface: path }), inUse);
  await t.rejects(VirtioUser.createServer({ path }), inUse);
  t.ok(lstatSync(path).isSocket(), 'the socket is still there');
});

t.test('a file that is not a socket at a server path is refused, and kept', async (t) => {
  const path = join(socketDir(t), 'plain.sock');
  writeFileSync(path, 'data');
  t.throws(() => Vhost.create({ iface: path }), {
    code: 'EEXIST',
    operation: 'Vhost.create',
    message: `${path} exists and is not a socket, so the vhost-user server cannot create its socket there: remove it or choose another path`,
  });
  t.equal(readFileSync(path, 'utf8'), 'data');
});

t.test('vhost-user <-> virtio-user in one process: same bytes and counts, both ways, link events, no leak', (t) =>
  vhostVirtioPair(t, pool),
);
