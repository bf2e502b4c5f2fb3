import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';

const run = promisify(execFile);
const root = join(__dirname, '..');

interface LabReport {
  pass: boolean;
  experiments: {
    name: string;
    pass: boolean;
    error?: string;
    counted?: {
      generator: { ports: { port: number; sent: number; received: number }[] };
      checks: { what: string; ok: boolean }[];
    };
    apps: Record<string, { rx?: number; matched?: number; passed?: number } | undefined>;
  }[];
}

function leftovers(): string[] {
  const found: string[] = [];
  for (const dir of ['/dev/hugepages', '/var/run/dpdk']) {
    if (existsSync(dir)) found.push(...readdirSync(dir).map((name) => `${dir}/${name}`));
  }
  return found;
}

/** Runs `npm run lab`'s program with `args` and returns its JSON report. */
async function lab(t: Test, args: string[]): Promise<LabReport> {
  const json = join(tmpdir(), `lab-${process.pid}-${Date.now()}.json`);
  t.teardown(() => rmSync(json, { force: true }));
  const before = new Set(leftovers());
  const result = await run(
    process.execPath,
    ['--import', 'tsx', join(root, 'tools/lab/main.ts'), ...args, '--duration', '2', '--json', json],
    { cwd: root, timeout: 900_000, maxBuffer: 64 << 20 },
  ).catch((error: { stdout: string; stderr: string; code: number }) => error);
  const report = JSON.parse(readFileSync(json, 'utf8')) as LabReport;
  if (!report.pass) t.comment(`${result.stdout}\n${result.stderr}`);
  t.same(
    leftovers().filter((path) => !before.has(path)),
    [],
    'no hugepage files or DPDK runtime dirs left behind',
  );
  const { stdout: processes } = await run('ps', ['-eo', 'args']);
  t.notMatch(
    processes,
    /ovs-vswitchd-dpdk unix:\/tmp\/ovs|dist\/examples\/(pktgen|testpmd|l2fwd|ips)\.js/,
    'no OVS daemon or app left running',
  );
  return report;
}

function checkExact(t: Test, report: LabReport, names: string[]): void {
  t.ok(report.pass, 'the lab reports PASS');
  t.same(
    report.experiments.map((experiment) => experiment.name.split(':')[0]),
    names,
  );
  for (const experiment of report.experiments) {
    t.ok(experiment.pass, `${experiment.name}: PASS${experiment.error === undefined ? '' : ` (${experiment.error})`}`);
    const ports = experiment.counted?.generator.ports ?? [];
    if (experiment.name.startsWith('service chain')) {
      t.match(
        ports,
        [
          { port: 0, sent: 300, received: 0 },
          { port: 1, sent: 0, received: 200 },
        ],
        'chain: 300 sent, 200 passed the IPS',
      );
      t.match(
        experiment.apps,
        { ips: { rx: 300, matched: 100, passed: 200 }, ids: { rx: 300, matched: 100 } },
        'chain: drops and mirrored copies add up',
      );
    } else {
      t.match(
        ports,
        [
          { port: 0, sent: 100, received: 200 },
          { port: 1, sent: 200, received: 100 },
        ],
        `${experiment.name}: exact counts`,
      );
    }
  }
}

t.test('the lab in containers: both experiments and the chain', async (t) => {
  const report = await lab(t, ['--experiment', '1', '--experiment', '2', '--experiment', 'chain']);
  checkExact(t, report, ['experiment 1', 'experiment 2', 'service chain']);
  const { stdout } = await run('sh', [
    '-c',
    'docker -H unix:///run/dpdk-ts-lab/docker.sock ps -aq 2>/dev/null | wc -l',
  ]);
  t.equal(stdout.trim(), '0', 'no container left');
});

t.test('the lab with --no-containers', async (t) => {
  checkExact(t, await lab(t, ['--no-containers']), ['experiment 1', 'experiment 2', 'service chain']);
});

t.test('the lab with --no-huge, and OVS serving the sockets (--vhost-mode server)', async (t) => {
  checkExact(
    t,
    await lab(t, [
      '--no-containers',
      '--no-huge',
      '--vhost-mode',
      'server',
      '--experiment',
      '1',
      '--experiment',
      'chain',
    ]),
    ['experiment 1', 'service chain'],
  );
});

t.test('Ctrl-C in the middle of a run stops everything the lab started', async (t) => {
  const before = new Set(leftovers());
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'tools/lab/main.ts'),
      '--no-containers',
      '--experiment',
      '1',
      '--duration',
      '60',
      '--json',
      join(tmpdir(), `lab-int-${process.pid}.json`),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const deadline = Date.now() + 120_000;
  while (!/full-rate run for 60 s/.test(output) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  child.kill('SIGINT');
  t.equal(await exited, 130, 'exits with 130 after cleaning up');
  t.match(output, /lab: interrupted: cleaning up/);
  t.same(
    leftovers().filter((path) => !before.has(path)),
    [],
    'no hugepage files or DPDK runtime dirs left behind',
  );
  const { stdout: processes } = await run('ps', ['-eo', 'args']);
  t.notMatch(
    processes,
    /ovs-vswitchd-dpdk unix:\/tmp\/ovs|dist\/examples\/(pktgen|testpmd|l2fwd|ips)\.js/,
    'no OVS daemon or app left running',
  );
});
