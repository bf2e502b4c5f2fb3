/**
 * What `npm run bench` reports: each forwarder's rounds summed up (median, interquartile
 * range, best round, ratios to testpmd) and the tables of tools/bench/results/latest.{json,md}.
 */
import { median, spread } from './statistics.js';

/** Which program forwards. */
export type ForwarderKind = 'testpmd' | 'dpdk-ts TS loop' | 'dpdk-ts native Engine' | 'dpdk-ts native filter';

/**
 * The forwarders, in the order they take turns in a round; the first is the reference. The
 * native filter is the native Engine with an IPS's rules in front (see run.ts's filterRules).
 */
export const forwarders: ForwarderKind[] = [
  'testpmd',
  'dpdk-ts TS loop',
  'dpdk-ts native Engine',
  'dpdk-ts native filter',
];

/** One round's rates of one forwarder. */
export interface Sample {
  /** Packets sent per second, in Mpps. */
  mpps: number;
  /** Packets sent per second of CPU time the forwarder used, in Mpps. */
  mppsPerCpu: number;
  /** Packets received per second, in Mpps, where the source is another process. */
  receivedMpps?: number;
  /** CPU time the forwarder process got over the window's wall time (1: a whole CPU). */
  cpuShare: number;
  /** The same for the traffic source, where it is another process. */
  sourceCpuShare?: number;
  /** The machine's 1-minute load average when the window closed. */
  loadAverage: number;
}

/** One forwarder's rate on one topology, over every round. */
export interface Measurement {
  forwarder: ForwarderKind;
  /** Every round's rate, in Mpps, in the order taken. */
  samples: number[];
  /** The 1-minute load average at the end of each round's window. */
  loadAverages: number[];
  /** Each round's CPU share of the forwarder (1: a whole CPU; less: other load took some). */
  cpuShares: number[];
  /** Each round's CPU share of the traffic source, where it is another process. */
  sourceCpuShares?: number[];
  /** Median over the rounds, in Mpps. */
  mpps: number;
  /** 25th percentile of the rounds, in Mpps. */
  p25: number;
  /** 75th percentile of the rounds, in Mpps. */
  p75: number;
  /** The best round, in Mpps: what the forwarder can do when the machine lets it. */
  best: number;
  /** mpps / testpmd's mpps on the same topology. */
  ratio: number;
  /** best / testpmd's best on the same topology. */
  bestRatio: number;
  /** Each round's rate over testpmd's in the same round. */
  roundRatios: number[];
  /** 25th and 75th percentiles of `roundRatios`. */
  roundRatioP25: number;
  roundRatioP75: number;
  /** Median packets per second of CPU time the forwarder process used, in Mpps. */
  mppsPerCpu: number;
  /** mppsPerCpu / testpmd's mppsPerCpu. */
  ratioPerCpu: number;
  /** Where the source is another process: median packets per second received from it, in Mpps. */
  receivedMpps?: number;
}

/** What tools/bench/results/latest.json holds. */
export interface BenchReport {
  date: string;
  machine: { cpus: number; cpuModel: string; loadAverageBefore: number[]; loadAverageAfter: number[] };
  options: {
    seconds: number;
    warmup: number;
    rounds: number;
    sweepSeconds: number;
    sweep: boolean;
    topologies: string[];
    packetBytes: number;
    burst: number;
  };
  topologies: { name: string; results: Measurement[] }[];
  sweep: { burst: number; results: Measurement[] }[];
}

/** Sums up each forwarder's rounds (`samples`, every forwarder with as many) against testpmd's. */
export function summarize(samples: Map<ForwarderKind, Sample[]>): Measurement[] {
  const reference = samples.get('testpmd')!;
  const referenceMedian = median(reference.map((sample) => sample.mpps));
  const referenceBest = Math.max(...reference.map((sample) => sample.mpps));
  const referencePerCpu = median(reference.map((sample) => sample.mppsPerCpu));
  return forwarders.map((kind) => {
    const taken = samples.get(kind)!;
    const rates = taken.map((sample) => sample.mpps);
    const rate = spread(rates);
    const roundRatios = taken.map((sample, round) => sample.mpps / reference[round].mpps);
    const ratios = spread(roundRatios);
    const received = taken.flatMap((sample) => (sample.receivedMpps === undefined ? [] : [sample.receivedMpps]));
    const mppsPerCpu = median(taken.map((sample) => sample.mppsPerCpu));
    return {
      forwarder: kind,
      samples: rates,
      loadAverages: taken.map((sample) => sample.loadAverage),
      cpuShares: taken.map((sample) => sample.cpuShare),
      sourceCpuShares: taken.every((sample) => sample.sourceCpuShare !== undefined)
        ? taken.map((sample) => sample.sourceCpuShare as number)
        : undefined,
      mpps: rate.median,
      p25: rate.p25,
      p75: rate.p75,
      best: rate.max,
      ratio: rate.median / referenceMedian,
      bestRatio: rate.max / referenceBest,
      roundRatios,
      roundRatioP25: ratios.p25,
      roundRatioP75: ratios.p75,
      mppsPerCpu,
      ratioPerCpu: mppsPerCpu / referencePerCpu,
      receivedMpps: received.length > 0 ? median(received) : undefined,
    };
  });
}

const format = (mpps: number): string => mpps.toFixed(2);
const percent = (ratio: number): string => `${(ratio * 100).toFixed(0)}%`;

/** latest.md: the settings, the machine and its load, and one row per topology and forwarder. */
export function markdown(report: BenchReport): string {
  const { options, machine } = report;
  const lines = [
    `# dpdk-ts forwarding benchmark (${report.date})`,
    '',
    `${machine.cpus} x ${machine.cpuModel}; load average ${machine.loadAverageBefore.join(', ')} before, ` +
      `${machine.loadAverageAfter.join(', ')} after. 64-byte packets, macswap unless io is named, burst ${options.burst}, ` +
      `one forwarding core on CPU 1, ${options.seconds} s windows after ${options.warmup} s warmup, ` +
      `${options.rounds} round(s) per topology, the ${forwarders.length} forwarders taking turns in each round, each round starting with the next one.`,
    '',
    'Mpps: packets the forwarder transmitted per second, the median of the rounds, their interquartile range ' +
      "(p25-p75, interpolated between rounds) and the best round. vs testpmd: the median over testpmd's median, " +
      "the p25-p75 of each round's own ratio (against testpmd's rate in the same round) and the best over " +
      "testpmd's best. Per CPU: per second of CPU time the forwarder process got, which load from other " +
      "processes does not skew when the forwarder is the bottleneck. On a virtual machine the host's placement " +
      'of the two CPUs can halve a round (the vhost-user topology, where both CPUs are busy, shows it most): ' +
      'the spread says how much the figures can be trusted.',
    '',
    '| Topology | Forwarder | Mpps, median | p25-p75 | best | vs testpmd, median | rounds, p25-p75 | vs testpmd, best | Mpps per CPU, median | vs testpmd |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const topology of report.topologies) {
    for (const result of topology.results) {
      const received = result.receivedMpps === undefined ? '' : `, received ${format(result.receivedMpps)}`;
      lines.push(
        `| ${topology.name} | ${result.forwarder} | ${format(result.mpps)}${received} | ` +
          `${format(result.p25)}-${format(result.p75)} | ${format(result.best)} | ${percent(result.ratio)} | ` +
          `${percent(result.roundRatioP25)}-${percent(result.roundRatioP75)} | ${percent(result.bestRatio)} | ` +
          `${format(result.mppsPerCpu)} | ${percent(result.ratioPerCpu)} |`,
      );
    }
  }
  lines.push(
    '',
    'What else the machine ran, per topology over its rounds (lowest-highest): the 1-minute load average when ' +
      "the windows closed, and the CPU share the forwarders (and the vhost-user topology's source) got, where 1.00 " +
      'is a whole CPU: a round in which a busy poller got less shared its CPU with other load.',
    '',
  );
  const range = (values: number[]): string => `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`;
  for (const topology of report.topologies) {
    const loads = topology.results.flatMap((result) => result.loadAverages);
    const shares = topology.results.flatMap((result) => result.cpuShares);
    const sources = topology.results.flatMap((result) => result.sourceCpuShares ?? []);
    const source = sources.length > 0 ? `, source CPU share ${range(sources)}` : '';
    lines.push(`- ${topology.name}: load average ${range(loads)}, forwarder CPU share ${range(shares)}${source}`);
  }
  if (report.sweep.length > 0) {
    lines.push(
      '',
      `Burst-size sweep on topology 1 (one round, ${options.sweepSeconds} s windows):`,
      '',
      `| Burst | testpmd Mpps, per CPU | ${forwarders
        .slice(1)
        .map((kind) => `${kind} Mpps, per CPU (vs testpmd)`)
        .join(' | ')} |`,
      `| ---: |${' ---: |'.repeat(forwarders.length)}`,
    );
    const cell = (result: Measurement): string => `${format(result.mpps)}, ${format(result.mppsPerCpu)}`;
    for (const point of report.sweep) {
      const [reference, ...others] = point.results;
      const cells = others.map((result) => `${cell(result)} (${percent(result.ratioPerCpu)})`);
      lines.push(`| ${point.burst} | ${cell(reference)} | ${cells.join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
