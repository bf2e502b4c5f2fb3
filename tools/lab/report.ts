/**
 * The lab's results as people and programs read them: a summary per experiment (tables of
 * the generator's ports, OVS's flows and ports, the checks, the apps' counters and the
 * full-rate figures) and the whole run as JSON.
 */
import { writeFileSync } from 'node:fs';
import type { ExperimentResult } from './experiments.js';
import type { LabOptions } from './options.js';

/** The JSON file the lab writes (`--json PATH`). */
export interface LabReport {
  /** When the run ended. */
  date: string;
  options: LabOptions;
  /** True when at least one experiment ran and every one passed. */
  pass: boolean;
  experiments: ExperimentResult[];
}

function formatNs(ns: number | undefined): string {
  return ns === undefined ? '-' : ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} us`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** An experiment's result as text: PASS or FAIL, then its tables and checks. */
export function summary(result: ExperimentResult): string {
  const lines = [
    `\n=== ${result.name}: ${result.pass ? 'PASS' : 'FAIL'}${result.error === undefined ? '' : ` (${result.error})`}`,
  ];
  if (result.counted !== undefined) {
    const rows = [['generator port', 'sent', 'received', 'dropped', 'latency avg', 'p99']];
    for (const port of result.counted.generator.ports) {
      rows.push([
        String(port.port),
        String(port.sent),
        String(port.received),
        String(port.dropped),
        formatNs(port.latency?.avgNs),
        formatNs(port.latency?.percentilesNs.p99),
      ]);
    }
    lines.push('counted run:', table(rows));
    lines.push(
      table([['OVS flow', 'packets'], ...result.counted.ovs.flows.map((flow) => [flow.flow, String(flow.packets)])]),
    );
    lines.push(
      table([
        ['OVS port', 'rx', 'tx', 'rx dropped', 'tx dropped'],
        ...result.counted.ovs.ports.map((port) => [
          `${port.port} ${port.name}`,
          ...[port.rx, port.tx, port.rxDropped, port.txDropped].map((n) => (n === null ? 'n/a' : String(n))),
        ]),
      ]),
    );
    for (const check of result.counted.checks) {
      lines.push(
        `  ${check.ok === null ? 'n/a ' : check.ok ? 'ok  ' : 'FAIL'} ${check.what}${check.ok === null ? ' (OVS reports no counters for these ports)' : ''}`,
      );
    }
  }
  for (const [name, app] of Object.entries(result.apps))
    lines.push(`${name}: ${app === undefined ? '(no summary)' : JSON.stringify(app)}`);
  if (result.fullRate !== undefined) {
    const rows = [['full rate', 'sent', 'received', 'dropped']];
    for (const port of result.fullRate.generator.ports)
      rows.push([`port ${port.port}`, String(port.sent), String(port.received), String(port.dropped)]);
    lines.push(
      `full-rate run, ${result.fullRate.seconds} s: ${result.fullRate.mpps.toFixed(3)} Mpps received`,
      table(rows),
    );
  }
  return lines.join('\n');
}

/** Writes the run's report as JSON to `path` and returns it. */
export function writeReport(path: string, options: LabOptions, results: ExperimentResult[]): LabReport {
  const report: LabReport = {
    date: new Date().toISOString(),
    options,
    pass: results.length > 0 && results.every((r) => r.pass),
    experiments: results,
  };
  writeFileSync(path, JSON.stringify(report, null, 2));
  return report;
}
