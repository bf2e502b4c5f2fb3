// vhost-loopback: a stand-in for "OVS-DPDK + a forwarder container" in the lab. It serves
// two vhost-user sockets (net_vhost ports, what OVS's dpdkvhostuser ports are) and
// cross-connects them with a native engine: what arrives on the first socket leaves on the
// second and the other way round. Point pktgen's two virtio-user ports at the sockets and
// each port's traffic comes back on the other one.
//
//   node --import tsx examples/vhost-loopback.ts --iface /tmp/vhu0.sock --iface /tmp/vhu1.sock \
//     [--lcores 0@0,1@1] [--mode io|mac|macswap|l2fwd] [--memory-mb 128] [--no-huge] [--file-prefix NAME]
//
// It prints `vhost-loopback: ready ...` once both sockets accept connections, the counters
// when they change (at most once a second), and the final counters on SIGINT or SIGTERM,
// then releases everything (no files are left in /dev/hugepages or /var/run/dpdk).
import { Eal, Engine, Mempool, Vhost, type ForwardMode, type Port } from '../lib/index.js';

const usage = `usage: vhost-loopback.ts --iface PATH --iface PATH [--lcores MAP] [--mode io|mac|macswap|l2fwd]
                         [--memory-mb N] [--no-huge] [--file-prefix NAME]`;

const loopModes: readonly ForwardMode[] = ['io', 'mac', 'macswap', 'l2fwd'];

interface LoopbackOptions {
  ifaces: string[];
  lcores: string;
  mode: ForwardMode;
  memoryMb: number;
  noHuge: boolean;
  filePrefix: string;
}

function fail(message: string): never {
  process.stderr.write(`vhost-loopback: ${message}\n${usage}\n`);
  process.exit(1);
}

function parseOptions(argv: string[]): LoopbackOptions {
  const options: LoopbackOptions = { ifaces: [], lcores: '0@0,1@1', mode: 'io', memoryMb: 128, noHuge: false, filePrefix: 'vhost-loopback' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--iface': options.ifaces.push(value()); break;
      case '--lcores': options.lcores = value(); break;
      case '--file-prefix': options.filePrefix = value(); break;
      case '--no-huge': options.noHuge = true; break;
      case '--mode': {
        const mode = value();
        if (!(loopModes as readonly string[]).includes(mode)) fail(`--mode must be one of ${loopModes.join(', ')}, got "${mode}"`);
        options.mode = mode as ForwardMode;
        break;
      }
      case '--memory-mb': {
        const text = value();
        if (!/^\d+$/.test(text) || Number(text) < 16) fail(`--memory-mb must be an integer of at least 16, got "${text}"`);
        options.memoryMb = Number(text);
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(`${usage}\n`);
        process.exit(0);
      default:
        fail(`unknown argument "${arg}"`);
    }
  }
  if (options.ifaces.length !== 2) fail(`give exactly two --iface socket paths, got ${options.ifaces.length}`);
  return options;
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  Eal.init({ lcores: options.lcores, memoryMb: options.memoryMb, noHuge: options.noHuge, filePrefix: options.filePrefix });
  const worker = Eal.lcores().find((lcore) => lcore.role === 'worker');
  if (worker === undefined) fail(`--lcores ${options.lcores} has no worker lcore for the engine: give two, e.g. 0@0,1@1`);
  const pool = Mempool.create({ name: 'vhost-loopback', size: 8191 });
  const ports: Port[] = options.ifaces.map((iface) => {
    const port = Vhost.create({ iface });
    port.configure({ mempool: pool });
    port.start();
    return port;
  });
  const [first, second] = ports;
  const engine = Engine.create({
    lcore: worker.id, mode: options.mode, streams: [{ rxPort: first, txPort: second }, { rxPort: second, txPort: first }],
  });
  engine.start();
  process.stdout.write(`vhost-loopback: ready: ${options.ifaces[0]} <-> ${options.ifaces[1]} (mode ${options.mode}, lcore ${worker.id} on CPU ${worker.cpus.join(',')})\n`);

  const describeCounters = (): string => engine.stats()
    .map((s) => `port ${s.rxPort} -> ${s.txPort}: rx ${s.rx} tx ${s.tx} dropped ${s.dropped}`).join('; ');
  let printed = '';
  const reporter = setInterval(() => {
    const counters = describeCounters();
    if (counters !== printed) process.stdout.write(`vhost-loopback: ${counters}\n`);
    printed = counters;
  }, 1000);

  const shutdown = (signal: NodeJS.Signals): void => {
    clearInterval(reporter);
    engine.stop();
    process.stdout.write(`vhost-loopback: ${signal}: final: ${describeCounters()}\n`);
    for (const port of ports) port.close();
    pool.close();
    Eal.cleanup();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, shutdown);
}

main();
