import t from 'tap';
import { Batch, Mempool, type Port } from '../lib/index.js';
import { initEal, ringPort, testPacket } from './helpers/dpdk.js';

initEal('batch');
const pool = Mempool.create({ name: 'batch-pool', size: 4095 });
t.teardown(() => pool.close());

/** A started ring port (what is sent on it comes back), closed when the test ends. */
function loopback(t: { teardown(fn: () => void): void }): Port {
  const port = ringPort(pool);
  t.teardown(() => port.close());
  return port;
}

/** A batch closed when the test ends. */
function batchOf(t: { teardown(fn: () => void): void }, capacity: number): Batch {
  const batch = new Batch(capacity);
  t.teardown(() => batch.close());
  return batch;
}

t.test('the capacity is checked at construction, and sizes the shared arrays', async (t) => {
  const cases: [unknown, string][] = [
    [0, '0'],
    [4097, '4097'],
    [1.5, '1.5'],
    [-1, '-1'],
    [Number.NaN, 'NaN'],
    ['8', '"8"'],
  ];
  for (const [capacity, shown] of cases) {
    t.throws(() => new Batch(capacity as number), {
      code: 'EINVAL',
      operation: 'new Batch',
      message: `capacity must be an integer from 1 to 4096, got ${shown}`,
    });
  }
  const largest = batchOf(t, 4096);
  t.equal(largest.capacity, 4096);
  t.same([largest.offsets.length, largest.lengths.length, largest.chunks.length], [4096, 4096, 4096]);
  t.equal(largest.count, 0, 'a new batch is empty');
  t.equal(batchOf(t, 1).capacity, 1);
  const byDefault = new Batch();
  t.equal(byDefault.capacity, 32, 'the default capacity');
  byDefault.close();
});

t.test('after a burst, count, offsets, lengths and chunks describe the packets received', async (t) => {
  const port = loopback(t);
  const batch = batchOf(t, 16);
  t.equal(pool.alloc(batch, 10, testPacket), 10);
  t.equal(port.txBurst(0, batch), 10);
  t.equal(batch.count, 0, 'the sent packets left the batch');
  t.equal(port.rxBurst(0, batch), 10);
  t.equal(batch.count, 10);
  t.same([...batch.lengths.subarray(0, 10)], new Array(10).fill(testPacket.length));
  t.equal(new Set(batch.offsets.subarray(0, 10)).size, 10, 'each packet has its own place');
  for (let i = 0; i < 10; i++) {
    t.ok(
      batch.offsets[i] + batch.lengths[i] <= batch.bytes(i).length,
      `packet ${i} lies within chunk ${batch.chunks[i]}`,
    );
  }
  batch.free();
});

t.test('bytes(i) and dataView(i) are views over the mempool memory the packet lies in', async (t) => {
  const batch = batchOf(t, 4);
  t.equal(pool.alloc(batch, 2, testPacket), 2);
  const offset = batch.offsets[0];
  const bytes = batch.bytes(0);
  t.same(bytes.subarray(offset, offset + batch.lengths[0]), testPacket, 'the packet, in place');
  t.equal(batch.bytes(0), bytes, 'one view per chunk, made once');
  const view = batch.dataView(0);
  t.equal(view.buffer, bytes.buffer, 'the DataView covers the same memory');
  view.setUint32(offset + 42, 0xdeadbeef);
  t.same(
    [...bytes.subarray(offset + 42, offset + 46)],
    [0xde, 0xad, 0xbe, 0xef],
    'a write through one is seen through the other',
  );
  const other = batch.offsets[1];
  t.same(batch.bytes(1).subarray(other, other + batch.lengths[1]), testPacket, 'and the next packet is untouched');
  batch.free();
});

t.test('drop(i) frees a packet at the next send instead of sending it', async (t) => {
  const port = loopback(t);
  const batch = batchOf(t, 4);
  pool.alloc(batch, 3, testPacket);
  batch.drop(1);
  t.equal(batch.lengths[1], 0, 'a dropped packet has length 0');
  t.equal(batch.count, 3, 'and stays in the batch until the send');
  t.equal(port.txBurst(0, batch), 2);
  t.equal(batch.count, 0);
  t.equal(port.rxBurst(0, batch), 2, 'only the two others went out');
  batch.free();
  t.equal(pool.stats().inUse, 0, 'the dropped packet went back to its pool');
});

t.test('drop(i) and packet(i) refuse an index outside the packets held', async (t) => {
  const batch = batchOf(t, 4);
  pool.alloc(batch, 2, testPacket);
  for (const index of [2, -1, 0.5]) {
    const message = `packet index must be from 0 to 1, got ${index}`;
    t.throws(() => batch.drop(index), { code: 'EINVAL', operation: 'Batch.drop', message });
    t.throws(() => batch.packet(index), { code: 'EINVAL', operation: 'Batch.packet', message });
  }
  t.same([...batch.lengths.subarray(0, 2)], [testPacket.length, testPacket.length], 'no packet was dropped');
  batch.free();
});

t.test('a packet handle goes stale when the batch is freed', async (t) => {
  const batch = batchOf(t, 4);
  pool.alloc(batch, 2, testPacket);
  const handle = batch.packet(1);
  t.equal(handle.length, testPacket.length);
  t.same(handle.copy(), testPacket);
  batch.free();
  const stale = { code: 'ERR_STALE_PACKET', message: 'Packet handle is stale: the packet was sent or freed' };
  t.throws(() => handle.length, { ...stale, operation: 'PacketHandle.length' });
  t.throws(() => handle.data, { ...stale, operation: 'PacketHandle.data' });
  t.throws(() => handle.copy(), stale);
  t.throws(() => handle.write(0, new Uint8Array(1)), { ...stale, operation: 'PacketHandle.write' });
});

t.test('a packet handle goes stale at the next burst, even when a packet is back at its index', async (t) => {
  const port = loopback(t);
  const batch = batchOf(t, 4);
  pool.alloc(batch, 1, testPacket);
  const handle = batch.packet(0);
  t.equal(port.txBurst(0, batch), 1);
  t.throws(() => handle.data, { code: 'ERR_STALE_PACKET' }, 'stale once sent');
  t.equal(port.rxBurst(0, batch), 1);
  t.throws(() => handle.data, { code: 'ERR_STALE_PACKET' }, 'and still stale once a packet is received at index 0');
  t.same(batch.packet(0).copy(), testPacket, 'a new handle reads the new packet');
  batch.free();
});

t.test('free() returns every packet to its pool and empties the batch', async (t) => {
  const batch = batchOf(t, 8);
  t.equal(pool.alloc(batch, 5, testPacket), 5);
  t.equal(pool.stats().inUse, 5);
  const generation = batch.generation;
  batch.free();
  t.equal(batch.count, 0);
  t.equal(pool.stats().inUse, 0);
  t.not(batch.generation, generation, 'handles taken before are stale');
  batch.free();
  t.equal(batch.count, 0, 'freeing an empty batch changes nothing');
  t.equal(pool.alloc(batch, 8, testPacket), 8, 'the batch is reusable');
  batch.free();
});

t.test('close() frees the packets and empties the shared arrays, and can run twice', async (t) => {
  const batch = new Batch(8);
  pool.alloc(batch, 4, testPacket);
  batch.close();
  t.equal(pool.stats().inUse, 0, 'the packets went back to their pool');
  t.same(
    [batch.offsets.length, batch.lengths.length, batch.chunks.length],
    [0, 0, 0],
    'JS can no longer reach the shared buffer',
  );
  t.doesNotThrow(() => batch.close(), 'a second close does nothing');
});

t.test('a closed batch throws ERR_CLOSED "Batch is closed" wherever it is used', async (t) => {
  const port = loopback(t);
  const batch = new Batch(8);
  batch.close();
  const closed = { code: 'ERR_CLOSED', message: 'Batch is closed' };
  t.throws(() => batch.free(), { ...closed, operation: 'Batch.free' });
  t.throws(() => pool.alloc(batch, 1, testPacket), { ...closed, operation: 'Mempool.alloc' });
  t.throws(() => port.rxBurst(0, batch), { ...closed, operation: 'Port.rxBurst' });
  t.throws(() => port.txBurst(0, batch), { ...closed, operation: 'Port.txBurst' });
  t.throws(() => port.txRxBurst(0, batch, port, 0), { ...closed, operation: 'Port.txRxBurst' });
  t.throws(() => batch.drop(0), { ...closed, operation: 'Batch.drop' });
  t.throws(() => batch.packet(0), { ...closed, operation: 'Batch.packet' });
});

t.test('a closed batch holds no packets', async (t) => {
  const batch = new Batch(8);
  batch.close();
  t.same([batch.count, batch.unsent, batch.generation], [0, 0, 0]);
});
