// Settings of the property-based fuzz tests (test/fuzz-*.test.ts): a CI-sized run count per
// property unless FUZZ_RUNS overrides it, a fixed seed unless FUZZ_SEED gives one (so a CI
// failure reproduces), and a per-run time bound that turns a hang into a failure.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Where `npm run fuzz` saves shrunk counterexamples, one JSON file per failure. */
export const regressionDir = join(__dirname, '..', 'fixtures', 'fuzz-regressions');

// JSON with byte arrays: a Uint8Array is written as {"$bytes": "<hex>"}.
function encode(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $bytes: Buffer.from(value).toString('hex') } : value;
}
function decode(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { $bytes?: unknown }).$bytes === 'string')
    return new Uint8Array(Buffer.from((value as { $bytes: string }).$bytes, 'hex'));
  return value;
}

/** Writes `counterexample` of property `name` found with `seed` to `dir`/`name`-`seed`.json; returns the path. */
export function saveCounterexample(name: string, seed: number, counterexample: unknown, dir = regressionDir): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}-${seed}.json`);
  writeFileSync(path, `${JSON.stringify({ name, seed, counterexample }, encode, 2)}\n`);
  return path;
}

/** The counterexamples saved for property `name` in `dir`, oldest seed first. */
export function savedCounterexamples<T>(name: string, dir = regressionDir): T[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.startsWith(`${name}-`) && /^-\d+\.json$/.test(file.slice(name.length)))
    .sort()
    .map((file) => (JSON.parse(readFileSync(join(dir, file), 'utf8'), decode) as { counterexample: T }).counterexample);
}

/**
 * {@link fuzzParameters} for a property `name`d for its saved regressions: the files saved for it
 * run first, and a failure's shrunk counterexample is saved (then reported as fast-check does).
 */
export function savingParameters<T>(
  name: string,
  ciRuns: number,
  examples: T[] = [],
  dir = regressionDir,
): fc.Parameters<T> {
  return {
    ...fuzzParameters(ciRuns, [...savedCounterexamples<T>(name, dir), ...examples]),
    reporter: (details) => {
      if (!details.failed) return;
      let saved = '';
      try {
        if (details.counterexample !== null)
          saved = `\nsaved as ${saveCounterexample(name, details.seed, details.counterexample, dir)}`;
      } catch (error) {
        saved = `\nnot saved: ${String(error)}`;
      }
      throw new Error(`${fc.defaultReportMessage(details)}${saved}`);
    },
  };
}
