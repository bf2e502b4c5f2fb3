// The soak's read of a Node app's memory after a full garbage collection
// (tools/soak/collected-memory.ts with memory-probe.mjs preloaded), on real Node processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { collectedMemory, installMemoryProbe, memoryFile, memoryProbeEnv } from '../tools/soak/collected-memory.js';

/** A Node process that idles for 30 s, with `env` added; killed at the test's end. */
async function idleNode(t: Test, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000); console.log("ready")'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await new Promise((resolve) => child.stdout?.once('data', resolve));
  return child;
}

t.test('an app with the probe preloaded answers with its RSS and live heap after a full collection', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-memory-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  installMemoryProbe(dir);
  const child = await idleNode(t, memoryProbeEnv({ socketDir: dir, hugepageDir: '/dev/hugepages' }, 'pktgen'));
  const memory = await collectedMemory(child.pid as number, memoryFile(dir, 'pktgen'));
  t.ok(memory !== undefined && memory.rssKiB > memory.heapUsedKiB && memory.heapUsedKiB > 0, JSON.stringify(memory));
  t.equal(child.exitCode, null, 'still running');
});

t.test('an app without the probe is not signalled (SIGUSR2 would end it)', async (t) => {
  const child = await idleNode(t, {});
  t.equal(
    await collectedMemory(child.pid as number, join(tmpdir(), `soak-memory-none-${process.pid}.json`)),
    undefined,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(child.signalCode, null, 'not ended by a signal');
  t.equal(child.exitCode, null, 'still running');
});
