import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { freeHugepages, socketDir, uniquePrefix } from './helpers/dpdk.js';

// examples/pktgen.ts against examples/vhost-loopback.ts, two processes as in the lab
// (pktgen <-> OVS <-> forwarder), with the lab's pktgen command line as it is but for the
// socket paths and the file prefix: its lcores and memory are adapted to this machine.

const root = join(__dirname, '..');

interface Child {
  process: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function start(t: Test, script: string, args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Child = {
    process: child, stdout: '', stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (chunk: Buffer) => { result.stdout += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { result.stderr += chunk.toString(); });
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await result.exited;
    clearTimeout(timer);
  });
  return result;
}

async function waitFor(child: Child, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(child.stdout) && child.process.exitCode === null && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pattern.test(child.stdout);
}

async function exitWithin(child: Child, timeoutMs: number): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
  const result = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  return result;
}

function leftovers(prefixes: string[]): string[] {
  const entries = ['/dev/hugepages', '/var/run/dpdk'].flatMap((dir) => {
    try {
      return readdirSync(dir).map((name) => join(dir, name));
    } catch {
      return [];
    }
  });
  return entries.filter((path) => prefixes.some((prefix) => path.includes(prefix)));
}

t.test('pktgen reference run: port 0 sends 100, port 1 sends 200, each comes back on the other port', async (t) => {
  const dir = socketDir(t);
  const sockets = [join(dir, 'vhu0.sock'), join(dir, 'vhu1.sock')];
  const loopPrefix = uniquePrefix('pgloop');
  const pktgenPrefix = uniquePrefix('pktgen');
  // Two processes of little memory each; without enough hugepages both use anonymous memory.
  const noHuge = freeHugepages() < 160;
  const loopback = start(t, 'examples/vhost-loopback.ts', [
    '--iface', sockets[0], '--iface', sockets[1], '--lcores', '0@1,1@0', '--file-prefix', loopPrefix, '--memory-mb', '64',
    ...(noHuge ? ['--no-huge'] : []),
  ]);
  t.ok(await waitFor(loopback, /vhost-loopback: ready/, 15000), 'the vhost-user sockets are served');

  const pktgen = start(t, 'examples/pktgen.ts', [
    '-c', '0x19', '--master-lcore', '3', '-n', '1', '--socket-mem', '1024,1024', '--file-prefix', pktgenPrefix, '--no-pci',
    '--vdev', `net_virtio_user0,mac=00:00:00:00:00:05,path=${sockets[0]}`,
    '--vdev', `net_virtio_user1,mac=00:00:00:00:00:01,path=${sockets[1]}`,
    ...(noHuge ? ['--no-huge', '-m', '128'] : []),
    '--', '-T', '-P', '-m', '0.0,4.1',
    '--commands', 'set all rate 10; set 0 count 100; set 1 count 200; str', '--wait-done', '--timeout', '20', '--json', '-',
  ]);
  t.equal(await exitWithin(pktgen, 40000), 0, 'pktgen exits 0: every count was reached');
  t.match(pktgen.stderr, /--master-lcore 3 is passed as --main-lcore 3/);
  t.match(pktgen.stderr, /port 0: net_virtio_user0 00:00:00:00:00:05 on lcore 0, receives from port 1/, '-m 0.0 puts port 0 on lcore 0');
  t.match(pktgen.stderr, /port 1: net_virtio_user1 00:00:00:00:00:01 on lcore 4, receives from port 0/, '-m 4.1 puts port 1 on lcore 4');
  t.match(pktgen.stderr, /Received\s+200 \(from port 1\)\s+100 \(from port 0\)/, 'the final table is printed (on stderr with --json -)');

  const lines = pktgen.stdout.trim().split('\n');
  t.equal(lines.length, 1, 'stdout holds the JSON line only');
  const report = JSON.parse(lines[0]) as { complete: boolean; ports: Record<string, unknown>[] };
  t.equal(report.complete, true);
  t.match(report.ports[0], { port: 0, name: 'net_virtio_user0', sent: 100, dropped: 0, received: 200, missing: 0, ratePps: 1488095 });
  t.match(report.ports[1], { port: 1, name: 'net_virtio_user1', sent: 200, dropped: 0, received: 100, missing: 0 });
  for (const port of report.ports) {
    t.match(port.latency, { samples: Number, minNs: Number, avgNs: Number, maxNs: Number, percentilesNs: { p50: Number, p99: Number } },
      `port ${port.port} measured latency`);
  }

  loopback.process.kill('SIGTERM');
  t.equal(await exitWithin(loopback, 10000), 0, 'the loopback exits cleanly on SIGTERM');
  t.match(loopback.stdout, /final: port 0 -> 1: rx 100 tx 100 dropped 0; port 1 -> 0: rx 200 tx 200 dropped 0/,
    'the loopback forwarded exactly what pktgen counted');
  t.same(leftovers([loopPrefix, pktgenPrefix]), [], 'nothing left in /dev/hugepages or /var/run/dpdk');
});

t.test('bad arguments and commands fail before DPDK starts, saying what is wrong', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--', '--commands', 'set 0 rate 200'], /--commands command 1: "set 0 rate 200": rate must be a percentage of the line rate above 0 and at most 100, got "200"/],
    [['--', '--commands', 'str; set all size 63'], /--commands command 2: "set all size 63": size \(bytes, FCS included\) must be an integer from 64 to 1518, got "63"/],
    [['--', '--commands', 'start'], /unknown command "start": expected set, str, stp, page stats, show, clear, delay, help or quit/],
    [['--', '-m', '0:0'], /-m entry "0:0": expected LCORE.PORT such as 0.0, \[1:2\].0, \[1-2\].0 or 1.\[0-1\]/],
    [['--commands', 'str'], /--commands is a pktgen.ts option: put it after '--'/],
  ];
  await Promise.all(cases.map(async ([args, message]) => {
    const pktgen = start(t, 'examples/pktgen.ts', args);
    t.equal(await exitWithin(pktgen, 20000), 1, `${args.join(' ')}: exit status 1`);
    t.match(pktgen.stderr, message, `${args.join(' ')}: the message says what is wrong`);
  }));
});
