// Settings of the property-based fuzz tests (test/fuzz-*.test.ts): a CI-sized run count per
// property unless FUZZ_RUNS overrides it, a fixed seed unless FUZZ_SEED gives one (so a CI
// failure reproduces), and a per-run time bound that turns a hang into a failure.
import fc from 'fast-check';
import { DpdkError } from '../../lib/errors.js';

const runsOverride = process.env.FUZZ_RUNS === undefined ? undefined : Number(process.env.FUZZ_RUNS);
const seed = process.env.FUZZ_SEED === undefined ? 0x5eed : Number(process.env.FUZZ_SEED);

/** The longest one run may take, in ms: far above any parser's cost, well below a hang. */
export const perRunLimitMs = 2000;

/**
 * fast-check parameters for a property run `ciRuns` times in CI; `examples` are inputs run
 * first every time: the shrunk counterexamples of bugs found, kept as regression cases.
 */
export function fuzzParameters<T>(ciRuns: number, examples: T[] = []): fc.Parameters<T> {
  return { numRuns: runsOverride ?? ciRuns, seed, examples };
}

/**
 * Runs `parse`; passes when it returns or throws a DpdkError with one of `codes`. Any
 * other throw (TypeError, RangeError...) or a run over {@link perRunLimitMs} fails.
 */
export function refusedCleanly(codes: readonly string[], parse: () => unknown): boolean {
  const start = performance.now();
  try {
    parse();
  } catch (error) {
    if (!(error instanceof DpdkError) || !codes.includes(error.code)) throw error;
  }
  const elapsed = performance.now() - start;
  if (elapsed > perRunLimitMs) throw new Error(`one run took ${elapsed.toFixed(0)} ms, over ${perRunLimitMs} ms`);
  return true;
}
