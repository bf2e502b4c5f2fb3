import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const root = join(__dirname, '..');

// The loader (lib/native.ts) in a copy of the package without a build: loading fails with
// what to do, not with bindings' list of paths.
/** A copy of the package's sources without a build, in a directory removed at teardown. */
function unbuiltCopy(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dts-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(root, 'lib'), join(dir, 'lib'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Loads the SDK in `dir` and prints what loading threw, or the DPDK version the addon was built with. */
async function loadIn(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const probe =
    "try { const { native } = require('./lib/native.ts'); console.log(JSON.stringify(native.versions())); }" +
    ' catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }';
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', probe], { cwd: dir, env });
  return JSON.parse(stdout) as Record<string, unknown>;
}

t.test('a missing native build gets an actionable DpdkError', async (t) => {
  const dir = unbuiltCopy(t);
  const { DPDK_TS_ADDON: _, ...env } = process.env;
  t.match(await loadIn(dir, env), {
    name: 'DpdkError',
    code: 'ERR_NATIVE_NOT_BUILT',
    message: `Cannot load the dpdk-ts native addon: it is not built: run \`npm run build:native\` in ${dir} (needs DPDK's headers, pkg-config, cmake and g++ (Debian 12: \`apt-get install libdpdk-dev pkg-config cmake g++\`)), or \`npm run setup\` (Could not locate the bindings file. Tried:)`,
  });
});

// tools/asan/run.sh runs the tests on a sanitizer build this way.
t.test('DPDK_TS_ADDON loads the addon from the path it names', async (t) => {
  const dir = unbuiltCopy(t);
  const addon = join(root, 'build', 'Release', 'dpdk_ts.node');
  t.match(await loadIn(dir, { ...process.env, DPDK_TS_ADDON: addon }), { build: /^DPDK 2\d\./ });
});

t.test('a DPDK_TS_ADDON that cannot be loaded is named in the error', async (t) => {
  const dir = unbuiltCopy(t);
  const addon = join(dir, 'missing.node');
  t.match(await loadIn(dir, { ...process.env, DPDK_TS_ADDON: addon }), {
    name: 'DpdkError',
    code: 'ERR_ADDON_LOAD',
    message: `Cannot load the dpdk-ts native addon: DPDK_TS_ADDON names ${addon}, which could not be loaded (${addon}: cannot open shared object file: No such file or directory)`,
  });
});
