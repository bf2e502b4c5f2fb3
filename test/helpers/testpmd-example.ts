// examples/testpmd.ts as the example tests run it: two net_null ports (rx makes packets, tx
// frees them), forwarding on lcore 1 (CPU 1), until the test ends it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import { until } from './dpdk.js';

/** A running testpmd.ts: its process, what it printed so far (stdout and stderr) and its exit code. */
export interface TestpmdExample {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/**
 * Starts testpmd.ts with file prefix `prefix` and its own options `appArgs`, asserts that it
 * starts forwarding within 20 s, and kills it when `t` ends.
 */
export async function startTestpmdExample(t: Test, prefix: string, appArgs: string[]): Promise<TestpmdExample> {
  const script = join(__dirname, '..', '..', 'examples', 'testpmd.ts');
  const ealArgs = ['--lcores', '0@0,1@1', '--no-huge', '-m', '256', '--no-pci', '--file-prefix', prefix];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, ...ealArgs, '--vdev', 'net_null0', '--vdev', 'net_null1', '--', ...appArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  t.ok(await until(() => /Forwarding until SIGINT/.test(output), 20000), 'forwarding');
  return { child, output: () => output, exited };
}
