// Hugepages exhausted at Eal.init: a DpdkError that names what to reserve, and no EAL left
// half set up. EAL initializes once per process, so each case runs in a fresh child
// (test/fixtures/eal-exhaust.ts), asking for 1 GiB more than the machine has free.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hugepages } from '../lib/index.js';
import { uniquePrefix } from './helpers/dpdk.js';

interface Outcome {
  ok?: true;
  code?: string;
  message?: string;
}

interface Report {
  tooMuch: number;
  first: Outcome;
  afterFailure: { state: string; runtimeDir: boolean; dpdkThreads: string[] };
  second: Outcome;
  state: string;
}

function run(fixture: string, mode: string, prefix: string): Report {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', fixture), mode, prefix], {
    encoding: 'utf8',
    timeout: 60000,
  });
  return JSON.parse(result.stdout || '{}') as Report;
}

const { pageKb } = hugepages();
const pages = `/sys/kernel/mm/hugepages/hugepages-${pageKb}kB/nr_hugepages`;
const skip = hugepages().total === 0 ? 'this machine has no hugepages' : false;

/** The page count an `echo N > nr_hugepages` in `message` reserves, in MB. */
function reservedMb(message: string | undefined): number {
  return (Number(/echo (\d+) >/.exec(message ?? '')?.[1]) * pageKb) / 1024;
}

t.test(
  'memoryMb beyond the free hugepages is refused before DPDK starts, and a fixed init succeeds',
  { skip },
  async (t) => {
    const prefix = uniquePrefix('exhaust-typed');
    const report = run('eal-exhaust.ts', 'typed', prefix);
    t.equal(report.first.code, 'ENOMEM');
    t.match(
      report.first.message,
      new RegExp(
        `^memoryMb asks for ${report.tooMuch} MB of hugepages but \\d+ MB of ${pageKb} kB hugepages are free; ` +
          `reserve more with echo \\d+ > ${pages}, or lower memoryMb, or pass noHuge: true$`,
      ),
    );
    t.ok(reservedMb(report.first.message) >= report.tooMuch, 'the echo reserves at least what was asked for');
    t.same(report.afterFailure, { state: 'uninitialized', runtimeDir: false, dpdkThreads: [] }, 'DPDK never started');
    t.same(report.second, { ok: true }, 'Eal.init with noHuge then succeeds in the same process');
    t.equal(report.state, 'running');
    t.notOk(existsSync(`/var/run/dpdk/${prefix}`), 'nothing left in /var/run/dpdk after cleanup');
  },
);

t.test('-m beyond the free hugepages in EAL arguments is refused the same way, naming -m', { skip }, async (t) => {
  const report = run('eal-exhaust.ts', 'raw', uniquePrefix('exhaust-raw'));
  t.equal(report.first.code, 'ENOMEM');
  t.match(
    report.first.message,
    new RegExp(
      `^-m asks for ${report.tooMuch} MB of hugepages but \\d+ MB of ${pageKb} kB hugepages are free; ` +
        `reserve more with echo \\d+ > ${pages}, or lower -m, or pass --no-huge$`,
    ),
  );
  t.same(report.second, { ok: true });
});

t.test('when EAL itself runs out of hugepages, its error says what to reserve', { skip }, async (t) => {
  // --huge-dir is not checked ahead (the mount may have pages of another size): EAL fails.
  const prefix = uniquePrefix('exhaust-eal');
  const report = run('eal-exhaust.ts', 'huge-dir', prefix);
  t.equal(report.first.code, 'ENOMEM');
  t.match(
    report.first.message,
    new RegExp(
      `^EAL initialization failed: Cannot allocate memory \\(DPDK said: .*Not enough memory available! ` +
        `Requested: ${report.tooMuch}MB, available: \\d+MB .*\\)\\. \\d+ MB of ${pageKb} kB hugepages are free; ` +
        `reserve more with echo \\d+ > ${pages}, or lower -m, or pass --no-huge$`,
    ),
  );
  t.ok(reservedMb(report.first.message) >= report.tooMuch, 'the echo reserves at least what was asked for');
  t.equal(report.afterFailure.state, 'uninitialized');
  t.equal(report.afterFailure.runtimeDir, false, 'the runtime directory EAL created is removed');
});

t.test(
  'after EAL failed past its argument checks, a second Eal.init says why it cannot be retried',
  { skip },
  async (t) => {
    const report = run('eal-exhaust.ts', 'huge-dir', uniquePrefix('exhaust-again'));
    t.equal(report.second.code, 'ERR_EAL_INIT_FAILED');
    t.match(
      report.second.message,
      /^EAL cannot be initialized again in this process: an earlier Eal.init failed after DPDK had begun to set up \(EAL initialization failed: Cannot allocate memory \(DPDK said: .*Not enough memory available!.*\)\), and DPDK 22\.11 does not undo that\. Fix the cause and start a new process$/,
    );
    t.equal(report.state, 'uninitialized');
  },
);
