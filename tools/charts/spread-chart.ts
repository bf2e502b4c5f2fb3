/**
 * The chart every comparison of forwarders uses: a panel per topology or experiment, a row
 * per forwarder, each round as a tick, the median as a dot and the spread over the rounds
 * as a line through it, labelled with the median. Rounds are shown, not only their summary,
 * because on a shared machine the spread is part of the result.
 */
import type { TopLevelSpec } from './render.js';

/** One round's value of one forwarder. */
export interface RoundValue {
  /** The panel (topology or experiment) it belongs to. */
  panel: string;
  forwarder: string;
  /** What was measured, where a panel shows several measures per forwarder. */
  series: string;
  value: number;
}

/** A forwarder's summary over its rounds. */
export interface SpreadValue {
  panel: string;
  forwarder: string;
  series: string;
  median: number;
  /** Where the spread starts and ends (p25-p75, or the smallest and largest round). */
  low: number;
  high: number;
  /** The text beside the median: its value, and its ratio to the reference where there is one. */
  label: string;
}

/** What a spread chart shows and how its axes are named. */
export interface SpreadChartData {
  title: string;
  /** Lines under the title: what was measured, and what the dot, the line and the ticks are. */
  subtitle: string[];
  /** The value axis's title, with its unit. */
  axisTitle: string;
  /** The panels, forwarders and series, in the order shown. */
  panels: string[];
  forwarders: string[];
  series: string[];
  rounds: RoundValue[];
  spreads: SpreadValue[];
  /** A logarithmic value axis, for values that span orders of magnitude (latency). */
  log?: boolean;
}

/** Mark names, which the SVG carries as classes (`NAME_marks`): a test counts marks by them. */
export const spreadMarkNames = { rounds: 'rounds', spread: 'spread', median: 'median', label: 'label' } as const;

/** The Vega-Lite specification of a spread chart. */
export function spreadChartSpec(data: SpreadChartData): TopLevelSpec {
  const several = data.series.length > 1;
  const color = several
    ? {
        field: 'series',
        type: 'nominal' as const,
        scale: { domain: data.series },
        legend: { title: null, orient: 'top' as const, labelLimit: 0 },
      }
    : { field: 'forwarder', type: 'nominal' as const, scale: { domain: data.forwarders }, legend: null };
  const y = {
    field: 'forwarder',
    type: 'nominal' as const,
    sort: data.forwarders,
    title: null,
    axis: { labelLimit: 0 },
  };
  const yOffset = several ? { yOffset: { field: 'series', type: 'nominal' as const, sort: data.series } } : {};
  const x = (field: string, title: string | null = data.axisTitle) => ({
    field,
    type: 'quantitative' as const,
    title,
    // A log scale's nice domain would reach the next power of ten, leaving most of the panel empty.
    scale: data.log ? { type: 'log' as const, nice: false, padding: 12 } : { zero: true },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: data.title, subtitle: data.subtitle, anchor: 'start' },
    config: { font: 'sans-serif', view: { stroke: null }, legend: { symbolOpacity: 1 } },
    resolve: { scale: { x: 'independent' } },
    vconcat: data.panels.map((panel, i) => {
      const rounds = data.rounds.filter((round) => round.panel === panel);
      const spreads = data.spreads.filter((spread) => spread.panel === panel);
      // The label sits right of everything drawn in its row, ticks of outlying rounds included.
      const labels = spreads.map((spread) => ({
        ...spread,
        at: Math.max(
          spread.high,
          ...rounds
            .filter((round) => round.forwarder === spread.forwarder && round.series === spread.series)
            .map((round) => round.value),
        ),
      }));
      return {
        title: { text: panel, anchor: 'start' as const, fontSize: 12 },
        width: 480,
        height: { step: several ? 14 : 22 },
        layer: [
          {
            name: `p${i}_${spreadMarkNames.rounds}`,
            data: { values: rounds },
            mark: { type: 'tick' as const, thickness: 1, opacity: 0.5 },
            encoding: { y, ...yOffset, x: x('value'), color },
          },
          {
            name: `p${i}_${spreadMarkNames.spread}`,
            data: { values: spreads },
            mark: { type: 'rule' as const, strokeWidth: 2 },
            encoding: { y, ...yOffset, x: x('low'), x2: { field: 'high' }, color },
          },
          {
            name: `p${i}_${spreadMarkNames.median}`,
            data: { values: spreads },
            mark: { type: 'point' as const, filled: true, size: 50, opacity: 1 },
            encoding: { y, ...yOffset, x: x('median'), color },
          },
          {
            name: `p${i}_${spreadMarkNames.label}`,
            data: { values: labels },
            mark: { type: 'text' as const, align: 'left' as const, dx: 6, fontSize: 10 },
            encoding: { y, ...yOffset, x: x('at'), text: { field: 'label' } },
          },
        ],
      };
    }),
  };
}
