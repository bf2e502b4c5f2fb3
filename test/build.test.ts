import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const root = join(__dirname, '..');

function copyProject(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dts-build-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const entry of ['native', 'CMakeLists.txt', 'binding.gyp', 'package.json'])
    cpSync(join(root, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

t.test('binding.gyp builds the same sources with node-gyp, and the addon loads', async (t) => {
  const dir = copyProject(t);
  await run(join(root, 'node_modules/.bin/node-gyp'), ['rebuild', '--jobs', '2'], { cwd: dir, timeout: 600_000 });
  const probe = `const a = require(${JSON.stringify(join(dir, 'build/Release/dpdk_ts.node'))}); console.log(JSON.stringify(a.versions()))`;
  const { stdout } = await run(process.execPath, ['-e', probe]);
  t.match(JSON.parse(stdout), { build: /^DPDK 22\.11/, runtime: /^DPDK 22\.11/ });
});

t.test('CMake names the missing package when DPDK cannot be found', async (t) => {
  const dir = copyProject(t);
  const empty = mkdtempSync(join(tmpdir(), 'dts-pc-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const failure = await run(join(root, 'node_modules/.bin/cmake-js'), ['configure', '--out', 'build'], {
    cwd: dir,
    env: { ...process.env, PKG_CONFIG_LIBDIR: empty, PKG_CONFIG_PATH: empty },
    timeout: 120_000,
  }).then(
    () => undefined,
    (error: { stdout: string; stderr: string }) => error,
  );
  t.ok(failure, 'configure fails');
  t.match(
    `${failure?.stdout}${failure?.stderr}`,
    /dpdk-ts needs DPDK >= 22\.11 found through pkg-config.*apt-get install libdpdk-dev pkg-config/s,
  );
});
