// A mempool emptied under load: the app holds more packets than the pool has. The driver
// counts what it could not receive (rx_nombuf), forwarding resumes once the packets are
// freed, and every mbuf comes back.
import { join } from 'node:path';
import t from 'tap';
import { Batch, Mempool, Vhost, VirtioUser } from '../lib/index.js';
import { initEal, socketDir, testPacket, until } from './helpers/dpdk.js';

initEal('exhaust-pool');

t.test('a virtio-user pool emptied by held batches: rx_nombuf counts it, rx resumes after free, no leak', async (t) => {
  const sendPool = Mempool.create({ name: 'ex-send', size: 1023, cacheSize: 0 });
  // 511 mbufs for a 256-descriptor rx ring: the app can hold about 255 before the ring
  // cannot be refilled.
  const rxPool = Mempool.create({ name: 'ex-rx', size: 511, cacheSize: 0 });
  const sock = join(socketDir(t), 'ex.sock');
  const vhost = Vhost.create({ iface: sock });
  vhost.configure({ mempool: sendPool, rxDescriptors: 256, txDescriptors: 256 });
  vhost.start();
  const virtio = VirtioUser.create({ path: sock });
  virtio.configure({ mempool: rxPool, rxDescriptors: 256, txDescriptors: 256 });
  virtio.start();
  t.ok(await until(() => vhost.link().up), 'the vhost link is up');
  const baseline = rxPool.stats().inUse;
  t.ok(baseline > 0, 'the rx ring holds mbufs of the pool');

  const out = new Batch(32);
  const send = (): void => {
    sendPool.alloc(out, 32 - out.count, testPacket);
    vhost.txBurst(0, out);
  };
  const held: Batch[] = [];
  const deadline = Date.now() + 5000;
  while (virtio.stats().rxNoMbuf === 0 && Date.now() < deadline) {
    send();
    const batch = new Batch(32);
    virtio.rxBurst(0, batch);
    held.push(batch);
  }
  const heldCount = held.reduce((sum, batch) => sum + batch.count, 0);
  t.ok(virtio.stats().rxNoMbuf > 0, `rx_nombuf counts the refills that found the pool empty (${heldCount} held)`);
  // virtio refills its ring in bulk, all or nothing: what is left is less than one refill.
  t.ok(rxPool.stats().available < 32, `the pool is empty to within a refill (${rxPool.stats().available} left)`);

  for (const batch of held) batch.close();
  const before = virtio.stats().rxPackets;
  const into = new Batch(32);
  let received = 0;
  await until(() => {
    send();
    received += virtio.rxBurst(0, into);
    into.free();
    return received >= 1000;
  });
  t.ok(received >= 1000, `reception resumes once the packets are freed (${received} more)`);
  t.ok(virtio.stats().rxPackets >= before + 1000, 'and the port counts them');

  out.close();
  into.close();
  t.equal(rxPool.stats().inUse, baseline, 'in use returns to the rx ring only');
  virtio.close();
  vhost.close();
  t.equal(rxPool.stats().inUse, 0, 'every mbuf of the rx pool is back');
  t.equal(sendPool.stats().inUse, 0, 'every mbuf of the sending pool is back');
  rxPool.close();
  sendPool.close();
});
