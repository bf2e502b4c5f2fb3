import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { socketDir, uniquePrefix } from './helpers/dpdk.js';

const fixture = join(__dirname, 'fixtures', 'exit-without-close.ts');

// A process that ends without closing its ports, pools, batches and a running engine
// still stops the engine, closes the ports (the vhost socket goes away), releases DPDK's
// memory and leaves no runtime files, whichever way it ends.
for (const [mode, expectedCode] of [
  ['natural', 0],
  ['natural-no-huge', 0],
  ['process-exit', 3],
  ['throw', 1],
] as const) {
  t.test(`exit without close: ${mode}`, async (t) => {
    const dir = socketDir(t);
    const prefix = uniquePrefix(`exit-${mode}`);
    const result = spawnSync(process.execPath, ['--import', 'tsx', fixture, mode, dir, prefix], {
      encoding: 'utf8',
      timeout: 30000,
    });
    t.equal(result.stdout, 'ready\n');
    t.equal(result.status, expectedCode, `exit code ${expectedCode}`);
    t.equal(result.signal, null, 'no crash');
    t.notMatch(result.stderr, /terminate called|Segmentation|Aborted|core dumped/);
    if (mode === 'throw') t.match(result.stderr, /Error: boom/);
    t.notOk(existsSync(join(dir, 'exit.sock')), 'the vhost port was closed (its socket removed)');
    t.notOk(existsSync(`/var/run/dpdk/${prefix}`), 'no DPDK runtime files left');
  });
}

/**
 * Runs `script MODE DIR PREFIX` as a child; in mode sigint, sends SIGINT once it printed
 * "ready". Killed after 20 s, so that a hang reads as a signal rather than stall the test.
 */
async function runFixture(
  t: Test,
  script: string,
  mode: string,
  dir: string,
  prefix: string,
): Promise<{ stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, mode, dir, prefix], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (mode === 'sigint' && stdout === 'ready\n') child.kill('SIGINT');
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, signal) => resolve([code, signal])),
  );
  clearTimeout(timer);
  return { stdout, stderr, code, signal };
}

const withWorker = join(__dirname, 'fixtures', 'exit-with-worker.ts');

// The same with an LcoreWorker polling the vhost port: the exit stops its thread first, so
// that the port can be closed and its socket unlinked (a socket left behind made the next
// run's port fail to bind).
for (const [mode, expectedCode] of [
  ['process-exit', 3],
  ['sigint', 130],
  ['throw', 1],
] as const) {
  t.test(`exit with a running lcore worker: ${mode}`, async (t) => {
    const dir = socketDir(t);
    const prefix = uniquePrefix(`exit-worker-${mode}`);
    const { stdout, stderr, code, signal } = await runFixture(t, withWorker, mode, dir, prefix);
    t.equal(stdout, 'ready\n');
    t.equal(code, expectedCode, `exit code ${expectedCode}`);
    t.equal(signal, null, 'no crash');
    t.notMatch(stderr, /terminate called|Segmentation|Aborted|core dumped/);
    t.notOk(existsSync(join(dir, 'exit.sock')), 'the vhost port was closed (its socket removed)');
    t.notOk(existsSync(`/var/run/dpdk/${prefix}`), 'no DPDK runtime files left');
  });
}

const whileWaiting = join(__dirname, 'fixtures', 'exit-while-waiting.ts');

// The same while a virtio-user server waits for its vhost-user client on another thread: the
// exit ends the wait (it never comes) and removes the socket, rather than hang in DPDK's accept().
for (const [mode, expectedCode] of [
  ['process-exit', 3],
  ['throw', 1],
  ['sigint', 130],
] as const) {
  t.test(`exit while a virtio-user server waits: ${mode}`, async (t) => {
    const dir = socketDir(t);
    const prefix = uniquePrefix(`exit-wait-${mode}`);
    const { stdout, stderr, code, signal } = await runFixture(t, whileWaiting, mode, dir, prefix);
    t.equal(stdout, 'ready\n');
    t.equal(code, expectedCode, `exit code ${expectedCode}`);
    t.equal(signal, null, 'no hang, no crash');
    t.notMatch(stderr, /terminate called|Segmentation|Aborted|core dumped/);
    t.notOk(existsSync(join(dir, 'exit.sock')), 'the socket was removed');
    t.notOk(existsSync(`/var/run/dpdk/${prefix}`), 'no DPDK runtime files left');
  });
}
