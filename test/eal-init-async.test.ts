// Virtio-user servers among EAL's vdevs: Eal.init refuses them (they would block the event
// loop inside rte_eal_init); Eal.initAsync waits for their clients off the JS thread, keeps
// DPDK's port order, and ends a wait by timeout or AbortSignal. One fresh process per case.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { socketDir, uniquePrefix } from './helpers/dpdk.js';

const execFileAsync = promisify(execFile);
const fixture = join(__dirname, 'fixtures', 'eal-init-async.ts');

interface Outcome {
  ok?: boolean;
  code?: string;
  message?: string;
  state?: string;
  ports?: string[];
  socket?: boolean;
  ticks?: number;
}

async function run(t: Test, mode: string): Promise<Outcome> {
  const prefix = uniquePrefix(`init-async-${mode}`);
  const socket = join(socketDir(t), 'server.sock');
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', fixture, mode, prefix, socket], {
    timeout: 20_000,
  });
  t.notOk(existsSync(`/var/run/dpdk/${prefix}`), 'no runtime directory left');
  return JSON.parse(stdout) as Outcome;
}

t.test('Eal.init refuses a virtio-user server vdev, naming initAsync; EAL stays uninitialized', async (t) => {
  const outcome = await run(t, 'sync');
  t.equal(outcome.code, 'EINVAL');
  t.match(outcome.message, /vdev "net_virtio_user0,path=.*,server=1" is a virtio-user server/);
  t.match(outcome.message, /use await Eal\.initAsync\(\.\.\.\)/);
  t.equal(outcome.state, 'uninitialized');
});

t.test('Eal.initAsync waits for the client without blocking; ports keep the order given', async (t) => {
  const outcome = await run(t, 'async');
  // EAL's own vdevs keep the order given; the client port was created during the wait.
  t.same(
    outcome.ports!.filter((name) => name !== 'net_vhost0'),
    ['net_null0', 'net_virtio_user0', 'net_null1'],
  );
  t.ok(outcome.ports!.includes('net_vhost0'));
  // A loop blocked for the wait would fire it at most once, after it; a starved machine fewer than 6.
  t.ok(outcome.ticks! >= 2, `a 50 ms interval fired ${outcome.ticks} times while waiting ~300 ms`);
});

t.test('Eal.initAsync timeoutMs: ETIMEDOUT naming the socket; EAL up, no deferred port, no socket', async (t) => {
  const outcome = await run(t, 'timeout');
  t.equal(outcome.code, 'ETIMEDOUT');
  t.match(outcome.message, /No vhost-user client connected to .*server\.sock within 300 ms: the port was not created/);
  t.equal(outcome.state, 'running');
  t.same(outcome.ports, ['net_null0']);
  t.equal(outcome.socket, false);
  t.ok(outcome.ticks! >= 2, `a 50 ms interval fired ${outcome.ticks} times meanwhile`);
});

t.test('Eal.initAsync signal: ECANCELED; no deferred port, no socket', async (t) => {
  const outcome = await run(t, 'abort');
  t.equal(outcome.code, 'ECANCELED');
  t.match(outcome.message, /Waiting for a vhost-user client to connect to .*server\.sock was aborted/);
  t.same(outcome.ports, ['net_null0']);
  t.equal(outcome.socket, false);
});

t.test('Eal.initAsync rejects unknown options before touching EAL', async (t) => {
  const { Eal } = await import('../lib/index.js');
  await t.rejects(Eal.initAsync(['--no-pci'], { timeout: 5 } as never), {
    code: 'EINVAL',
    message: /timeout/,
  });
  t.equal(Eal.state, 'uninitialized');
});
