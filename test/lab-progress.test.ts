import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import t from 'tap';
import { DpdkError } from '../lib/errors.js';
import { execWithProgress } from '../tools/lab/programs.js';

// The lab's long steps show their progress: a real child process (bash printing, sleeping,
// printing) run through execWithProgress, its progress written to a stream that says it is
// a terminal or not.

/** A stream that keeps what is written to it, a terminal of `columns` when `tty`. */
function sink(tty: boolean, columns = 80): Writable & { text: string; isTTY: boolean; columns: number } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string; isTTY: boolean; columns: number };
  stream.text = '';
  stream.isTTY = tty;
  stream.columns = columns;
  return stream;
}

const execFileAsync = promisify(execFile);

// Prints "fetching 1", waits, redraws its progress with a carriage return as apt does, waits, ends.
const script = 'echo "fetching 1"; sleep 1.3; printf "unpacking 2\\rconfiguring 3\\n"; sleep 1.3; echo "finished" >&2';

t.test(
  'not on a terminal: a line when the step starts, one per heartbeat with the last output, one at the end',
  async (t) => {
    const out = sink(false);
    const result = await execWithProgress('test', 'demo step', 'bash', ['-c', script], { out, heartbeatMs: 1000 });
    t.equal(result.stdout, 'fetching 1\nunpacking 2\rconfiguring 3\n', "the program's stdout as it printed it");
    t.equal(result.stderr, 'finished\n');
    const lines = out.text.split('\n');
    t.equal(lines[0], 'lab: demo step ...', 'the step says what it does first');
    t.equal(lines[1], 'lab: demo step: 1 s: fetching 1', 'after 1 s: the elapsed time and the last line printed');
    t.equal(lines[2], 'lab: demo step: 2 s: configuring 3', 'after 2 s: the line after the carriage return');
    t.match(lines[lines.length - 2], /^lab: demo step: done in 2\.\d s$/, 'the last line says how long it took');
    t.notOk(out.text.includes('\r') || out.text.includes('\x1b'), 'no control characters in a log');
  },
);

t.test('on a terminal: one status line redrawn in place, cut to the width, then the outcome', async (t) => {
  const out = sink(true, 40);
  await execWithProgress('test', 'demo step', 'bash', ['-c', script], { out, heartbeatMs: 500 });
  t.ok(out.text.startsWith('lab: demo step ...\n'), 'the step says what it does first');
  // The status line's draws, each after a carriage return; the last one is the outcome.
  const draws = out.text.split('\n')[1].split('\r').slice(1, -1);
  t.ok(draws.length >= 4, 'the status line is redrawn at every heartbeat', { draws });
  t.ok(
    draws.every((draw) => draw.endsWith('\x1b[K') && draw.length - 3 <= 39),
    'each draw clears the rest of the line and fits the width',
    { draws },
  );
  t.ok(
    draws.some((draw) => draw.startsWith('lab: demo step: 1 s: fetching 1')),
    'the elapsed time and the last line',
  );
  t.ok(draws.some((draw) => draw.startsWith('lab: demo step: 2 s: configuring 3')));
  const outcome = out.text.slice(out.text.lastIndexOf('\r'));
  t.ok(outcome.startsWith('\r\x1b[Klab: demo step: done in 2.'), 'the outcome replaces the status line', { outcome });
});

t.test('a failing step says so and fails with the end of its output', async (t) => {
  const out = sink(false);
  const failing = execWithProgress('test', 'failing step', 'bash', ['-c', 'echo "E: no space left"; exit 3'], {
    out,
    code: 'ERR_APT',
  });
  await t.rejects(failing, {
    constructor: DpdkError,
    code: 'ERR_APT',
    operation: 'test',
    message: '`bash -c echo "E: no space left"; exit 3` failed (exit code 3):\nE: no space left',
  });
  t.match(out.text, /\nlab: failing step: failed after 0\.\d s\n$/);
});

t.test("tools/setup.sh's run_step, not on a terminal: a line per heartbeat, the outcome, the status", async (t) => {
  const root = join(__dirname, '..');
  const steps =
    `source ${join(root, 'tools/progress.sh')}; ` +
    `run_step "demo step" bash -c '${script.replace(/'/g, "'\\''")}'; ` +
    `run_step "failing step" bash -c 'echo "E: no space left"; exit 3' || echo "status $?"`;
  const { stdout, stderr } = await execFileAsync('bash', ['-c', `set -euo pipefail; ${steps}`], {
    env: { ...process.env, PROGRESS_HEARTBEAT_S: '1' },
  });
  const lines = stdout.split('\n');
  t.equal(lines[0], 'dpdk-ts setup: demo step ...', 'the step says what it does first');
  t.equal(lines[1], 'dpdk-ts setup: demo step: 1 s: fetching 1', 'after 1 s: the elapsed time and the last line');
  t.equal(lines[2], 'dpdk-ts setup: demo step: 2 s: configuring 3', 'after 2 s: the line after the carriage return');
  t.match(lines[3], /^dpdk-ts setup: demo step: done in 2\.\d s$/, 'how long it took');
  t.equal(lines[4], 'dpdk-ts setup: failing step ...');
  t.equal(lines[5], 'status 3', "run_step returns the command's status");
  t.match(
    stderr,
    /^dpdk-ts setup: failing step: failed after 0\.\d s \(exit 3\); its output ended with:\nE: no space left\n$/,
  );
});
