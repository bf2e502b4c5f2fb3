// Property-based fuzzing of the OVSDB JSON stream parser (lib/ovs/ovsdb/json-stream.ts):
// hostile bytes are parsed or refused with EPROTO/EMSGSIZE, never another error, a hang or
// a buffer past maxMessageBytes; valid messages split anywhere parse as sent.
import fc from 'fast-check';
import t from 'tap';
import { JsonStreamParser, stringifyJson, type JsonValue } from '../lib/ovs/ovsdb/json-stream.js';
import { refusedCleanly, savingParameters } from './helpers/fuzz.js';

const maxMessageBytes = 4096;

/** JSON values as OVSDB sends them, 64-bit integers as bigint beyond the safe range. */
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).filter((x) => !Number.isSafeInteger(Number(x))),
    fc.string({ unit: 'grapheme' }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const message = fc.oneof(fc.array(jsonValue, { maxLength: 4 }), fc.dictionary(fc.string(), jsonValue, { maxKeys: 4 }));

/** Splits `bytes` at the given cut points (taken modulo its length). */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

t.test('valid messages split anywhere parse as sent', async (t) => {
  fc.assert(
    fc.property(
      fc.array(message, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages, cuts) => {
        const text = Buffer.from(messages.map((value) => stringifyJson(value)).join('\n'));
        const parser = new JsonStreamParser();
        const parsed = chunked(text, cuts).flatMap((chunk) => parser.push(chunk));
        t.equal(parsed.map((value) => stringifyJson(value)).join('\n'), text.toString());
        return parser.bufferedBytes === 0;
      },
    ),
    savingParameters('ovsdb-json-split', 300),
  );
});

t.test('random bytes are parsed or refused with EPROTO or EMSGSIZE, buffering at most the limit', async (t) => {
  const bytes = fc.uint8Array({ maxLength: 512 }).map((array) => Buffer.from(array));
  const jsonish = fc
    .string({ unit: fc.constantFrom(...'{}[]",:\\ 0123456789-+.eEtrufalsn\u00e9\n'), maxLength: 200 })
    .map((text) => Buffer.from(text));
  fc.assert(
    fc.property(fc.array(fc.oneof(bytes, jsonish), { maxLength: 6 }), (chunks) => {
      const parser = new JsonStreamParser({ maxMessageBytes });
      return refusedCleanly(['EPROTO', 'EMSGSIZE'], () => {
        for (const chunk of chunks) {
          parser.push(chunk);
          if (parser.bufferedBytes > maxMessageBytes) throw new Error(`buffered ${parser.bufferedBytes} bytes`);
        }
      });
    }),
    savingParameters('ovsdb-json-bytes', 500),
  );
  t.pass('no other error, no buffer past maxMessageBytes');
});

t.test('deep nesting, huge numbers and long strings are parsed or refused cleanly', async (t) => {
  const deep = fc
    .tuple(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('1', '123456789012345678901234567890', '"x"', ''))
    .map(([depth, leaf]) => '['.repeat(depth) + leaf + ']'.repeat(depth));
  const hugeNumber = fc
    .tuple(fc.integer({ min: 16, max: 5000 }), fc.constantFrom('', '.5', 'e308', 'e999', 'e-999'))
    .map(([digits, tail]) => `[${'9'.repeat(digits)}${tail}]`);
  const longString = fc.integer({ min: 1, max: 20_000 }).map((length) => `{"s":"${'\\u00e9'.repeat(length)}"}`);
  fc.assert(
    fc.property(fc.oneof(deep, hugeNumber, longString), fc.boolean(), (text, limited) => {
      const parser = new JsonStreamParser(limited ? { maxMessageBytes } : {});
      return refusedCleanly(['EPROTO', 'EMSGSIZE'], () => parser.push(Buffer.from(text)));
    }),
    savingParameters('ovsdb-json-deep', 100),
  );
  t.pass('no other error');
});

t.test('a value past maxMessageBytes is refused with EMSGSIZE however it is chunked', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: maxMessageBytes, max: 4 * maxMessageBytes }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (size, cuts) => {
        const parser = new JsonStreamParser({ maxMessageBytes });
        const text = Buffer.from(`["${'a'.repeat(size)}"]`);
        t.throws(() => chunked(text, cuts).forEach((chunk) => parser.push(chunk)), { code: 'EMSGSIZE' });
        return parser.bufferedBytes === 0;
      },
    ),
    savingParameters('ovsdb-json-limit', 100),
  );
});
