// pktgen.ts's application options (examples/pktgen/options.ts): pure parsing, no DPDK.
import t from 'tap';
import { UsageError } from '../examples/app.js';
import { parseAppArgs } from '../examples/pktgen/options.js';

t.test('-m reads lcore.port maps with port ranges', async (t) => {
  t.same(
    parseAppArgs(['-m', '1.[0-1]']).lcoreMap.map(({ port, lcore }) => ({ port, lcore })),
    [
      { port: 0, lcore: 1 },
      { port: 1, lcore: 1 },
    ],
  );
});

// Found by test/fuzz-args.test.ts: '-m 0.[0-99999999999]' looped 10^11 times, filling memory.
t.test('-m refuses a port above 65535 instead of filling memory with a huge range', async (t) => {
  t.throws(
    () => parseAppArgs(['-m', '0.[0-99999999999]']),
    new UsageError('-m entry "0.[0-99999999999]": port 99999999999 is above 65535, the largest port id'),
  );
  t.throws(() => parseAppArgs(['-m', '0.65536']), { message: /port 65536 is above 65535/ });
  t.equal(parseAppArgs(['-m', '0.65535']).lcoreMap[0]?.port, 65535);
});

t.test('--timeline takes an interval of 1 to 60000 ms; none by default', async (t) => {
  t.equal(parseAppArgs([]).timelineMs, 0);
  t.equal(parseAppArgs(['--timeline', '10']).timelineMs, 10);
  for (const text of ['0', '60001', '1.5', 'x'])
    t.throws(() => parseAppArgs(['--timeline', text]), {
      message: `--timeline must be 1 to 60000 milliseconds, got "${text}"`,
    });
});
