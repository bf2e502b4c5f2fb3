/**
 * The charts of `npm run lab`'s results (`--json PATH`): for experiments 1 and 2, each
 * forwarder's received rate at full rate and its zero-loss rate, and the latency at both,
 * over the rounds.
 */
import type { RoundFigures, Spread } from '../lab/comparison.js';
import type { ForwarderResult } from '../lab/experiments.js';
import type { LabReport } from '../lab/report.js';
import { renderSvg, type Chart, type TopLevelSpec } from './render.js';
import { spreadChartSpec, type RoundValue, type SpreadValue } from './spread-chart.js';

/** One measure a lab chart shows: its name, and where a round's and the summary's figures are. */
interface Measure {
  series: string;
  round: (figures: RoundFigures) => number | null | undefined;
  spread: (forwarder: ForwarderResult) => Spread | null | undefined;
  /** The ratio to the C forwarder shown beside the median, where the measure has one. */
  ratio?: (forwarder: ForwarderResult) => Spread | null | undefined;
  format: (value: number) => string;
}

const formatMpps = (mpps: number): string => mpps.toFixed(3);
const formatUs = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`);
const us = (ns: number | null | undefined): number | null => (ns === null || ns === undefined ? null : ns / 1e3);
const spreadUs = (spread: Spread | null | undefined): Spread | null =>
  spread === null || spread === undefined
    ? null
    : { median: spread.median / 1e3, min: spread.min / 1e3, max: spread.max / 1e3 };

const rateMeasures: Measure[] = [
  {
    series: 'received at full rate',
    round: (figures) => figures.receivedMpps,
    spread: (forwarder) => forwarder.summary?.receivedMpps,
    ratio: (forwarder) => forwarder.summary?.ratioToC,
    format: formatMpps,
  },
  {
    series: 'zero-loss rate',
    round: (figures) => figures.zeroLoss?.mpps,
    spread: (forwarder) => forwarder.summary?.zeroLossMpps,
    ratio: (forwarder) => forwarder.summary?.zeroLossRatioToC,
    format: formatMpps,
  },
];

const latencyMeasures: Measure[] = [
  {
    series: 'mean at full rate',
    round: (figures) => us(figures.latencyAvgNs),
    spread: (forwarder) => spreadUs(forwarder.summary?.latencyAvgNs),
    format: formatUs,
  },
  {
    series: 'p99 at full rate',
    round: (figures) => us(figures.latencyP99Ns),
    spread: (forwarder) => spreadUs(forwarder.summary?.latencyP99Ns),
    format: formatUs,
  },
  {
    series: 'mean at the zero-loss rate',
    round: (figures) => us(figures.zeroLoss?.latencyAvgNs),
    spread: (forwarder) => spreadUs(forwarder.summary?.zeroLossLatencyAvgNs),
    format: formatUs,
  },
];

/** The experiments of `report` that compared forwarders, and what each forwarder measured of `measures`. */
function collect(report: LabReport, measures: Measure[]) {
  const experiments = report.experiments.filter((experiment) => (experiment.forwarders?.length ?? 0) > 0);
  const rounds: RoundValue[] = [];
  const spreads: SpreadValue[] = [];
  for (const experiment of experiments) {
    for (const forwarder of experiment.forwarders ?? []) {
      for (const measure of measures) {
        const base = { panel: experiment.name, forwarder: forwarder.label, series: measure.series };
        for (const figures of forwarder.rounds) {
          const value = measure.round(figures);
          if (value !== null && value !== undefined) rounds.push({ ...base, value });
        }
        const spread = measure.spread(forwarder);
        if (spread === null || spread === undefined) continue;
        const ratio = forwarder.kind === 'c' ? undefined : measure.ratio?.(forwarder);
        const vsC = ratio === null || ratio === undefined ? '' : ` (${ratio.median.toFixed(2)}x C)`;
        spreads.push({
          ...base,
          median: spread.median,
          low: spread.min,
          high: spread.max,
          label: `${measure.format(spread.median)}${vsC}`,
        });
      }
    }
  }
  const present = (names: string[]): string[] => names.filter((name) => spreads.some((s) => s.series === name));
  return {
    panels: experiments.map((experiment) => experiment.name),
    forwarders: [...new Set(spreads.map((spread) => spread.forwarder))],
    series: present(measures.map((measure) => measure.series)),
    rounds,
    spreads,
  };
}

/** The settings line under a lab chart's title. */
function settings(report: LabReport): string {
  const { options } = report;
  return (
    `${options.rounds} rounds of ${options.durationS} s per forwarder, taking turns; ` +
    `placement ${options.placement}${options.containers ? ', in containers' : ', as processes'} (${report.date.slice(0, 10)})`
  );
}

/** Each forwarder's received rate at full rate and its zero-loss rate, per experiment. */
export function labRateSpec(report: LabReport): TopLevelSpec {
  return spreadChartSpec({
    title: 'Forwarding through OVS-DPDK: received Mpps',
    subtitle: [
      settings(report),
      'dot: the median; line: smallest to largest round; ticks: the rounds; label: the median (its ratio to C in the same rounds)',
    ],
    axisTitle: 'Mpps (both generator ports)',
    ...collect(report, rateMeasures),
  });
}

/** Each forwarder's latency at full rate (mean and p99) and at its zero-loss rate, per experiment. */
export function labLatencySpec(report: LabReport): TopLevelSpec {
  return spreadChartSpec({
    title: 'Forwarding through OVS-DPDK: latency',
    subtitle: [settings(report), 'dot: the median; line: smallest to largest round; ticks: the rounds (log scale)'],
    axisTitle: 'latency (us)',
    log: true,
    ...collect(report, latencyMeasures),
  });
}

/** The charts of a lab result: `rate` and `latency`, or none when no experiment compared forwarders. */
export async function labCharts(report: LabReport): Promise<Chart[]> {
  if (!report.experiments.some((experiment) => (experiment.forwarders?.length ?? 0) > 0)) return [];
  return [
    { name: 'rate', svg: await renderSvg(labRateSpec(report)) },
    { name: 'latency', svg: await renderSvg(labLatencySpec(report)) },
  ];
}
