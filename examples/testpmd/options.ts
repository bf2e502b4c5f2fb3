/**
 * testpmd.ts's command line after `--` (see ../testpmd.ts): the options, their defaults and
 * their checks, and the usage text. A mistake is a UsageError.
 */
import { parseCoremask, parseRule, type CaptureDirection, type EngineFilterRule } from '../../lib/index.js';
import {
  UsageError,
  metricsUsage,
  parseMetricsAddress,
  parsePcapDirection,
  pcapUsage,
  type MetricsAddress,
  type PcapOption,
} from '../app.js';
import type { TsForwardMode } from '../testpmd-loop.js';

/** The forwarding modes, as `--forward-mode` and `set fwd` name them. */
export const forwardModes = ['io', 'mac', 'macswap', 'rxonly', 'txonly'] as const satisfies readonly TsForwardMode[];

/** The application options, after `--`. */
export interface TestpmdOptions {
  interactive: boolean;
  autoStart: boolean;
  burst: number;
  rxDescriptors: number;
  txDescriptors: number;
  forwardMode: TsForwardMode;
  /** Lcores to forward on (`--coremask`), or undefined for every worker lcore. */
  forwardLcores: number[] | undefined;
  nbCores: number;
  statsPeriodSeconds: number;
  totalMbufs: number | undefined;
  engine: 'native' | 'ts';
  /** `--json`: print the last forward statistics as JSON at exit. */
  json: boolean;
  /** `--yield-when-idle`: the forwarding loops yield their CPU after a pass that moved nothing. */
  yieldWhenIdle: boolean;
  /** `--filter-drop`, `--filter-pass`: the native engine's filter rules, in order (none: no filter). */
  filterRules: EngineFilterRule[];
  /** `--pcap`, `--pcap-direction`: capture the ports' packets. */
  pcap: PcapOption | undefined;
  /** `--metrics HOST:PORT`: where to serve Prometheus metrics, if anywhere. */
  metrics: MetricsAddress | undefined;
}

/** The usage text, printed with `-h` and with a mistake in the options. */
export const usage = `usage: testpmd.ts [EAL options] -- [options]
  -i, --interactive          run the interactive prompt
  -a, --auto-start           start forwarding at once (always so without -i)
  --burst=N                  packets per burst, 1..512 (default 32)
  --rxd=N, --txd=N           descriptors per rx / tx queue (default 1024)
  --forward-mode=MODE        ${forwardModes.join(', ')} (default io)
  --coremask=MASK            hexadecimal mask of the lcores to forward on (default: every worker lcore)
  --nb-cores=N               how many of them to use (default 1)
  --stats-period=N           print port statistics every N seconds (non-interactive)
  --total-num-mbufs=N        mbufs in the packet pool
  --engine=native|ts         forward in the native Engine (default) or a TypeScript loop
  --json                     at exit, print the last forward statistics as one JSON line
  --yield-when-idle          the forwarding loops give their CPU away (sched_yield) after a
                             pass that moved no packet: for a CPU shared with another poller
  --filter-drop=RULE, --filter-pass=RULE
                             (native engine) drop or forward what RULE matches, the first
                             matching rule deciding, the rest forwarded; RULE as PacketFilter's:
                             ip|udp|tcp|icmp, nw_src=NET, nw_dst=NET, tp_src=P[-P], tp_dst=P[-P]
${pcapUsage}
${metricsUsage}
  --disable-hw-vlan, --disable-link-check
                             accepted for compatibility; nothing to do on dpdk-ts ports`;

/** Reference testpmd options that do not apply to dpdk-ts's ports and are accepted as no-ops. */
const ignoredOptions = new Set(['--disable-hw-vlan', '--disable-link-check']);

function integerOption(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got '${text}'`);
  }
  return Number(text);
}

function lcoresOfMask(name: string, mask: string): number[] {
  const lcores = parseCoremask(mask);
  if (lcores === undefined) throw new UsageError(`${name} must be a hexadecimal mask such as 0xc0, got '${mask}'`);
  if (lcores.length === 0) throw new UsageError(`${name} names no lcore: ${mask}`);
  return lcores;
}

/** The forwarding mode named `text`. Throws UsageError for an unknown one. */
export function parseForwardMode(text: string): TsForwardMode {
  const mode = forwardModes.find((candidate) => candidate === text);
  if (mode === undefined)
    throw new UsageError(`unknown forward mode '${text}': expected one of ${forwardModes.join(', ')}`);
  return mode;
}

/** Parses testpmd's options (`--name=value` or `--name value`). Throws UsageError on a bad one. */
export function parseOptions(args: string[]): TestpmdOptions | 'help' {
  const options: TestpmdOptions = {
    interactive: false,
    autoStart: false,
    burst: 32,
    rxDescriptors: 1024,
    txDescriptors: 1024,
    forwardMode: 'io',
    forwardLcores: undefined,
    nbCores: 1,
    statsPeriodSeconds: 0,
    totalMbufs: undefined,
    engine: 'native',
    json: false,
    yieldWhenIdle: false,
    filterRules: [],
    pcap: undefined,
    metrics: undefined,
  };
  let pcapDirection: CaptureDirection | undefined;
  const withValue = new Set([
    '--burst',
    '--rxd',
    '--txd',
    '--forward-mode',
    '--coremask',
    '--nb-cores',
    '--stats-period',
    '--total-num-mbufs',
    '--engine',
    '--filter-drop',
    '--filter-pass',
    '--pcap',
    '--pcap-direction',
    '--metrics',
  ]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const equals = arg.indexOf('=');
    const name = arg.startsWith('--') && equals > 0 ? arg.slice(0, equals) : arg;
    let value = '';
    if (withValue.has(name)) {
      if (equals > 0) value = arg.slice(equals + 1);
      else if (i + 1 < args.length) value = args[++i];
      else throw new UsageError(`${name} needs a value`);
    } else if (equals > 0 && arg.startsWith('--')) {
      throw new UsageError(
        ignoredOptions.has(name) ||
          ['--interactive', '--auto-start', '--help', '--json', '--yield-when-idle'].includes(name)
          ? `${name} takes no value`
          : `unknown option '${name}' (see --help)`,
      );
    }
    switch (name) {
      case '-i':
      case '--interactive':
        options.interactive = true;
        break;
      case '-a':
      case '--auto-start':
        options.autoStart = true;
        break;
      case '--json':
        options.json = true;
        break;
      case '--yield-when-idle':
        options.yieldWhenIdle = true;
        break;
      case '-h':
      case '--help':
        return 'help';
      case '--burst':
        options.burst = integerOption(name, value, 1, 512);
        break;
      case '--rxd':
        options.rxDescriptors = integerOption(name, value, 1, 65535);
        break;
      case '--txd':
        options.txDescriptors = integerOption(name, value, 1, 65535);
        break;
      case '--forward-mode':
        options.forwardMode = parseForwardMode(value);
        break;
      case '--coremask':
        options.forwardLcores = lcoresOfMask(name, value);
        break;
      case '--nb-cores':
        options.nbCores = integerOption(name, value, 1, 128);
        break;
      case '--stats-period':
        options.statsPeriodSeconds = integerOption(name, value, 0, 86400);
        break;
      case '--total-num-mbufs':
        options.totalMbufs = integerOption(name, value, 1024, 2 ** 31 - 1);
        break;
      case '--engine':
        if (value !== 'native' && value !== 'ts') throw new UsageError(`--engine must be native or ts, got '${value}'`);
        options.engine = value;
        break;
      case '--filter-drop':
      case '--filter-pass':
        try {
          parseRule(value);
        } catch (error) {
          throw new UsageError(`${name}: ${error instanceof Error ? error.message : String(error)}`);
        }
        options.filterRules.push({ match: value, action: name === '--filter-drop' ? 'drop' : 'pass' });
        break;
      case '--pcap':
        options.pcap = { path: value, direction: 'both' };
        break;
      case '--pcap-direction':
        pcapDirection = parsePcapDirection(value);
        break;
      case '--metrics':
        options.metrics = parseMetricsAddress(value);
        break;
      default:
        if (ignoredOptions.has(name)) break;
        throw new UsageError(`unknown option '${arg}' (see --help)`);
    }
  }
  if (pcapDirection !== undefined) {
    if (options.pcap === undefined) throw new UsageError('--pcap-direction needs --pcap FILE');
    options.pcap.direction = pcapDirection;
  }
  if (options.filterRules.length > 0 && options.engine !== 'native')
    throw new UsageError('--filter-drop and --filter-pass need --engine=native');
  return options;
}
