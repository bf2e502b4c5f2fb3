import { join } from 'node:path';
import t from 'tap';
import { Mempool, Vhost, VirtioUser } from '../lib/index.js';
import { initEal, socketDir } from './helpers/dpdk.js';
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

t.test('a virtio-user port with no vhost peer fails with the reason', async (t) => {
  const dir = socketDir(t);
  t.throws(() => VirtioUser.create({ path: join(dir, 'nobody.sock') }), {
    code: 'ENOENT',
    operation: 'Port.probe',
    message:
      /Cannot create device "net_virtio_user\d+,path=.*nobody.sock": No such file or directory \(DPDK said: .*connect error/,
  });
});

t.test('vhost-user <-> virtio-user in one process: same bytes and counts, both ways, link events, no leak', (t) =>
  vhostVirtioPair(t, pool),
);
