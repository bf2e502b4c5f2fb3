/**
 * What `npm run bench:ovn` reports: every run of every point, each measure's median and
 * spread over the runs, and the Markdown beside the JSON.
 */
import { spread, type Spread } from '../bench/statistics.js';
import type { RunResult } from './measure.js';

/** The measures summed up over a point's runs, by the report's name for them. */
export const measures = {
  portsPerSecond: { title: 'NB writes', unit: 'ports/s', read: (run: RunResult) => run.portsPerSecond },
  sbCatchUpMs: { title: 'nb_cfg -> sb_cfg (northd)', unit: 'ms', read: (run: RunResult) => run.sbCatchUpMs },
  hvCatchUpMs: { title: 'nb_cfg -> hv_cfg (chassis)', unit: 'ms', read: (run: RunResult) => run.hvCatchUpMs },
  bindMs: { title: 'claims -> every NB port up', unit: 'ms', read: (run: RunResult) => run.bindMs },
  logicalFlows: { title: 'SB Logical_Flow rows', unit: 'rows', read: (run: RunResult) => run.logicalFlows },
  replicaMs: { title: 'SB replica: initial load', unit: 'ms', read: (run: RunResult) => run.replicaMs },
  replicaHeapMiB: {
    title: 'SB replica: JS heap',
    unit: 'MiB',
    read: (run: RunResult) => run.replicaHeapBytes / 2 ** 20,
  },
  sbServerRssMiB: {
    title: 'ovsdb-server SB: RSS',
    unit: 'MiB',
    read: (run: RunResult) => (run.daemonRssBytes['sb-ovsdb'] ?? NaN) / 2 ** 20,
  },
  northdRssMiB: {
    title: 'ovn-northd: RSS',
    unit: 'MiB',
    read: (run: RunResult) => (run.daemonRssBytes['ovn-northd'] ?? NaN) / 2 ** 20,
  },
  controllerRssMiB: {
    title: 'ovn-controller: RSS (largest)',
    unit: 'MiB',
    read: (run: RunResult) => (run.daemonRssBytes['ovn-controller'] ?? NaN) / 2 ** 20,
  },
} as const;

/** The name of a summed-up measure. */
export type MeasureName = keyof typeof measures;

/** One point (chassis, ports): its runs, and each measure's spread over them. */
export interface PointResult {
  chassis: number;
  ports: number;
  runs: RunResult[];
  summary: Record<MeasureName, Spread>;
}

/** NB write throughput at one transaction size. */
export interface TransactionSizeResult {
  transactionSize: number;
  chassis: number;
  ports: number;
  /** Each run's ports per second, and their spread. */
  portsPerSecond: number[];
  summary: Spread;
}

/** What `--json FILE` holds. */
export interface OvnScaleReport {
  kind: 'ovn-scale';
  date: string;
  machine: { cpus: number; cpuModel: string; loadAverageBefore: number[]; loadAverageAfter: number[] };
  ovnVersion: string;
  options: {
    chassis: number[];
    ports: number[];
    repeats: number;
    transactionSize: number;
    transactionSizes: number[];
    portsPerSwitch: number;
    controllers: number;
  };
  /** How hv_cfg advances: the benchmark acknowledges nb_cfg for its fake chassis, and real controllers if any. */
  hvCfg: string;
  points: PointResult[];
  transactionSizes: TransactionSizeResult[];
}

/** Sums up the runs of a point. */
export function summarizePoint(chassis: number, ports: number, runs: RunResult[]): PointResult {
  const summary = Object.fromEntries(
    Object.entries(measures).map(([name, measure]) => [name, spread(runs.map(measure.read))]),
  ) as Record<MeasureName, Spread>;
  return { chassis, ports, runs, summary };
}

const figure = (value: number): string =>
  Number.isNaN(value) ? 'n/a' : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
const cell = (s: Spread): string => `${figure(s.median)} (${figure(s.min)}-${figure(s.max)})`;

/** The Markdown report: settings, then one table row per point and one per transaction size. */
export function markdown(report: OvnScaleReport): string {
  const { options, machine } = report;
  // ovn-controller's RSS is absent without --controllers.
  const names = (Object.keys(measures) as MeasureName[]).filter((name) =>
    report.points.some((point) => Number.isFinite(point.summary[name].median)),
  );
  const lines = [
    `# OVN control-plane scale (${report.date})`,
    '',
    `${machine.cpus} x ${machine.cpuModel}; load average ${machine.loadAverageBefore.join(', ')} before, ` +
      `${machine.loadAverageAfter.join(', ')} after. ${report.ovnVersion}. Each point runs ${options.repeats} time(s) ` +
      `on a fresh central (NB and SB ovsdb-server, ovn-northd); ports written ${options.transactionSize} per NB ` +
      `transaction, ${options.portsPerSwitch} per logical switch, all switches on one router. ${report.hvCfg}`,
    '',
    'Each cell: median (smallest-largest run). A shared 2-CPU virtual machine is noisy: read the spread with the median.',
    '',
    `| fake chassis | ports | ${names.map((name) => `${measures[name].title} (${measures[name].unit})`).join(' | ')} | NB ports = SB bound |`,
    `| ---: | ---: |${' ---: |'.repeat(names.length)} --- |`,
  ];
  for (const point of report.points) {
    const counts = point.runs.every((run) => run.nbPorts === point.ports && run.sbBoundPorts === point.ports);
    lines.push(
      `| ${point.chassis} | ${point.ports} | ${names.map((name) => cell(point.summary[name])).join(' | ')} | ${counts ? 'yes' : 'NO'} |`,
    );
  }
  if (report.transactionSizes.length > 0) {
    lines.push(
      '',
      'NB write throughput by transaction size:',
      '',
      '| ports per transaction | chassis | ports | ports/s |',
    );
    lines.push('| ---: | ---: | ---: | ---: |');
    for (const size of report.transactionSizes) {
      lines.push(`| ${size.transactionSize} | ${size.chassis} | ${size.ports} | ${cell(size.summary)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
