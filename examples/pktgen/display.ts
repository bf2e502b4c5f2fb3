/**
 * What pktgen.ts shows: the stats table (`page stats`, the final report), the live rows of
 * a terminal's top lines, the progress line printed once a second elsewhere, and the
 * live screen that keeps those rows above the prompt; notices on stderr.
 */
import { formatTable } from '../app.js';
import type { Pktgen, PortSettings } from './generator.js';
import type { PortReport } from './report.js';

/** Prints a line for the user on stderr, after `pktgen: ` (stdout may hold the JSON report). */
export function notice(text: string): void {
  process.stderr.write(`pktgen: ${text}\n`);
}

function microseconds(ns: number): string {
  return (ns / 1000).toFixed(1);
}

function rateText(settings: PortSettings, report: PortReport): string {
  return settings.rate.unit === 'percent'
    ? `${settings.rate.value}% = ${report.ratePps} pps`
    : settings.rate.value === 0
      ? 'unlimited'
      : `${report.ratePps} pps`;
}

/** The full table: one column per port, like pktgen's main page. */
export function statsTable(app: Pktgen): string {
  const reports = app.reports();
  const rows: [string, (report: PortReport, settings: PortSettings) => string][] = [
    ['Name', (r) => r.name],
    ['Link / state', (r) => `${r.linkUp ? 'up' : 'down'} / ${r.state}`],
    ['Lcore', (r) => String(r.lcore)],
    ['Count', (_, s) => (s.count === 0 ? 'forever' : String(s.count))],
    ['Size (bytes)', (_, s) => String(s.size)],
    ['Rate', (r, s) => rateText(s, r)],
    ['Src MAC', (_, s) => s.srcMac],
    ['Dst MAC', (_, s) => s.dstMac],
    [
      'Flows',
      (_, s) =>
        s.dstPorts.length === 1
          ? String(s.flows)
          : `${s.flows * s.dstPorts.length} (${s.flows} sport x ${s.dstPorts.length} dport)`,
    ],
    ['Src IP:port', (_, s) => `${s.srcIp}:${s.flows === 1 ? s.srcPort : `${s.srcPort}-${s.srcPort + s.flows - 1}`}`],
    ['Dst IP:port', (_, s) => `${s.dstIp}:${s.dstPorts.join(',')}`],
    ['Sent', (r) => String(r.sent)],
    ['Tx blocked', (r) => String(r.txBlocked)],
    ['Tx pps', (r) => String(r.txPps)],
    ['Received', (r) => `${r.received} (from port ${r.peer})`],
    ['Missing', (r) => String(r.missing)],
    ['Rx pps', (r) => String(r.rxPps)],
    [
      'Latency min/avg/max us',
      (r) =>
        r.latency === null
          ? '-'
          : `${microseconds(r.latency.minNs)}/${microseconds(r.latency.avgNs)}/${microseconds(r.latency.maxNs)}`,
    ],
    [
      'Latency p50/p99 us',
      (r) =>
        r.latency === null
          ? '-'
          : `${microseconds(r.latency.percentilesNs.p50)}/${microseconds(r.latency.percentilesNs.p99)}` +
            (r.latency.percentilesExact
              ? ''
              : ` (estimated: true value up to ${microseconds(r.latency.resolutionNs.p50)}/${microseconds(r.latency.resolutionNs.p99)} lower)`),
    ],
  ];
  const cells = rows.map(([label, cell]) => [label, ...reports.map((r) => cell(r, app.settings[r.port]))]);
  const header = ['', ...reports.map((r) => `Port ${r.port}`)];
  return formatTable([header, ...cells]);
}

/** One line per port (under a header line), for the live view. */
export function liveRows(app: Pktgen): string[] {
  const format = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(5) : cell.padStart(11))).join(' ');
  return [
    format([
      'Port',
      'State',
      'Sent',
      'Tx pps',
      'Received',
      'Rx pps',
      'Tx blocked',
      'Missing',
      'Lat avg us',
      'Lat p99 us',
    ]),
    ...app.reports().map((r) =>
      format([
        String(r.port),
        r.state,
        String(r.sent),
        String(r.txPps),
        String(r.received),
        String(r.rxPps),
        String(r.txBlocked),
        String(r.missing),
        r.latency === null ? '-' : microseconds(r.latency.avgNs),
        // "~": estimated from the histogram (more samples than the engine keeps).
        r.latency === null
          ? '-'
          : `${r.latency.percentilesExact ? '' : '~'}${microseconds(r.latency.percentilesNs.p99)}`,
      ]),
    ),
  ];
}

/** The live line printed once a second when stdout is not a terminal. */
export function progressLine(app: Pktgen, elapsedS: number): string {
  return [
    `pktgen: ${elapsedS.toFixed(1)}s`,
    ...app
      .reports()
      .map(
        (r) =>
          `port ${r.port} ${r.state}: sent ${r.sent} (${r.txPps} pps) received ${r.received} (${r.rxPps} pps) tx blocked ${r.txBlocked}`,
      ),
  ].join(' | ');
}

/**
 * The top of a terminal, redrawn in place, above a scrolling region where the prompt and
 * command output live (what pktgen's screen does).
 */
export class LiveScreen {
  readonly #out: NodeJS.WriteStream;
  readonly #lines: () => string[];
  readonly #height: number;

  /** A screen on terminal `out` whose top shows `lines()` (as many lines as it returns now). */
  constructor(out: NodeJS.WriteStream, lines: () => string[]) {
    this.#out = out;
    this.#lines = lines;
    this.#height = lines().length + 1;
  }

  /** Clears the terminal, sets the scrolling region below the top lines and draws them (again after a resize). */
  open(): void {
    const rows = this.#out.rows;
    this.#out.write(`\x1b[2J\x1b[${this.#height + 1};${rows}r\x1b[${rows};1H`);
    this.redraw();
  }

  /** Draws the top lines again, leaving the cursor where it was. */
  redraw(): void {
    const columns = this.#out.columns;
    const lines = this.#lines().map((line) => line.slice(0, columns));
    this.#out.write(
      `\x1b7${lines.map((line, i) => `\x1b[${i + 1};1H${line}\x1b[K`).join('')}\x1b[${this.#height};1H${'-'.repeat(Math.min(columns, 80))}\x1b8`,
    );
  }

  /** Gives the whole terminal back to scrolling, the cursor at its bottom. */
  close(): void {
    this.#out.write(`\x1b[r\x1b[${this.#out.rows};1H\n`);
  }
}
