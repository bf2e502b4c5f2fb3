// examples/l2fwd.ts with two forwarding lcores that EAL folds onto one CPU
// (`--lcores 0@0,(1,2)@1`, one port per lcore): native engines take turns on that CPU, as
// C l2fwd's lcores would; TypeScript loops, one per CPU, are refused before anything starts.
import t, { type Test } from 'tap';
import { uniquePrefix, until } from './helpers/dpdk.js';
import { startExample, type ExampleProcess } from './helpers/example-process.js';

function startL2fwd(t: Test, engine: 'native' | 'ts'): ExampleProcess {
  return startExample(t, 'l2fwd', [
    '--lcores',
    '0@0,(1,2)@1',
    '--no-huge',
    '-m',
    '256',
    '--no-pci',
    '--file-prefix',
    uniquePrefix(`l2fwd-fold-${engine}`),
    '--vdev',
    'net_null0',
    '--vdev',
    'net_null1',
    '--',
    '-p',
    '0x3',
    '-q',
    '1',
    '-T',
    '0',
    '--engine',
    engine,
    '--json',
  ]);
}

t.test('native engines on lcores folded onto one CPU take turns and both forward', async (t) => {
  const l2fwd = startL2fwd(t, 'native');
  t.ok(
    await until(() => (l2fwd.output().match(/entering main loop on lcore/g) ?? []).length === 2, 20000),
    'both lcores enter their loop',
  );
  t.match(l2fwd.output(), /lcores 1, 2 all poll on CPU 1 and will share it/, 'warns that they share CPU 1');
  await new Promise((resolve) => setTimeout(resolve, 300));
  l2fwd.child.kill('SIGTERM');
  t.equal(await l2fwd.exited, 0, 'exits cleanly on SIGTERM');
  const line = l2fwd
    .output()
    .split('\n')
    .find((each) => each.startsWith('{"app":"l2fwd"'));
  const summary = JSON.parse(line ?? 'null') as { ports: { port: number; received: number }[] } | null;
  t.ok(summary !== null, 'prints its JSON summary');
  for (const port of summary?.ports ?? []) t.ok(port.received > 0, `port ${port.port} received ${port.received}`);
});

t.test('TypeScript loops on lcores folded onto one CPU are refused naming them', async (t) => {
  const l2fwd = startL2fwd(t, 'ts');
  t.equal(await l2fwd.exited, 1, 'exits with status 1');
  t.match(
    l2fwd.output(),
    /l2fwd: lcores 1, 2 all poll on CPU 1, and a TypeScript loop needs a CPU of its own; raise -q to poll more ports from one lcore, or use --engine native/,
    'names the lcores, the CPU and what to do',
  );
  t.notMatch(l2fwd.output(), /entering main loop/, 'starts no loop');
});
