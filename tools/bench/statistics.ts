/**
 * The few statistics `npm run bench` reports over its rounds: quantiles (the median and the
 * interquartile range) and the best round, so that a table shows its noise beside its figures.
 */

/**
 * The `q`-quantile (0..1) of `values`, interpolating linearly between the two nearest ranks
 * (numpy's default, R's type 7): with 7 rounds, p25 lies halfway between the 2nd and 3rd
 * smallest.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** The middle of `values` (the mean of the two middle ones when there are an even number). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Where a set of rounds lies: median, interquartile range and extremes. */
export interface Spread {
  median: number;
  /** 25th percentile. */
  p25: number;
  /** 75th percentile. */
  p75: number;
  min: number;
  max: number;
}

/** The median, quartiles and extremes of `values`. */
export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}
