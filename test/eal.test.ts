// Eal: typed options to arguments, refused options and arguments, the init/cleanup lifecycle.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { Batch, DpdkError, Eal, Mempool, ealArgs } from '../lib/index.js';
import { uniquePrefix } from './helpers/dpdk.js';

t.test('typed options become EAL arguments', async (t) => {
  t.same(ealArgs({}), ['--no-pci', '--in-memory', '--single-file-segments']);
  t.same(ealArgs({ telemetry: false }), ['--no-pci', '--in-memory', '--single-file-segments', '--no-telemetry']);
  t.same(
    ealArgs({
      lcores: '0@0,1@1',
      mainLcore: 0,
      memoryMb: 256,
      filePrefix: 'pg',
      iovaMode: 'va',
      noPci: false,
      inMemory: false,
      vdevs: ['net_null0'],
      logLevel: { 'pmd.net.*': 'debug' },
      extraArgs: ['--huge-worker-stack'],
    }),
    [
      '--lcores',
      '0@0,1@1',
      '--main-lcore',
      '0',
      '-m',
      '256',
      '--file-prefix',
      'pg',
      '--single-file-segments',
      '--iova-mode',
      'va',
      '--vdev',
      'net_null0',
      '--log-level=pmd.net.*:debug',
      '--huge-worker-stack',
    ],
  );
  t.same(ealArgs({ lcores: [0, 1], noHuge: true, socketMem: [512, 0], logLevel: 'error' }), [
    '-l',
    '0,1',
    '--socket-mem',
    '512,0',
    '--no-huge',
    '--no-pci',
    '--log-level=error',
  ]);
});

t.test('bad options get precise errors', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ lcore: '0' }, /Unknown option "lcore" for Eal.init \(did you mean "lcores"\?\)/],
    [{ memoryMb: -1 }, /memoryMb must be an integer from 1 to 1048576, got -1/],
    [{ lcores: '0@0;rm' }, /lcores must be an lcore map such as '0@0,1@1'/],
    [{ lcores: '0', coremask: '0x1' }, /Give either lcores or coremask, not both/],
    [{ iovaMode: 'x' }, /iovaMode must be 'pa' or 'va', got "x"/],
    [{ logLevel: 'loud' }, /logLevel must be one of emergency, .* got "loud"/],
    [{ filePrefix: 'a/b' }, /filePrefix must be 1 to 64 letters/],
    [{ noHuge: true, hugeDir: '/mnt' }, /hugeDir cannot be used with noHuge/],
    [{ noHuge: true, inMemory: true }, /inMemory cannot be used with noHuge: EAL refuses --in-memory with --no-huge/],
  ];
  for (const [options, message] of cases) {
    t.throws(() => Eal.init(options as never), { name: 'DpdkError', code: 'EINVAL', message }, JSON.stringify(options));
  }
  t.throws(() => Eal.init(['-h']), { code: 'EINVAL', message: /"-h" makes DPDK print and exit the process/ });
  t.throws(() => Eal.init(['--version']), { code: 'EINVAL', message: /"--version" makes DPDK print and exit/ });
  t.throws(() => Eal.init(['--no-pci', '--', '-p', '3']), {
    code: 'EINVAL',
    message: /is '--': pass only EAL arguments/,
  });
  for (const arg of ['--he', '--vers', '-vh', '-v']) {
    t.throws(() => Eal.init([arg]), { code: 'EINVAL', message: /makes DPDK print and exit the process/ }, arg);
  }
  t.throws(() => Eal.init({ extraArgs: ['--hel'] }), {
    code: 'EINVAL',
    message: /extraArgs\[0\] "--hel" makes DPDK print and exit/,
  });
  t.same(
    ealArgs({ extraArgs: ['-l', '0-1', '-lh'] }).slice(-3),
    ['-l', '0-1', '-lh'],
    "'h' as an option's value is not -h",
  );
});

t.test('lifecycle: use before init, failed init, init once, cleanup', async (t) => {
  t.equal(Eal.state, 'uninitialized');
  t.match(Eal.version, { build: /^DPDK 22\.11/, runtime: /^DPDK 22\.11/ });
  t.throws(() => Mempool.create({ name: 'early', size: 63 }), {
    code: 'ERR_EAL_NOT_INITIALIZED',
    message: 'EAL is not initialized: call Eal.init() first',
    operation: 'Mempool.create',
  });

  const failed = t.throws(() => Eal.init(['--no-pci', '--definitely-not-an-option'])) as unknown as DpdkError;
  t.type(failed, DpdkError);
  t.equal(failed.code, 'EINVAL');
  t.match(
    failed.message,
    /EAL initialization failed: Invalid argument \(DPDK said: .*unrecognized option '--definitely-not-an-option'/,
  );
  t.equal(Eal.state, 'uninitialized', 'a refused init leaves EAL uninitialized');

  const before = Eal.threadAffinity();
  const info = Eal.init({
    lcores: '0@0,1@1',
    memoryMb: 64,
    filePrefix: uniquePrefix('eal'),
    printLog: false,
    noHuge: true,
  });
  t.equal(info.mainLcore, 0);
  t.equal(info.lcoreCount, 2);
  t.same(Eal.threadAffinity(), before, 'the Node main thread keeps its CPU affinity');
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
    require('tsx/cjs');
    parentPort.postMessage(require(workerData).native.threadAffinity());`,
    { eval: true, workerData: require.resolve('../lib/native.ts') },
  );
  t.same(
    await new Promise((resolve) => worker.once('message', resolve)),
    before,
    'a thread Node starts later has it too',
  );
  await worker.terminate();
  t.same(
    Eal.lcores().map((l) => [l.id, l.role, l.cpus]),
    [
      [0, 'main', [0]],
      [1, 'worker', [1]],
    ],
  );
  t.ok(Eal.initialized);
  t.throws(() => Eal.init({}), {
    code: 'ERR_EAL_ALREADY_INITIALIZED',
    message: /Eal.init\(\) can be called once per process/,
  });

  const pool = Mempool.create({ name: 'eal-views', size: 63, cacheSize: 0 });
  const batch = new Batch(4);
  pool.alloc(batch, 1, new Uint8Array(60));
  const handle = batch.packet(0);
  const view = batch.bytes(0);
  t.ok(view.byteLength > 0);
  Eal.cleanup();
  Eal.cleanup();
  t.equal(Eal.state, 'cleaned-up');
  t.equal(view.byteLength, 0, 'views of DPDK memory are detached by cleanup');
  t.throws(() => handle.data, { code: 'ERR_CLOSED', message: /was freed/ }, 'and cannot be made again');
  t.throws(() => Mempool.create({ name: 'late', size: 63 }), { code: 'ERR_EAL_CLEANED_UP' });
  t.throws(() => Eal.init({}), { code: 'ERR_EAL_CLEANED_UP' });
});

const initFixture = join(__dirname, 'fixtures', 'eal-init.ts');

/** Runs the EAL init fixture in a fresh process (EAL initializes once per process). */
function initInChild(
  mode: string,
  prefix: string,
): { outcome: { ok?: boolean; code?: string; message?: string }; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', initFixture, mode, prefix], {
    encoding: 'utf8',
    timeout: 30000,
  });
  return { outcome: JSON.parse(result.stdout || '{}') as { code?: string; message?: string }, stderr: result.stderr };
}

t.test('a refused Eal.init removes the runtime directory it created', async (t) => {
  const prefix = uniquePrefix('eal-refused');
  const { outcome } = initInChild('refused', prefix);
  t.equal(outcome.code, 'ENODEV');
  t.match(
    outcome.message,
    /^EAL initialization failed: No such device \(DPDK said: .*failed to parse device "net_bogus0"/,
  );
  t.notOk(existsSync(`/var/run/dpdk/${prefix}`), 'no runtime directory left');
});

t.test('a runtime directory that was there before a refused Eal.init is left alone', async (t) => {
  const prefix = uniquePrefix('eal-refused-kept');
  const dir = `/var/run/dpdk/${prefix}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'other'), '');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(initInChild('refused', prefix).outcome.code, 'ENODEV');
  t.ok(existsSync(join(dir, 'other')), 'what was there is still there');
});

t.test("DPDK's log is not printed unless printLog is true", async (t) => {
  for (const [mode, printed] of [
    ['quiet', false],
    ['printed', true],
    ['raw-quiet', false],
    ['raw-printed', true],
  ] as const) {
    const { outcome, stderr } = initInChild(mode, uniquePrefix(`eal-${mode}`));
    t.same(outcome, { ok: true }, `${mode}: init and cleanup`);
    if (printed) t.match(stderr, /EAL: Detected CPU lcores/, `${mode}: the log is on stderr`);
    else t.equal(stderr, '', `${mode}: nothing on stderr`);
  }
});

t.test('printLog with EAL arguments is checked', async (t) => {
  t.throws(() => Eal.init(['--no-pci'], { printLog: 'yes' } as never), {
    name: 'DpdkError',
    code: 'EINVAL',
    operation: 'Eal.init',
    message: 'printLog must be true or false, got "yes"',
  });
  t.throws(() => Eal.init(['--no-pci'], { printlog: true } as never), {
    code: 'EINVAL',
    message: /Unknown option "printlog" for Eal.init \(did you mean "printLog"\?\)/,
  });
});
