// JsonStreamParser, parseJson and stringifyJson: split messages, big integers, malformed
// and oversized input.
import t from 'tap';
import { JsonStreamParser, parseJson, stringifyJson } from '../lib/ovs/ovsdb/json-stream.js';

t.test('values back to back, split at every byte', async (t) => {
  const text = '{"id":1,"s":"a}b{c\\"]["}[1,2,{"x":"\\\\"}] {"u":"h\u00e9llo \u{1F600}"}\n{"n":null}';
  const whole = Buffer.from(text);
  const expected = [{ id: 1, s: 'a}b{c"][' }, [1, 2, { x: '\\' }], { u: 'h\u00e9llo \u{1F600}' }, { n: null }];
  t.same(new JsonStreamParser().push(whole), expected);
  for (let split = 1; split < whole.length; split++) {
    const parser = new JsonStreamParser();
    const values = [...parser.push(whole.subarray(0, split)), ...parser.push(whole.subarray(split))];
    t.same(values, expected, `split at byte ${split}`);
  }
  const parser = new JsonStreamParser();
  const oneByOne = [...whole].flatMap((byte) => parser.push(Buffer.from([byte])));
  t.same(oneByOne, expected, 'one byte at a time');
  t.equal(parser.bufferedBytes, 0);
});

t.test('integers beyond 2^53 become bigint, others stay numbers', async (t) => {
  const parser = new JsonStreamParser();
  const [value] = parser.push(
    Buffer.from(
      '{"big":9007199254740993,"neg":-9223372036854775808,"small":42,"real":1.5e300,"s":"12345678901234567890"}',
    ),
  );
  t.same(value, {
    big: 9007199254740993n,
    neg: -9223372036854775808n,
    small: 42,
    real: 1.5e300,
    s: '12345678901234567890',
  });
  t.equal(typeof (value as { small: unknown }).small, 'number');
  t.equal(
    stringifyJson({ a: 9007199254740993n, b: [1, 'x"y', null, true] }),
    '{"a":9007199254740993,"b":[1,"x\\"y",null,true]}',
  );
  t.same(parseJson('[18446744073709551615, 1.0, -0, "\\u00e9"]'), [18446744073709551615n, 1, -0, '\u00e9']);
});

t.test('large message split over many chunks', async (t) => {
  const big = { data: 'x'.repeat(3_000_000), list: Array.from({ length: 10000 }, (_, i) => i) };
  const bytes = Buffer.from(JSON.stringify(big));
  const parser = new JsonStreamParser();
  const values = [];
  for (let offset = 0; offset < bytes.length; offset += 65536)
    values.push(...parser.push(bytes.subarray(offset, offset + 65536)));
  t.same(values, [big]);
});

t.test('malformed input and oversized messages poison the parser', async (t) => {
  const bad = new JsonStreamParser({ object: 'test' });
  t.throws(() => bad.push(Buffer.from('hello')), {
    code: 'EPROTO',
    message: 'malformed JSON stream: expected "{" or "[" to start a message, got "h"',
  });
  t.throws(() => bad.push(Buffer.from('{}')), { code: 'EPROTO' }, 'stays failed');
  const broken = new JsonStreamParser();
  t.throws(() => broken.push(Buffer.from('{"a":tru}')), {
    name: 'DpdkError',
    code: 'EPROTO',
    message: /^malformed JSON message: /,
  });
  const small = new JsonStreamParser({ maxMessageBytes: 100 });
  t.same(small.push(Buffer.from(`{"a":"${'y'.repeat(50)}"}`)), [{ a: 'y'.repeat(50) }]);
  small.push(Buffer.from(`{"a":"${'z'.repeat(60)}`));
  t.throws(() => small.push(Buffer.from('z'.repeat(60))), {
    code: 'EMSGSIZE',
    message: 'message too large: more than 100 bytes (maxMessageBytes) without the end of a JSON value',
  });
  t.equal(small.bufferedBytes, 0, 'memory released');
  t.throws(() => new JsonStreamParser({ maxMessageBytes: 1 }), {
    code: 'EINVAL',
    message: 'maxMessageBytes must be an integer from 2 to 9007199254740991, got 1',
  });
  t.throws(() => new JsonStreamParser({ maxBytes: 1 } as never), {
    code: 'EINVAL',
    message: 'Unknown option "maxBytes" for JsonStreamParser (expected one of: maxMessageBytes, object)',
  });
  t.throws(() => stringifyJson({ a: NaN }), {
    code: 'EINVAL',
    message: 'cannot send NaN at $.a: JSON has no such number',
  });
});
