/**
 * The charts of `npm run bench:ovn`'s results (`--json FILE`): how each control-plane cost
 * grows with the logical ports, a line per chassis count, and the NB write throughput by
 * transaction size.
 */
import { measures, type MeasureName, type OvnScaleReport } from '../ovn-scale/report.js';
import { renderSvg, type Chart, type TopLevelSpec } from './render.js';

/** Mark names, which the SVG carries as classes (`NAME_marks`). */
export const ovnScaleMarkNames = { lines: 'growth_lines', points: 'growth_points', spread: 'growth_spread' } as const;

/** One panel per measure: its median against the ports, a line per chassis count, the runs' range as a bar. */
export function ovnScaleGrowthSpec(report: OvnScaleReport): TopLevelSpec {
  const names = Object.keys(measures) as MeasureName[];
  const values = report.points
    .flatMap((point) =>
      names.map((name) => ({
        measure: `${measures[name].title} (${measures[name].unit})`,
        chassis: `${point.chassis} chassis`,
        ports: point.ports,
        median: point.summary[name].median,
        low: point.summary[name].min,
        high: point.summary[name].max,
      })),
    )
    .filter((value) => Number.isFinite(value.median)); // ovn-controller's RSS, with --controllers 0
  const x = {
    field: 'ports',
    type: 'quantitative' as const,
    title: 'logical ports',
    axis: { values: report.options.ports, format: 'd' },
  };
  const color = {
    field: 'chassis',
    type: 'nominal' as const,
    sort: report.options.chassis.map((count) => `${count} chassis`),
    legend: { title: null, orient: 'top' as const },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `OVN control plane: how each cost grows (${report.date.slice(0, 10)})`,
      subtitle: [
        `${report.options.repeats} run(s) per point on a fresh central; dot: the median; bar: smallest to largest run`,
        'hv_cfg: the benchmark acknowledges each nb_cfg for its fake chassis (see the report)',
      ],
      anchor: 'start',
    },
    config: { font: 'sans-serif', legend: { symbolOpacity: 1 } },
    data: { values },
    columns: 3,
    facet: {
      field: 'measure',
      type: 'nominal',
      sort: names.map((n) => `${measures[n].title} (${measures[n].unit})`),
      title: null,
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 200,
      height: 140,
      layer: [
        {
          name: ovnScaleMarkNames.lines,
          mark: { type: 'line' },
          encoding: { x, y: { field: 'median', type: 'quantitative', title: null }, color },
        },
        {
          name: ovnScaleMarkNames.spread,
          mark: { type: 'rule' },
          encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color },
        },
        {
          name: ovnScaleMarkNames.points,
          mark: { type: 'point', filled: true },
          encoding: { x, y: { field: 'median', type: 'quantitative' }, color },
        },
      ],
    },
  };
}

/** NB write throughput against the ports per transaction (log scale), with the runs' range. */
export function ovnScaleTransactionSpec(report: OvnScaleReport): TopLevelSpec {
  const values = report.transactionSizes.map((size) => ({
    size: size.transactionSize,
    median: size.summary.median,
    low: size.summary.min,
    high: size.summary.max,
  }));
  const x = {
    field: 'size',
    type: 'quantitative' as const,
    scale: { type: 'log' as const },
    axis: { values: report.options.transactionSizes, format: 'd' },
    title: 'logical ports per NB transaction',
  };
  const first = report.transactionSizes[0];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'NB write throughput by transaction size',
      subtitle:
        first === undefined
          ? ''
          : `${first.ports} ports over ${first.chassis} chassis; dot: the median; bar: smallest to largest run`,
      anchor: 'start',
    },
    config: { font: 'sans-serif' },
    width: 360,
    height: 200,
    data: { values },
    layer: [
      { mark: { type: 'line' }, encoding: { x, y: { field: 'median', type: 'quantitative', title: 'ports/s' } } },
      { mark: { type: 'rule' }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      { mark: { type: 'point', filled: true }, encoding: { x, y: { field: 'median', type: 'quantitative' } } },
    ],
  };
}

/** The charts of an ovn-scale result: `growth`, and `transactions` when the run swept transaction sizes. */
export async function ovnScaleCharts(report: OvnScaleReport): Promise<Chart[]> {
  const charts = [{ name: 'growth', svg: await renderSvg(ovnScaleGrowthSpec(report)) }];
  if (report.transactionSizes.length > 0)
    charts.push({ name: 'transactions', svg: await renderSvg(ovnScaleTransactionSpec(report)) });
  return charts;
}
