/** The vhost-user <-> virtio-user scenario in one process, shared by the hugepage and no-hugepage tests. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Batch, Vhost, VirtioUser, buildUdpPacket, type LinkStatus, type Mempool } from '../../lib/index.js';
import { socketDir, until } from './dpdk.js';

/**
 * A vhost-user port and a virtio-user port in this process: 100 packets of growing sizes
 * each way arrive once, in order, byte for byte; link events fire; no mbuf leaks.
 */
export async function vhostVirtioPair(t: Test, pool: Mempool): Promise<void> {
  const dir = socketDir(t);
  const sock = join(dir, 'v0.sock');
  const baseline = pool.stats().inUse;
  const vhost = Vhost.create({ iface: sock });
  vhost.configure({ mempool: pool });
  const links: LinkStatus[] = [];
  vhost.on('link', (status) => links.push(status));
  vhost.start();
  t.ok(existsSync(sock), 'the vhost server socket exists');
  const virtio = VirtioUser.create({ path: sock, mac: '00:00:00:00:00:05' });
  t.equal(virtio.mac, '00:00:00:00:00:05');
  virtio.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
  virtio.start();
  t.ok(await until(() => vhost.link().up), 'vhost link comes up');
  t.ok(await until(() => links.some((l) => l.up)), 'a link-up event was emitted');

  const batch = new Batch(32);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    sent.push(
      buildUdpPacket({
        dstMac: '00:00:00:00:00:02',
        srcMac: '00:00:00:00:00:05',
        srcIp: '10.0.0.1',
        dstIp: '10.0.0.2',
        srcPort: i,
        frameSize: 64 + i * 10,
      }),
    );
  }
  const received: Uint8Array[] = [];
  for (const [from, to] of [
    [virtio, vhost],
    [vhost, virtio],
  ] as const) {
    received.length = 0;
    let next = 0;
    const deadline = Date.now() + 5000;
    while ((next < sent.length || received.length < sent.length) && Date.now() < deadline) {
      if (next < sent.length) {
        pool.alloc(batch, 1, sent[next]);
        next += from.txBurst(0, batch);
        batch.free();
      }
      to.rxBurst(0, batch);
      for (let i = 0; i < batch.count; i++) received.push(batch.packet(i).copy());
      batch.free();
    }
    t.equal(received.length, sent.length, `${from.name} -> ${to.name}: every packet arrived once`);
    t.same(received, sent, `${from.name} -> ${to.name}: same bytes, same order`);
  }
  t.match(virtio.stats(), { txPackets: 100, rxPackets: 100 });
  t.match(vhost.stats(), { txPackets: 100, rxPackets: 100 });
  batch.close();
  virtio.close();
  t.ok(await until(() => links.some((l) => !l.up)), 'a link-down event after the virtio side left');
  vhost.close();
  t.equal(pool.stats().inUse, baseline, 'mempool in-use returns to its baseline');
}
