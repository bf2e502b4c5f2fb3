/**
 * The README's walkthrough as files: every fenced code block whose info string carries
 * `title="FILE"` (```ts title="nf.ts"), by file name, so that tests run the code a reader
 * pastes, from this checkout or from an installed package; and the run of its `nf.ts`
 * that both check.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Test } from 'tap';
import { freeHugepages, until } from './dpdk.js';

/**
 * The files of the walkthrough in `readme` (a README's Markdown text), by name, in the
 * order they appear; their text is the block's content, ending with a newline.
 *
 * @throws Error when two blocks name the same file, or when there is none.
 */
export function walkthroughFiles(readme: string): Map<string, string> {
  const files = new Map<string, string>();
  // An opening fence of three or more backticks, its info string, the content, and a
  // closing fence as long as the opening one (CommonMark); fences at the line's start.
  const block = /^(`{3,})([^`\n]*)\n([\s\S]*?)^\1[ \t]*$/gm;
  for (const [, , info, content] of readme.matchAll(block)) {
    const title = /(?:^|\s)title="([^"]+)"/.exec(info)?.[1];
    if (title === undefined) continue;
    if (files.has(title)) throw new Error(`The README has two blocks titled ${JSON.stringify(title)}`);
    files.set(title, content);
  }
  if (files.size === 0) throw new Error('The README has no code block with title="FILE"');
  return files;
}

/** Why nf.ts cannot run on this machine (its loop runs on CPU 1; it takes 256 MiB of hugepages), or false. */
export function firstNfCannotRun(): string | false {
  if (availableParallelism() < 2) return 'the loop runs on CPU 1: this machine has one CPU';
  const free = freeHugepages();
  return free < 160 ? `nf.ts takes 256 MiB of hugepages: ${free} pages of 2 MiB are free` : false;
}

/**
 * Runs the walkthrough's `nf.ts` in `dir` feeding 300 packets (`command` is the program
 * and its arguments, ending with `nf.ts 300`), waits for the live counters to reach them,
 * stops it as a terminal's Ctrl-C does (SIGINT to its process group) and checks the exit
 * status, the totals and that no socket or EAL runtime directory is left. TMPDIR is `dir`,
 * so the vhost-user sockets nf.ts makes in tmpdir() land there.
 */
export async function checkFirstNfRun(t: Test, dir: string, command: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(command[0], command.slice(1), {
    cwd: dir,
    env: { ...env, TMPDIR: dir },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid as number), 'SIGKILL');
  });
  t.ok(
    await until(() => /^received 300, passed 200, dropped 100$/m.test(output), 60000, 100),
    'the live counters reach the fed packets',
  );
  process.kill(-(child.pid as number), 'SIGINT');
  t.equal(await exited, 0, `exits 0 on Ctrl-C; output:\n${output}`);
  t.match(output, /^Total: received 300, passed 200, dropped 100, unsent 0; east got 200$/m, 'the totals');
  t.same(
    readdirSync(dir).filter((name) => name.endsWith('.sock')),
    [],
    'no vhost-user socket left',
  );
  t.notOk(existsSync('/var/run/dpdk/nf'), 'no EAL runtime directory left');
}
