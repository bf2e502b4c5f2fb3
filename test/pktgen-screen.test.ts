import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { freeHugepages, socketDir, uniquePrefix } from './helpers/dpdk.js';

// examples/pktgen.ts's screen in a real terminal: tmux (a private server per test, fixed
// size) runs a shell, the shell runs pktgen interactively on two virtio-user ports served by
// examples/vhost-loopback.ts, keys are typed into it and the screen is read back with
// capture-pane, as a person would see it.

const root = join(__dirname, '..');
const width = 120;
const height = 40;

/** A tmux server of its own (`tmux -L`) with one session of a plain shell. */
class Tmux {
  readonly #socket: string;

  constructor(t: Test, tag: string) {
    this.#socket = `dts-${tag}-${process.pid}`;
    this.run('-f', '/dev/null', 'new-session', '-d', '-x', String(width), '-y', String(height));
    this.run('set-option', '-g', 'default-size', `${width}x${height}`);
    this.run('send-keys', '-l', "PS1='$ ' exec bash --norc --noprofile");
    this.run('send-keys', 'Enter');
    t.teardown(() => {
      try {
        this.run('kill-server');
      } catch {
        // The server is gone already.
      }
    });
  }

  run(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.#socket, ...args], {
      encoding: 'utf8',
      env: { ...process.env, TERM: 'xterm-256color' },
    });
  }

  /** Types `text` and Enter. */
  type(text: string): void {
    this.run('send-keys', '-l', text);
    this.run('send-keys', 'Enter');
  }

  /** The screen as shown, one string per row, trailing blanks cut. */
  screen(): string[] {
    return this.run('capture-pane', '-p').split('\n').slice(0, height);
  }

  /** A tmux format of the pane (`#{alternate_on}`, `#{pane_current_command}`, ...). */
  format(format: string): string {
    return this.run('display-message', '-p', format).trim();
  }

  /** Waits until `test(screen)` holds, or `timeoutMs` passes; returns the last screen read. */
  async until(test: (screen: string[]) => boolean, timeoutMs: number): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    let screen = this.screen();
    while (!test(screen) && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      screen = this.screen();
    }
    return screen;
  }
}

/** The cells of the page's line `label` (the label cut off, split on runs of spaces). */
function cells(screen: string[], label: string): string[] {
  const line = screen.find((row) => row.startsWith(label));
  return line === undefined ? [] : line.slice(22).trim().split(/\s+/);
}

function startLoopback(t: Test, sockets: string[], prefix: string, noHuge: boolean): ChildProcess & { out: string } {
  const child = spawn(
    process.execPath,
    [
      ...['--import', 'tsx', join(root, 'examples/vhost-loopback.ts')],
      ...['--iface', sockets[0], '--iface', sockets[1], '--lcores', '0@1,1@0', '--file-prefix', prefix],
      ...['--memory-mb', '64', ...(noHuge ? ['--no-huge'] : [])],
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  ) as ChildProcess & { out: string };
  child.out = '';
  child.stdout!.on('data', (chunk: Buffer) => (child.out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (child.out += chunk.toString()));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/**
 * Starts the loopback and, in `tmux`'s shell, pktgen on its sockets; resolves when the
 * prompt shows, with the screen and `stopLoopback`, which stops the loopback and returns
 * what the two left in /dev/hugepages and /var/run/dpdk.
 */
async function startPktgen(
  t: Test,
  tmux: Tmux,
  tag: string,
): Promise<{ screen: string[]; stopLoopback: () => Promise<string[]> }> {
  const dir = socketDir(t);
  const sockets = [join(dir, 'vhu0.sock'), join(dir, 'vhu1.sock')];
  const prefixes = [uniquePrefix(`${tag}loop`), uniquePrefix(tag)];
  const noHuge = freeHugepages() < 160;
  const loopback = startLoopback(t, sockets, prefixes[0], noHuge);
  const end = Date.now() + 15000;
  while (!/vhost-loopback: ready/.test(loopback.out) && loopback.exitCode === null && Date.now() < end)
    await new Promise((resolve) => setTimeout(resolve, 50));
  t.match(loopback.out, /vhost-loopback: ready/, 'the vhost-user sockets are served');
  const args = [
    ...['--lcores', '0@0,1@1', '-n', '1', '--file-prefix', prefixes[1], '--no-pci'],
    ...['--vdev', `net_virtio_user0,path=${sockets[0]}`, '--vdev', `net_virtio_user1,path=${sockets[1]}`],
    ...(noHuge ? ['--no-huge', '-m', '128'] : []),
    ...['--', '-P'],
  ];
  tmux.type(`cd ${root} && node --import tsx examples/pktgen.ts ${args.join(' ')}; echo "pktgen-exit=$?"`);
  const stopLoopback = async (): Promise<string[]> => {
    loopback.kill('SIGTERM');
    await new Promise((resolve) => (loopback.exitCode === null ? loopback.once('exit', resolve) : resolve(null)));
    return ['/dev/hugepages', '/var/run/dpdk'].flatMap((path) => {
      try {
        return readdirSync(path).filter((name) => prefixes.some((prefix) => name.includes(prefix)));
      } catch {
        return [];
      }
    });
  };
  const screen = await tmux.until((s) => s[height - 1].startsWith('pktgen> ') && s[0].startsWith('pktgen.ts'), 30000);
  return { screen, stopLoopback };
}

t.test(
  'the screen shows the per-port page above the command line, counts as sent; quit restores the terminal',
  async (t) => {
    const tmux = new Tmux(t, 'pgscr');
    const started = await startPktgen(t, tmux, 'pgscr');
    let screen = started.screen;
    t.equal(tmux.format('#{alternate_on}'), '1', 'pktgen runs in the alternate screen');
    t.match(screen[0], /^pktgen\.ts {2}ports 0-1 of 2 {2}idle/, 'the title says which ports are shown');
    t.same(screen[1].trim().split(/\s+/), ['Port', '0', 'Port', '1', 'Total'], 'one column per port and a total');
    t.equal(screen[height - 1], 'pktgen>', 'the command line is on the last row');

    // 1000 pps for 3 s on each port: the page shows the rates while sending.
    tmux.type('set all pps 1000');
    tmux.type('set 0 count 3000');
    tmux.type('set 1 count 2000');
    tmux.type('str');
    screen = await tmux.until((s) => Number(cells(s, 'Pkts/s Rx')[2] ?? 0) > 0, 5000);
    t.ok(Number(cells(screen, '       Tx')[0]) > 500, 'Pkts/s Tx shows port 0 sending', {
      line: cells(screen, '       Tx'),
    });
    t.match(cells(screen, 'Mbit/s Rx/Tx')[0], /^\d+\.\d\/\d+\.\d$/, 'Mbit/s Rx/Tx per port');
    t.ok(Number(cells(screen, 'Mbit/s Rx/Tx')[0].split('/')[1]) > 0, 'Mbit/s Tx of port 0 is above 0', {
      cells: cells(screen, 'Mbit/s Rx/Tx'),
    });
    screen = await tmux.until(
      (s) =>
        cells(s, '      Tx pkts').join(' ') === '3000 2000 5000' &&
        cells(s, 'Total Rx pkts').join(' ') === '2000 3000 5000',
      15000,
    );
    t.same(cells(screen, '      Tx pkts'), ['3000', '2000', '5000'], 'Tx pkts: each count, and their total');
    t.same(cells(screen, 'Total Rx pkts'), ['2000', '3000', '5000'], "Rx pkts: each port received its peer's packets");
    t.same(cells(screen, 'Link / state'), ['up', '/', 'done', 'up', '/', 'done']);
    t.same(cells(screen, 'Errors Rx/Tx'), ['0/0', '0/0', '0/0'], 'no errors');
    t.match(cells(screen, 'Latency min/avg/max us')[0], /^[\d.]+\/[\d.]+\/[\d.]+$/, 'latency was measured');

    // stp, then the stats command: its table scrolls in under the page, the command line under it.
    tmux.type('stp');
    tmux.type('page stats');
    screen = await tmux.until((s) => s.some((row) => /^Sent +3000 +2000$/.test(row)), 5000);
    const page = screen.findIndex((row) => row.startsWith('Rate pps'));
    const sentRow = screen.findIndex((row) => /^Sent +3000 +2000$/.test(row));
    t.ok(page > 0 && sentRow > page, "page stats' table is printed under the page", { screen });
    t.equal(screen[height - 1], 'pktgen>', 'the command line stays on the last row');
    screen = await tmux.until((s) => / stopped /.test(s[0]), 3000);
    t.match(screen[0], / stopped /, 'the title says the run is stopped');

    // The page is redrawn once a second: its clock moves.
    const clock = (s: string[]): string => /(\d+) s$/.exec(s[0])?.[1] ?? '';
    const before = clock(screen);
    screen = await tmux.until((s) => clock(s) !== before, 3000);
    t.not(clock(screen), before, 'the page is redrawn');

    tmux.type('quit');
    screen = await tmux.until((s) => s.some((row) => row.startsWith('pktgen-exit=')), 20000);
    t.ok(screen.includes('pktgen-exit=0'), 'pktgen exits 0 at quit', { screen });
    t.equal(tmux.format('#{alternate_on}'), '0', 'the normal screen is back');
    t.equal(
      tmux.format('#{scroll_region_upper} #{scroll_region_lower}'),
      `0 ${height - 1}`,
      'the whole screen scrolls',
    );
    t.equal(tmux.format('#{cursor_flag}'), '1', 'the cursor is shown');
    t.ok(
      screen.some((row) => /^Sent +3000 +2000$/.test(row)),
      'the final table is printed on the normal screen',
    );
    t.notOk(
      screen.some((row) => row.startsWith('pktgen> ')),
      'nothing of the screen is left on the normal screen',
    );
    t.same(await started.stopLoopback(), [], 'nothing left in /dev/hugepages or /var/run/dpdk');
  },
);

t.test(
  'a resize lays the screen out for the new size, keeping what is typed; Ctrl-C restores the terminal',
  async (t) => {
    const tmux = new Tmux(t, 'pgsize');
    const started = await startPktgen(t, tmux, 'pgsize');
    t.match(started.screen[0], /ports 0-1 of 2/);
    tmux.run('send-keys', '-l', 'set 0 co');
    tmux.run('resize-window', '-x', '70', '-y', '30');
    let screen = await tmux.until((s) => /ports 0-0 of 2/.test(s[0]) && s[29] === 'pktgen> set 0 co', 5000);
    t.match(screen[0], /ports 0-0 of 2/, 'the title says only port 0 fits');
    t.same(screen[1].trim().split(/\s+/), ['Port', '0', 'Total'], 'the page has the columns that fit');
    t.ok(
      screen.every((row) => row.length <= 70),
      'no line is wider than the terminal',
    );
    t.equal(screen[29], 'pktgen> set 0 co', 'the command line is on the new last row, with what was typed');

    tmux.run('send-keys', 'C-c');
    screen = await tmux.until((s) => s.some((row) => row.startsWith('pktgen-exit=')), 20000);
    t.ok(screen.includes('pktgen-exit=0'), 'pktgen exits 0 at Ctrl-C', { screen });
    t.equal(tmux.format('#{alternate_on}'), '0', 'the normal screen is back');
    t.equal(tmux.format('#{scroll_region_upper} #{scroll_region_lower}'), '0 29', 'the whole screen scrolls');
    t.equal(tmux.format('#{cursor_flag}'), '1', 'the cursor is shown');
    t.same(await started.stopLoopback(), [], 'nothing left in /dev/hugepages or /var/run/dpdk');
  },
);
