// `npm run fuzz`: the property-based fuzz tests (test/fuzz-*.test.ts) with many more runs per
// property than CI and a fresh seed, printed so that a failure can be replayed with
// FUZZ_RUNS=... FUZZ_SEED=... npx tap test/fuzz-....test.ts. A property run with savingParameters
// (test/helpers/fuzz.ts) saves its shrunk counterexample to test/fixtures/fuzz-regressions/, which
// the CI-sized runs replay first: commit the file with the fix.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const runs = process.env.FUZZ_RUNS ?? '20000';
const seed = process.env.FUZZ_SEED ?? String(Math.floor(Math.random() * 0x7fffffff));
const files = readdirSync('test')
  .filter((name) => name.startsWith('fuzz-') && name.endsWith('.test.ts'))
  .map((name) => `test/${name}`);
console.log(`fuzz: FUZZ_RUNS=${runs} FUZZ_SEED=${seed} ${files.join(' ')}`);
const start = Date.now();
const result = spawnSync('npx', ['tap', '--reporter=terse', '--timeout=3600', ...files], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs, FUZZ_SEED: seed },
});
console.log(
  `fuzz: FUZZ_RUNS=${runs} FUZZ_SEED=${seed}: ${result.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - start) / 1000).toFixed(0)} s`,
);
process.exit(result.status ?? 1);
