/**
 * The lab's results as people and programs read them: a summary per experiment (tables of
 * the generator's ports, OVS's flows and ports, the checks, the apps' counters and the
 * full-rate figures) and the whole run as JSON.
 */
import { writeFileSync } from 'node:fs';
import { formatTable } from '../../examples/app.js';
import type { Spread } from './comparison.js';
import type { ExperimentResult, ForwarderResult } from './experiments.js';
import type { FaultResult } from './faults.js';
import { formatMove } from './hosts-move.js';
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

function formatNs(ns: number | undefined | null): string {
  return ns === undefined || ns === null
    ? '-'
    : ns >= 1e6
      ? `${(ns / 1e6).toFixed(2)} ms`
      : `${(ns / 1e3).toFixed(1)} us`;
}

function formatSpread(spread: Spread | null, format: (value: number) => string): string {
  if (spread === null) return '-';
  return spread.min === spread.max
    ? format(spread.median)
    : `${format(spread.median)} (${format(spread.min)}-${format(spread.max)})`;
}

/**
 * The full-rate comparison: a row per forwarder, medians over the rounds with the
 * smallest and largest round in brackets, and each forwarder's counted-run verdict.
 */
function forwarderTable(forwarders: readonly ForwarderResult[]): string[] {
  const mpps = (value: number): string => value.toFixed(3);
  const ratio = (value: number): string => `${value.toFixed(2)}x`;
  const zeroLoss = forwarders.some((forwarder) => forwarder.summary?.zeroLossMpps != null);
  const rows = [
    [
      'forwarder',
      'counted',
      'rounds',
      'offered Mpps',
      'received Mpps',
      'loss',
      'lat avg',
      'p99',
      'max',
      'vs C',
      ...(zeroLoss ? ['zero-loss Mpps', 'lat avg there', 'vs C'] : []),
    ],
  ];
  const errors: string[] = [];
  for (const forwarder of forwarders) {
    const summary = forwarder.summary;
    const checks = forwarder.counted?.checks;
    rows.push([
      forwarder.label,
      checks === undefined ? '-' : checks.every((check) => check.ok !== false) ? 'exact' : 'FAIL',
      String(summary?.rounds ?? 0),
      summary === null ? '-' : formatSpread(summary.offeredMpps, mpps),
      summary === null ? '-' : formatSpread(summary.receivedMpps, mpps),
      summary === null ? '-' : formatSpread(summary.loss, (value) => `${(value * 100).toFixed(1)}%`),
      formatSpread(summary?.latencyAvgNs ?? null, formatNs),
      formatSpread(summary?.latencyP99Ns ?? null, formatNs),
      formatSpread(summary?.latencyMaxNs ?? null, formatNs),
      formatSpread(summary?.ratioToC ?? null, ratio),
      ...(zeroLoss
        ? [
            formatSpread(summary?.zeroLossMpps ?? null, mpps),
            formatSpread(summary?.zeroLossLatencyAvgNs ?? null, formatNs),
            formatSpread(summary?.zeroLossRatioToC ?? null, ratio),
          ]
        : []),
    ]);
    if (forwarder.error !== undefined) errors.push(`  ${forwarder.label}: ${forwarder.error}`);
  }
  return [
    "full rate, every forwarder in turn (median of the rounds, smallest-largest in brackets; vs C: received Mpps over the C forwarder's in the same round; p99: the larger port's histogram estimate" +
      (zeroLoss
        ? "; zero-loss: the highest rate both ports offered with nothing lost in a 1 s trial, 2% resolution, with the mean latency in a trial at that rate and its ratio to C's)"
        : ')') +
      ':',
    formatTable(rows),
    ...errors,
  ];
}

/** An experiment's result as text: PASS or FAIL, then its tables and checks. */
export function summary(result: ExperimentResult): string {
  const lines = [
    `\n=== ${result.name}: ${result.pass ? 'PASS' : 'FAIL'}${result.error === undefined ? '' : ` (${result.error})`}`,
  ];
  if (result.counted !== undefined) {
    const rows = [['generator port', 'sent', 'received', 'tx blocked', 'tx skipped', 'latency avg', 'p99']];
    for (const port of result.counted.generator.ports) {
      rows.push([
        String(port.port),
        String(port.sent),
        String(port.received),
        String(port.txBlocked),
        String(port.txSkipped),
        formatNs(port.latency?.avgNs),
        formatNs(port.latency?.percentilesNs.p99),
      ]);
    }
    lines.push('counted run:', formatTable(rows));
    lines.push(
      formatTable([
        ['OVS flow', 'packets'],
        ...result.counted.ovs.flows.map((flow) => [flow.flow, String(flow.packets)]),
      ]),
    );
    lines.push(
      formatTable([
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
  if (result.forwarders !== undefined) lines.push(...forwarderTable(result.forwarders));
  const limit = result.ovsLimit;
  if (limit !== undefined) {
    const mpps = (value: number): string => `${value.toFixed(3)} Mpps`;
    lines.push(
      `over ${limit.seconds.toFixed(1)} s, OVS (CPU ${limit.ovsCpu}) took in ${mpps(limit.ovsRxMpps)} from testpmd (CPU ${limit.testpmdCpu}), ` +
        `delivered ${mpps(limit.ovsTxMpps)}, dropped ${mpps(limit.ovsTxDroppedMpps)} on full rings`,
      `experiment 1 crosses OVS twice per packet: with OVS on one CPU it receives at most ${mpps(limit.experiment1BoundMpps)}`,
    );
  }
  if (result.fault !== undefined) lines.push(...faultLines(result.fault));
  if (result.move !== undefined) {
    lines.push(formatMove(result.move.figures));
    for (const check of result.move.checks) lines.push(`  ${check.ok === false ? 'FAIL' : 'ok  '} ${check.what}`);
  }
  return lines.join('\n');
}

/** A fault run's figures, what happened when, and its checks. */
function faultLines(fault: FaultResult): string[] {
  const f = fault.figures;
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
  const lines = [
    `${fault.forwarder} forwarding, each generator port at ${fault.ratePps === 0 ? 'the line rate' : `${fault.ratePps} pps`}; ` +
      `the generator sampled its counters every ${f.intervalMs} ms`,
    `outage: ${f.outageMs === null ? 'traffic never resumed on every port' : f.outageMs === 0 ? 'none (traffic never stopped)' : `${f.outageMs} ms (+${f.intervalMs} ms resolution)`}` +
      (f.window === null ? '' : `, from ${seconds(f.window.fromMs)} to ${seconds(f.window.toMs)}`),
    `packets: sent ${f.sent}, received ${f.received}, lost ${f.lost}: ${f.lostBefore} before the fault's window, ` +
      `${f.lostDuring} in it, ${f.lostAfter} after (± ${f.inFlightTolerance} in flight at each edge); ` +
      `the generator gave up ${fault.skipped} it fell behind on, rather than send them late`,
    formatTable([
      ['at', 'what'],
      ...[
        ...fault.events,
        ...fault.links.map((link) => ({ atMs: link.atMs, what: `link ${link.up ? 'up' : 'down'}: ${link.port}` })),
      ]
        .sort((a, b) => a.atMs - b.atMs)
        .map((event) => [seconds(event.atMs), event.what]),
    ]),
  ];
  for (const check of fault.checks) lines.push(`  ${check.ok === false ? 'FAIL' : 'ok  '} ${check.what}`);
  return lines;
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
