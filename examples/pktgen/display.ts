/**
 * What pktgen.ts shows outside its terminal screen (./screen.ts): the stats table (`page
 * stats`, the final report), the progress line printed once a second when stdout is not a
 * terminal; notices on stderr.
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
    ['Tx skipped', (r) => String(r.txSkipped)],
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
