// An example program (examples/NAME.ts) run as its own process, as a user runs it: what it
// printed so far (stdout and stderr together), its exit code, and a stop at the test's end.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';

/** A running example. */
export interface ExampleProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs examples/`name`.ts with `args` (EAL's, `--`, its own) under tsx; `t`'s end stops it. */
export function startExample(t: Test, name: string, args: readonly string[]): ExampleProcess {
  const script = join(__dirname, '..', '..', 'examples', `${name}.ts`);
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A test that failed midway leaves the app running: SIGTERM lets it clean up after itself
  // (its /var/run/dpdk directory, its sockets), SIGKILL follows if it has not within 5 s.
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  return { child, output: () => output, exited };
}
