// The README's "Your first network function", as a reader runs it: its files written into a
// new directory where `dpdk-ts` is this checkout (as `npm install /path/to/dpdk-ts` makes
// it), type-checked, then run with tsx feeding 300 packets, stopped with Ctrl-C (SIGINT to
// its process group, as a terminal sends it); the totals it prints are exact.
// test/package.test.ts runs the same files from the packed package.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkFirstNfRun, firstNfCannotRun, walkthroughFiles } from './helpers/readme-walkthrough.js';

const root = join(__dirname, '..');
const files = walkthroughFiles(readFileSync(join(root, 'README.md'), 'utf8'));

/** The newest modification time of the .ts files under `dir`. */
function newestTs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

// `dpdk-ts` resolves to dist/ (package.json exports): build it when lib/ is newer, as tools/setup.sh does.
const index = join(root, 'dist', 'lib', 'index.js');
if (!existsSync(index) || newestTs(join(root, 'lib')) > statSync(index).mtimeMs) {
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (tsc.status !== 0) throw new Error(`building dist/ failed:\n${tsc.stdout}${tsc.stderr}`);
}

/** A new directory with the walkthrough's files and node_modules holding dpdk-ts (this checkout) and tsx. */
function project(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dts-nf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), '{ "name": "first-nf", "private": true }\n');
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'dpdk-ts'));
  for (const name of ['tsx', '@types']) symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name));
  return dir;
}

t.test('the walkthrough is nf.ts and loop.ts', async (t) => {
  t.same([...files.keys()], ['nf.ts', 'loop.ts']);
});

t.test('the walkthrough type-checks against the built package', async (t) => {
  const dir = project(t);
  const tsc = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      ...['--noEmit', '--strict', '--skipLibCheck', '--target', 'ES2022', '--module', 'node16'],
      ...['--moduleResolution', 'node16', '--types', 'node', ...files.keys()],
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  t.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
});

t.test(
  'nf.ts forwards, drops UDP to 6666, counts live and stops cleanly on Ctrl-C',
  { skip: firstNfCannotRun() },
  (t) => checkFirstNfRun(t, project(t), [process.execPath, '--import', 'tsx', 'nf.ts', '300'], process.env),
);
