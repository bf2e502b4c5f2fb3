// The package as a user gets it: `npm pack` of this checkout, installed into an empty
// project with the latest TypeScript, the way a user would. Its types are compiled by strict
// ESM and CommonJS projects (with the libraries' own .d.ts checked), and a program runs on it.
// Each check writes files into the project and runs a command there (`userProject`), so
// README walkthroughs can be checked the same way.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { checkFirstNfRun, firstNfCannotRun, walkthroughFiles } from './helpers/readme-walkthrough.js';

const execFileAsync = promisify(execFile);
const root = join(__dirname, '..');

/** A project of a user, in a directory of its own. */
interface UserProject {
  readonly dir: string;
  /** Writes `files` (paths relative to the project) into the project. */
  write(files: Record<string, string>): void;
  /**
   * Runs `command` with bash in the project, as a user's shell would; rejects with the
   * command and its output when it fails.
   */
  run(command: string, timeoutMs?: number): Promise<{ stdout: string; stderr: string }>;
}

/**
 * The environment of a user's shell: none of the npm, tap and loader settings of this test
 * run, and no node_modules/.bin of this checkout on PATH. tap's process tracking puts its
 * NODE_OPTIONS back into the environment of children, so the shell unsets them itself.
 */
function userEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => !/node_modules/.test(dir))
    .join(':');
  return { ...process.env, PATH: path };
}

const cleanShell = 'for v in $(compgen -e); do case $v in NODE_OPTIONS|TAP*|_TAPJS_*|npm_*) unset $v;; esac; done';

async function bash(command: string, cwd: string, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync('bash', ['-c', `${cleanShell}\n${command}`], {
      cwd,
      env: userEnv(),
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (caught) {
    const error = caught as { code?: number | string; stdout?: string; stderr?: string };
    throw new Error(
      `\`${command}\` failed (${error.code}) in ${cwd}:\n${error.stdout ?? ''}${error.stderr ?? ''}`.trimEnd(),
      { cause: caught },
    );
  }
}

/** An empty project in a temporary directory, removed at the end of the test file. */
function userProject(): UserProject {
  const dir = mkdtempSync(join(tmpdir(), 'dts-user-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(files) {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
    },
    run: (command, timeoutMs = 120_000) => bash(command, dir, timeoutMs),
  };
}

/** `npm pack` of this checkout (its prepack builds dist/): the tarball's path. */
async function pack(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-pack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await bash(`npm pack --silent --pack-destination ${dir}`, root, 300_000);
  const [tarball] = readdirSync(dir);
  return join(dir, tarball);
}

const npmFlags = '--no-audit --no-fund --prefer-offline';

/** tsconfig.json of a user's strict project (`module: nodenext`, the libraries' .d.ts checked too). */
const strictTsconfig = JSON.stringify({
  compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', skipLibCheck: false },
});

/** A module that names the public types the way an application does; compiled, never run. */
const usesPublicTypes = `
import { Batch, DpdkError, Eal, LcoreContext, LcoreWorker, PacketFilter, Port, VirtioUser, type EalOptions } from 'dpdk-ts';
import { OpenFlowClient, OvsdbClient } from 'dpdk-ts/ovs';

interface LoopData {
  peerMac: string;
}

export function start(options: EalOptions, socket: string): Port {
  Eal.init(options);
  return VirtioUser.create({ path: socket, mac: '02:00:00:00:00:01' });
}

export function filter(port: Port, batch: Batch, rules: PacketFilter): number {
  const n = port.rxBurst(0, batch);
  for (let i = 0; i < n; i++) {
    if (rules.match(batch.dataView(i), batch.offsets[i], batch.lengths[i]) < 0) batch.drop(i);
  }
  return port.txBurst(0, batch);
}

export async function runLoop(file: URL, port: Port): Promise<number> {
  const worker: LcoreWorker = await LcoreWorker.start(file, { cpu: 1, ports: [port], data: { peerMac: '02:00:00:00:00:02' } });
  return worker.stop(1000);
}

export function loopData(): string {
  const context: LcoreContext<LoopData> = LcoreContext.attach<LoopData>();
  return context.data.peerMac;
}

export async function flows(db: string, bridge: string): Promise<bigint> {
  const ovsdb = await OvsdbClient.connect(db);
  const [dbName] = await ovsdb.listDbs();
  ovsdb.close();
  const openflow = await OpenFlowClient.connect(bridge);
  const stats = await openflow.flowStats();
  await openflow.close();
  return stats.reduce((sum, flow) => sum + flow.packetCount, BigInt(dbName.length));
}

export function codeOf(error: unknown): string | undefined {
  return error instanceof DpdkError ? error.code : undefined;
}
`;

const user = userProject();
const moduleDir = join(user.dir, 'node_modules/dpdk-ts');

// Installed without the install script: the first tests see what such a user sees, then
// build the addon with the command the loader names; the tests after them use that build.
t.before(async () => {
  const tarball = await pack();
  await user.run(
    `npm init -y >/dev/null && npm install ${npmFlags} --ignore-scripts ${tarball} typescript@latest`,
    600_000,
  );
});

const loadProbe = `node -e "try { require('dpdk-ts'); console.log('{}') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"`;

t.test('installed without its install script, dpdk-ts says how to build the addon', async (t) => {
  const { stdout } = await user.run(loadProbe);
  const { code, message } = JSON.parse(stdout) as { code: string; message: string };
  t.equal(code, 'ERR_NATIVE_NOT_BUILT');
  t.equal(
    message.replace(/ \(Could not locate the bindings file.*$/s, ''),
    "Cannot load the dpdk-ts native addon: it was not built, because npm did not run dpdk-ts's install script " +
      '(npm ran with --ignore-scripts, or its allowScripts policy did not allow dpdk-ts). Build it from your project: ' +
      '`npm approve-scripts dpdk-ts` (npm >= 11.16; it allows the script for later installs too), then ' +
      `\`npm rebuild dpdk-ts\`; or build it in place: \`cd ${moduleDir} && npm run build:native\`. The build needs ` +
      "DPDK's headers, pkg-config, cmake and g++ (Debian 12: `apt-get install libdpdk-dev pkg-config cmake g++`)",
  );
});

t.test('dpdk-ts/ovs loads without the addon', async (t) => {
  const { stdout } = await user.run(`node -e "console.log(typeof require('dpdk-ts/ovs').OvsdbClient.connect)"`);
  t.equal(stdout, 'function\n');
});

t.test('`npm rebuild dpdk-ts`, as the loader says, builds the addon', async (t) => {
  await user.run(`npm rebuild ${npmFlags} dpdk-ts`, 600_000);
  const { stdout } = await user.run(`node -e "console.log(require('dpdk-ts').Eal.version.build)"`);
  t.match(stdout, /^DPDK 22\.11/);
});

t.test('a strict ESM project compiles against the package with the latest TypeScript', async (t) => {
  user.write({
    'esm/package.json': JSON.stringify({ type: 'module' }),
    'esm/tsconfig.json': strictTsconfig,
    'esm/app.ts': usesPublicTypes,
  });
  const { stdout } = await user.run('npx tsc -p esm --noEmit');
  t.equal(stdout, '', 'no diagnostics');
  const { stdout: version } = await user.run('npx tsc --version');
  t.match(version, /^Version [7-9]\./, 'TypeScript 7 or later, which loads no @types by itself');
});

t.test('a strict CommonJS project compiles against the package', async (t) => {
  user.write({
    'cjs/package.json': JSON.stringify({ type: 'commonjs' }),
    'cjs/tsconfig.json': strictTsconfig,
    'cjs/app.ts': usesPublicTypes,
  });
  const { stdout } = await user.run('npx tsc -p cjs --noEmit');
  t.equal(stdout, '', 'no diagnostics');
});

t.test('members marked @internal are not in the published types', async (t) => {
  // Each use must be an error: an internal member left in the .d.ts leaves its
  // expect-error directive unused, which fails the compile too.
  user.write({
    'internal/package.json': JSON.stringify({ type: 'module' }),
    'internal/tsconfig.json': strictTsconfig,
    'internal/uses-internals.ts': `
import { Batch, Mempool, PacketHandle, Port } from 'dpdk-ts';
import { Monitor, ovsdb } from 'dpdk-ts/ovs';

declare const port: Port;
declare const batch: Batch;
declare const pool: Mempool;
declare const connection: ovsdb.JsonRpcConnection;
// @ts-expect-error internal
port.acquire();
// @ts-expect-error internal
port.release();
// @ts-expect-error internal
void port.native;
// @ts-expect-error internal
Port.adopt(0);
// @ts-expect-error internal
void batch.native;
// @ts-expect-error internal
Batch.isBatch(batch);
// @ts-expect-error internal
void pool.native;
// @ts-expect-error internal
void connection.lastReceiveMs;
// @ts-expect-error constructed by Port.get and the vdev classes only
new Port();
// @ts-expect-error constructed by batch.packet(i) only
new PacketHandle();
// @ts-expect-error constructed by OvsdbClient.monitor only
new Monitor();
`,
  });
  const { stdout } = await user.run('npx tsc -p internal --noEmit');
  t.equal(stdout, '', 'every use of an internal member is an error');
});

t.test('a compiled ESM program sends a burst on a ring port and receives it', async (t) => {
  const prefix = `dts-package-${process.pid}`;
  t.teardown(() => rmSync(`/var/run/dpdk/${prefix}`, { recursive: true, force: true }));
  user.write({
    'ring/package.json': JSON.stringify({ type: 'module' }),
    'ring/tsconfig.json': strictTsconfig,
    'ring/main.ts': `
import { Batch, Eal, Mempool, RingPort, buildUdpPacket } from 'dpdk-ts';

Eal.init({ lcores: '0@0', noHuge: true, memoryMb: 64, filePrefix: '${prefix}', printLog: false });
const pool = Mempool.create({ name: 'pool', size: 1023 });
const port = RingPort.create();
port.configure({ mempool: pool });
port.start();
const packet = buildUdpPacket({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2' });
const batch = new Batch(32);
pool.alloc(batch, 32, packet);
const sent = port.txBurst(0, batch);
const received = port.rxBurst(0, batch);
console.log(JSON.stringify({ sent, received, length: batch.lengths[0] }));
batch.free();
port.close();
batch.close();
pool.close();
Eal.cleanup();
`,
  });
  await user.run('npx tsc -p ring');
  const { stdout } = await user.run('node ring/main.js');
  t.same(JSON.parse(stdout), { sent: 32, received: 32, length: 60 });
});

t.test('the README walkthrough runs from the installed package', { skip: firstNfCannotRun() }, async (t) => {
  const files = walkthroughFiles(readFileSync(join(root, 'README.md'), 'utf8'));
  user.write(Object.fromEntries(files));
  await user.run(`npm install ${npmFlags} tsx`, 300_000);
  // As the README runs it (node --import tsx nf.ts), from the user's shell.
  await checkFirstNfRun(t, user.dir, ['bash', '-c', `${cleanShell}\nexec node --import tsx nf.ts 300`], userEnv());
});
