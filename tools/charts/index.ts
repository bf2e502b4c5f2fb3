/**
 * Charts of saved results, written beside them: `npm run bench`'s (tools/bench/results/*.json)
 * `npm run lab`'s and `npm run bench:ovn`'s (`--json PATH`), told apart by their shape.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchReport } from '../bench/report.js';
import type { LabReport } from '../lab/report.js';
import type { OvnScaleReport } from '../ovn-scale/report.js';
import { benchCharts } from './bench.js';
import { labCharts } from './lab.js';
import { ovnScaleCharts } from './ovn-scale.js';
import type { Chart } from './render.js';

function isBenchReport(result: object): result is BenchReport {
  return 'topologies' in result && Array.isArray(result.topologies) && 'sweep' in result && Array.isArray(result.sweep);
}

function isLabReport(result: object): result is LabReport {
  return 'experiments' in result && Array.isArray(result.experiments);
}

function isOvnScaleReport(result: object): result is OvnScaleReport {
  return 'kind' in result && result.kind === 'ovn-scale';
}

/** The charts of a bench, lab or ovn-scale result. */
export async function chartsOf(result: unknown): Promise<Chart[]> {
  if (typeof result === 'object' && result !== null) {
    if (isBenchReport(result)) return benchCharts(result);
    if (isLabReport(result)) return labCharts(result);
    if (isOvnScaleReport(result)) return ovnScaleCharts(result);
  }
  throw new Error('not a bench result (topologies, sweep), a lab result (experiments) nor an ovn-scale result');
}

/** Where chart `name` of the result at `jsonPath` goes: beside it, `latest.json` -> `latest-NAME.svg`. */
export function chartPath(jsonPath: string, name: string): string {
  return `${jsonPath.replace(/\.json$/, '')}-${name}.svg`;
}

/**
 * Renders the charts of the result saved at `jsonPath` (`result`, or else what the file
 * holds) and writes them beside it; returns the files written.
 */
export async function writeCharts(jsonPath: string, result?: unknown): Promise<string[]> {
  let charts: Chart[];
  try {
    charts = await chartsOf(result ?? JSON.parse(readFileSync(jsonPath, 'utf8')));
  } catch (error) {
    throw new Error(`${jsonPath}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return charts.map((chart) => {
    const path = chartPath(jsonPath, chart.name);
    writeFileSync(path, chart.svg);
    return path;
  });
}
