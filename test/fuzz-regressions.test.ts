// The save and replay of shrunk fuzz counterexamples (test/helpers/fuzz.ts), on a toy property
// that fails on purpose, in a temporary directory: the real fuzz suites never fail on purpose.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { savedCounterexamples, savingParameters } from './helpers/fuzz.js';

t.test('a failure is shrunk, saved as a file, and replayed first on the next run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dts-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const property = fc.property(
    fc.uint8Array({ minLength: 0, maxLength: 8 }),
    fc.integer({ min: 0, max: 1000 }),
    (bytes, n) => !(bytes.length > 2 && n > 500),
  );
  t.throws(() => fc.assert(property, savingParameters<[Uint8Array, number]>('toy', 200, [], dir)), {
    message: /saved as .*toy-\d+\.json/,
  });
  t.equal(readdirSync(dir).length, 1, 'one file is saved');
  const saved = savedCounterexamples<[Uint8Array, number]>('toy', dir);
  t.same(saved, [[new Uint8Array(3), 501]], 'the shrunk counterexample is saved, bytes as bytes');
  t.ok(saved[0][0] instanceof Uint8Array);
  const seen: unknown[] = [];
  const recording = fc.property(fc.uint8Array(), fc.integer(), (bytes, n) => {
    seen.push([bytes, n]);
    return true;
  });
  fc.assert(recording, { ...savingParameters<[Uint8Array, number]>('toy', 1, [], dir), seed: 1 });
  t.same(seen[0], [new Uint8Array(3), 501], 'the next run replays the saved input first');
  t.same(savedCounterexamples('other', dir), [], 'a property reads only its own files');
});
