// The lab without containers: both experiments with the zero-loss search, --no-huge with OVS
// serving the sockets, Ctrl-C in the middle of a run, and --fault ovs-restart (in a file of
// their own: with test/lab.test.ts's container runs they outlast one file's time limit).
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  at,
  checkAccounting,
  checkExact,
  checkNothingLeft,
  lab,
  leftovers,
  root,
  runFault,
} from './helpers/lab-run.js';

t.test('the lab with --no-containers and --zero-loss', async (t) => {
  checkExact(
    t,
    await lab(t, ['--no-containers', '--zero-loss']),
    ['experiment 1', 'experiment 2', 'service chain'],
    true,
  );
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
  await checkNothingLeft(t, before);
});

t.test('the lab with --fault ovs-restart: traffic stops, the flows come back, traffic resumes', async (t) => {
  const { fault } = await runFault(t, 'ovs-restart');
  if (fault === undefined) return;
  const figures = fault.figures;
  // Figures, not speeds: OVS down for a second stops traffic for about that long or more.
  t.ok(
    (figures.outageMs ?? 0) >= 500 && (figures.outageMs ?? Infinity) < 20_000,
    `an outage of ${figures.outageMs} ms`,
  );
  t.ok(figures.lostDuring > 0, 'packets were lost in the outage');
  t.ok(at(fault, /ovs-vswitchd started again/) > at(fault, /^fault/), 'ovs-vswitchd was started again after the kill');
  t.ok(
    fault.events.some(
      (event) => event.what === 'flows installed (FlowKeeper)' && event.atMs > at(fault, /started again/),
    ),
    'the FlowKeeper reinstalled the flows',
  );
  t.ok(
    figures.window !== null && figures.window.fromMs >= at(fault, /^fault/) - figures.intervalMs,
    'the window starts at the fault',
  );
  checkAccounting(t, fault);
});
