/**
 * pktgen.ts's screen on a terminal, as pktgen-dpdk draws it: a page at the top with one
 * column per port and a total column (rates in packets and Mbit/s, totals, the port's
 * error counters, latency), redrawn in place once a second, above a scrolling region where
 * the command line and the output of commands live. It runs in the terminal's alternate
 * screen, so that leaving it (quit, a signal, an error, any exit) gives the terminal back
 * as it was, with the final report printed after it.
 */
import type { PortStats } from '../../lib/index.js';
import type { Pktgen } from './generator.js';
import type { PortReport } from './report.js';

// Column widths of the page: the labels, then each port and the total.
const labelWidth = 22;
const columnWidth = 18;

// ANSI/VT100 control sequences the screen uses (xterm, tmux, the Linux console all have them).
const esc = {
  alternateScreen: '\x1b[?1049h',
  normalScreen: '\x1b[?1049l',
  hideCursor: '\x1b[?25l',
  showCursor: '\x1b[?25h',
  saveCursor: '\x1b7',
  restoreCursor: '\x1b8',
  clearScreen: '\x1b[2J',
  clearToEndOfLine: '\x1b[K',
  resetScrollRegion: '\x1b[r',
  scrollRegion: (top: number, bottom: number): string => `\x1b[${top};${bottom}r`,
  moveTo: (row: number, column = 1): string => `\x1b[${row};${column}H`,
} as const;

/** Rates measured from the ports' own counters between two samples. */
export interface PortRates {
  /** What each port's counters say now (rte_eth_stats: since the port started). */
  stats: PortStats[];
  /** Mbit/s received and sent by each port since the previous sample (frame bytes, no FCS). */
  rxMbps: number[];
  txMbps: number[];
}

/**
 * Samples the ports' counters for the screen: Mbit/s come from the bytes the ports count,
 * the only byte counts there are (the generator's engines count packets).
 */
export class PortSampler {
  readonly #app: Pktgen;
  #previous: { atMs: number; stats: PortStats[] } | null = null;

  /** A sampler of `app`'s ports; the first sample has rates of 0. */
  constructor(app: Pktgen) {
    this.#app = app;
  }

  /** Reads every port's counters; rates are over the time since the last call. */
  sample(): PortRates {
    const atMs = Date.now();
    const stats = this.#app.ports.map((port) => port.stats());
    const previous = this.#previous;
    const seconds = previous === null ? 0 : (atMs - previous.atMs) / 1000;
    const mbps = (now: number, before: number): number => (seconds > 0 ? ((now - before) * 8) / 1e6 / seconds : 0);
    this.#previous = { atMs, stats };
    return {
      stats,
      rxMbps: stats.map((s, i) => (previous === null ? 0 : mbps(s.rxBytes, previous.stats[i].rxBytes))),
      txMbps: stats.map((s, i) => (previous === null ? 0 : mbps(s.txBytes, previous.stats[i].txBytes))),
    };
  }
}

function mbitText(mbps: number): string {
  return mbps >= 1000 ? String(Math.round(mbps)) : mbps.toFixed(1);
}

// Latency in microseconds: tenths below 100 us, whole ones above (a busy machine's
// milliseconds would not fit the column otherwise).
function microseconds(ns: number): string {
  const us = ns / 1000;
  return us < 100 ? us.toFixed(1) : String(Math.round(us));
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * The page: a title line, a header with the ports that fit in `columns` (pktgen-dpdk's
 * "Ports 0-1 of 2"), one line per measure with a column per port and the total, and a rule
 * under it. Lines are cut at `columns`.
 */
export function screenPage(app: Pktgen, rates: PortRates, elapsedS: number, columns: number): string[] {
  const reports = app.reports();
  const fitting = Math.max(1, Math.floor((columns - labelWidth - columnWidth) / columnWidth));
  const shown = reports.slice(0, fitting);
  const { stats, rxMbps, txMbps } = rates;
  // A space before each cell keeps cells apart even when one is wider than its column.
  const row = (label: string, cell: (r: PortReport) => string, total = ''): string =>
    label.padEnd(labelWidth) + [...shown.map(cell), total].map((text) => ` ${text.padStart(columnWidth - 1)}`).join('');
  const totalOf = (value: (r: PortReport) => number): string => String(sum(reports.map(value)));
  const pair = (a: number, b: number): string => `${a}/${b}`;
  const title =
    `pktgen.ts  ports ${shown[0].port}-${shown[shown.length - 1].port} of ${reports.length}  ` +
    `${app.running ? 'running' : app.started ? 'stopped' : 'idle'}  ${elapsedS.toFixed(0)} s`;
  const lines = [
    title,
    row('', (r) => `Port ${r.port}`, 'Total'),
    row('Link / state', (r) => `${r.linkUp ? 'up' : 'down'} / ${r.state}`),
    row(
      'Pkts/s Rx',
      (r) => String(r.rxPps),
      totalOf((r) => r.rxPps),
    ),
    row(
      '       Tx',
      (r) => String(r.txPps),
      totalOf((r) => r.txPps),
    ),
    row(
      'Mbit/s Rx/Tx',
      (r) => `${mbitText(rxMbps[r.port])}/${mbitText(txMbps[r.port])}`,
      `${mbitText(sum(rxMbps))}/${mbitText(sum(txMbps))}`,
    ),
    row(
      'Total Rx pkts',
      (r) => String(r.received),
      totalOf((r) => r.received),
    ),
    row(
      '      Tx pkts',
      (r) => String(r.sent),
      totalOf((r) => r.sent),
    ),
    row(
      'Tx blocked / missing',
      (r) => pair(r.txBlocked, r.missing),
      pair(sum(reports.map((r) => r.txBlocked)), sum(reports.map((r) => r.missing))),
    ),
    row(
      'Errors Rx/Tx',
      (r) => pair(stats[r.port].rxErrors, stats[r.port].txErrors),
      pair(sum(stats.map((s) => s.rxErrors)), sum(stats.map((s) => s.txErrors))),
    ),
    row(
      'Missed / rx_nombuf',
      (r) => pair(stats[r.port].rxMissed, stats[r.port].rxNoMbuf),
      pair(sum(stats.map((s) => s.rxMissed)), sum(stats.map((s) => s.rxNoMbuf))),
    ),
    row('Latency min/avg/max us', (r) =>
      r.latency === null
        ? '-'
        : `${microseconds(r.latency.minNs)}/${microseconds(r.latency.avgNs)}/${microseconds(r.latency.maxNs)}`,
    ),
    row('Count / size', (r) => {
      const settings = app.settings[r.port];
      return `${settings.count === 0 ? 'forever' : settings.count}/${settings.size}`;
    }),
    row('Rate pps', (r) => String(r.ratePps)),
  ];
  return [...lines, '-'.repeat(Math.min(columns, labelWidth + columnWidth * (shown.length + 1)))].map((line) =>
    line.slice(0, columns),
  );
}

/**
 * The screen on terminal `out`: {@link PktgenScreen.open} enters it, {@link
 * PktgenScreen.redraw} draws the page again (once a second), {@link PktgenScreen.close}
 * leaves it; the page's lines come from `page(columns)`.
 */
export class PktgenScreen {
  readonly #out: NodeJS.WriteStream;
  readonly #page: (columns: number) => string[];
  // The page's height as last laid out: the scrolling region starts below it.
  #height = 0;
  #open = false;
  // Whatever ends the process (process.exit in a signal handler, an error) leaves the screen.
  readonly #onExit = (): void => this.close();

  /** A screen on `out` (a terminal) showing `page(columns)` at its top; nothing is drawn yet. */
  constructor(out: NodeJS.WriteStream, page: (columns: number) => string[]) {
    this.#out = out;
    this.#page = page;
  }

  /**
   * Enters the alternate screen and lays it out for the terminal's size: the page at the
   * top, the scrolling region under it, the cursor on its last line.
   */
  open(): void {
    if (this.#open) return;
    this.#open = true;
    process.on('exit', this.#onExit);
    this.#out.write(esc.alternateScreen);
    this.#layOut();
  }

  /**
   * Lays the screen out anew for the terminal's new size; returns false when the screen is
   * closed. What the scrolling region held is cleared: the caller redraws its command line.
   */
  resize(): boolean {
    if (this.#open) this.#layOut();
    return this.#open;
  }

  #layOut(): void {
    const rows = this.#out.rows;
    // At least two lines of the scrolling region stay for the command line and its output.
    this.#height = Math.max(0, Math.min(this.#page(this.#out.columns).length, rows - 2));
    this.#out.write(
      esc.resetScrollRegion + esc.clearScreen + esc.scrollRegion(this.#height + 1, rows) + esc.moveTo(rows),
    );
    this.redraw();
  }

  /**
   * Draws the page over the previous one in one write, line by line from the top with the
   * rest of each line cleared (no clearing of the screen: no flicker), then puts the
   * cursor back on the command line.
   */
  redraw(): void {
    if (!this.#open) return;
    const lines = this.#page(this.#out.columns).slice(0, this.#height);
    const drawn = lines.map((line, i) => esc.moveTo(i + 1) + line + esc.clearToEndOfLine).join('');
    this.#out.write(esc.hideCursor + esc.saveCursor + drawn + esc.restoreCursor + esc.showCursor);
  }

  /** Leaves the screen: whole-terminal scrolling, the cursor shown, the normal screen back. Can run twice. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    process.off('exit', this.#onExit);
    this.#out.write(esc.resetScrollRegion + esc.showCursor + esc.normalScreen);
  }
}
