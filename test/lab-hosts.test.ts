// The lab across simulated hosts (`npm run lab -- --hosts N`): its options, and experiment 1
// with the generator on chassis 1 and the forwarder on chassis 2 of an OVN deployment, every
// packet counted at the generator, at the apps' ports on both chassis and at the tunnels.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { UsageError } from '../examples/app.js';
import { hugepages } from '../lib/host.js';
import { chartPath } from '../tools/charts/index.js';
import { parseLabOptions } from '../tools/lab/options.js';
import { skipDpdkOvn } from './ovn-helpers.js';

const run = promisify(execFile);
const root = join(__dirname, '..');

t.test('the lab option --hosts (no DPDK)', async (t) => {
  t.match(parseLabOptions([]), { hosts: 0 }, 'one OVS unless asked');
  t.match(parseLabOptions(['--hosts', '2']), { hosts: 2, experiments: ['1', '2'] }, 'experiments 1 and 2 by default');
  t.match(parseLabOptions(['--hosts=3', '--experiment', '2']), { hosts: 3, experiments: ['2'] });
  t.match(
    parseLabOptions(['--hosts', '3', '--experiment', 'move']),
    { hosts: 3, experiments: ['move'] },
    'the live move',
  );
  t.match(parseLabOptions(['--hosts', '3', '--experiment', 'chain']), { hosts: 3, experiments: ['chain'] });
  for (const [args, message] of [
    [['--hosts'], /^--hosts needs a value$/],
    [['--hosts', '1'], /^--hosts must be 2 to 8 hosts, got "1"$/],
    [['--hosts', '0'], /^--hosts must be 2 to 8 hosts, got "0"$/],
    [['--hosts', '2.5'], /^--hosts must be 2 to 8 hosts, got "2.5"$/],
    [['--hosts', 'two'], /^--hosts must be 2 to 8 hosts, got "two"$/],
    [['--hosts', '9'], /^--hosts must be 2 to 8 hosts, got "9"$/],
    [
      ['--hosts', '2', '--experiment', 'ovs-limit'],
      /^--experiment with --hosts must be 1, 2, chain, move, got "ovs-limit"$/,
    ],
    [['--hosts', '2', '--experiment', 'chain'], /^--experiment chain needs --hosts 3 or more, got 2$/],
    [['--hosts', '2', '--experiment', 'move'], /^--experiment move needs --hosts 3 or more, got 2$/],
    [['--experiment', 'move'], /^--experiment move moves a forwarder between simulated hosts: give --hosts 3 or more$/],
    [['--hosts', '2', '--fault', 'ovs-restart'], /^--fault runs on the one OVS: leave out --hosts$/],
    [['--vhost-mode', 'server', '--hosts', '2'], /--hosts attaches the apps as OVS clients .*--vhost-mode server$/],
  ] as const) {
    let caught: unknown;
    try {
      parseLabOptions([...args]);
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof UsageError, `${args.join(' ')}: a UsageError (the lab prints its usage)`);
    t.match(caught, { message }, args.join(' '));
  }
});

interface HostsReport {
  pass: boolean;
  experiments: {
    name: string;
    pass: boolean;
    error?: string;
    forwarders?: {
      kind: string;
      error?: string;
      counted?: {
        generator: { ports: { port: number; sent: number; received: number }[] };
        ovs: { ports: { name: string; rx: number | null; tx: number | null }[] };
        checks: { what: string; ok: boolean | null }[];
      };
      rounds: { receivedMpps: number }[];
    }[];
  }[];
}

// Two DPDK chassis with their own OVS: 128 MiB of hugepages each, or memfd memory with --no-huge.
const skip = skipDpdkOvn(2);

t.test(
  'the lab across two hosts: experiment 1, counted at the generator, both chassis and the tunnels',
  { skip },
  async (t) => {
    const json = join(tmpdir(), `lab-hosts-${process.pid}.json`);
    t.teardown(() => {
      for (const path of [json, chartPath(json, 'rate'), chartPath(json, 'latency')]) rmSync(path, { force: true });
    });
    // Hugepages are shared with whatever else runs: without enough, DPDK memory comes from memfd.
    const namespaces = async (): Promise<string[]> =>
      (await run('ip', ['netns', 'list'])).stdout.split('\n').map((line) => line.split(' ')[0]);
    const before = new Set(await namespaces());
    const memory = hugepages().free * 2 < 128 * 2 + 512 ? ['--no-huge'] : [];
    const result = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'tools/lab/main.ts'),
        '--hosts',
        '2',
        '--experiment',
        '1',
        '--forwarder',
        'native',
        '--duration',
        '2',
        '--rounds',
        '1',
        ...memory,
        '--json',
        json,
      ],
      { cwd: root, timeout: 900_000, maxBuffer: 64 << 20 },
    ).catch((error: { stdout: string; stderr: string }) => error);
    const report = JSON.parse(readFileSync(json, 'utf8')) as HostsReport;
    if (!report.pass) t.comment(`${result.stdout}\n${result.stderr}`);
    t.ok(report.pass, 'the lab reports PASS');
    const [experiment] = report.experiments;
    t.match(experiment, { name: /^experiment 1/, pass: true });
    const [forwarder] = experiment?.forwarders ?? [];
    t.equal(forwarder?.error, undefined, 'the forwarder took its turns');
    const counted = forwarder?.counted;
    t.match(
      counted?.generator.ports,
      [
        { port: 0, sent: 100, received: 200 },
        { port: 1, sent: 200, received: 100 },
      ],
      'exact counts at the generator',
    );
    const ovs = new Map((counted?.ovs.ports ?? []).map((port) => [port.name, port]));
    for (const [name, rx, tx] of [
      ['chassis-1 vhost-user0', 100, 200],
      ['chassis-1 vhost-user1', 200, 100],
      ['chassis-2 vhost-user2', 100, 200],
      ['chassis-2 vhost-user3', 200, 100],
    ] as const) {
      t.match(ovs.get(name), { rx, tx }, `${name}: took in ${rx}, sent ${tx}`);
    }
    // OVS 3.1's userspace tunnel counts each packet it pushes twice in the port's tx.
    t.match(ovs.get('chassis-1 tunnel to chassis-2'), { rx: 300, tx: 600 }, "chassis-1's tunnel received 300");
    t.match(ovs.get('chassis-2 tunnel to chassis-1'), { rx: 300, tx: 600 }, "chassis-2's tunnel received 300");
    t.ok((counted?.checks.length ?? 0) >= 8, 'the lab made its checks');
    t.same(
      counted?.checks.filter((check) => check.ok !== true),
      [],
      'every check of the counted run passed',
    );
    t.equal(forwarder?.rounds.length, 1, 'one full-rate round');
    t.ok((forwarder?.rounds[0]?.receivedMpps ?? 0) > 0, 'packets crossed at full rate');
    t.same(
      (await namespaces()).filter((namespace) => !before.has(namespace)),
      [],
      'no network namespace left behind',
    );
    const { stdout: processes } = await run('ps', ['-eo', 'args']);
    t.notMatch(
      processes,
      /ovn-controller unix:\/tmp\/ovn|dist\/examples\/(pktgen|testpmd)\.js/,
      'no daemon or app left',
    );
  },
);
