// examples/ips.ts's --eth-dst/--eth-src (inline: rewrite the forwarded packets' MACs) and
// --decap gre (detect: match inside GRE): which combinations it refuses, before EAL starts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';

const ips = join(__dirname, '..', 'examples', 'ips.ts');

function run(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', ips, '--', '--rule', 'udp', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr };
}

for (const [args, message] of [
  [['--eth-dst', '00:00:00:00:ff:04'], '--eth-dst and --eth-src go together: give both or neither'],
  [
    ['--eth-dst', '00:00:00:00:ff:4', '--eth-src', '00:00:00:00:01:04'],
    '--eth-dst must be a MAC address like 00:00:00:00:00:01, got "00:00:00:00:ff:4"',
  ],
  [['--eth-src'], '--eth-src must be a MAC address like 00:00:00:00:00:01, got undefined'],
  [
    ['--mode', 'detect', '--eth-dst', '00:00:00:00:ff:04', '--eth-src', '00:00:00:00:01:04'],
    '--eth-dst and --eth-src apply only to --mode inline',
  ],
  [['--decap', 'gre'], '--decap applies only to --mode detect'],
  [['--mode', 'detect', '--decap', 'vxlan'], '--decap must be gre, got "vxlan"'],
  [
    ['--mode', 'detect', '--decap', 'gre', '--engine', 'native'],
    '--eth-dst, --eth-src and --decap need --engine loop (the native filter has neither)',
  ],
] as const)
  t.test(`ips ${args.join(' ')}: ${message}`, async (t) => {
    const result = run([...args]);
    t.equal(result.status, 2, 'a usage error');
    t.equal(result.stderr.split('\n')[0], `ips: ${message}`);
  });
