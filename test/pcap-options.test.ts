// The examples' --pcap and --pcap-direction on the command lines that export their parsers
// (testpmd, pktgen): pure parsing, no EAL. test/examples-pcap.test.ts runs the capture.
import t from 'tap';
import { UsageError } from '../examples/app.js';
import { parseAppArgs } from '../examples/pktgen/options.js';
import { parseOptions } from '../examples/testpmd/options.js';

t.test('--pcap alone captures both directions; --pcap-direction may come first', async (t) => {
  t.match(parseOptions(['--pcap', '/tmp/a.pcapng']), { pcap: { path: '/tmp/a.pcapng', direction: 'both' } });
  t.match(parseOptions(['--pcap-direction=tx', '--pcap=/tmp/a.pcapng']), {
    pcap: { path: '/tmp/a.pcapng', direction: 'tx' },
  });
  t.match(parseAppArgs(['--pcap', '/tmp/g.pcapng', '--pcap-direction', 'rx']), {
    pcap: { path: '/tmp/g.pcapng', direction: 'rx' },
  });
  t.match(parseOptions([]), { pcap: undefined });
});

t.test('a bad direction, or a direction without --pcap, is a usage error', async (t) => {
  t.throws(() => parseOptions(['--pcap', '/tmp/a', '--pcap-direction', 'in']), {
    constructor: UsageError,
    message: "--pcap-direction must be rx, tx or both, got 'in'",
  });
  t.throws(() => parseAppArgs(['--pcap-direction', 'rx']), {
    constructor: UsageError,
    message: '--pcap-direction needs --pcap FILE',
  });
  t.throws(() => parseOptions(['--pcap']), { constructor: UsageError, message: '--pcap needs a value' });
});
