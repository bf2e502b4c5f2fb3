// pktgen.ts's application options (examples/pktgen/options.ts): pure parsing, no DPDK.
import t from 'tap';
import { UsageError } from '../examples/app.js';
import { parseAppArgs } from '../examples/pktgen/options.js';
import { parseCommand } from '../examples/pktgen/commands.js';
import { readTimelineFile } from '../examples/pktgen/report.js';

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

t.test('--timeline-file takes a path, only with --timeline', async (t) => {
  t.equal(parseAppArgs(['--timeline', '50', '--timeline-file', '/tmp/x.ndjson']).timelineFile, '/tmp/x.ndjson');
  t.equal(parseAppArgs(['--timeline', '50']).timelineFile, undefined);
  t.throws(() => parseAppArgs(['--timeline-file', '/tmp/x.ndjson']), {
    message: '--timeline-file only applies with --timeline MS',
  });
  t.throws(() => parseAppArgs(['--timeline', '50', '--timeline-file', '']), {
    message: '--timeline-file needs a path',
  });
});

t.test('probe [S]: wait until the path delivers, 10 s unless told', async (t) => {
  t.same(parseCommand('probe'), { verb: 'probe', timeoutS: 10 });
  t.same(parseCommand('probe 3'), { verb: 'probe', timeoutS: 3 });
  t.throws(() => parseCommand('probe 0'), {
    message: '"probe 0": probe (seconds) must be an integer from 1 to 3600, got "0"',
  });
  t.throws(() => parseCommand('probe 1 2'), { message: '"probe 1 2": expected "probe [SECONDS]", e.g. "probe 10"' });
});

t.test('a --timeline-file reads back as the timeline it recorded; a last line cut short is left out', async (t) => {
  const text = [
    '{"intervalMs":50,"startedAtMs":1000}',
    '{"atMs":0,"sent":[0,0],"received":[0,0]}',
    '{"atMs":40,"port":1,"up":false}',
    '{"atMs":50,"sent":[10,12],"received":[9,11]}',
    '{"atMs":100,"sent":[2',
  ].join('\n');
  t.same(readTimelineFile(text), {
    intervalMs: 50,
    startedAtMs: 1000,
    samples: [
      { atMs: 0, sent: [0, 0], received: [0, 0] },
      { atMs: 50, sent: [10, 12], received: [9, 11] },
    ],
    links: [{ atMs: 40, port: 1, up: false }],
  });
  t.throws(() => readTimelineFile('{"atMs":0}\n'), { message: /not a --timeline-file/ });
});
