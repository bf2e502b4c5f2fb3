// The in-place Ethernet address rewrites of lib/mac-rewrite.ts on packets in a Batch.
import t, { type Test } from 'tap';
import { Batch, Mempool, macRewrite, readEthernet, setMacs, swapMacs } from '../lib/index.js';
import { initEal, testPacket } from './helpers/dpdk.js';

initEal('mac-rewrite');
const pool = Mempool.create({ name: 'mac-rewrite-pool', size: 1023 });
t.teardown(() => pool.close());

/** A batch of `count` test packets (00:00:00:00:00:01 -> 00:00:00:00:00:02). */
function packets(t: Test, count: number): Batch {
  const batch = new Batch(count);
  pool.alloc(batch, count, testPacket);
  t.teardown(() => {
    batch.free();
    batch.close();
  });
  return batch;
}

t.test('setMacs writes destination and source into the first count packets', async (t) => {
  const batch = packets(t, 3);
  setMacs(batch, 2, macRewrite('02:00:00:00:00:0a', 'aa:bb:cc:dd:ee:ff'));
  t.match(readEthernet(batch.packet(0).copy()), { dst: '02:00:00:00:00:0a', src: 'aa:bb:cc:dd:ee:ff' });
  t.match(readEthernet(batch.packet(1).copy()), { dst: '02:00:00:00:00:0a', src: 'aa:bb:cc:dd:ee:ff' });
  t.match(
    readEthernet(batch.packet(2).copy()),
    { dst: '00:00:00:00:00:02', src: '00:00:00:00:00:01' },
    'the others untouched',
  );
  t.same(batch.packet(0).copy().subarray(12), testPacket.subarray(12), 'the rest of the packet untouched');
});

t.test('swapMacs swaps destination and source', async (t) => {
  const batch = packets(t, 2);
  swapMacs(batch, 2);
  t.match(readEthernet(batch.packet(1).copy()), { dst: '00:00:00:00:00:01', src: '00:00:00:00:00:02' });
  t.same(batch.packet(1).copy().subarray(12), testPacket.subarray(12), 'the rest of the packet untouched');
});

t.test('count 0 touches nothing, even in an empty batch', async (t) => {
  const batch = new Batch(4);
  t.doesNotThrow(() => setMacs(batch, 0, macRewrite('02:00:00:00:00:01', '02:00:00:00:00:02')));
  t.doesNotThrow(() => swapMacs(batch, 0));
  batch.close();
});

t.test('macRewrite refuses what is not a MAC address', async (t) => {
  t.throws(() => macRewrite('02:00:00:00:00', '02:00:00:00:00:02'), { code: 'EINVAL' });
});
