/** The interop scenario shared by the hugepage and no-hugepage tests: this process's virtio-user against dpdk-testpmd's vhost. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Batch, Eal, Mempool, VirtioUser, buildUdpPacket, readEthernet } from '../../lib/index.js';
import { socketDir, uniquePrefix, until } from './dpdk.js';
import { startTestpmd, testpmdPortTotals } from './testpmd.js';

/**
 * This process (virtio-user, the container app's side) against dpdk-testpmd in another
 * process (net_vhost, the switch's side) forwarding in macswap mode: every packet sent
 * comes back once, with the MACs swapped and every other byte the same. The two busy
 * parts are pinned apart: testpmd forwards on CPU 0, this process polls from CPU 1.
 */
export async function virtioAgainstTestpmd(t: Test, noHuge: boolean): Promise<void> {
  const dir = socketDir(t);
  const sock = join(dir, 'vhost0.sock');
  const testpmdPrefix = uniquePrefix(noHuge ? 'tpmd-nh' : 'tpmd');
  const memory = noHuge ? ['--no-huge', '-m', '256'] : ['--in-memory', '-m', '256'];
  const testpmd = await startTestpmd(
    [
      '--lcores',
      '0@0,1@0',
      '--no-pci',
      '--file-prefix',
      testpmdPrefix,
      ...memory,
      '--no-telemetry',
      '--vdev',
      `net_vhost0,iface=${sock}`,
    ],
    ['--forward-mode=macswap', '--nb-cores=1', '--total-num-mbufs=4096', '--rxd=256', '--txd=256'],
    sock,
  );
  t.teardown(async () => {
    await testpmd.quit();
    rmSync(`/var/run/dpdk/${testpmdPrefix}`, { recursive: true, force: true });
  });

  Eal.init({
    lcores: '1@1',
    memoryMb: 128,
    filePrefix: uniquePrefix(noHuge ? 'interop-nh' : 'interop'),
    noHuge,
    printLog: false,
  });
  const pool = Mempool.create({ name: 'interop', size: 2047 });
  const port = VirtioUser.create({ path: sock, mac: '00:00:00:00:00:05' });
  port.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
  port.start();
  t.ok(await until(() => port.link().up), 'link up');

  const total = 1000;
  const batch = new Batch(32);
  const template = buildUdpPacket({
    dstMac: '00:00:00:00:00:02',
    srcMac: '00:00:00:00:00:05',
    srcIp: '10.0.0.5',
    dstIp: '10.0.0.2',
    frameSize: 128,
  });
  let sent = 0;
  let received = 0;
  let intact = 0;
  const deadline = Date.now() + 10000;
  while ((sent < total || received < total) && Date.now() < deadline) {
    // At most 64 packets in flight: the 256-descriptor rings never fill, so nothing is
    // dropped and the counts must match exactly.
    if (sent < total && sent - received < 64) {
      const n = Math.min(32, total - sent);
      pool.alloc(batch, n, template);
      for (let i = 0; i < n; i++) batch.dataView(i).setUint32(batch.offsets[i] + 42, sent + i);
      sent += port.txBurst(0, batch);
      batch.free();
    }
    port.rxBurst(0, batch);
    for (let i = 0; i < batch.count; i++) {
      const bytes = batch.packet(i).copy();
      const eth = readEthernet(bytes);
      const sequence = Buffer.from(bytes).readUInt32BE(42);
      const expected = Uint8Array.from(template);
      new DataView(expected.buffer).setUint32(42, sequence);
      if (
        eth.dst === '00:00:00:00:00:05' &&
        eth.src === '00:00:00:00:00:02' &&
        Buffer.compare(Buffer.from(bytes.subarray(12)), Buffer.from(expected.subarray(12))) === 0 &&
        sequence === received
      )
        intact++;
      received++;
    }
    batch.free();
  }
  t.equal(sent, total, 'all sent');
  t.equal(received, total, 'every packet came back once');
  t.equal(intact, total, 'in order, MACs swapped, every other byte the same');
  batch.close();
  port.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
  pool.close();
  Eal.cleanup();
  const output = await testpmd.quit();
  t.same(testpmdPortTotals(output, 0), { rx: total, tx: total }, 'testpmd counted the same');
}
