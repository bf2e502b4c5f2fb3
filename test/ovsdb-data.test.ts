// OVSDB data against the real Open_vSwitch schema: schema parsing, value and row codecs,
// conditions, mutations and update diffs.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { vswitchSchema } from '../lib/ovs/sandbox.js';
import {
  applyColumnDiff,
  decodeRow,
  decodeValue,
  encodeMutations,
  encodeRow,
  encodeValue,
  encodeWhere,
  namedUuid,
} from '../lib/ovs/ovsdb/data.js';
import { parseJson } from '../lib/ovs/ovsdb/json-stream.js';
import { columnKind, columnSchema, parseSchema, tableSchema } from '../lib/ovs/ovsdb/schema.js';

const schema = parseSchema(parseJson(readFileSync(vswitchSchema, 'utf8')));
const bridge = tableSchema(schema, 'Bridge', 'test');
const iface = tableSchema(schema, 'Interface', 'test');
const ovs = tableSchema(schema, 'Open_vSwitch', 'test');
const column = (table: typeof bridge, name: string) => columnSchema(table, name, 'test');
const uuid = '6f5e2c3a-0000-4000-8000-000000000001';

t.test('schema', async (t) => {
  t.equal(schema.name, 'Open_vSwitch');
  t.equal(columnKind(column(bridge, 'name').type), 'scalar');
  t.equal(columnKind(column(bridge, 'fail_mode').type), 'optional');
  t.equal(columnKind(column(bridge, 'ports').type), 'set');
  t.equal(columnKind(column(bridge, 'other_config').type), 'map');
  t.equal(column(bridge, 'ports').type.key.refTable, 'Port');
  t.ok(bridge.columns.has('_uuid') && bridge.columns.has('_version'));
  t.throws(() => tableSchema(schema, 'Brige', 'transact'), {
    code: 'EINVAL',
    message: /^no table "Brige" in database "Open_vSwitch" \(tables: .*Bridge/,
  });
  t.throws(() => columnSchema(bridge, 'nme', 'transact'), {
    code: 'EINVAL',
    message: /^no column "nme" in table "Bridge" \(columns: _uuid, _version, .*name/,
  });
});

t.test('encoding values', async (t) => {
  t.equal(encodeValue(column(bridge, 'name').type, 'br0', 'op', 'Bridge.name'), 'br0');
  t.same(encodeValue(column(bridge, 'fail_mode').type, null, 'op', 'w'), ['set', []]);
  t.same(encodeValue(column(bridge, 'fail_mode').type, 'secure', 'op', 'w'), 'secure');
  t.same(encodeValue(column(bridge, 'ports').type, [uuid, namedUuid('p')], 'op', 'w'), [
    'set',
    [
      ['uuid', uuid],
      ['named-uuid', 'p'],
    ],
  ]);
  t.same(encodeValue(column(bridge, 'ports').type, new Set([uuid]), 'op', 'w'), ['set', [['uuid', uuid]]]);
  t.same(encodeValue(column(bridge, 'other_config').type, { a: 'b' }, 'op', 'w'), ['map', [['a', 'b']]]);
  t.same(encodeValue(column(iface, 'statistics').type, new Map([['rx', 2n ** 63n - 1n]]), 'op', 'w'), [
    'map',
    [['rx', 2n ** 63n - 1n]],
  ]);
  t.same(encodeValue(column(ovs, 'next_cfg').type, 2n ** 60n + 1n, 'op', 'w'), 2n ** 60n + 1n);
  t.throws(() => encodeValue(column(bridge, 'fail_mode').type, 'open', 'transact', 'Bridge.fail_mode'), {
    code: 'EINVAL',
    message: 'Bridge.fail_mode: "open" (string) is not one of the allowed values: "standalone", "secure"',
  });
  t.throws(() => encodeValue(column(bridge, 'name').type, 42, 'transact', 'Bridge.name'), {
    code: 'EINVAL',
    message: 'Bridge.name: expected a string, got 42 (number)',
  });
  t.throws(() => encodeValue(column(iface, 'ofport_request').type, 70000, 'transact', 'Interface.ofport_request'), {
    code: 'EINVAL',
    message: 'Interface.ofport_request: 70000 is above the maximum 65279',
  });
  t.throws(() => encodeValue(column(ovs, 'next_cfg').type, 1.5, 'transact', 'x'), {
    message: 'x: expected an integer (number or bigint), got 1.5 (number)',
  });
  t.throws(() => encodeValue(column(bridge, 'ports').type, 'nope', 'transact', 'Bridge.ports'), {
    message: 'Bridge.ports: expected an array (or Set) of uuid values, got "nope" (string)',
  });
  t.throws(() => encodeValue(column(bridge, 'ports').type, ['nope'], 'transact', 'Bridge.ports'), {
    message: 'Bridge.ports[0]: expected a UUID string or a namedUuid(), got "nope" (string)',
  });
  t.throws(() => namedUuid('1x'), { code: 'EINVAL', message: /^named-uuid: "1x" is not a valid name/ });
  t.throws(() => encodeRow(bridge, { _uuid: uuid }, 'transact'), {
    message: 'Bridge._uuid: this column is maintained by the server and cannot be written',
  });
  t.throws(() => encodeRow(bridge, { nam: 'x' }, 'transact'), { message: /^no column "nam" in table "Bridge"/ });
});

t.test('decoding values and the one-element-set rule', async (t) => {
  t.same(decodeValue(column(bridge, 'ports').type, ['uuid', uuid], 'w'), [uuid], 'one-element set sent as its atom');
  t.same(decodeValue(column(bridge, 'ports').type, ['set', []], 'w'), []);
  t.equal(decodeValue(column(bridge, 'fail_mode').type, ['set', []], 'w'), null);
  t.equal(decodeValue(column(bridge, 'fail_mode').type, 'secure', 'w'), 'secure');
  t.same(
    decodeValue(column(iface, 'statistics').type, ['map', [['rx', 9007199254740993n]]], 'w'),
    new Map([['rx', 9007199254740993n]]),
  );
  t.throws(() => decodeValue(column(bridge, 'name').type, 5, 'Bridge.name'), {
    code: 'EPROTO',
    message: 'Bridge.name: the server sent 5 for a string',
  });
  const row = decodeRow(bridge, { name: 'br0', ports: ['set', [['uuid', uuid]]], unknown_future_column: 1 });
  t.same(row, { name: 'br0', ports: [uuid] });
});

t.test('update2 diffs', async (t) => {
  const ports = column(bridge, 'ports');
  const other = '6f5e2c3a-0000-4000-8000-000000000002';
  t.same(
    applyColumnDiff(
      ports,
      [uuid],
      [
        'set',
        [
          ['uuid', uuid],
          ['uuid', other],
        ],
      ],
      'w',
    ),
    [other],
    'symmetric difference',
  );
  const config = column(bridge, 'other_config');
  const old = new Map([
    ['a', '1'],
    ['b', '2'],
  ]);
  t.same(
    applyColumnDiff(
      config,
      old,
      [
        'map',
        [
          ['a', '1'],
          ['b', '3'],
          ['c', '4'],
        ],
      ],
      'w',
    ),
    new Map([
      ['b', '3'],
      ['c', '4'],
    ]),
  );
  // An optional value's "diff" is its new value, as ovsdb-server sends it (ovsdb_datum_diff).
  t.equal(applyColumnDiff(column(bridge, 'fail_mode'), 'secure', 'standalone', 'w'), 'standalone');
  t.equal(applyColumnDiff(column(bridge, 'fail_mode'), 'secure', ['set', []], 'w'), null);
  t.equal(applyColumnDiff(column(bridge, 'fail_mode'), null, 'secure', 'w'), 'secure');
  t.equal(applyColumnDiff(column(bridge, 'name'), 'a', 'b', 'w'), 'b');
});

t.test('conditions and mutations', async (t) => {
  t.same(encodeWhere(bridge, [['name', '==', 'br0'], ['ports', 'includes', uuid], true], 'op'), [
    ['name', '==', 'br0'],
    ['ports', 'includes', ['uuid', uuid]],
    true,
  ]);
  t.same(
    encodeMutations(
      bridge,
      [
        ['other_config', 'delete', ['a']],
        ['other_config', 'insert', { a: 'b' }],
      ],
      'op',
    ),
    [
      ['other_config', 'delete', ['set', ['a']]],
      ['other_config', 'insert', ['map', [['a', 'b']]]],
    ],
  );
  t.same(encodeMutations(ovs, [['next_cfg', '+=', 1]], 'op'), [['next_cfg', '+=', 1]]);
  t.throws(() => encodeWhere(bridge, [['name', '<', 'x']], 'op'), {
    message: 'Bridge.name: function "<" applies only to integer and real scalar columns',
  });
  t.throws(() => encodeWhere(bridge, [['name', '~=', 'x']] as never, 'op'), {
    message: /unknown function "~=" \(expected one of < <= == != >= > includes excludes\)/,
  });
  t.throws(() => encodeMutations(bridge, [['name', 'append', 'x']] as never, 'op'), {
    message: /unknown mutator "append"/,
  });
});

t.test('arithmetic mutations: the operand is checked for its type, the range applies to the result', async (t) => {
  // Interface.ingress_policing_rate has minInteger 0, Port.tag 0 to 4095, Bridge.flood_vlans
  // is a set of 0 to 4095: ovsdb-server checks the result against these, not the operand.
  t.same(encodeMutations(iface, [['ingress_policing_rate', '+=', -5]], 'op'), [['ingress_policing_rate', '+=', -5]]);
  t.same(encodeMutations(tableSchema(schema, 'Port', 'test'), [['tag', '-=', 5000n]], 'op'), [['tag', '-=', 5000n]]);
  t.same(encodeMutations(bridge, [['flood_vlans', '*=', -1]], 'op'), [['flood_vlans', '*=', -1]]);
  t.throws(() => encodeMutations(iface, [['ingress_policing_rate', '+=', 1.5]], 'op'), {
    code: 'EINVAL',
    message: 'Interface.ingress_policing_rate: expected an integer (number or bigint), got 1.5 (number)',
  });
  t.throws(() => encodeMutations(bridge, [['name', '+=', 'x']], 'op'), {
    code: 'EINVAL',
    message: 'Bridge.name: mutator "+=" applies only to integer and real columns and sets of them',
  });
  t.throws(() => encodeMutations(bridge, [['other_config', '-=', 1]], 'op'), {
    code: 'EINVAL',
    message: 'Bridge.other_config: mutator "-=" applies only to integer and real columns and sets of them',
  });
});
