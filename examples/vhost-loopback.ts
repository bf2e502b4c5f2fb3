// vhost-loopback: a stand-in for "OVS-DPDK + a forwarder container" in the lab. It serves
// two vhost-user sockets (net_vhost ports, what OVS's dpdkvhostuser ports are) and
// cross-connects them with a native engine: what arrives on the first socket leaves on the
// second and the other way round. Point pktgen's two virtio-user ports at the sockets and
// each port's traffic comes back on the other one.
//
//   node --import tsx examples/vhost-loopback.ts --iface /tmp/vhu0.sock --iface /tmp/vhu1.sock \
//     [--lcores 0@0,1@1] [--mode io|mac|macswap|l2fwd] [--count-dports] [--max-pps N] [--memory-mb 128]
//     [--no-huge] [--file-prefix NAME]
//
// It prints `vhost-loopback: ready ...` once both sockets accept connections, the counters
// when they change (at most once a second), and the final counters on SIGINT or SIGTERM,
// then releases everything (no files are left in /dev/hugepages or /var/run/dpdk).
//
// --count-dports also counts the packets of each UDP destination port, per direction, and
// prints them with the final counters (`udp dports: port 0 -> 1: 53 x100, 80 x100; ...`),
// to check the mix a generator sent. The native engine does not look into packets, so then
// the main thread forwards (io mode only): slower, for tests rather than throughput.
//
// --max-pps N forwards at most N packets per second in each direction and drops the rest
// (counted as `limited`): a forwarder with a known limit, for a throughput search (pktgen's
// `search`) to find. It also forwards on the main thread (io mode only), with a token
// bucket 20 ms deep (N / 50 packets, at least 32), so that the main thread's pauses between
// polls cost nothing below N, while a trial of T seconds above N passes only up to about
// N + N / 50 / T. Keep N well below what the main thread forwards (about 200 000 pps on a
// busy 2-CPU machine) and low enough that the vhost ring (256 packets by default) holds 20 ms.
import {
  Batch,
  Eal,
  Forwarder,
  ETHER_HEADER_LENGTH,
  ETHER_TYPE_IPV4,
  IP_PROTO_UDP,
  IPV4_HEADER_LENGTH,
  Mempool,
  Vhost,
  type ForwardMode,
  type Port,
} from '../lib/index.js';

const usage = `usage: vhost-loopback.ts --iface PATH --iface PATH [--lcores MAP] [--mode io|mac|macswap|l2fwd]
                         [--count-dports] [--max-pps N] [--memory-mb N] [--no-huge] [--file-prefix NAME]`;

const loopModes: readonly ForwardMode[] = ['io', 'mac', 'macswap', 'l2fwd'];

interface LoopbackOptions {
  ifaces: string[];
  lcores: string;
  mode: ForwardMode;
  countDports: boolean;
  /** At most this many packets per second per direction; 0: no limit. */
  maxPps: number;
  memoryMb: number;
  noHuge: boolean;
  filePrefix: string;
}

function exitWithUsage(message: string): never {
  process.stderr.write(`vhost-loopback: ${message}\n${usage}\n`);
  process.exit(1);
}

function parseOptions(argv: string[]): LoopbackOptions {
  const options: LoopbackOptions = {
    ifaces: [],
    lcores: '0@0,1@1',
    mode: 'io',
    countDports: false,
    maxPps: 0,
    memoryMb: 128,
    noHuge: false,
    filePrefix: 'vhost-loopback',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) exitWithUsage(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--iface':
        options.ifaces.push(value());
        break;
      case '--lcores':
        options.lcores = value();
        break;
      case '--file-prefix':
        options.filePrefix = value();
        break;
      case '--no-huge':
        options.noHuge = true;
        break;
      case '--count-dports':
        options.countDports = true;
        break;
      case '--mode': {
        const mode = value();
        if (!(loopModes as readonly string[]).includes(mode))
          exitWithUsage(`--mode must be one of ${loopModes.join(', ')}, got "${mode}"`);
        options.mode = mode as ForwardMode;
        break;
      }
      case '--max-pps': {
        const text = value();
        if (!/^\d+$/.test(text) || Number(text) < 1)
          exitWithUsage(`--max-pps must be a whole number of packets per second of at least 1, got "${text}"`);
        options.maxPps = Number(text);
        break;
      }
      case '--memory-mb': {
        const text = value();
        if (!/^\d+$/.test(text) || Number(text) < 16)
          exitWithUsage(`--memory-mb must be an integer of at least 16, got "${text}"`);
        options.memoryMb = Number(text);
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(`${usage}\n`);
        process.exit(0);
      default:
        exitWithUsage(`unknown argument "${arg}"`);
    }
  }
  if (options.ifaces.length !== 2) exitWithUsage(`give exactly two --iface socket paths, got ${options.ifaces.length}`);
  if (options.countDports && options.mode !== 'io') {
    exitWithUsage(`--count-dports forwards in io mode only (on the main thread), got --mode ${options.mode}`);
  }
  if (options.maxPps > 0 && options.mode !== 'io') {
    exitWithUsage(`--max-pps forwards in io mode only (on the main thread), got --mode ${options.mode}`);
  }
  return options;
}

/** Counters of one direction, as the native engine reports them. */
interface DirectionCounters {
  rxPort: number;
  txPort: number;
  rx: number;
  tx: number;
  dropped: number;
  /** Packets --max-pps dropped (counted only with it). */
  limited?: number;
}

/** The cross-connection: a native Forwarder, or the main thread's counting loop. */
interface Crossover {
  counters(): DirectionCounters[];
  /** Packets per UDP destination port, per direction; null when not counted. */
  dports(): Map<number, number>[] | null;
  stop(): Promise<void>;
}

async function nativeCrossover(lcore: number, mode: ForwardMode, first: Port, second: Port): Promise<Crossover> {
  const forwarder = await Forwarder.start({
    lcore,
    mode,
    streams: [
      { rxPort: first, txPort: second },
      { rxPort: second, txPort: first },
    ],
  });
  return { counters: () => forwarder.stats(), dports: () => null, stop: () => forwarder.stop() };
}

/** The UDP destination port of an IPv4 packet at `offset` of `view`; null for other packets. */
function udpDestinationPort(view: DataView, offset: number, length: number): number | null {
  const ip = offset + ETHER_HEADER_LENGTH;
  if (
    length < ETHER_HEADER_LENGTH + IPV4_HEADER_LENGTH ||
    view.getUint16(offset + 12) !== ETHER_TYPE_IPV4 ||
    view.getUint8(ip + 9) !== IP_PROTO_UDP
  ) {
    return null;
  }
  const udp = ip + (view.getUint8(ip) & 0x0f) * 4;
  return udp + 4 <= offset + length ? view.getUint16(udp + 2) : null;
}

// The main thread's crossover: with countDports, counting each UDP destination port; with
// maxPps > 0, forwarding at most maxPps packets per second per direction (a token bucket).
function mainThreadCrossover(first: Port, second: Port, countDports: boolean, maxPps: number): Crossover {
  const bucketDepth = Math.max(32, maxPps / 50);
  const directions = [
    [first, second],
    [second, first],
  ].map(([from, to]) => ({
    from,
    to,
    counters: {
      rxPort: from.id,
      txPort: to.id,
      rx: 0,
      tx: 0,
      dropped: 0,
      ...(maxPps > 0 ? { limited: 0 } : {}),
    } as DirectionCounters,
    dports: new Map<number, number>(),
    tokens: bucketDepth,
    refilledAt: performance.now(),
  }));
  const batch = new Batch(64);
  let stopped = false;
  const poll = (): void => {
    if (stopped) return;
    let received = 0;
    for (const direction of directions) {
      const { from, to, counters, dports } = direction;
      const count = from.rxBurst(0, batch);
      if (count === 0) continue;
      received += count;
      counters.rx += count;
      if (countDports) {
        for (let i = 0; i < count; i++) {
          const dport = udpDestinationPort(batch.dataView(i), batch.offsets[i], batch.lengths[i]);
          if (dport !== null) dports.set(dport, (dports.get(dport) ?? 0) + 1);
        }
      }
      if (maxPps > 0) {
        const now = performance.now();
        direction.tokens = Math.min(bucketDepth, direction.tokens + ((now - direction.refilledAt) * maxPps) / 1000);
        direction.refilledAt = now;
        const allowed = Math.min(count, Math.floor(direction.tokens));
        direction.tokens -= allowed;
        for (let i = allowed; i < count; i++) batch.drop(i);
        counters.limited! += count - allowed;
      }
      counters.tx += to.txBurst(0, batch);
      counters.dropped += batch.count;
      batch.free();
    }
    // Idle, it polls once a millisecond rather than spinning the main thread's CPU.
    if (received > 0) setImmediate(poll);
    else setTimeout(poll, 1);
  };
  poll();
  return {
    counters: () => directions.map((direction) => ({ ...direction.counters })),
    dports: () => (countDports ? directions.map((direction) => new Map(direction.dports)) : null),
    stop: async () => {
      stopped = true;
      batch.close();
    },
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  Eal.init({
    lcores: options.lcores,
    memoryMb: options.memoryMb,
    noHuge: options.noHuge,
    filePrefix: options.filePrefix,
  });
  const worker = Eal.lcores().find((lcore) => lcore.role === 'worker');
  if (worker === undefined)
    exitWithUsage(`--lcores ${options.lcores} has no worker lcore for the engine: give two, e.g. 0@0,1@1`);
  const pool = Mempool.create({ name: 'vhost-loopback', size: 8191 });
  const ports: Port[] = options.ifaces.map((iface) => {
    const port = Vhost.create({ iface });
    port.configure({ mempool: pool });
    port.start();
    return port;
  });
  const [first, second] = ports;
  const onMainThread = options.countDports || options.maxPps > 0;
  const crossover = onMainThread
    ? mainThreadCrossover(first, second, options.countDports, options.maxPps)
    : await nativeCrossover(worker.id, options.mode, first, second);
  const where = onMainThread
    ? [
        'the main thread',
        ...(options.countDports ? ['counting UDP destination ports'] : []),
        ...(options.maxPps > 0 ? [`at most ${options.maxPps} pps per direction`] : []),
      ].join(', ')
    : `lcore ${worker.id} on CPU ${worker.cpus.join(',')}`;
  process.stdout.write(
    `vhost-loopback: ready: ${options.ifaces[0]} <-> ${options.ifaces[1]} (mode ${options.mode}, ${where})\n`,
  );

  const describeCounters = (): string =>
    crossover
      .counters()
      .map(
        (s) =>
          `port ${s.rxPort} -> ${s.txPort}: rx ${s.rx} tx ${s.tx} dropped ${s.dropped}` +
          (s.limited === undefined ? '' : ` limited ${s.limited}`),
      )
      .join('; ');
  const describeDports = (perDirection: Map<number, number>[]): string =>
    perDirection
      .map((dports, k) => {
        const { rxPort, txPort } = crossover.counters()[k];
        const counts = [...dports].sort(([a], [b]) => a - b).map(([dport, count]) => `${dport} x${count}`);
        return `port ${rxPort} -> ${txPort}: ${counts.length === 0 ? 'none' : counts.join(', ')}`;
      })
      .join('; ');
  let printed = '';
  const reporter = setInterval(() => {
    const counters = describeCounters();
    if (counters !== printed) process.stdout.write(`vhost-loopback: ${counters}\n`);
    printed = counters;
  }, 1000);

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    clearInterval(reporter);
    await crossover.stop();
    process.stdout.write(`vhost-loopback: ${signal}: final: ${describeCounters()}\n`);
    const dports = crossover.dports();
    if (dports !== null) process.stdout.write(`vhost-loopback: ${signal}: udp dports: ${describeDports(dports)}\n`);
    for (const port of ports) port.close();
    pool.close();
    Eal.cleanup();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(signal, (received) => void shutdown(received));
}

void main();
