// Property-based fuzzing of the argument parsers: EAL options (ealArgs, prepareEalArgs, core
// lists and masks), vdev devargs, packet building and reading, PacketFilter rules, and the
// examples' command lines (pktgen, testpmd). Random input gives the documented error (DpdkError
// EINVAL, UsageError for the examples' command lines) or a result, never another error or a hang.
import fc from 'fast-check';
import t from 'tap';
import { ealArgs, ealOptionKeys, type EalOptions } from '../lib/eal.js';
import { parseCorelist, parseCoremask, prepareEalArgs } from '../lib/eal-args.js';
import { buildUdpPacket, readEthernet, readIpv4, readTcp, readUdp } from '../lib/packet.js';
import { parseRule } from '../lib/packet-filter.js';
import { Vhost, VirtioUser } from '../lib/vdev.js';
import { UsageError } from '../examples/app.js';
import { parseAppArgs, pktgenEalArgs } from '../examples/pktgen/options.js';
import { parseOptions } from '../examples/testpmd/options.js';
import { savingParameters, perRunLimitMs, refusedCleanly } from './helpers/fuzz.js';

/** Like {@link refusedCleanly} for command lines, whose mistakes are UsageErrors. */
function usageErrorOnly(parse: () => unknown): boolean {
  const start = performance.now();
  try {
    parse();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
  }
  const elapsed = performance.now() - start;
  if (elapsed > perRunLimitMs) throw new Error(`one run took ${elapsed.toFixed(0)} ms, over ${perRunLimitMs} ms`);
  return true;
}

/** Values of every JSON-ish kind, for options objects given by JavaScript callers. */
const anyValue = fc.oneof(
  fc.anything({ maxDepth: 1 }),
  fc.integer({ min: -5, max: 70000 }),
  fc.constantFrom('0-3', '0x3', '1@2', '', 'a,b', '00:11:22:33:44:55', '/tmp/x.sock', 'va', 'debug', NaN, Infinity),
);

/** Numbers as command lines spell them, including the huge, the negative and the malformed. */
const numberText = fc.oneof(
  fc.nat({ max: 300 }).map(String),
  fc.constantFrom('99999999999', '1e9', '-1', '0x10', '', ' 1', '1.5', 'NaN', '4294967296'),
);
const argText = fc.oneof(
  fc.string({ maxLength: 12 }),
  numberText,
  fc.tuple(numberText, fc.constantFrom('-', ',', '.', ':', '@'), numberText).map((parts) => parts.join('')),
  fc.tuple(numberText, numberText).map(([a, b]) => `[${a}-${b}].${a}`),
  fc.tuple(fc.nat({ max: 127 }), numberText, numberText).map(([lcore, a, b]) => `${lcore}.[${a}-${b}]`),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), maxLength: 40 }).map((hex) => `0x${hex}`),
);

t.test('ealArgs: random options give arguments or EINVAL', async (t) => {
  const keys = [...ealOptionKeys, 'bogus'];
  const options = fc.dictionary(fc.constantFrom(...keys), fc.oneof(anyValue, fc.array(anyValue, { maxLength: 3 })), {
    maxKeys: 4,
  });
  fc.assert(
    fc.property(options, (given) => refusedCleanly(['EINVAL'], () => ealArgs(given as EalOptions))),
    savingParameters('args-ealargs-random-options-give', 1000),
  );
  t.pass('no other error');
});

const ealOption = fc.constantFrom(
  '-c',
  '-l',
  '--lcores',
  '--main-lcore',
  '--socket-mem',
  '-m',
  '-n',
  '--no-huge',
  '--proc-type',
  '--telemetry',
  '--in-memory',
  '--vdev',
  '--file-prefix',
  '-a',
);
const ealCommandLine = fc.array(
  fc.oneof(
    ealOption,
    argText,
    fc.tuple(ealOption, argText).map(([o, v]) => (o.startsWith('--') ? `${o}=${v}` : `${o}${v}`)),
  ),
  { maxLength: 8 },
);

t.test(
  'prepareEalArgs, parseCorelist, parseCoremask: random command lines end, in bounded time and memory',
  async (t) => {
    fc.assert(
      fc.property(ealCommandLine, (args) =>
        refusedCleanly(['EINVAL'], () => {
          prepareEalArgs(args, { cpus: [0, 1], numaNodes: [0], freeHugepageMb: 1024 });
          for (const arg of args) {
            parseCorelist(arg);
            parseCoremask(arg);
          }
        }),
      ),
      savingParameters<[string[]]>('args-prepareealargs-parsecorelist-parsecoremask-random', 1000, [
        [['-l', '0-169220804']],
        [['-c', `0x${'f'.repeat(5000)}`]],
      ]),
    );
    t.pass('no other error');
  },
);

// Without a name, devargs picks a free one from EAL's ports, which needs Eal.init: a name is given.
t.test('vdev devargs: random options give devargs or EINVAL', async (t) => {
  const keys = [
    'path',
    'iface',
    'mac',
    'queues',
    'queueSize',
    'server',
    'client',
    'packedRing',
    'mergeableRxBuffers',
    'inOrder',
    'speedMbps',
    'name',
    'iommuSupport',
    'postcopySupport',
    'tso',
    'linearBuffer',
    'externalBuffer',
  ];
  const options = fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 4 });
  fc.assert(
    fc.property(
      options,
      (given) =>
        refusedCleanly(['EINVAL'], () =>
          VirtioUser.devargs({ ...given, name: given.name ?? 'net_virtio_user0' } as never),
        ) && refusedCleanly(['EINVAL'], () => Vhost.devargs({ ...given, name: given.name ?? 'net_vhost0' } as never)),
    ),
    savingParameters('args-vdev-devargs-random-options', 1000),
  );
  t.pass('no other error');
});

t.test('buildUdpPacket: random options give a packet that reads back, or EINVAL', async (t) => {
  const keys = ['dstMac', 'srcMac', 'srcIp', 'dstIp', 'srcPort', 'dstPort', 'frameSize', 'payload', 'bogus'];
  const options = fc.dictionary(
    fc.constantFrom(...keys),
    fc.oneof(anyValue, fc.constantFrom('10.0.0.1', '255.255.255.255', '1.2.3')),
    { maxKeys: 5 },
  );
  fc.assert(
    fc.property(options, (given) =>
      refusedCleanly(['EINVAL'], () => {
        const packet = buildUdpPacket(given as never);
        const ethernet = readEthernet(packet);
        const ip = readIpv4(packet, 14);
        const udp = readUdp(packet, 14, 14 + ip.headerLength);
        if (ethernet.etherType !== 0x0800 || !ip.checksumOk || !udp.checksumOk)
          throw new Error('built packet reads back wrong');
      }),
    ),
    savingParameters('args-buildudppacket-random-options-give', 1000),
  );
  t.pass('no other error');
});

t.test('packet readers: random bytes at random offsets give headers or EINVAL', async (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 80 }),
      fc.integer({ min: -2, max: 90 }),
      fc.nat(90),
      (bytes, ipOffset, offset) =>
        refusedCleanly(['EINVAL'], () => readEthernet(bytes, offset)) &&
        refusedCleanly(['EINVAL'], () => readIpv4(bytes, offset)) &&
        refusedCleanly(['EINVAL'], () => readUdp(bytes, ipOffset, offset)) &&
        refusedCleanly(['EINVAL'], () => readTcp(bytes, ipOffset, offset)),
    ),
    savingParameters<[Uint8Array, number, number]>('args-packet-readers-random-bytes', 1000, [
      [new Uint8Array(0), 0, 0],
    ]),
  );
  t.pass('no other error');
});

t.test('PacketFilter parseRule: random rules parse or give EINVAL', async (t) => {
  const piece = fc.oneof(
    fc.constantFrom('ip', 'udp', 'tcp', 'icmp', 'nw_src=', 'nw_dst=', 'tp_src=', 'tp_dst=', '10.0.0.0/8', '/33', ','),
    argText,
  );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.array(piece, { maxLength: 8 }).map((pieces) => pieces.join('')),
      ),
      (rule) => refusedCleanly(['EINVAL'], () => parseRule(rule)),
    ),
    savingParameters('args-packetfilter-parserule-random-rules', 1000),
  );
  t.pass('no other error');
});

/** Command-line words, without the help options (which print and exit the process). */
function commandLine(options: string[]): fc.Arbitrary<string[]> {
  const option = fc.constantFrom(...options);
  const word = fc.oneof(
    option.map((o) => [o]),
    argText.map((v) => [v]),
    fc.tuple(option, argText).map(([o, v]) => [`${o}=${v}`]),
    fc.tuple(option, argText),
  );
  return fc.array(word, { maxLength: 6 }).map((words) => words.flat());
}

t.test('pktgen command lines: random arguments parse or give a UsageError', async (t) => {
  const app = commandLine([
    '-T',
    '-P',
    '-m',
    '-f',
    '--script',
    '--commands',
    '--wait-done',
    '--shared-cpu',
    '--timeout',
    '--json',
    '--linger',
    '--line-rate-mbps',
  ]);
  const eal = commandLine([
    '-c',
    '-l',
    '--lcores',
    '-m',
    '--socket-mem',
    '--master-lcore',
    '-n',
    '--no-huge',
    '--vdev',
  ]);
  fc.assert(
    fc.property(
      app,
      eal,
      (appArgs, ealArgs) => usageErrorOnly(() => parseAppArgs(appArgs)) && usageErrorOnly(() => pktgenEalArgs(ealArgs)),
    ),
    savingParameters('args-pktgen-command-lines-random', 1000),
  );
  t.pass('no other error');
});

t.test('pktgen -m port maps: random maps parse or give a UsageError', async (t) => {
  const map = fc.oneof(
    argText,
    fc.array(argText, { maxLength: 3 }).map((entries) => entries.join(',')),
  );
  fc.assert(
    fc.property(map, (text) => usageErrorOnly(() => parseAppArgs(['-m', text]))),
    savingParameters<[string]>('args-pktgen-m-port-maps', 1000, [['0.[0-99999999999]']]),
  );
  t.pass('no other error');
});

t.test('testpmd command lines: random arguments parse or give a UsageError', async (t) => {
  const args = commandLine([
    '-i',
    '--interactive',
    '--auto-start',
    '--burst',
    '--rxd',
    '--txd',
    '--forward-mode',
    '--coremask',
    '--nb-cores',
    '--stats-period',
    '--total-num-mbufs',
    '--engine',
    '--json',
    '--yield-when-idle',
    '--filter-drop',
    '--filter-pass',
  ]);
  fc.assert(
    fc.property(args, (given) => usageErrorOnly(() => parseOptions(given))),
    savingParameters('args-testpmd-command-lines-random', 1000),
  );
  t.pass('no other error');
});
