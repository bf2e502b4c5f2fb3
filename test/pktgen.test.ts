import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readTimelineFile, type PktgenReport, type PortReport } from '../examples/pktgen/report.js';
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

function start(t: Test, script: string, args: string[], stdin?: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...args], {
    cwd: root,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) child.stdin!.end(stdin);
  const result: Child = {
    process: child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    result.stderr += chunk.toString();
  });
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
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
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
    '--iface',
    sockets[0],
    '--iface',
    sockets[1],
    '--lcores',
    '0@1,1@0',
    '--file-prefix',
    loopPrefix,
    '--memory-mb',
    '64',
    ...(noHuge ? ['--no-huge'] : []),
  ]);
  t.ok(await waitFor(loopback, /vhost-loopback: ready/, 15000), 'the vhost-user sockets are served');

  const pktgen = start(t, 'examples/pktgen.ts', [
    '-c',
    '0x19',
    '--master-lcore',
    '3',
    '-n',
    '1',
    '--socket-mem',
    '1024,1024',
    '--file-prefix',
    pktgenPrefix,
    '--no-pci',
    '--vdev',
    `net_virtio_user0,mac=00:00:00:00:00:05,path=${sockets[0]}`,
    '--vdev',
    `net_virtio_user1,mac=00:00:00:00:00:01,path=${sockets[1]}`,
    ...(noHuge ? ['--no-huge', '-m', '128'] : []),
    '--',
    '-T',
    '-P',
    '-m',
    '0.0,4.1',
    '--commands',
    'set all rate 10; set 0 count 100; set 1 count 200; str',
    '--wait-done',
    '--timeout',
    '20',
    '--json',
    '-',
  ]);
  t.equal(await exitWithin(pktgen, 40000), 0, 'pktgen exits 0: every count was reached');
  t.match(pktgen.stderr, /--master-lcore 3 is passed as --main-lcore 3/);
  t.match(
    pktgen.stderr,
    /port 0: net_virtio_user0 00:00:00:00:00:05 on lcore 0, receives from port 1/,
    '-m 0.0 puts port 0 on lcore 0',
  );
  t.match(
    pktgen.stderr,
    /port 1: net_virtio_user1 00:00:00:00:00:01 on lcore 4, receives from port 0/,
    '-m 4.1 puts port 1 on lcore 4',
  );
  t.match(
    pktgen.stderr,
    /Received\s+200 \(from port 1\)\s+100 \(from port 0\)/,
    'the final table is printed (on stderr with --json -)',
  );

  const lines = pktgen.stdout.trim().split('\n');
  t.equal(lines.length, 1, 'stdout holds the JSON line only');
  const report = JSON.parse(lines[0]) as PktgenReport;
  t.equal(report.complete, true);
  t.match(report.ports[0], {
    port: 0,
    name: 'net_virtio_user0',
    sent: 100,
    dropped: 0,
    received: 200,
    missing: 0,
    ratePps: 1488095,
  });
  t.match(report.ports[1], { port: 1, name: 'net_virtio_user1', sent: 200, dropped: 0, received: 100, missing: 0 });
  for (const port of report.ports) {
    t.match(
      port.latency,
      { samples: Number, minNs: Number, avgNs: Number, maxNs: Number, percentilesNs: { p50: Number, p99: Number } },
      `port ${port.port} measured latency`,
    );
  }

  loopback.process.kill('SIGTERM');
  t.equal(await exitWithin(loopback, 10000), 0, 'the loopback exits cleanly on SIGTERM');
  t.match(
    loopback.stdout,
    /final: port 0 -> 1: rx 100 tx 100 dropped 0; port 1 -> 0: rx 200 tx 200 dropped 0/,
    'the loopback forwarded exactly what pktgen counted',
  );
  t.same(leftovers([loopPrefix, pktgenPrefix]), [], 'nothing left in /dev/hugepages or /var/run/dpdk');
});

t.test('commands piped on stdin: wait holds until every count is reached, quit reports', async (t) => {
  const dir = socketDir(t);
  const sockets = [join(dir, 'vhu0.sock'), join(dir, 'vhu1.sock')];
  const loopPrefix = uniquePrefix('pgwloop');
  const pktgenPrefix = uniquePrefix('pgwait');
  const noHuge = freeHugepages() < 160;
  const loopback = start(t, 'examples/vhost-loopback.ts', [
    ...['--iface', sockets[0], '--iface', sockets[1], '--lcores', '0@1,1@0'],
    ...['--file-prefix', loopPrefix, '--memory-mb', '64', ...(noHuge ? ['--no-huge'] : [])],
  ]);
  t.ok(await waitFor(loopback, /vhost-loopback: ready/, 15000), 'the vhost-user sockets are served');
  const pktgen = start(
    t,
    'examples/pktgen.ts',
    [
      ...['--lcores', '0@0,1@1', '-n', '1', '--file-prefix', pktgenPrefix, '--no-pci'],
      ...['--vdev', `net_virtio_user0,path=${sockets[0]}`, '--vdev', `net_virtio_user1,path=${sockets[1]}`],
      ...(noHuge ? ['--no-huge', '-m', '128'] : []),
      ...['--', '-T', '-P', '--commands', 'set all rate 10; set 0 count 50; set 1 count 70', '--json', '-'],
    ],
    'str\nwait 20\nquit\n',
  );
  t.equal(await exitWithin(pktgen, 40000), 0, 'pktgen exits 0 at quit', { stderr: pktgen.stderr.slice(-1500) });
  loopback.process.kill('SIGTERM');
  t.equal(await exitWithin(loopback, 10000), 0, 'the loopback exits cleanly on SIGTERM');
  const report = JSON.parse(pktgen.stdout.trim() || '{}') as Partial<PktgenReport>;
  t.equal(report.complete, true, 'quit came after the counts were reached: wait waited');
  t.match(report.ports?.[0], { sent: 50, received: 70 });
  t.match(report.ports?.[1], { sent: 70, received: 50 });
  t.same(leftovers([loopPrefix, pktgenPrefix]), [], 'nothing left in /dev/hugepages or /var/run/dpdk');
});

/**
 * Runs vhost-loopback (counting UDP destination ports) and a pktgen with `lcoreArgs` and
 * `appArgs` (after `--`) on its two sockets until pktgen's --wait-done ends; returns
 * pktgen's JSON ports and the loopback's final lines, after checking both exit cleanly.
 */
async function labRun(
  t: Test,
  tag: string,
  lcoreArgs: string[],
  appArgs: string[],
): Promise<{ ports: PortReport[]; pktgen: Child; loopback: Child }> {
  const dir = socketDir(t);
  const sockets = [join(dir, 'vhu0.sock'), join(dir, 'vhu1.sock')];
  const loopPrefix = uniquePrefix(`${tag}loop`);
  const pktgenPrefix = uniquePrefix(tag);
  const noHuge = freeHugepages() < 160;
  const loopback = start(t, 'examples/vhost-loopback.ts', [
    '--iface',
    sockets[0],
    '--iface',
    sockets[1],
    '--lcores',
    '0@1,1@0',
    '--file-prefix',
    loopPrefix,
    '--memory-mb',
    '64',
    '--count-dports',
    ...(noHuge ? ['--no-huge'] : []),
  ]);
  t.ok(await waitFor(loopback, /vhost-loopback: ready/, 15000), 'the vhost-user sockets are served');
  const pktgen = start(t, 'examples/pktgen.ts', [
    ...lcoreArgs,
    '-n',
    '1',
    '--file-prefix',
    pktgenPrefix,
    '--no-pci',
    '--vdev',
    `net_virtio_user0,mac=00:00:00:00:00:05,path=${sockets[0]}`,
    '--vdev',
    `net_virtio_user1,mac=00:00:00:00:00:01,path=${sockets[1]}`,
    ...(noHuge ? ['--no-huge', '-m', '128'] : []),
    '--',
    ...appArgs,
    '--wait-done',
    '--timeout',
    '20',
    '--json',
    '-',
  ]);
  t.equal(await exitWithin(pktgen, 40000), 0, 'pktgen exits 0: every count was reached');
  loopback.process.kill('SIGTERM');
  t.equal(await exitWithin(loopback, 10000), 0, 'the loopback exits cleanly on SIGTERM');
  t.same(leftovers([loopPrefix, pktgenPrefix]), [], 'nothing left in /dev/hugepages or /var/run/dpdk');
  const report = JSON.parse(pktgen.stdout.trim() || '{}') as Partial<PktgenReport>;
  t.equal(report.complete, true, 'the JSON report says complete');
  return { ports: report.ports ?? [], pktgen, loopback };
}

t.test('ports that share an lcore each send their own packets and keep their own counters', async (t) => {
  const { ports, pktgen, loopback } = await labRun(
    t,
    'pgshare',
    ['-l', '0,1', '--main-lcore', '0'],
    [
      '-m',
      '1.[0-1]',
      '--commands',
      'set all rate 10; set 0 count 100; set 1 count 200; set 0 flows 4; set 1 size 128; set 1 dport 7777; str',
    ],
  );
  t.match(pktgen.stderr, /port 0: net_virtio_user0 00:00:00:00:00:05 on lcore 1, receives from port 1/);
  t.match(pktgen.stderr, /port 1: net_virtio_user1 00:00:00:00:00:01 on lcore 1, receives from port 0/);
  t.notMatch(pktgen.stderr, /share lcore/, 'no warning about a shared packet');
  t.match(pktgen.stderr, /Flows\s+4\s+1\n/, 'the table shows the flows');
  t.match(
    pktgen.stderr,
    /Src IP:port\s+192\.168\.0\.1:1234-1237\s+192\.168\.1\.1:1234\n/,
    'the table shows the source port range',
  );
  t.match(ports[0], { port: 0, sent: 100, received: 200, flows: 4, dports: [5678] });
  t.match(ports[1], { port: 1, sent: 200, received: 100, flows: 1, dports: [7777] });
  t.match(
    loopback.stdout,
    /final: port 0 -> 1: rx 100 tx 100 dropped 0; port 1 -> 0: rx 200 tx 200 dropped 0/,
    'the loopback forwarded exactly what pktgen counted',
  );
  t.match(
    loopback.stdout,
    /udp dports: port 0 -> 1: 5678 x100; port 1 -> 0: 7777 x200/,
    'each port sent its own packets',
  );
});

t.test('a list of destination ports sends an exact mix', async (t) => {
  // Port 1 sends without a count (for ever), slowly: --wait-done waits for port 0's 300 only.
  const { ports, loopback } = await labRun(
    t,
    'pgmix',
    ['-l', '0,1', '--main-lcore', '0'],
    ['--commands', 'set all pps 10000; set 0 dport 53,6666,80; set 0 count 300; set 1 count 0; str'],
  );
  t.match(ports[0], { port: 0, sent: 300, flows: 1, dports: [53, 6666, 80] });
  t.match(ports[1], { port: 1, received: 300 });
  t.match(
    loopback.stdout,
    /udp dports: port 0 -> 1: 53 x100, 80 x100, 6666 x100;/,
    '100 packets to each destination port',
  );
});

t.test('bad arguments and commands fail before DPDK starts, saying what is wrong', async (t) => {
  const cases: [string[], RegExp][] = [
    [
      ['--', '--commands', 'set 0 rate 200'],
      /--commands command 1: "set 0 rate 200": rate must be a percentage of the line rate above 0 and at most 100, got "200"/,
    ],
    [
      ['--', '--commands', 'str; set all size 63'],
      /--commands command 2: "set all size 63": size \(bytes, FCS included\) must be an integer from 64 to 1518, got "63"/,
    ],
    [
      ['--', '--commands', 'begin'],
      /unknown command "begin": expected set, str, start, stp, page stats, show, clear, delay, probe, wait, search, help or quit/,
    ],
    [['--', '--commands', 'start'], /expected "start PORTS", e.g. "start 0"/],
    [['--', '--commands', 'wait 0'], /"wait 0": wait \(seconds\) must be an integer from 1 to 86400, got "0"/],
    [['--', '--commands', 'wait 1 2'], /"wait 1 2": expected "wait \[SECONDS\]", e.g. "wait 30"/],
    [
      ['--', '--commands', 'set 0 flows 2000'],
      /"set 0 flows 2000": flows must be an integer from 1 to 1024 \(each flow is a packet template, and a port sends at most 1024\), got "2000"/,
    ],
    [
      ['--', '--commands', 'set 0 dport 53,x'],
      /"set 0 dport 53,x": each dport must be an integer from 0 to 65535, got "x"/,
    ],
    [['--', '--commands', 'search'], /"search": expected "search PORTS \[trial S\] ...", e.g. "search 0,1 trial 0.5"/],
    [
      ['--', '--commands', 'search 0 trial 0'],
      /"search 0 trial 0": trial must be a number of seconds above 0 and at most 3600, got "0"/,
    ],
    [
      ['--', '--commands', 'search 0 max -5'],
      /"search 0 max -5": max must be a rate in packets per second above 0, or a percentage of the line rate such as 50%, got "-5"/,
    ],
    [
      ['--', '--commands', 'search 0 tolerance 100'],
      /tolerance must be the percentage of packets a trial may lose, from 0 to below 100, got "100"/,
    ],
    [
      ['--', '--commands', 'search 0 resolution 0%'],
      /resolution must be a percentage of the rate above 0 and below 100/,
    ],
    [
      ['--', '--commands', 'search 0 speed 5'],
      /unknown search option "speed": expected trial, resolution, tolerance, min, max or retries/,
    ],
    [['--', '--commands', 'search 0 trial 1 trial 2'], /search option "trial" is given twice/],
    [['--', '--commands', 'search 0 retries 11'], /retries must be a whole number from 0 to 10, got "11"/],
    [['--', '--commands', 'search 0 min 50% max 10%'], /min \(50%\) is above max/],
    [['--', '-m', '0:0'], /-m entry "0:0": expected LCORE.PORT such as 0.0, \[1:2\].0, \[1-2\].0 or 1.\[0-1\]/],
    [['--commands', 'str'], /--commands is a pktgen.ts option: put it after '--'/],
  ];
  // Four at a time: each case is a Node process loading tsx, and 2 CPUs starting all of them
  // at once took over 20 s for some.
  for (let first = 0; first < cases.length; first += 4) {
    await Promise.all(
      cases.slice(first, first + 4).map(async ([args, message]) => {
        const pktgen = start(t, 'examples/pktgen.ts', args);
        t.equal(await exitWithin(pktgen, 20000), 1, `${args.join(' ')}: exit status 1`);
        t.match(pktgen.stderr, message, `${args.join(' ')}: the message says what is wrong`);
      }),
    );
  }
});

t.test(
  'search finds the zero-loss throughput of a forwarder with a known limit, to within its resolution',
  async (t) => {
    // vhost-loopback forwards at most limitPps per direction and drops the rest; port 0 sends.
    // Its main thread forwards, on CPU 0 (pktgen's engine polls CPU 1).
    const limitPps = 10_000;
    const dir = socketDir(t);
    const sockets = [join(dir, 'vhu0.sock'), join(dir, 'vhu1.sock')];
    const loopPrefix = uniquePrefix('pgsearchloop');
    const pktgenPrefix = uniquePrefix('pgsearch');
    const noHuge = freeHugepages() < 160;
    const loopback = start(t, 'examples/vhost-loopback.ts', [
      '--iface',
      sockets[0],
      '--iface',
      sockets[1],
      '--lcores',
      '0@0,1@1',
      '--file-prefix',
      loopPrefix,
      '--memory-mb',
      '64',
      '--max-pps',
      String(limitPps),
      ...(noHuge ? ['--no-huge'] : []),
    ]);
    t.ok(
      await waitFor(loopback, /vhost-loopback: ready: .*at most 10000 pps per direction/, 15000),
      'the loopback is up',
    );
    const pktgen = start(t, 'examples/pktgen.ts', [
      '-l',
      '0,1',
      '--main-lcore',
      '0',
      '-n',
      '1',
      '--file-prefix',
      pktgenPrefix,
      '--no-pci',
      '--vdev',
      `net_virtio_user0,mac=00:00:00:00:00:05,path=${sockets[0]}`,
      '--vdev',
      `net_virtio_user1,mac=00:00:00:00:00:01,path=${sockets[1]}`,
      ...(noHuge ? ['--no-huge', '-m', '128'] : []),
      '--',
      '-m',
      '1.[0-1]',
      '--shared-cpu',
      '--commands',
      'set 0 count 7; search 0 trial 0.5 resolution 5% max 100000 retries 2; quit',
      '--json',
      '-',
    ]);
    t.equal(await exitWithin(pktgen, 90000), 0, 'pktgen exits 0');
    loopback.process.kill('SIGTERM');
    t.equal(await exitWithin(loopback, 10000), 0, 'the loopback exits cleanly on SIGTERM');
    t.same(leftovers([loopPrefix, pktgenPrefix]), [], 'nothing left in /dev/hugepages or /var/run/dpdk');

    const report = JSON.parse(pktgen.stdout.trim() || '{}') as Partial<PktgenReport>;
    const search = report.search!;
    t.match(search, { ports: [0], trialMs: 500, lossTolerance: 0, minRatePps: 0, maxRatePps: 100000 });
    t.equal(search.relativeResolution, 0.05);
    t.equal(search.stop, 'resolution', 'the search stops at its resolution');
    t.equal(search.trials[0].ratePps, 100000, 'the first trial is at the maximum rate');
    t.equal(search.trials[0].passed, false, 'ten times the limit loses packets');
    // The rate found passed and the next failed within 5%; the token bucket (20 ms deep) lets
    // a 0.5 s trial pass up to 4% above the limit.
    const found = search.ratePps!;
    const within = found >= limitPps * 0.95 && found <= limitPps * 1.05;
    t.ok(within, `${found} pps is within 5% of ${limitPps}`);
    // When it is not, the trials say why (a short trial on a busy machine can lose packets below the limit).
    if (!within)
      t.comment(
        pktgen.stderr
          .split('\n')
          .filter((line) => /^(search|pktgen: str): /.test(line))
          .join('\n'),
      );
    t.ok(search.failedPps! - found <= 0.05 * search.failedPps!, 'the bracket is within the resolution');
    for (const trial of search.trials) {
      t.equal(trial.offered, Math.round(trial.ratePps / 2), `${trial.ratePps} pps: 0.5 s of packets offered`);
      if (trial.passed) t.equal(trial.received, trial.offered, `${trial.ratePps} pps passed: nothing lost`);
    }
    t.match(search.latency, { ratePps: found, passed: true, ports: [{ port: 1, latency: { samples: Number } }] });
    t.match(pktgen.stderr, /search: trial 1: 100000 pps per port: offered 50000 .* fail/, 'each trial is printed');
    t.match(pktgen.stderr, /Zero-loss search {2}ports 0, 0.5 s trials/, 'the summary follows the table');
    t.match(pktgen.stderr, new RegExp(`Throughput      ${found} pps per port`));
    t.match(pktgen.stderr, /Count\s+7\s+forever/, "the ports' counts are restored");
    t.match(
      loopback.stdout,
      /final: port 0 -> 1: rx \d+ tx \d+ dropped \d+ limited [1-9]\d*;/,
      'the loopback dropped the excess',
    );
  },
);

t.test('str on ports that never run dry (net_null) does not hold the main thread', async (t) => {
  const prefix = uniquePrefix('pktgen-null');
  const pktgen = start(t, 'examples/pktgen.ts', [
    ...['--lcores', '0@0,1@1', '--no-huge', '-m', '256', '--no-pci', '--file-prefix', prefix],
    ...['--vdev', 'net_null0', '--vdev', 'net_null1', '--', '--commands', 'str; stp; str; stp; quit'],
  ]);
  t.equal(await exitWithin(pktgen, 30000), 0, 'pktgen runs its commands and exits 0');
  t.match(pktgen.stderr + pktgen.stdout, /packets keep arriving while stopped/, 'says why the drain stopped');
  t.same(leftovers([prefix]), []);
});

t.test('--timeline-file: each line samples what the ports sent and received so far', async (t) => {
  const prefix = uniquePrefix('pktgen-timeline');
  const dir = mkdtempSync(join(tmpdir(), 'pktgen-timeline-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'timeline.ndjson');
  const pktgen = start(t, 'examples/pktgen.ts', [
    ...['--lcores', '0@0,1@1', '--no-huge', '-m', '256', '--no-pci', '--file-prefix', prefix],
    // Short vdev names: the ring driver names its rings after them, in at most 29 characters.
    ...['--vdev', `net_ring_t${process.pid}0`, '--vdev', `net_ring_t${process.pid}1`, '--', '-T', '--shared-cpu'],
    ...['--timeline', '20', '--timeline-file', file, '--json', join(dir, 'report.json')],
    ...['--commands', 'set all count 600; set all pps 1000; str; wait 20; quit'],
  ]);
  t.equal(await exitWithin(pktgen, 60000), 0, 'pktgen runs its commands and exits 0', { stderr: pktgen.stderr });
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as PktgenReport;
  const timeline = readTimelineFile(readFileSync(file, 'utf8'));
  t.equal(timeline.intervalMs, 20);
  t.ok(timeline.samples.length >= 10, `a sample every 20 ms over the run's 0.6 s (${timeline.samples.length})`);
  const sentOf = (port: number): number[] => timeline.samples.map((sample) => sample.sent[port]);
  for (const port of [0, 1]) {
    t.same(
      sentOf(port),
      [...sentOf(port)].sort((a, b) => a - b),
      `port ${port}: what it sent only grows from sample to sample`,
    );
  }
  // The samples stop when the run ends, up to an interval before the report's counts.
  const last = timeline.samples[timeline.samples.length - 1];
  for (const port of [0, 1]) {
    t.ok(last.sent[port] > 0 && last.received[port] > 0, `port ${port}: the samples saw it send and receive`);
    t.ok(
      timeline.samples.every(
        (sample) =>
          sample.sent[port] <= report.ports[port].sent && sample.received[port] <= report.ports[port].received,
      ),
      `port ${port}: no sample counts more than the report`,
    );
  }
  t.same(
    report.ports.map((port) => port.sent),
    [600, 600],
    'each port sent its count',
  );
  t.same(leftovers([prefix]), []);
});
