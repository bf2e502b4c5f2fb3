// examples/testpmd.ts as the example tests run it: two net_null ports (rx makes packets, tx
// frees them), forwarding on lcore 1 (CPU 1), until the test ends it.
import type { Test } from 'tap';
import { until } from './dpdk.js';
import { startExample, type ExampleProcess } from './example-process.js';

/** A running testpmd.ts: its process, what it printed so far (stdout and stderr) and its exit code. */
export type TestpmdExample = ExampleProcess;

/**
 * Starts testpmd.ts with file prefix `prefix` and its own options `appArgs`, asserts that it
 * starts forwarding within 20 s, and kills it when `t` ends.
 */
export async function startTestpmdExample(t: Test, prefix: string, appArgs: string[]): Promise<TestpmdExample> {
  const ealArgs = ['--lcores', '0@0,1@1', '--no-huge', '-m', '256', '--no-pci', '--file-prefix', prefix];
  const testpmd = startExample(t, 'testpmd', [
    ...ealArgs,
    '--vdev',
    'net_null0',
    '--vdev',
    'net_null1',
    '--',
    ...appArgs,
  ]);
  t.ok(await until(() => /Forwarding until SIGINT/.test(testpmd.output()), 20000), 'forwarding');
  return testpmd;
}
