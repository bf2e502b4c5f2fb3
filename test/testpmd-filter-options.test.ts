// examples/testpmd.ts's --filter-drop and --filter-pass (the bench's native filter row): parsed
// in order with PacketFilter's parser, native engine only. Pure parsing, no EAL.
import t from 'tap';
import { UsageError } from '../examples/app.js';
import { parseOptions } from '../examples/testpmd/options.js';

t.test('filter rules are kept in order with their actions', async (t) => {
  const options = parseOptions(['--filter-drop=tcp', '--filter-pass', 'udp,tp_dst=53', '--forward-mode=io']);
  t.not(options, 'help');
  t.same(options !== 'help' && options.filterRules, [
    { match: 'tcp', action: 'drop' },
    { match: 'udp,tp_dst=53', action: 'pass' },
  ]);
});

t.test('a bad rule, or a filter for the TypeScript loop, is a usage error', async (t) => {
  t.throws(() => parseOptions(['--filter-drop=udp,tp_dst=70000']), {
    constructor: UsageError,
    message: /^--filter-drop: tp_dst in "udp,tp_dst=70000" must be a port or a range LOW-HIGH within 0..65535/,
  });
  t.throws(() => parseOptions(['--engine=ts', '--filter-pass=udp']), {
    constructor: UsageError,
    message: '--filter-drop and --filter-pass need --engine=native',
  });
});
