/**
 * The charts of `npm run bench`'s results (tools/bench/results/*.json): each forwarder's rate
 * per topology over the rounds, and the burst-size sweep.
 */
import type { BenchReport } from '../bench/report.js';
import { renderSvg, type Chart, type TopLevelSpec } from './render.js';
import { spreadChartSpec } from './spread-chart.js';

/** The forwarders of `report`, in the order it lists them (the reference, testpmd, first). */
function forwardersOf(report: BenchReport): string[] {
  const names = [...report.topologies, ...report.sweep].flatMap((part) => part.results.map((r) => r.forwarder));
  return [...new Set(names)];
}

/** Each forwarder's rate per topology: every round, the median, p25-p75, and the median's ratio to testpmd's. */
export function benchRateSpec(report: BenchReport): TopLevelSpec {
  const { options } = report;
  return spreadChartSpec({
    title: `Forwarding rate, ${options.packetBytes}-byte packets, burst ${options.burst} (${report.date.slice(0, 10)})`,
    subtitle: [
      `${options.rounds} rounds of ${options.seconds} s per topology, the forwarders taking turns in each`,
      'dot: the median; line: p25-p75; ticks: the rounds; label: the median (vs testpmd)',
    ],
    axisTitle: 'Mpps transmitted',
    panels: report.topologies.map((topology) => topology.name),
    forwarders: forwardersOf(report),
    series: ['rate'],
    rounds: report.topologies.flatMap((topology) =>
      topology.results.flatMap((result) =>
        result.samples.map((value) => ({ panel: topology.name, forwarder: result.forwarder, series: 'rate', value })),
      ),
    ),
    spreads: report.topologies.flatMap((topology) =>
      topology.results.map((result) => ({
        panel: topology.name,
        forwarder: result.forwarder,
        series: 'rate',
        median: result.mpps,
        low: result.p25,
        high: result.p75,
        label: `${result.mpps.toFixed(2)} (${(result.ratio * 100).toFixed(0)}%)`,
      })),
    ),
  });
}

/** Mark names of the sweep chart, which the SVG carries as classes (`NAME_marks`). */
export const sweepMarkNames = { lines: 'sweep_lines', points: 'sweep_points' } as const;

/** The burst-size sweep: each forwarder's rate against the burst size, one round per point. */
export function benchSweepSpec(report: BenchReport): TopLevelSpec {
  const bursts = report.sweep.map((point) => point.burst);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Burst-size sweep, 2 x net_null, 1 core, macswap',
      subtitle: `one round of ${report.options.sweepSeconds} s per burst size and forwarder`,
      anchor: 'start',
    },
    config: { font: 'sans-serif', view: { stroke: null }, legend: { symbolOpacity: 1 } },
    width: 480,
    height: 240,
    data: {
      values: report.sweep.flatMap((point) =>
        point.results.map((result) => ({ burst: point.burst, forwarder: result.forwarder, mpps: result.mpps })),
      ),
    },
    encoding: {
      x: {
        field: 'burst',
        type: 'quantitative',
        scale: { type: 'log', base: 2 },
        axis: { values: bursts, title: 'burst (packets per rx/tx call)' },
      },
      y: { field: 'mpps', type: 'quantitative', title: 'Mpps transmitted' },
      color: {
        field: 'forwarder',
        type: 'nominal',
        scale: { domain: forwardersOf(report) },
        legend: { title: null, orient: 'bottom', labelLimit: 0 },
      },
    },
    layer: [
      { name: sweepMarkNames.lines, mark: { type: 'line' } },
      { name: sweepMarkNames.points, mark: { type: 'point', filled: true } },
    ],
  };
}

/** The charts of a bench result: `rate`, and `sweep` when the run had one. */
export async function benchCharts(report: BenchReport): Promise<Chart[]> {
  const charts = [{ name: 'rate', svg: await renderSvg(benchRateSpec(report)) }];
  if (report.sweep.length > 0) charts.push({ name: 'sweep', svg: await renderSvg(benchSweepSpec(report)) });
  return charts;
}
