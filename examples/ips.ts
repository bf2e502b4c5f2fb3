/**
 * An IPS-like network function for service chains: forwards packets from one port to
 * another, dropping those that match rules (`--mode inline`), or only counts matching
 * packets from a mirror port (`--mode detect`, an IDS/WAF-like tap). The loop runs in
 * TypeScript on a pinned lcore worker thread (examples/ips-loop.ts), or with
 * `--engine native` in the native Engine's filter on an EAL worker lcore (the same rules,
 * parsed by the same PacketFilter parser, matched in C).
 *
 *   node dist/examples/ips.js --no-pci \
 *     --vdev 'net_virtio_user0,path=/var/run/openvswitch/nf-in,server=1' \
 *     --vdev 'net_virtio_user1,path=/var/run/openvswitch/nf-out,server=1' \
 *     -- --mode inline --rule 'udp,tp_dst=6666' --json
 */
import { join } from 'node:path';
import { DpdkError, Eal, Forwarder, Mempool, Port, parseRule, type CaptureDirection } from '../lib/index.js';
import {
  UsageError,
  metricsUsage,
  parseMetricsAddress,
  parsePcapDirection,
  pcapUsage,
  reportLinks,
  startApp,
  startPcap,
  type MetricsAddress,
  type PcapOption,
} from './app.js';
import { ipsCounterNames, type IpsLoopData } from './ips-loop.js';

const usage = `usage: ips.js [EAL args] -- --mode inline|detect --rule RULE [--rule RULE]...
         [--in PORT] [--out PORT] [--eth-dst MAC --eth-src MAC] [--decap gre]
         [--cpu CPU] [--stats-period SECONDS] [--json]
         [--yield-when-idle] [--engine loop|native] [--metrics HOST:PORT]
         [--pcap FILE [--pcap-direction rx|tx|both]]
  --mode inline   forward --in to --out, dropping packets a rule matches (default)
  --mode detect   count packets from --in that rules match, forward nothing
  --rule RULE     ovs-ofctl-style match: ip|udp|tcp|icmp, nw_src=NET, nw_dst=NET,
                  tp_src=PORT[-PORT], tp_dst=PORT[-PORT], comma-separated
  --in, --out     port ids (default 0 and 1)
  --eth-dst MAC, --eth-src MAC
                  inline: write these Ethernet addresses into every packet forwarded
                  (an L3 hop that returns packets to a router: its port's MAC, and ours);
                  give both, loop engine only
  --decap gre     detect: match the Ethernet frame inside GRE (mirrored copies sent as
                  GRE, e.g. by an OVN Mirror of type gre); loop engine only
  --cpu CPU       CPU of the forwarding thread (default: the last one this process may use;
                  native: the EAL worker lcore on CPU, default the first worker lcore)
  --stats-period  print counters every SECONDS (default 1, 0 disables)
  --json          print a JSON summary line at exit
  --yield-when-idle
                  give the CPU away (sched_yield) when nothing arrived: for a CPU
                  shared with another poller
  --engine loop   match in the TypeScript loop of examples/ips-loop.ts (default)
  --engine native match in the native Engine's filter, on an EAL worker lcore (give EAL
                  two lcores or more, e.g. --lcores 0@0,1@1)
${metricsUsage}
${pcapUsage}`;

interface IpsOptions {
  mode: 'inline' | 'detect';
  rules: string[];
  input: number;
  output: number;
  cpu?: number;
  statsPeriodSeconds: number;
  json: boolean;
  yieldWhenIdle: boolean;
  engine: 'loop' | 'native';
  /** `--eth-dst`, `--eth-src`: the addresses written into forwarded packets (inline). */
  ethDst?: string;
  ethSrc?: string;
  /** `--decap gre`: match inside GRE (detect). */
  decap?: 'gre';
  /** `--pcap`, `--pcap-direction`: capture the ports' packets. */
  pcap?: PcapOption;
  metrics?: MetricsAddress;
}

function integer(name: string, value: string | undefined, min: number, max: number): number {
  const number = Number(value);
  if (value === undefined || !Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return number;
}

function mac(name: string, value: string | undefined): string {
  if (value === undefined || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value))
    throw new UsageError(`${name} must be a MAC address like 00:00:00:00:00:01, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

function parseOptions(args: string[]): IpsOptions | 'help' {
  const options: IpsOptions = {
    mode: 'inline',
    rules: [],
    input: 0,
    output: 1,
    statsPeriodSeconds: 1,
    json: false,
    yieldWhenIdle: false,
    engine: 'loop',
  };
  let pcapDirection: CaptureDirection | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    switch (arg) {
      case '--mode': {
        const mode = args[++i];
        if (mode !== 'inline' && mode !== 'detect')
          throw new UsageError(`--mode must be inline or detect, got ${JSON.stringify(mode)}`);
        options.mode = mode;
        break;
      }
      case '--rule': {
        const rule = args[++i];
        if (rule === undefined) throw new UsageError('--rule needs a RULE');
        try {
          parseRule(rule);
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
        options.rules.push(rule);
        break;
      }
      case '--in':
        options.input = integer('--in', args[++i], 0, 31);
        break;
      case '--out':
        options.output = integer('--out', args[++i], 0, 31);
        break;
      case '--eth-dst':
        options.ethDst = mac('--eth-dst', args[++i]);
        break;
      case '--eth-src':
        options.ethSrc = mac('--eth-src', args[++i]);
        break;
      case '--decap': {
        const decap = args[++i];
        if (decap !== 'gre') throw new UsageError(`--decap must be gre, got ${JSON.stringify(decap)}`);
        options.decap = decap;
        break;
      }
      case '--cpu':
        options.cpu = integer('--cpu', args[++i], 0, 1023);
        break;
      case '--stats-period':
        options.statsPeriodSeconds = integer('--stats-period', args[++i], 0, 3600);
        break;
      case '--json':
        options.json = true;
        break;
      case '--yield-when-idle':
        options.yieldWhenIdle = true;
        break;
      case '--engine': {
        const engine = args[++i];
        if (engine !== 'loop' && engine !== 'native')
          throw new UsageError(`--engine must be loop or native, got ${JSON.stringify(engine)}`);
        options.engine = engine;
        break;
      }
      case '--pcap': {
        const path = args[++i];
        if (path === undefined) throw new UsageError('--pcap needs a FILE');
        options.pcap = { path, direction: 'both' };
        break;
      }
      case '--pcap-direction':
        pcapDirection = parsePcapDirection(args[++i] ?? '');
        break;
      case '--metrics':
        options.metrics = parseMetricsAddress(args[++i]);
        break;
      case '-h':
      case '--help':
        return 'help';
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  if (pcapDirection !== undefined) {
    if (options.pcap === undefined) throw new UsageError('--pcap-direction needs --pcap FILE');
    options.pcap.direction = pcapDirection;
  }
  if (options.rules.length === 0) throw new UsageError('give at least one --rule');
  if (options.mode === 'inline' && options.input === options.output)
    throw new UsageError('--in and --out must differ in inline mode');
  if ((options.ethDst === undefined) !== (options.ethSrc === undefined))
    throw new UsageError('--eth-dst and --eth-src go together: give both or neither');
  if (options.ethDst !== undefined && options.mode !== 'inline')
    throw new UsageError('--eth-dst and --eth-src apply only to --mode inline');
  if (options.decap !== undefined && options.mode !== 'detect')
    throw new UsageError('--decap applies only to --mode detect');
  if (options.engine === 'native' && (options.ethDst !== undefined || options.decap !== undefined))
    throw new UsageError('--eth-dst, --eth-src and --decap need --engine loop (the native filter has neither)');
  return options;
}

/** The IPS's counters: its stream's, named for what they mean here, and the loop's own. */
interface IpsCounters {
  rx: number;
  passed: number;
  matched: number;
  txDropped: number;
  /** Packets per rule, by index. */
  rules: number[];
}

/**
 * Starts the filter: the TypeScript loop of examples/ips-loop.ts on a worker thread, or the
 * native Engine's filter (inline: io with the rules dropping what they match; detect:
 * rxonly with the rules counting).
 */
async function startForwarder(options: IpsOptions, ports: Port[]): Promise<{ forwarder: Forwarder; where: string }> {
  const streams = [{ rxPort: ports[0], txPort: ports[ports.length - 1] }];
  const { yieldWhenIdle } = options;
  if (options.engine === 'loop') {
    const cpu = options.cpu ?? Math.max(...Eal.threadAffinity());
    const data: IpsLoopData = { mode: options.mode, rules: options.rules };
    if (options.ethDst !== undefined && options.ethSrc !== undefined)
      data.macs = { destination: options.ethDst, source: options.ethSrc };
    if (options.decap !== undefined) data.decap = options.decap;
    const loop = join(__dirname, 'ips-loop');
    const counters = ipsCounterNames(options.rules.length);
    const forwarder = await Forwarder.start({ loop, cpu, streams, data, counters, yieldWhenIdle });
    return { forwarder, where: `loop on CPU ${cpu}` };
  }
  const workers = Eal.lcores().filter((lcore) => lcore.role === 'worker');
  const lcore =
    options.cpu === undefined ? workers[0] : workers.find((worker) => worker.cpus.includes(options.cpu as number));
  if (lcore === undefined) {
    throw new UsageError(
      options.cpu === undefined
        ? '--engine native needs an EAL worker lcore: give EAL two lcores or more, e.g. --lcores 0@0,1@1'
        : `--cpu ${options.cpu} has no EAL worker lcore (the workers are on CPUs ${workers.flatMap((w) => w.cpus).join(', ') || 'none'})`,
    );
  }
  const forwarder = await Forwarder.start({
    lcore: lcore.id,
    mode: options.mode === 'inline' ? 'io' : 'rxonly',
    streams,
    filter: { rules: options.rules },
    yieldWhenIdle,
  });
  return { forwarder, where: `native engine on lcore ${lcore.id} (CPU ${lcore.cpus.join(',')})` };
}

/** The counters, whichever runs the filter: its stream's, and the matches per rule. */
function ipsCounters(forwarder: Forwarder, ruleCount: number): IpsCounters {
  const counters = forwarder.counters();
  const filter = forwarder.filterStats();
  const rules =
    filter === undefined
      ? Array.from({ length: ruleCount }, (_, i) => counters[`rule${i}`])
      : filter.rules.map((rule) => rule.packets);
  return {
    rx: counters['rx:0'],
    passed: counters['tx:0'],
    matched: filter === undefined ? counters.matched : rules.reduce((sum, packets) => sum + packets, 0),
    txDropped: counters['dropped:0'],
    rules,
  };
}

function statsLine(mode: string, counters: IpsCounters): string {
  return mode === 'inline'
    ? `ips: rx ${counters.rx} passed ${counters.passed} dropped ${counters.matched} tx-dropped ${counters.txDropped}`
    : `ids: rx ${counters.rx} matched ${counters.matched}`;
}

async function main(): Promise<number> {
  const started = await startApp<IpsOptions>('ips', usage, parseOptions);
  if (typeof started === 'number') return started;
  const { options, metrics } = started;
  const pool = Mempool.create({ name: 'ips', size: 8191 });
  const ports: Port[] = [];
  let forwarder: Forwarder | undefined;
  let stopPcap = (): void => undefined;
  try {
    metrics?.metrics.add(pool);
    const ids = options.mode === 'inline' ? [options.input, options.output] : [options.input];
    for (const id of ids) {
      const port = Port.get(id);
      port.configure({ mempool: pool, rxDescriptors: 1024, txDescriptors: 1024 });
      port.start();
      ports.push(port);
    }
    reportLinks('ips', ports);
    stopPcap = startPcap('ips', options.pcap, ports);
    const started = await startForwarder(options, ports);
    forwarder = started.forwarder;
    metrics?.metrics.add(forwarder, 'ips');
    console.log(
      `ips: ${options.mode} on ports ${ids.join(' -> ')}, ${started.where}, rules: ${options.rules.join(' | ')}`,
    );
    const running = forwarder;
    await new Promise<void>((resolve) => {
      const timer =
        options.statsPeriodSeconds > 0
          ? setInterval(
              () => console.log(statsLine(options.mode, ipsCounters(running, options.rules.length))),
              options.statsPeriodSeconds * 1000,
            )
          : setInterval(() => undefined, 1 << 30);
      const finish = (): void => {
        clearInterval(timer);
        resolve();
      };
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
    });
    return 0;
  } catch (error) {
    const known = error instanceof DpdkError || error instanceof UsageError;
    console.error(`ips: ${known ? error.message : String(error)}`);
    return 1;
  } finally {
    await metrics?.close();
    if (forwarder !== undefined) {
      await forwarder.stop();
      const counters = ipsCounters(forwarder, options.rules.length);
      await forwarder.close();
      console.log(statsLine(options.mode, counters));
      if (options.json) {
        const perRule = Object.fromEntries(options.rules.map((rule, i) => [rule, counters.rules[i]]));
        console.log(
          JSON.stringify({
            app: 'ips',
            mode: options.mode,
            engine: options.engine,
            rx: counters.rx,
            passed: counters.passed,
            matched: counters.matched,
            txDropped: counters.txDropped,
            rules: perRule,
            ports: ports.map((port) => ({ id: port.id, ...port.stats() })),
          }),
        );
      }
    }
    stopPcap();
    for (const port of ports) port.close();
    pool.close();
    Eal.cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`ips: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
