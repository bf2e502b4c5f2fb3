/**
 * `npm run bench:ovn`: the OVN control plane at scale, driven through dpdk-ts's OVSDB client.
 * For every point (chassis x ports), `--repeats` times on a fresh central: fake chassis in
 * the SB, the logical ports written to the NB (`--txn` per transaction), the time until
 * northd (`sb_cfg`) and the chassis (`hv_cfg`) catch up, the ports claimed and reported up,
 * then the cost of a replica of the whole SB in this process and the daemons' RSS. Then the
 * NB write throughput at each `--txn-sizes`.
 *
 *   npm run bench:ovn -- [--chassis 10,200] [--ports 500,2000,5000] [--repeats 3] [--txn 100]
 *     [--txn-sizes 1,10,100,1000] [--ports-per-switch 100] [--controllers 2] [--json FILE]
 *
 * Writes FILE (default tools/ovn-scale/results/latest.json), the Markdown beside it
 * (FILE.md) and the charts (FILE-growth.svg, FILE-transactions.svg).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../../examples/app.js';
import { spread } from '../bench/statistics.js';
import { writeCharts } from '../charts/index.js';
import { runPoint } from './measure.js';
import { markdown, summarizePoint, type OvnScaleReport } from './report.js';

/** The benchmark's settings from the command line. */
export interface OvnScaleOptions {
  chassis: number[];
  ports: number[];
  repeats: number;
  transactionSize: number;
  transactionSizes: number[];
  portsPerSwitch: number;
  /** Real chassis (ovn-controller on a dummy ovs-vswitchd) beside the fake ones. */
  controllers: number;
  json: string;
}

const usage =
  'usage: npm run bench:ovn -- [--chassis 10,200] [--ports 500,2000,5000] [--repeats 3] [--txn 100] ' +
  '[--txn-sizes 1,10,100,1000 (none: "")] [--ports-per-switch 100] [--controllers 2] [--json FILE]';

function integers(option: string, text: string | undefined, min: number, max: number, empty = false): number[] {
  if (text === undefined) throw new UsageError(`${option} needs a value`);
  if (text === '' && empty) return [];
  const values = text.split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < min || value > max)) {
    throw new UsageError(`${option} takes integers from ${min} to ${max}, separated by commas, got '${text}'`);
  }
  return values;
}

/** Parses the command line. */
export function parseOptions(args: readonly string[]): OvnScaleOptions {
  const options: OvnScaleOptions = {
    chassis: [10, 200],
    ports: [500, 2000, 5000],
    repeats: 3,
    transactionSize: 100,
    transactionSizes: [1, 10, 100, 1000],
    portsPerSwitch: 100,
    controllers: 2,
    json: join(__dirname, 'results', 'latest.json'),
  };
  for (let i = 0; i < args.length; i++) {
    const [name, attached] = args[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string | undefined => attached ?? args[++i];
    switch (name) {
      case '--chassis':
        options.chassis = integers(name, value(), 1, 100_000);
        break;
      case '--ports':
        options.ports = integers(name, value(), 1, 1_000_000);
        break;
      case '--repeats':
        options.repeats = integers(name, value(), 1, 50)[0]!;
        break;
      case '--txn':
        options.transactionSize = integers(name, value(), 1, 100_000)[0]!;
        break;
      case '--txn-sizes':
        options.transactionSizes = integers(name, value(), 1, 100_000, true);
        break;
      case '--ports-per-switch':
        options.portsPerSwitch = integers(name, value(), 1, 250)[0]!;
        break;
      case '--controllers':
        options.controllers = integers(name, value(), 0, 16)[0]!;
        break;
      case '--json': {
        const path = value();
        if (path === undefined || path === '') throw new UsageError('--json needs a file name');
        options.json = path;
        break;
      }
      default:
        throw new UsageError(`unknown option '${args[i]}'`);
    }
  }
  return options;
}

const rounded = (values: number[]): number[] => values.map((value) => Math.round(value * 100) / 100);

/** Runs the benchmark; `progress` hears a line per run. */
export async function runBenchmark(
  options: OvnScaleOptions,
  progress: (line: string) => void,
): Promise<OvnScaleReport> {
  const report: OvnScaleReport = {
    kind: 'ovn-scale',
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadAverageBefore: rounded(loadavg()),
      loadAverageAfter: [],
    },
    ovnVersion: execFileSync('ovn-northd', ['--version'], { encoding: 'utf8' }).split('\n')[0]!,
    options: {
      chassis: options.chassis,
      ports: options.ports,
      repeats: options.repeats,
      transactionSize: options.transactionSize,
      transactionSizes: options.transactionSizes,
      portsPerSwitch: options.portsPerSwitch,
      controllers: options.controllers,
    },
    hvCfg:
      'hv_cfg: the benchmark acts as the fake chassis, acknowledging each SB nb_cfg for all of them in one transaction' +
      (options.controllers > 0
        ? `; ${options.controllers} real ovn-controller(s) on dummy datapaths, with their share of the ports, ` +
          'are waited for too, so hv_cfg includes a real chassis computing and installing its flows.'
        : ', so hv_cfg - sb_cfg is northd and the SB server gathering the acknowledgements (no real chassis: --controllers 0).'),
    points: [],
    transactionSizes: [],
  };
  const workload = { portsPerSwitch: options.portsPerSwitch, transactionSize: options.transactionSize };
  for (const chassis of options.chassis) {
    for (const ports of options.ports) {
      const runs = [];
      for (let repeat = 0; repeat < options.repeats; repeat++) {
        const run = await runPoint(chassis, { ...workload, ports }, options.controllers);
        progress(
          `${chassis} chassis, ${ports} ports, run ${repeat + 1}: ${run.portsPerSecond.toFixed(0)} ports/s, ` +
            `sb_cfg ${run.sbCatchUpMs.toFixed(0)} ms, hv_cfg ${run.hvCatchUpMs.toFixed(0)} ms, ` +
            `${run.logicalFlows} logical flows, replica ${(run.replicaHeapBytes / 2 ** 20).toFixed(1)} MiB`,
        );
        runs.push(run);
      }
      report.points.push(summarizePoint(chassis, ports, runs));
    }
  }
  const sweepChassis = options.chassis[0]!;
  const sweepPorts = Math.min(...options.ports);
  for (const transactionSize of options.transactionSizes) {
    const rates: number[] = [];
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      const run = await runPoint(
        sweepChassis,
        { ...workload, transactionSize, ports: sweepPorts },
        options.controllers,
      );
      rates.push(run.portsPerSecond);
    }
    progress(`${transactionSize} ports per transaction: ${rates.map((rate) => rate.toFixed(0)).join(', ')} ports/s`);
    report.transactionSizes.push({
      transactionSize,
      chassis: sweepChassis,
      ports: sweepPorts,
      portsPerSecond: rates,
      summary: spread(rates),
    });
  }
  report.machine.loadAverageAfter = rounded(loadavg());
  return report;
}

/** Writes the JSON, the Markdown (`FILE.md`) and the charts; returns the files written. */
export async function writeReport(report: OvnScaleReport, json: string): Promise<string[]> {
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const md = json.replace(/\.json$/, '') + '.md';
  writeFileSync(md, markdown(report));
  return [json, md, ...(await writeCharts(json, report))];
}

async function main(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    console.log(usage);
    return 0;
  }
  let options: OvnScaleOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench:ovn: ${error.message}\n${usage}`);
    return 2;
  }
  const report = await runBenchmark(options, (line) => console.log(line));
  console.log((await writeReport(report, options.json)).join('\n'));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`bench:ovn: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
