/**
 * DPDK's l2fwd sample on dpdk-ts: the same command line, port pairing, lcore assignment,
 * MAC rewrite and statistics, forwarding in a TypeScript loop on an LcoreWorker (default)
 * or in the native Engine (`--engine native`).
 *
 *   node --import tsx examples/l2fwd.ts --no-pci \
 *     --vdev 'net_virtio_user2,mac=00:00:00:00:00:02,path=/var/run/openvswitch/vhost-user2' \
 *     --vdev 'net_virtio_user3,mac=00:00:00:00:00:03,path=/var/run/openvswitch/vhost-user3' \
 *     -c 0x3 -n 1 --file-prefix l2fwd -- -p 0x3 -q 2 -T 1
 *
 * EAL arguments go to `Eal.init` as given, plus `--in-memory` and `--single-file-segments`
 * unless they say otherwise (telemetry stays on, as in DPDK); a core mask naming CPUs this machine
 * lacks (the reference `-c 0xE0` on a 2-CPU machine) is run as an `--lcores` map on the
 * CPUs it has, and a `--socket-mem` that cannot be honoured is left out (both with a note).
 */
import { join } from 'node:path';
import {
  DpdkError,
  Eal,
  Forwarder,
  Mempool,
  Port,
  type CaptureDirection,
  type DpdkMetrics,
  type LcoreInfo,
} from '../lib/index.js';
import {
  UsageError,
  metricsUsage,
  parseMetricsAddress,
  parsePcapDirection,
  pcapUsage,
  startApp,
  startPcap,
  type MetricsAddress,
  type PcapOption,
} from './app.js';
import type { L2fwdLoopData } from './l2fwd-loop.js';

/** l2fwd's constants. */
const burst = 32;
const rxDescriptors = 1024;
const txDescriptors = 1024;
const mempoolCacheSize = 256;
const maxLinkWaitMs = 9000;

/** The application options, after `--`. */
interface L2fwdOptions {
  portmask: number;
  promiscuous: boolean;
  portsPerLcore: number;
  statsPeriodSeconds: number;
  macUpdating: boolean;
  /** `--portmap` pairs (rx port, tx port), or undefined for consecutive enabled ports. */
  portmap: [number, number][] | undefined;
  engine: 'ts' | 'native';
  json: boolean;
  /** `--yield-when-idle`: the forwarding loops yield their CPU after a pass that moved nothing. */
  yieldWhenIdle: boolean;
  /** `--pcap`, `--pcap-direction`: capture the ports' packets. */
  pcap: PcapOption | undefined;
  /** `--metrics HOST:PORT`: where to serve Prometheus metrics, if anywhere. */
  metrics: MetricsAddress | undefined;
}

const usage = `usage: l2fwd.ts [EAL options] -- -p PORTMASK [-P] [-q NQ] [-T PERIOD] [--[no-]mac-updating]
                 [--portmap="(0,1),(2,3)"] [--engine ts|native] [--json]
                 [--yield-when-idle] [--metrics HOST:PORT] [--pcap FILE [--pcap-direction rx|tx|both]]
  -p PORTMASK                hexadecimal bitmask of the ports to use
  -P                         promiscuous mode
  -q NQ                      rx ports per lcore, 1..16 (default 1)
  -T PERIOD                  print statistics every PERIOD seconds, 0 to disable (default 10, at most 86400)
  --[no-]mac-updating        rewrite source and destination MACs (default on)
  --portmap="(p,p)[,(p,p)]"  which port forwards to which (default: consecutive enabled ports, 0<->1, 2<->3)
  --engine ts|native         forward in a TypeScript loop on an LcoreWorker (default) or in the native Engine
  --json                     print a JSON summary line at exit
  --yield-when-idle          the forwarding loops give their CPU away (sched_yield) after a pass
                             that moved no packet: for a CPU shared with another poller
${metricsUsage}
${pcapUsage}`;

function parsePortmap(text: string): [number, number][] {
  const pairs: [number, number][] = [];
  const pattern = /\(\s*(\d+)\s*,\s*(\d+)\s*\)/g;
  if (!/^(\s*\(\s*\d+\s*,\s*\d+\s*\)\s*,?)+$/.test(text)) {
    throw new UsageError(`--portmap must be pairs such as "(0,1),(2,3)", got '${text}'`);
  }
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text))
    pairs.push([Number(match[1]), Number(match[2])]);
  return pairs;
}

/** Parses l2fwd's options. Throws UsageError on a bad one. */
function parseOptions(args: string[]): L2fwdOptions | 'help' {
  const options: L2fwdOptions = {
    portmask: 0,
    promiscuous: false,
    portsPerLcore: 1,
    statsPeriodSeconds: 10,
    macUpdating: true,
    portmap: undefined,
    engine: 'ts',
    json: false,
    yieldWhenIdle: false,
    pcap: undefined,
    metrics: undefined,
  };
  let portmaskGiven = false;
  let pcapDirection: CaptureDirection | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (name: string): string => {
      if (arg.length > 2 && !arg.startsWith('--')) return arg.slice(2);
      const equals = arg.indexOf('=');
      if (arg.startsWith('--') && equals > 0) return arg.slice(equals + 1);
      if (i + 1 >= args.length) throw new UsageError(`${name} needs a value`);
      return args[++i];
    };
    const option = arg.startsWith('--') ? arg.split('=', 1)[0] : arg.slice(0, 2);
    if (
      ['-P', '--mac-updating', '--no-mac-updating', '--json', '--yield-when-idle', '-h', '--help'].includes(option) &&
      arg !== option
    ) {
      throw new UsageError(`${option} takes no value, got '${arg}'`);
    }
    switch (option) {
      case '-p': {
        const mask = value('-p');
        if (!/^(0x)?[0-9a-fA-F]+$/.test(mask) || parseInt(mask, 16) === 0) {
          throw new UsageError(`-p needs a non-zero hexadecimal port mask such as 0x3, got '${mask}'`);
        }
        options.portmask = parseInt(mask, 16);
        portmaskGiven = true;
        break;
      }
      case '-P':
        options.promiscuous = true;
        break;
      case '-q': {
        const count = value('-q');
        if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > 16)
          throw new UsageError(`-q must be from 1 to 16, got '${count}'`);
        options.portsPerLcore = Number(count);
        break;
      }
      case '-T': {
        const period = value('-T');
        if (!/^\d+$/.test(period) || Number(period) > 86400)
          throw new UsageError(`-T must be from 0 to 86400 seconds, got '${period}'`);
        options.statsPeriodSeconds = Number(period);
        break;
      }
      case '--mac-updating':
        options.macUpdating = true;
        break;
      case '--no-mac-updating':
        options.macUpdating = false;
        break;
      case '--portmap':
        options.portmap = parsePortmap(value('--portmap'));
        break;
      case '--engine': {
        const engine = value('--engine');
        if (engine !== 'ts' && engine !== 'native')
          throw new UsageError(`--engine must be ts or native, got '${engine}'`);
        options.engine = engine;
        break;
      }
      case '--json':
        options.json = true;
        break;
      case '--yield-when-idle':
        options.yieldWhenIdle = true;
        break;
      case '--pcap':
        options.pcap = { path: value('--pcap'), direction: 'both' };
        break;
      case '--pcap-direction':
        pcapDirection = parsePcapDirection(value('--pcap-direction'));
        break;
      case '--metrics':
        options.metrics = parseMetricsAddress(value('--metrics'));
        break;
      case '-h':
      case '--help':
        return 'help';
      default:
        throw new UsageError(`unknown option '${arg}'`);
    }
  }
  if (!portmaskGiven) throw new UsageError('-p PORTMASK is required');
  if (pcapDirection !== undefined) {
    if (options.pcap === undefined) throw new UsageError('--pcap-direction needs --pcap FILE');
    options.pcap.direction = pcapDirection;
  }
  return options;
}

/** One rx port and the port it forwards to. */
interface Stream {
  rxPort: Port;
  txPort: Port;
}

/** A worker lcore, the rx ports l2fwd gave it, and its forwarder once started. */
interface ForwardingLcore {
  lcore: LcoreInfo;
  streams: Stream[];
  forwarder: Forwarder | undefined;
  /** Another forwarding lcore polls on the same CPU (EAL's --lcores folded them). */
  sharesCpu: boolean;
}

/** Packets counted per port, as l2fwd's statistics show them. */
interface PortCounters {
  sent: number;
  received: number;
  dropped: number;
}

/** The port each enabled port forwards to: `--portmap`, else consecutive enabled ports paired. */
function destinations(enabled: number[], portmap: [number, number][] | undefined): Map<number, number> {
  const destination = new Map<number, number>();
  if (portmap !== undefined) {
    for (const [rx, tx] of portmap) {
      for (const port of [rx, tx]) {
        if (!enabled.includes(port)) throw new UsageError(`--portmap names port ${port}, which -p does not enable`);
      }
      if (destination.has(rx)) throw new UsageError(`--portmap names rx port ${rx} twice`);
      destination.set(rx, tx);
      if (!destination.has(tx)) destination.set(tx, rx);
    }
    const unmapped = enabled.filter((port) => !destination.has(port));
    if (unmapped.length > 0)
      throw new UsageError(`--portmap leaves enabled port(s) ${unmapped.join(', ')} without a peer`);
    return destination;
  }
  for (let i = 0; i + 1 < enabled.length; i += 2) {
    destination.set(enabled[i], enabled[i + 1]);
    destination.set(enabled[i + 1], enabled[i]);
  }
  if (enabled.length % 2 === 1) {
    console.log('Notice: odd number of ports in portmask.');
    const last = enabled[enabled.length - 1];
    destination.set(last, last);
  }
  return destination;
}

/**
 * Gives each enabled rx port to a worker lcore, at most `portsPerLcore` each, as l2fwd does.
 * Native engines on lcores that share a CPU take turns on it (as C l2fwd's would); TypeScript
 * loops run one per CPU, so such an assignment is refused.
 */
function assignLcores(
  ports: Port[],
  destination: Map<number, number>,
  portsPerLcore: number,
  engine: L2fwdOptions['engine'],
): ForwardingLcore[] {
  const workers = Eal.lcores().filter((lcore) => lcore.role === 'worker');
  const assigned: ForwardingLcore[] = [];
  for (const rxPort of ports) {
    let current = assigned[assigned.length - 1];
    if (current === undefined || current.streams.length === portsPerLcore) {
      const lcore = workers[assigned.length];
      if (lcore === undefined) {
        throw new UsageError(
          `Not enough cores: ${ports.length} port(s) at ${portsPerLcore} per lcore need ` +
            `${Math.ceil(ports.length / portsPerLcore)} worker lcore(s), EAL has ${workers.length} (raise -q or give EAL more lcores)`,
        );
      }
      current = { lcore, streams: [], forwarder: undefined, sharesCpu: false };
      assigned.push(current);
    }
    current.streams.push({ rxPort, txPort: Port.get(destination.get(rxPort.id) as number) });
  }
  const byCpu = new Map<number, number[]>();
  for (const { lcore } of assigned) byCpu.set(lcore.cpus[0], [...(byCpu.get(lcore.cpus[0]) ?? []), lcore.id]);
  for (const [cpu, lcores] of byCpu) {
    if (lcores.length > 1) {
      if (engine === 'ts') {
        throw new UsageError(
          `lcores ${lcores.join(', ')} all poll on CPU ${cpu}, and a TypeScript loop needs a CPU of its own; ` +
            `raise -q to poll more ports from one lcore, or use --engine native (its engines take turns)`,
        );
      }
      for (const each of assigned) if (lcores.includes(each.lcore.id)) each.sharesCpu = true;
      console.error(
        `l2fwd: warning: lcores ${lcores.join(', ')} all poll on CPU ${cpu} and will share it; ` +
          `raise -q to poll more ports from one lcore`,
      );
    }
  }
  return assigned;
}

/** The l2fwd application: ports, pool, forwarding lcores and their counters. */
class L2fwd {
  readonly #options: L2fwdOptions;
  readonly #ports: Port[];
  readonly #pool: Mempool;
  readonly #lcores: ForwardingLcore[];
  readonly #stopPcap: () => void;
  readonly #metrics: DpdkMetrics | undefined;
  #startedAt = 0n;

  /** Sets up the ports and the pool; with `metrics`, the pool and the forwarders are exported. */
  constructor(options: L2fwdOptions, metrics?: DpdkMetrics) {
    this.#options = options;
    this.#metrics = metrics;
    const available = Port.ids();
    if (available.length === 0)
      throw new UsageError('No Ethernet ports - bye (give EAL some, e.g. --vdev net_virtio_user0,path=...)');
    const possible = available.reduce((mask, id) => mask | (1 << id), 0);
    if ((options.portmask & ~possible) !== 0) {
      throw new UsageError(
        `Invalid portmask 0x${options.portmask.toString(16)}; possible (0x${possible.toString(16)})`,
      );
    }
    this.#ports = available.filter((id) => (options.portmask & (1 << id)) !== 0).map((id) => Port.get(id));
    const destination = destinations(
      this.#ports.map((port) => port.id),
      options.portmap,
    );
    this.#lcores = assignLcores(this.#ports, destination, options.portsPerLcore, options.engine);
    for (const { lcore, streams } of this.#lcores) {
      for (const stream of streams)
        console.log(`Lcore ${lcore.id}: RX port ${stream.rxPort.id} TX port ${stream.txPort.id}`);
    }
    const mbufs = Math.max(
      8192,
      this.#ports.length * (rxDescriptors + txDescriptors + burst + this.#lcores.length * mempoolCacheSize),
    );
    this.#pool = Mempool.create({ name: 'mbuf_pool', size: mbufs, cacheSize: mempoolCacheSize });
    metrics?.add(this.#pool);
    for (const port of this.#ports) {
      process.stdout.write(`Initializing port ${port.id}... `);
      port.configure({ mempool: this.#pool, rxDescriptors, txDescriptors });
      port.start();
      if (options.promiscuous) {
        try {
          port.promiscuous = true;
        } catch (error) {
          throw new UsageError(
            `-P: cannot enable promiscuous mode on port ${port.id} (${port.name}): ${(error as Error).message}`,
          );
        }
      }
      console.log(`done: \nPort ${port.id}, MAC address: ${port.mac.toUpperCase()}\n`);
    }
    this.#stopPcap = startPcap('l2fwd', options.pcap, this.#ports);
  }

  /** Waits up to 9 s for every link to come up, printing each port's state, as l2fwd does. */
  async checkLinks(): Promise<void> {
    process.stdout.write('\nChecking link status');
    const deadline = Date.now() + maxLinkWaitMs;
    while (Date.now() < deadline && this.#ports.some((port) => !port.link().up)) {
      process.stdout.write('.');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log('done');
    for (const port of this.#ports) {
      const link = port.link();
      console.log(
        link.up
          ? `Port ${port.id} Link up at ${link.speedMbps === 0 ? 'Unknown' : `${link.speedMbps} Mbps`} ` +
              `${link.fullDuplex ? 'FDX' : 'HDX'}`
          : `Port ${port.id} Link down`,
      );
    }
  }

  /** Launches the forwarding loops, one per lcore that owns rx ports. */
  async start(): Promise<void> {
    this.#startedAt = process.hrtime.bigint();
    for (const forwarding of this.#lcores) {
      const { lcore, streams, sharesCpu } = forwarding;
      const data: L2fwdLoopData = { macUpdating: this.#options.macUpdating };
      const { yieldWhenIdle } = this.#options;
      forwarding.forwarder = await Forwarder.start(
        this.#options.engine === 'native'
          ? {
              lcore: lcore.id,
              mode: this.#options.macUpdating ? 'l2fwd' : 'io',
              burst,
              streams,
              yieldWhenIdle,
              shareCpu: sharesCpu,
            }
          : { loop: join(__dirname, 'l2fwd-loop'), cpu: lcore.cpus[0], burst, streams, data, yieldWhenIdle },
      );
      this.#metrics?.add(forwarding.forwarder);
      console.log(
        `entering main loop on lcore ${lcore.id} (${this.#options.engine === 'native' ? 'native Engine' : `TypeScript loop on CPU ${lcore.cpus[0]}`})`,
      );
    }
  }

  /** The forwarders started so far. */
  #forwarders(): Forwarder[] {
    return this.#lcores.flatMap((forwarding) => forwarding.forwarder ?? []);
  }

  /** Stops the loops (safe when some never started); a TypeScript loop that failed is reported. */
  async stop(): Promise<void> {
    for (const { forwarder, error } of await Forwarder.stopAll(this.#forwarders())) {
      const lcore = this.#lcores.find((forwarding) => forwarding.forwarder === forwarder)?.lcore.id;
      console.error(
        `l2fwd: the TypeScript loop of lcore ${lcore} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Sent, received and dropped packets per port id, from the loops' live counters. */
  counters(): Map<number, PortCounters> {
    const totals = Forwarder.portTotals(this.#forwarders());
    return new Map(
      this.#ports.map((port) => {
        const counted = totals.get(port.id);
        return [port.id, { sent: counted?.tx ?? 0, received: counted?.rx ?? 0, dropped: counted?.dropped ?? 0 }];
      }),
    );
  }

  /** l2fwd's periodic statistics. */
  printStats(): void {
    if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[1;1H');
    const lines = ['\nPort statistics ===================================='];
    const total: PortCounters = { sent: 0, received: 0, dropped: 0 };
    for (const [id, counters] of this.counters()) {
      lines.push(
        `Statistics for port ${id} ------------------------------`,
        `Packets sent: ${String(counters.sent).padStart(24)}`,
        `Packets received: ${String(counters.received).padStart(20)}`,
        `Packets dropped: ${String(counters.dropped).padStart(21)}`,
      );
      total.sent += counters.sent;
      total.received += counters.received;
      total.dropped += counters.dropped;
    }
    lines.push(
      'Aggregate statistics ===============================',
      `Total packets sent: ${String(total.sent).padStart(18)}`,
      `Total packets received: ${String(total.received).padStart(14)}`,
      `Total packets dropped: ${String(total.dropped).padStart(15)}`,
      '====================================================',
    );
    console.log(lines.join('\n'));
  }

  /** The `--json` summary: counters per port and in total, and the rates over the run. */
  summary(): object {
    const seconds = Number(process.hrtime.bigint() - this.#startedAt) / 1e9;
    const perPort = this.counters();
    const ports = this.#ports.map((port) => ({
      port: port.id,
      name: port.name,
      ...(perPort.get(port.id) as PortCounters),
    }));
    const total = ports.reduce(
      (sum, port) => ({
        sent: sum.sent + port.sent,
        received: sum.received + port.received,
        dropped: sum.dropped + port.dropped,
      }),
      { sent: 0, received: 0, dropped: 0 },
    );
    return {
      app: 'l2fwd',
      engine: this.#options.engine,
      macUpdating: this.#options.macUpdating,
      seconds: Number(seconds.toFixed(3)),
      ports,
      total,
      rxPps: Math.round(total.received / seconds),
      txPps: Math.round(total.sent / seconds),
    };
  }

  /** Closes the forwarders, ends the captures, stops and closes the ports and frees the pool. */
  async close(): Promise<void> {
    for (const forwarder of this.#forwarders()) await forwarder.close();
    this.#stopPcap();
    for (const port of this.#ports) {
      process.stdout.write(`Closing port ${port.id}...`);
      port.stop();
      port.close();
      console.log(' Done');
    }
    this.#pool.close();
  }
}

/** Resolves on SIGINT or SIGTERM, printing statistics every `periodSeconds` meanwhile. */
function runUntilSignal(app: L2fwd, periodSeconds: number): Promise<void> {
  return new Promise((resolve) => {
    // The interval also keeps Node running while the loops forward on other threads.
    const timer = setInterval(() => app.printStats(), periodSeconds > 0 ? periodSeconds * 1000 : 1 << 30);
    const finish = (signal: NodeJS.Signals): void => {
      clearInterval(timer);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      console.log(`\n\nSignal ${signal} received, preparing to exit...`);
      resolve();
    };
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
  });
}

async function main(): Promise<number> {
  const started = await startApp<L2fwdOptions>('l2fwd', usage, parseOptions);
  if (typeof started === 'number') return started;
  const { options, metrics } = started;
  console.log(`MAC updating ${options.macUpdating ? 'enabled' : 'disabled'}`);
  let l2fwd: L2fwd | undefined;
  try {
    l2fwd = new L2fwd(options, metrics?.metrics);
    await l2fwd.checkLinks();
    await l2fwd.start();
    await runUntilSignal(l2fwd, options.statsPeriodSeconds);
    return 0;
  } catch (error) {
    console.error(
      `l2fwd: ${error instanceof UsageError || error instanceof DpdkError ? error.message : String(error)}`,
    );
    return 1;
  } finally {
    await metrics?.close();
    if (l2fwd !== undefined) {
      await l2fwd.stop();
      l2fwd.printStats();
      if (options.json) console.log(JSON.stringify(l2fwd.summary()));
      await l2fwd.close();
    }
    Eal.cleanup();
    console.log('Bye...');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`l2fwd: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
