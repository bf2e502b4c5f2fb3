import t from 'tap';
import { Batch, Mempool, RingPort } from '../lib/index.js';
import { initEal } from './helpers/dpdk.js';

initEal('mempool');

t.test('create, stats, alloc, close', async (t) => {
  const pool = Mempool.create({ name: 'mp-basic', size: 511, cacheSize: 32 });
  t.equal(pool.name, 'mp-basic');
  t.equal(pool.dataRoomSize, 2176);
  t.same(pool.stats(), { size: 511, available: 511, inUse: 0 });
  const batch = new Batch(64);
  t.equal(pool.alloc(batch, 10, new Uint8Array([1, 2, 3])), 10);
  t.same(pool.stats(), { size: 511, available: 501, inUse: 10 });
  t.throws(() => pool.close(), {
    code: 'EBUSY',
    message: /has 10 mbufs in use: free or send the batches holding them first/,
  });
  batch.free();
  t.equal(pool.stats().inUse, 0);
  pool.close();
  pool.close();
  t.throws(() => pool.stats(), { code: 'ERR_CLOSED', message: 'Mempool is closed', object: 'mempool "mp-basic"' });
  t.throws(() => pool.alloc(batch, 1), { code: 'ERR_CLOSED' });
  batch.close();
});

t.test('a pool spanning many hugepages is one chunk: packets share one view', async (t) => {
  // 8191 mbufs of 2176 bytes take ~20 MB: ten 2 MB pages, which IOVA-as-PA mode populates
  // page by page. The pages are adjacent in virtual memory, so JS sees them as one chunk.
  const pool = Mempool.create({ name: 'mp-pages', size: 8191 });
  const batch = new Batch(4096);
  t.equal(pool.alloc(batch, 4096, new Uint8Array([7])), 4096);
  t.equal(new Set(batch.chunks).size, 1, 'every packet lies in the same chunk');
  t.equal(batch.bytes(4095)[batch.offsets[4095]], 7, 'and its view reaches the last one');
  batch.close();
  pool.close();
});

t.test('all-or-nothing alloc when the pool runs out', async (t) => {
  const pool = Mempool.create({ name: 'mp-small', size: 31, cacheSize: 0 });
  const batch = new Batch(64);
  t.equal(pool.alloc(batch, 32), 0);
  t.equal(batch.count, 0);
  t.equal(pool.alloc(batch, 31), 31);
  t.throws(() => pool.alloc(batch, 40), {
    code: 'EINVAL',
    message: /count 40 exceeds the batch's free room of 33 packets/,
  });
  batch.close();
  t.equal(pool.stats().inUse, 0, 'closing a batch frees its packets');
  pool.close();
});

t.test('a pool used by a port cannot be freed until the port closes', async (t) => {
  const pool = Mempool.create({ name: 'mp-port', size: 2047 });
  const port = RingPort.create();
  port.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
  t.throws(() => pool.close(), {
    code: 'EBUSY',
    message: /is used by 1 port queue\(s\) or engine\(s\): close those ports and engines first/,
  });
  port.close();
  pool.close();
});

t.test('bad options', async (t) => {
  const cases: [unknown, string, RegExp][] = [
    [
      { name: 'x', size: 10, cache: 1 },
      'EINVAL',
      /Unknown option "cache" for Mempool.create \(did you mean "cacheSize"\?\)/,
    ],
    [{ name: 'x'.repeat(26), size: 10 }, 'EINVAL', /name must be at most 25 characters/],
    [{ name: 'x', size: 0 }, 'EINVAL', /size must be an integer from 1 to 2147483647, got 0/],
    [
      { name: 'x', size: 100, cacheSize: 100 },
      'EINVAL',
      /cacheSize 100 is too large for size 100: it must be at most size \/ 1.5 \(66\)/,
    ],
    [{ name: 'x', size: 100, dataRoomSize: 64 }, 'EINVAL', /dataRoomSize must be an integer from 128 to 65535, got 64/],
    [{ size: 100 }, 'EINVAL', /name must be a non-empty string, got undefined/],
  ];
  for (const [options, code, message] of cases) {
    t.throws(() => Mempool.create(options as never), { code, message });
  }
  const pool = Mempool.create({ name: 'mp-dup', size: 63 });
  t.throws(() => Mempool.create({ name: 'mp-dup', size: 63 }), {
    code: 'EEXIST',
    message: /Cannot create mempool "mp-dup": File exists/,
    operation: 'Mempool.create',
  });
  t.throws(() => Mempool.create({ name: 'mp-huge', size: 50_000_000 }), {
    code: 'ENOMEM',
    message: /Cannot create mempool "mp-huge"/,
  });
  t.throws(() => Mempool.lookup('mp-none'), { code: 'ENOENT', message: 'No mempool named "mp-none"' });
  t.equal(Mempool.lookup('mp-dup').stats().size, 63);
  pool.close();
});
