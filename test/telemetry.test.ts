// DPDK telemetry: an SDK process answers DPDK's telemetry socket by default, queried here with
// Debian's own client (dpdk-telemetry.py): DPDK's commands and the SDK's /dpdk_ts/ ones, which
// DPDK's telemetry thread answers while the JS thread is busy (spawnSync blocks it). The socket
// goes with EAL; a socket EAL cannot create refuses init with what to do about it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Batch, Eal, Engine, LcoreWorker, Mempool, type Port } from '../lib/index.js';
import { freeHugepages, initEal, ringPort, testPacket, uniquePrefix, until } from './helpers/dpdk.js';
import { startTestpmdExample } from './helpers/testpmd-example.js';

initEal('telemetry');
const prefix = uniquePrefix('telemetry');
const runtimeDir = `/var/run/dpdk/${prefix}`;
const pool = Mempool.create({ name: 'telemetry-pool', size: 4095 });
const client = '/usr/bin/dpdk-telemetry.py';

/** Runs DPDK's client with `commands` on its stdin, as a user types them; returns each reply's value. */
function query(...commands: string[]): unknown[] {
  const result = spawnSync(client, ['-f', prefix], {
    input: `${commands.join('\n')}\n`,
    encoding: 'utf8',
    timeout: 10000,
  });
  if (result.status !== 0) throw new Error(`${client} failed (${result.status}): ${result.stderr}`);
  return result.stdout
    .trim()
    .split('\n')
    .map((line, i) => (JSON.parse(line) as Record<string, unknown>)[commands[i].split(',')[0]]);
}

/** Sends `count` test packets out of `port`. */
function send(port: Port, count: number): void {
  const batch = new Batch(count);
  pool.alloc(batch, count, testPacket);
  port.txBurst(0, batch);
  batch.close();
}

t.test('telemetry is on by default: its socket is in the runtime directory', async (t) => {
  t.ok(existsSync(join(runtimeDir, 'dpdk_telemetry.v2')));
});

t.test("/ethdev/list and /ethdev/stats report the port's own counts", async (t) => {
  const port = ringPort(pool);
  send(port, 25);
  const batch = new Batch(32);
  t.equal(port.rxBurst(0, batch), 25);
  batch.free();
  batch.close();
  const [list, stats] = query('/ethdev/list', `/ethdev/stats,${port.id}`);
  t.same(list, [port.id]);
  const own = port.stats();
  t.match(stats, { ipackets: own.rxPackets, opackets: own.txPackets });
  t.equal(own.rxPackets, 25);
  port.stop();
  port.close();
});

t.test("/dpdk_ts/engine reports a running engine's counters", async (t) => {
  const port = ringPort(pool);
  const engine = Engine.create({ lcore: 1, mode: 'rxonly', streams: [{ rxPort: port, txPort: port }] });
  engine.start();
  send(port, 300);
  t.ok(await until(() => engine.stats()[0].rx === 300), 'the engine received 300');
  const [ids, info] = query('/dpdk_ts/engines', `/dpdk_ts/engine,${engine.id}`);
  engine.stop();
  t.same(ids, [engine.id]);
  t.same(info, {
    id: engine.id,
    mode: 'rxonly',
    lcore: 1,
    running: 1,
    streams: 1,
    rx_ports: [port.id],
    tx_ports: [port.id],
    rx: 300,
    tx: 0,
    dropped: 0,
  });
  engine.close();
  port.stop();
  port.close();
});

t.test('/dpdk_ts/engine reports what a paced generator held back and gave up', async (t) => {
  const port = ringPort(pool);
  const engine = Engine.create({
    lcore: 1,
    mode: 'txonly',
    mempool: pool,
    template: testPacket,
    yieldWhenIdle: true,
    streams: [{ rxPort: port, txPort: port, txLimit: 500, ratePps: 50_000 }],
  });
  engine.start();
  t.ok(await until(() => engine.stats()[0].tx === 500), 'the engine sent 500');
  engine.stop();
  const [info] = query(`/dpdk_ts/engine,${engine.id}`);
  const { txBlocked, txSkipped } = engine.stats()[0];
  t.match(info, { mode: 'txonly', tx: 500, tx_blocked: txBlocked, tx_skipped: txSkipped });
  t.type(txSkipped, 'number');
  engine.close();
  const batch = new Batch(512);
  t.equal(port.rxBurst(0, batch), 500, 'the ring held what was sent');
  batch.close();
  port.stop();
  port.close();
});

t.test('a closed engine is no longer listed', async (t) => {
  const port = ringPort(pool);
  const engine = Engine.create({ lcore: 1, mode: 'io', streams: [{ rxPort: port, txPort: port }] });
  t.same(query('/dpdk_ts/engines'), [[engine.id]]);
  engine.close();
  t.same(query('/dpdk_ts/engines', `/dpdk_ts/engine,${engine.id}`), [[], null]);
  port.stop();
  port.close();
});

t.test("/dpdk_ts/worker reports a TypeScript loop's live counters", async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  const loop = new URL('./fixtures/macswap-loop.ts', `file://${__filename}`);
  const worker = await LcoreWorker.start(loop, {
    cpu: 1,
    ports: [a, b],
    counters: ['rx', 'tx', 'dropped', 'affinity'],
  });
  send(a, 200);
  t.ok(await until(() => worker.counters().tx === 200), 'the loop forwarded 200');
  const [lcores, info] = query('/dpdk_ts/workers', `/dpdk_ts/worker,${worker.lcore}`);
  t.equal(await worker.stop(), 0);
  t.same(lcores, [worker.lcore]);
  t.same(info, { lcore: worker.lcore, cpu: 1, rx: 200, tx: 200, dropped: 0, affinity: 2 });
  t.same(query('/dpdk_ts/workers'), [[]], 'a stopped worker is no longer listed');
  const batch = new Batch(256);
  t.equal(b.rxBurst(0, batch), 200);
  batch.close();
  a.stop();
  a.close();
  b.close();
});

t.test('/dpdk_ts/batches counts the open batches, their capacity and the packets they hold', async (t) => {
  const [before] = query('/dpdk_ts/batches') as { open: number; capacity: number; held: number }[];
  const batch = new Batch(64);
  pool.alloc(batch, 10, testPacket);
  const [holding] = query('/dpdk_ts/batches');
  t.same(holding, { open: before.open + 1, capacity: before.capacity + 64, held: before.held + 10 });
  batch.close();
  t.same(query('/dpdk_ts/batches'), [before], 'a closed batch is no longer counted');
});

t.test('a running example (testpmd.ts) answers dpdk-telemetry.py', async (t) => {
  const examplePrefix = uniquePrefix('telemetry-testpmd');
  const testpmd = await startTestpmdExample(t, examplePrefix, ['--engine=native', '--stats-period=0']);
  const ask = (...commands: string[]): unknown[] => {
    const result = spawnSync(client, ['-f', examplePrefix], { input: `${commands.join('\n')}\n`, encoding: 'utf8' });
    t.equal(result.status, 0, `${client} -f ${examplePrefix}`);
    return result.stdout
      .trim()
      .split('\n')
      .map((line, i) => (JSON.parse(line) as Record<string, unknown>)[commands[i].split(',')[0]]);
  };
  const [ports, stats, engines] = ask('/ethdev/list', '/ethdev/stats,0', '/dpdk_ts/engines');
  t.same(ports, [0, 1], "the example's two ports");
  t.ok((stats as { ipackets: number }).ipackets > 0, 'port 0 is receiving');
  t.equal((engines as number[]).length, 1, "the example's forwarding engine");
  const [engine] = ask(`/dpdk_ts/engine,${(engines as number[])[0]}`);
  t.match(engine, { mode: 'io', running: 1, rx_ports: [0, 1], tx_ports: [1, 0] });
  testpmd.child.kill('SIGTERM');
  t.equal(await testpmd.exited, 0, 'exits cleanly on SIGTERM');
  t.notOk(existsSync(`/var/run/dpdk/${examplePrefix}`), 'its runtime directory and telemetry socket went with it');
});

t.test('an SDK command without a valid id answers null', async (t) => {
  t.same(query('/dpdk_ts/engine', '/dpdk_ts/engine,x', '/dpdk_ts/engine,999', '/dpdk_ts/worker,-1'), [
    null,
    null,
    null,
    null,
  ]);
});

const initFixture = join(__dirname, 'fixtures', 'eal-init.ts');

/** Runs the EAL init fixture in a fresh process, under `wrap` (a command and its arguments) if given. */
function initInChild(mode: string, childPrefix: string, wrap: string[] = []): { code?: string; message?: string } {
  const command = [...wrap, process.execPath, '--import', 'tsx', initFixture, mode, childPrefix];
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: 30000 });
  return JSON.parse(result.stdout || '{}') as { code?: string; message?: string };
}

t.test('a process that exits without Eal.cleanup() leaves no socket behind', async (t) => {
  const childPrefix = uniquePrefix('telemetry-exit');
  t.same(initInChild('exit', childPrefix), { socket: true }, 'the socket was there while it ran');
  t.notOk(existsSync(`/var/run/dpdk/${childPrefix}`), 'no runtime directory left');
});

const fix =
  /: make that directory writable and its path short enough for a unix socket \(108 bytes with \/dpdk_telemetry\.v2\), or turn telemetry off \(telemetry: false, or --no-telemetry\)$/;

t.test('a telemetry socket path too long for a unix socket refuses init, naming the fix', async (t) => {
  // 80 characters: /var/run/dpdk/PREFIX/dpdk_telemetry.v2 is 112 bytes, while EAL's
  // multi-process socket (PREFIX/mp_socket, 104) still fits: DPDK would bind that one at a
  // truncated path, outside the runtime directory.
  const base = `${uniquePrefix('telemetry-long')}-`;
  const childPrefix = base.padEnd(80, 'x');
  const outcome = initInChild('raw-quiet', childPrefix);
  t.equal(outcome.code, 'ENAMETOOLONG');
  t.match(
    outcome.message,
    /^EAL initialization failed: File name too long \(DPDK said: .*TELEMETRY: Error with socket binding, path too long\)\. DPDK's telemetry socket/,
  );
  t.match(outcome.message, `could not be created in /var/run/dpdk/${childPrefix}`);
  t.match(outcome.message, fix);
  t.notOk(existsSync(`/var/run/dpdk/${childPrefix}`), 'no runtime directory left');
});

// A read-only bind mount of the runtime directory, in a mount namespace of the child's own.
const readOnly = (dir: string): string[] => [
  'unshare',
  '-m',
  'sh',
  '-c',
  `mount --bind ${dir} ${dir} && mount -o remount,bind,ro ${dir} && exec "$@"`,
  'sh',
];
const readOnlySkip =
  freeHugepages() < 64
    ? 'needs 64 free hugepages (with --in-memory, only the socket goes into the runtime directory)'
    : spawnSync(readOnly('/tmp')[0], [...readOnly('/tmp').slice(1), 'true']).status !== 0
      ? 'needs unshare -m and mount (root)'
      : false;

t.test('a read-only runtime directory refuses init, naming the fix', { skip: readOnlySkip }, async (t) => {
  const childPrefix = uniquePrefix('telemetry-ro');
  const dir = `/var/run/dpdk/${childPrefix}`;
  mkdirSync(dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const outcome = initInChild('hugepages', childPrefix, readOnly(dir));
  t.equal(outcome.code, 'EROFS');
  t.match(
    outcome.message,
    /^EAL initialization failed: Read-only file system \(DPDK said: .*TELEMETRY: Error binding socket: Read-only file system\)\. DPDK's telemetry socket/,
  );
  t.match(outcome.message, fix);
});

// A client that connected before cleanup and asks after it (a monitoring agent's one
// connection): DPDK's /mempool/list then read unmapped memory and crashed the process.
const lingeringClient = `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
print(s.recv(1024).decode(), flush=True)
sys.stdin.readline()
try:
    s.send(b'/mempool/list')
    print(s.recv(16384).decode() or 'closed', flush=True)
except OSError:
    print('closed', flush=True)`;

t.test('Eal.cleanup() removes the socket and the runtime directory, and closes connected clients', async (t) => {
  const child = spawn('python3', ['-c', lingeringClient, join(runtimeDir, 'dpdk_telemetry.v2')]);
  t.teardown(() => child.kill());
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.ok(await until(() => output.includes('"pid"')), 'the client connected');
  pool.close();
  Eal.cleanup();
  t.notOk(existsSync(runtimeDir));
  child.stdin.write('\n');
  t.ok(await until(() => output.endsWith('closed\n')), 'its connection was closed');
});
