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
t.test('a missing native build gets an actionable DpdkError', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dts-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(root, 'lib'), join(dir, 'lib'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const probe = `try { require('./lib/index.ts'); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', probe], { cwd: dir });
  t.match(JSON.parse(stdout), {
    name: 'DpdkError',
    code: 'ERR_NATIVE_NOT_BUILT',
    message: `Cannot load the dpdk-ts native addon: it is not built: run \`npm run build:native\` in ${dir} (needs DPDK's headers, pkg-config, cmake and g++ (Debian 12: \`apt-get install libdpdk-dev pkg-config cmake g++\`)), or \`npm run setup\` (Could not locate the bindings file. Tried:)`,
  });
});
