// Too many mempools, and a pool larger than the memory EAL was given: refused with what to do,
// and the pools that exist keep working. EAL runs without hugepages on a small -m so that the
// memory limit is this file's own, not the machine's.
import t from 'tap';
import { Batch, Mempool } from '../lib/index.js';
import { initEal, testPacket } from './helpers/dpdk.js';

const memoryMb = 128;
initEal('exhaust-pools', { noHuge: true, memoryMb });

/** Whether `pool` still gives out an mbuf and takes it back. */
function works(pool: Mempool): boolean {
  const batch = new Batch(1);
  const got = pool.alloc(batch, 1, testPacket);
  batch.close();
  return got === 1 && pool.stats().inUse === 0;
}

t.test('mempools past the most one process can hold are refused; the others keep working', async (t) => {
  const pools: Mempool[] = [];
  let error: unknown;
  try {
    for (let i = 0; i < 200; i++) pools.push(Mempool.create({ name: `ex-many-${i}`, size: 63, cacheSize: 0 }));
  } catch (caught) {
    error = caught;
  }
  const refused = `ex-many-${pools.length}`;
  t.match(error, {
    name: 'DpdkError',
    code: 'ENOSPC',
    operation: 'Mempool.create',
    object: `mempool "${refused}"`,
    message: `Cannot create mempool "${refused}": ${pools.length} mempools are open, the most one process can hold (${pools.length}): close a mempool first`,
  });
  t.ok(pools.length > 0, `${pools.length} pools were created first`);
  t.ok(
    pools.every((pool) => works(pool)),
    'every pool created before keeps allocating and freeing',
  );
  t.throws(() => Mempool.lookup(refused), { code: 'ENOENT' }, 'the refused pool was not left behind in DPDK');
  pools.pop()?.close();
  const again = Mempool.create({ name: refused, size: 63, cacheSize: 0 });
  t.ok(works(again), 'after closing one, a pool (of the refused name) can be created');
  again.close();
  for (const pool of pools) pool.close();
});

t.test('a pool larger than memoryMb gave EAL is refused naming what to raise; smaller ones still fit', async (t) => {
  const small = Mempool.create({ name: 'ex-fits', size: 1023, cacheSize: 0 });
  const size = 200_000; // about 450 MB of 2176-byte mbufs, past the 128 MB
  const neededMb = Math.ceil((size * (2176 + 128 + 64)) / 2 ** 20);
  t.throws(() => Mempool.create({ name: 'ex-too-big', size }), {
    name: 'DpdkError',
    code: 'ENOMEM',
    operation: 'Mempool.create',
    message: new RegExp(
      `^Cannot create mempool "ex-too-big": Cannot allocate memory.*\\. The pool needs about ${neededMb} MB; ` +
        `EAL runs without hugepages on the ${memoryMb} MB memoryMb gave it: raise memoryMb ` +
        `\\(to at least ${neededMb + memoryMb} MB to be safe\\), or create a smaller pool$`,
    ),
  });
  t.throws(() => Mempool.lookup('ex-too-big'), { code: 'ENOENT' }, 'nothing of it is left behind');
  t.ok(works(small), 'the pool that exists keeps working');
  const after = Mempool.create({ name: 'ex-fits-too', size: 1023, cacheSize: 0 });
  t.ok(works(after), 'a pool that fits is created after the refusal');
  after.close();
  small.close();
});
