// Too many mempools: refused with what to do, and the pools that exist keep working. EAL runs
// without hugepages on a small -m so that the memory limit is this file's own, not the machine's.
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
