// The loop tools/asan/leak-check.ts runs: every native object created, used and closed
// `iterations` times, then what DPDK holds (its heap's allocation count, memzones, mempools,
// ports, through DPDK's own telemetry client) after the first iteration and after the last,
// printed as one JSON line. Memory from malloc/new is LeakSanitizer's, at this process's exit.
//
//   node --import tsx tools/asan/leak-loop.ts ITERATIONS
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Batch,
  Eal,
  Engine,
  LcoreWorker,
  Mempool,
  RingPort,
  Vhost,
  VirtioUser,
  buildUdpPacket,
  hugepages,
  type Port,
} from '../../lib/index.js';

const iterations = Number(process.argv[2]);
if (!Number.isInteger(iterations) || iterations < 1) {
  throw new Error(`iterations must be a positive integer, got ${process.argv[2]}`);
}
const prefix = `dts-leak-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'dts-leak-'));
const loop = join(__dirname, '..', '..', 'test', 'fixtures', 'macswap-loop.ts');
const packet = buildUdpPacket({
  dstMac: '02:00:00:00:00:02',
  srcMac: '02:00:00:00:00:01',
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
});

/** What DPDK holds now, from its telemetry socket (the SDK's objects register nowhere else). */
function dpdkHoldings(): Record<string, number> {
  const commands = ['/eal/heap_info,0', '/eal/memzone_list', '/mempool/list', '/ethdev/list'];
  const text = execFileSync('/usr/bin/dpdk-telemetry.py', ['-f', prefix], {
    input: `${commands.join('\n')}\n`,
    encoding: 'utf8',
    timeout: 10000,
  });
  const [heap, memzones, mempools, ports] = text
    .trim()
    .split('\n')
    .map((line, i) => (JSON.parse(line) as Record<string, unknown>)[commands[i].split(',')[0]]);
  return {
    heapAllocations: (heap as { Alloc_count: number }).Alloc_count,
    heapBytes: (heap as { Alloc_size: number }).Alloc_size,
    memzones: (memzones as unknown[]).length,
    mempools: (mempools as unknown[]).length,
    ports: (ports as unknown[]).length,
  };
}

/** The names of the last `count` memzones, for a report of growth to say what grew. */
function memzoneNames(count: number): string[] {
  const query = (commands: string[]): unknown[] =>
    execFileSync('/usr/bin/dpdk-telemetry.py', ['-f', prefix], { input: `${commands.join('\n')}\n`, encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line, i) => (JSON.parse(line) as Record<string, unknown>)[commands[i].split(',')[0]]);
  const [ids] = query(['/eal/memzone_list']) as number[][];
  const infos = query(ids.slice(-count).map((id) => `/eal/memzone_info,${id}`)) as { Name: string }[];
  return infos.map((info) => info.Name);
}

/** Waits for `check` to hold, polling, for up to 5 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends `count` packets on `from` and receives them on `to`, polling. */
async function exchange(pool: Mempool, from: Port, to: Port, count: number): Promise<void> {
  const batch = new Batch(count);
  pool.alloc(batch, count, packet);
  if (from.txBurst(0, batch) !== count) throw new Error(`${from.name} sent fewer than ${count}`);
  let received = 0;
  await until(`${count} packets on ${to.name}`, () => {
    received += to.rxBurst(0, batch);
    batch.free();
    return received === count;
  });
  batch.close();
}

function ringPort(pool: Mempool): Port {
  const port = RingPort.create();
  port.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
  port.start();
  return port;
}

async function once(i: number): Promise<void> {
  const pool = Mempool.create({ name: `leak-pool-${i}`, size: 1023 });

  const batch = new Batch(64);
  pool.alloc(batch, 64, packet);
  batch.free();
  batch.close();

  const a = ringPort(pool);
  const b = ringPort(pool);
  await exchange(pool, a, a, 32);

  const capture = a.capture({ path: join(dir, `c${i}.pcapng`), filter: ['udp'] });
  await exchange(pool, a, a, 8);
  capture.stop();
  capture.close();

  const engine = Engine.create({
    lcore: 1,
    mode: 'io',
    streams: [{ rxPort: a, txPort: b }],
    filter: { rules: ['tcp'] },
  });
  engine.start();
  await exchange(pool, a, b, 16);
  engine.stop();
  engine.close();

  const worker = await LcoreWorker.start(loop, {
    cpu: 1,
    ports: [a, b],
    counters: ['rx', 'tx', 'dropped', 'affinity'],
  });
  await exchange(pool, a, b, 16);
  await worker.stop();

  a.stop();
  a.close();
  b.stop();
  b.close();

  const sock = join(dir, `v${i}.sock`);
  const vhost = Vhost.create({ iface: sock });
  vhost.configure({ mempool: pool });
  vhost.start();
  const virtio = VirtioUser.create({ path: sock });
  virtio.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
  virtio.start();
  await until('the vhost link', () => vhost.link().up);
  await exchange(pool, virtio, vhost, 16);
  virtio.stop();
  virtio.close();
  vhost.stop();
  vhost.close();

  const serverSock = join(dir, `s${i}.sock`);
  const creating = VirtioUser.createServer({ path: serverSock, timeoutMs: 10000 });
  await until('the server socket', () => existsSync(serverSock));
  const client = Vhost.create({ iface: serverSock, client: true });
  client.configure({ mempool: pool });
  client.start();
  const server = await creating;
  server.close();
  client.stop();
  client.close();

  const inUse = pool.stats().inUse;
  if (inUse !== 0) throw new Error(`iteration ${i}: ${inUse} mbufs still in use`);
  pool.close();
}

async function main(): Promise<void> {
  Eal.init({ lcores: '0@0,1@1', memoryMb: 256, filePrefix: prefix, printLog: false, noHuge: hugepages().free < 128 });
  try {
    await once(0);
    global.gc?.();
    const first = dpdkHoldings();
    for (let i = 1; i < iterations; i++) await once(i);
    global.gc?.();
    const last = dpdkHoldings();
    console.log(JSON.stringify({ iterations, first, last, newMemzones: memzoneNames(30) }));
  } finally {
    Eal.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
