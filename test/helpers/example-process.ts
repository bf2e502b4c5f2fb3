// An example program (examples/NAME.ts) run as its own process, as a user runs it: what it
// printed so far (stdout and stderr together), its exit code, and a kill at the test's end.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';

/** A running example. */
export interface ExampleProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs examples/`name`.ts with `args` (EAL's, `--`, its own) under tsx; `t`'s end kills it. */
export function startExample(t: Test, name: string, args: readonly string[]): ExampleProcess {
  const script = join(__dirname, '..', '..', 'examples', `${name}.ts`);
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return { child, output: () => output, exited };
}
