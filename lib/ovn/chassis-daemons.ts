/**
 * What an {@link OvnChassis} and an {@link OvnSandbox} need from the host beyond
 * lib/ovs/daemon.ts: running a program in a network namespace (or not) and reading its
 * output, with its failure as a DpdkError, and the network namespaces of simulated hosts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { DpdkError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** @internal Where `ip netns add` puts its namespaces. */
export const netnsDir = '/run/netns';

/** @internal How {@link runProgram} runs: environment, namespace, timeout, the operation to name in errors. */
export interface RunOptions {
  env: NodeJS.ProcessEnv;
  namespace?: string;
  timeoutMs: number;
  operation: string;
}

/**
 * @internal Runs `file args` (inside `namespace` through `ip netns exec` when given) and
 * returns its stdout.
 * @throws DpdkError `ENOENT` (no such program), `ETIMEDOUT`, `ERR_OVS_DAEMON` with its stderr.
 */
export async function runProgram(file: string, args: readonly string[], options: RunOptions): Promise<string> {
  const [program, argv] =
    options.namespace === undefined ? [file, args] : ['ip', ['netns', 'exec', options.namespace, file, ...args]];
  try {
    const { stdout } = await execFileAsync(program, argv, {
      env: options.env,
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    return stdout;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    const stderr = failure.stderr?.trim() ?? '';
    throw new DpdkError(
      `${file} failed${failure.killed === true ? ` to finish within ${options.timeoutMs} ms` : ''}: ${stderr || failure.message}`,
      {
        code: failure.killed === true ? 'ETIMEDOUT' : failure.code === 'ENOENT' ? 'ENOENT' : 'ERR_OVS_DAEMON',
        operation: options.operation,
        object: [file, ...args].join(' '),
        cause: error,
      },
    );
  }
}

/** @internal Whether network namespace `name` exists (`ip netns add` made it). */
export function namespaceExists(name: string): boolean {
  return existsSync(`${netnsDir}/${name}`);
}

/** @internal Deletes network namespace `name` if it exists, synchronously (also used at process exit). */
export function deleteNamespaceNow(name: string): void {
  if (!namespaceExists(name)) return;
  try {
    execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
  } catch {
    // Already gone (another clean-up raced this one): nothing left to remove.
  }
}

/** @internal Runs `ip ARGS` (iproute2), the failure as a DpdkError of `operation`. */
export async function ip(args: readonly string[], operation: string, timeoutMs: number): Promise<void> {
  await runProgram('ip', args, { env: process.env, timeoutMs, operation });
}
