// Helpers of the OVS tests: ovs-vsctl and ovs-appctl against a sandbox, and polling.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { OvsSandbox } from '../lib/ovs/sandbox.js';

const execFileAsync = promisify(execFile);

/** Runs ovs-vsctl against the sandbox (tests only: to check the client against the reference tool). */
export async function vsctl(sandbox: OvsSandbox, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('ovs-vsctl', [`--db=${sandbox.dbTarget}`, '--timeout=10', ...args], {
    env: sandbox.env,
  });
  return stdout;
}

/** Polls `check` every 20 ms until it returns true, or fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs ovs-appctl against a daemon of the sandbox. */
export async function appctl(
  sandbox: OvsSandbox,
  daemon: 'ovsdb-server' | 'ovs-vswitchd',
  ...args: string[]
): Promise<string> {
  const target = sandbox.controlSocket(daemon);
  if (target === undefined) throw new Error(`${daemon} is not running`);
  const { stdout } = await execFileAsync('ovs-appctl', ['-t', target, ...args], { env: sandbox.env });
  return stdout;
}
