/**
 * Renders a Vega-Lite specification to SVG: compiled to Vega, then run by a headless Vega
 * view (no canvas, no browser), so that every chart is drawn by Vega from the data it is given.
 */
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };

export type { TopLevelSpec };

/** One chart of a result: a short name (the file name's suffix) and its SVG text. */
export interface Chart {
  name: string;
  svg: string;
}

/** The SVG of `spec`. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // vega and vega-lite are ES modules only (vega-canvas awaits at its top level), which
  // this CommonJS build can load only through import().
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
