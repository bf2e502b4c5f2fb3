// Limits of DPDK's tables and devices: a request past one is refused with the value and
// the limit, and what exists keeps working.
import t from 'tap';
import { Batch, Mempool, NullPort, type Port } from '../lib/index.js';
import { initEal, ringPort, testPacket } from './helpers/dpdk.js';

initEal('exhaust-limits');
const pool = Mempool.create({ name: 'ex-limits', size: 2047, cacheSize: 0 });

/** Whether `port` (a started ring port) still returns what it sends. */
function echoes(port: Port): boolean {
  const batch = new Batch(4);
  pool.alloc(batch, 1, testPacket);
  port.txBurst(0, batch);
  batch.free();
  const got = port.rxBurst(0, batch);
  batch.close();
  return got === 1;
}

t.test('a port past RTE_MAX_ETHPORTS is refused with the limit; the others keep working', async (t) => {
  const first = ringPort(pool);
  const ports: Port[] = [];
  let error: unknown;
  try {
    for (let i = 0; i < 64; i++) ports.push(NullPort.create());
  } catch (caught) {
    error = caught;
  }
  const name = `net_null${ports.length}`;
  t.match(error, {
    name: 'DpdkError',
    code: 'ENOSPC',
    operation: 'NullPort.create',
    message: new RegExp(
      `^Cannot create device "net_null\\d+": 32 ethernet ports exist, the most DPDK was built for \\(RTE_MAX_ETHPORTS 32\\): close a port first$`,
    ),
  });
  t.ok(echoes(first), 'the ports that exist keep working');
  ports.pop()?.close();
  const again = NullPort.create();
  t.pass(`after closing one, a port can be created again (${again.name}, not ${name})`);
  again.close();
  for (const port of ports) port.close();
  first.close();
});
