// pktgen.ts: a pktgen-style traffic generator on dpdk-ts. It takes pktgen's command line
// and its basic commands, so that a lab setup written for pktgen runs unchanged, e.g.
//
//   node --import tsx examples/pktgen.ts -c 0x19 --master-lcore 3 -n 1 --socket-mem 1024,1024 \
//     --file-prefix pktgen --no-pci \
//     --vdev 'net_virtio_user0,mac=00:00:00:00:00:05,path=/var/run/openvswitch/vhost-user0' \
//     --vdev 'net_virtio_user1,mac=00:00:00:00:00:01,path=/var/run/openvswitch/vhost-user1' \
//     -- -T -P -m "0.0,4.1" --commands 'set all rate 10; set 0 count 100; set 1 count 200; str' --wait-done
//
// (without OVS, examples/vhost-loopback.ts serves the two sockets and crosses them over).
//
// EAL arguments (before `--`) go to Eal.init as given, except that:
// - `--master-lcore` becomes `--main-lcore` (its DPDK 22.11 name);
// - in a group of options that say the same thing, the last one wins, so that a reference
//   command line can be overridden by appending: `-c`/`-l`/`--lcores` (e.g.
//   `--lcores 3@0,0@1,4@1`: pktgen's lcore ids 3 (main), 0 and 4 on CPUs 0 and 1) and
//   `-m`/`--socket-mem`;
// - then, as for the other examples (examples/eal-args.ts): lcores of `-c`/`-l` that name
//   CPUs this machine lacks run on the CPUs it has (`-c 0x19 --master-lcore 3` on 2 CPUs
//   becomes `--lcores 0@1,3@0,4@1`), a `--socket-mem` it cannot honour (`1024,1024` on one
//   NUMA node) is left out, and `--in-memory`, `--single-file-segments` (unless
//   `--no-huge`) and `--no-telemetry` are added: nothing is left in /dev/hugepages or
//   /var/run/dpdk, even after a crash. Every change is printed.
//
// Application arguments (after `--`): pktgen's `-T` (accepted; the display has no colour
// theme), `-P` (promiscuous mode on every port), `-m MAP` (which lcore serves which port:
// `0.0,4.1`, `[1:2].0` or `1.[0-1]`), `-f FILE` (a command file, as --script), and:
//   --script FILE          commands to run first, one per line (`#` starts a comment)
//   --commands 'A; B'      commands to run first, separated by ';'
//   --wait-done            after the commands, wait until every port with a count has sent
//                          it and the peer port received what was sent, then print the
//                          final table and exit: 0 when complete, 2 on --timeout
//   --timeout S            seconds --wait-done waits (default 30)
//   --json PATH|-          write the final counters as JSON to PATH, or as a single line on
//                          stdout (all other output then goes to stderr)
//   --line-rate-mbps N     the line rate that `rate` is a percentage of (default 10000)
//   --shared-cpu           the generator shares its CPU with another poller (an OVS PMD
//                          thread): its engines yield the CPU when they move nothing
//   --linger MS            after the final report (--wait-done, or quit in the commands),
//                          keep the ports open MS milliseconds, so that a switch's counters
//                          of them can still be read
// Without --wait-done, a prompt reads commands (`help` lists them) after those, until
// `quit` or EOF; on a terminal, the top lines show live per-port counters and rates.
//
// How it maps onto the SDK: each EAL worker lcore that serves ports (the one `-m` names for
// a port, else worker i % workers for port i) runs one native `generator` engine, with one
// stream per port it serves: the stream for port i sends port i's packet templates (its own
// size, addresses, flows, count and rate) on port i and counts what port i receives, so
// ports that share an lcore still send their own packets and keep their own counters. A
// port's packets cycle through its flows (UDP source ports sport..sport+flows-1) times its
// destination ports (`set PORTS dport 53,6666,80`), one template each, the source port
// varying fastest: a count that is a multiple of flows x dports sends each combination
// equally often. Ports are paired 0<->1, 2<->3 (a port without a partner is its own peer):
// the default destination MAC is the peer's MAC, so that a MAC-learning switch delivers
// port 0's packets to port 1, and port i's `received` counts what its peer sent. Every
// packet carries a 12-byte timestamp at the start of its UDP payload (so the UDP checksum
// is 0, "none", which IPv4 allows), from which the receiving port measures latency.
//
// Limitations: a port sends at most 1024 packet templates (flows x destination ports), each
// built before the run, so fields vary only through those lists. Engines on lcores that
// share a CPU (0 and 4 above, on a 2-CPU machine) take turns, and the latency they measure
// includes the scheduler's time slices (milliseconds); ports that share an lcore share
// its engine's time too. An engine's settings are fixed when it is created, so `str`
// creates new engines: each run counts from zero, after discarding the packets left in the
// rx queues by the previous one.
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import {
  Batch, DpdkError, Eal, Engine, ETHER_HEADER_LENGTH, IPV4_HEADER_LENGTH, Mempool, Port, UDP_HEADER_LENGTH,
  buildUdpPacket, prepareEalArgs, splitCommandLine, type LatencyStats, type PreparedEalArgs,
} from '../lib/index.js';
import type { PktgenReport, PortReport } from './pktgen/report.js';

const usage = `usage: pktgen.ts [EAL arguments] -- [-T] [-P] [-m MAP] [-f FILE] [--script FILE] [--commands 'A; B']
                 [--wait-done] [--timeout S] [--json PATH|-] [--line-rate-mbps N] [--shared-cpu] [--linger MS]`;

// Each flow and destination port combination is one packet template, built before a run
// and held by the engine: this bounds their memory (1.5 MB a port at 1518 bytes).
const maxTemplatesPerPort = 1024;

const commandHelp = `commands (PORTS: a port, a list such as 0,1 or 0-1, or all):
  set PORTS rate P          send at P percent of the line rate (0 < P <= 100)
  set PORTS pps N           send N packets per second (0: as fast as possible)
  set PORTS count N         send N packets, then stop sending (0: forever)
  set PORTS size N          frame size in bytes, FCS included (64..1518)
  set PORTS src|dst mac X   Ethernet addresses (default: the port's and its peer's)
  set PORTS src|dst ip X    IPv4 addresses (a /prefix length is accepted and ignored)
  set PORTS sport N         UDP source port (of the first flow)
  set PORTS flows N         send N flows in turn: UDP source ports sport..sport+N-1
                            (default 1; flows x dports is at most ${maxTemplatesPerPort})
  set PORTS dport N[,N...]  UDP destination port(s): packets cycle through every
                            combination of flow and destination port, source port fastest,
                            so e.g. "dport 53,6666,80" and "count 300" send 100 to each
  str                       start every port (a new run: counters from zero)
  start PORTS               a new run in which only PORTS send; the others only receive
  stp                       stop every port
  page stats | show         print the stats table
  clear | clr               zero the counters (ports stopped)
  delay MS                  wait MS milliseconds (for scripts)
  help                      this list
  quit                      stop, print the final table and exit`;

/** Exit status of --wait-done when --timeout passed before the counts were reached. */
const exitTimeout = 2;

// Before a run, rx queues are drained until they stay empty this long: packets of the
// previous run still in flight (in a switch, a forwarder) must not count in the new one.
const settleMs = 20;
const maxSettleMs = 1000;

// Bytes on the wire beside the frame: preamble, start of frame delimiter, inter-frame gap.
const wireOverheadBytes = 20;
const timestampOffset = ETHER_HEADER_LENGTH + IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH;
const udpChecksumOffset = ETHER_HEADER_LENGTH + IPV4_HEADER_LENGTH + 6;

// A mistake in the command line or in a command: reported as its message alone.
class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

// EAL's own -h would print DPDK's help and end the process; this is pktgen.ts's.
function printHelpAndExit(): never {
  process.stdout.write(`${usage}\n\n${commandHelp}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Command line

const pktgenOptions = new Set(['--script', '--commands', '--wait-done', '--timeout', '--json', '--line-rate-mbps', '--shared-cpu', '--linger']);

// EAL options that take a value as the next argument (the others are flags).
const ealValueOptions = new Set(['-c', '-l', '--lcores', '-m', '--socket-mem', '--socket-limit', '-n', '-r', '--file-prefix',
  '--vdev', '-a', '-b', '--allow', '--block', '--proc-type', '--huge-dir', '--iova-mode', '--log-level', '--main-lcore',
  '--master-lcore', '--base-virtaddr', '--mbuf-pool-ops-name', '-d', '-S', '-s', '--service-corelist', '--vfio-intr',
  '--vfio-vf-token', '--trace', '--trace-dir', '--trace-bufsz', '--trace-mode', '--force-max-simd-bitwidth']);

const coreOptions = new Set(['-c', '-l', '--lcores']);
const memoryOptions = new Set(['-m', '--socket-mem']);

interface EalOption {
  name: string;
  value?: string;
}

/**
 * Applies pktgen's conventions to its EAL arguments (`--master-lcore`, the last of a group
 * wins), before the adaptations all examples share; `notes` say what changed.
 */
function pktgenEalArgs(raw: string[]): PreparedEalArgs {
  const options: EalOption[] = [];
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i];
    if (arg === '-h' || arg === '--help') printHelpAndExit();
    if (pktgenOptions.has(arg.split('=')[0])) fail(`${arg} is a pktgen.ts option: put it after '--'\n${usage}`);
    const attached = /^(--[^=]+)=(.*)$/.exec(arg) ?? /^(-[clmn])(.+)$/.exec(arg);
    if (attached !== null) {
      options.push({ name: attached[1], value: attached[2] });
    } else if (ealValueOptions.has(arg)) {
      if (i + 1 >= raw.length) fail(`EAL option ${arg} needs a value`);
      options.push({ name: arg, value: raw[++i] });
    } else {
      options.push({ name: arg });
    }
  }
  const notes: string[] = [];
  const lastOf = (group: Set<string>): EalOption | undefined => options.filter((o) => group.has(o.name)).pop();
  const lastCores = lastOf(coreOptions);
  const lastMemory = lastOf(memoryOptions);
  const kept = options.filter((option) => {
    const winner = coreOptions.has(option.name) ? lastCores : memoryOptions.has(option.name) ? lastMemory : option;
    if (winner !== option) notes.push(`${winner!.name} ${winner!.value} replaces ${option.name} ${option.value}`);
    return winner === option;
  });
  for (const option of kept) {
    if (option.name === '--master-lcore') {
      option.name = '--main-lcore';
      notes.push(`--master-lcore ${option.value} is passed as --main-lcore ${option.value}`);
    }
  }
  const args = kept.flatMap((option) => option.value === undefined ? [option.name] : [option.name, option.value]);
  const shared = prepareEalArgs(args);
  if (shared.added.length > 0) notes.push(`added ${shared.added.join(' ')}`);
  return { args: shared.args, notes: [...notes, ...shared.notes], added: shared.added };
}

/** A port's lcore as `-m` gives it. */
interface LcoreMapping {
  port: number;
  lcore: number;
  entry: string;
}

function parseLcoreNumber(text: string, entry: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 127) fail(`-m entry "${entry}": lcore "${text}" must be an integer from 0 to 127`);
  return Number(text);
}

/** Parses pktgen's `-m` port map: `L.P`, `[R:T].P` (rx and tx lcores), `[A-B].P`, `L.[A-B]`. */
function parseLcoreMap(text: string): LcoreMapping[] {
  const entries = text.split(/,(?![^[]*\])/).map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  if (entries.length === 0) fail(`-m needs a port map such as "0.0,4.1", got "${text}"`);
  const mappings: LcoreMapping[] = [];
  for (const entry of entries) {
    const match = /^(\d+|\[([^\]]+)\])\.(\d+|\[(\d+)(?:-(\d+))?\])$/.exec(entry);
    if (match === null) fail(`-m entry "${entry}": expected LCORE.PORT such as 0.0, [1:2].0, [1-2].0 or 1.[0-1]`);
    // The engine receives and sends on one lcore: of several lcores, the first serves the port.
    const lcores = (match[2] ?? match[1]).split(/[:\-]/).map((part) => parseLcoreNumber(part, entry));
    const firstPort = Number(match[4] ?? match[3]);
    const lastPort = match[5] === undefined ? firstPort : Number(match[5]);
    if (lastPort < firstPort) fail(`-m entry "${entry}": port range ${firstPort}-${lastPort} is empty`);
    for (let port = firstPort; port <= lastPort; port++) mappings.push({ port, lcore: lcores[0], entry });
  }
  return mappings;
}

interface AppOptions {
  promiscuous: boolean;
  lcoreMap: LcoreMapping[];
  commands: { text: string; source: string }[];
  waitDone: boolean;
  timeoutS: number;
  jsonPath?: string;
  lineRateMbps: number;
  sharedCpu: boolean;
  lingerMs: number;
}

function parseAppArgs(argv: string[]): AppOptions {
  const options: AppOptions = { promiscuous: false, lcoreMap: [], commands: [], waitDone: false, timeoutS: 30, lineRateMbps: 10000, sharedCpu: false, lingerMs: 0 };
  let timeoutGiven = false;
  const readScript = (path: string, option: string): void => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      fail(`${option} ${path}: cannot read it: ${(error as Error).message}`);
    }
    text.split('\n').forEach((line, i) => options.commands.push({ text: line, source: `${path}:${i + 1}` }));
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value\n${usage}`);
      return argv[++i];
    };
    switch (arg) {
      case '-T': break;
      case '-P': options.promiscuous = true; break;
      case '-m': options.lcoreMap.push(...parseLcoreMap(value())); break;
      case '-f':
      case '--script': readScript(value(), arg); break;
      case '--commands':
        value().split(';').forEach((text, n) => options.commands.push({ text, source: `--commands command ${n + 1}` }));
        break;
      case '--wait-done': options.waitDone = true; break;
      case '--shared-cpu': options.sharedCpu = true; break;
      case '--timeout': {
        const text = value();
        options.timeoutS = Number(text);
        if (!/^\d+(\.\d+)?$/.test(text) || options.timeoutS <= 0) fail(`--timeout must be a number of seconds above 0, got "${text}"`);
        timeoutGiven = true;
        break;
      }
      case '--json': options.jsonPath = value(); break;
      case '--linger': {
        const text = value();
        options.lingerMs = Number(text);
        if (!/^\d+$/.test(text) || options.lingerMs > 600000) fail(`--linger must be 0 to 600000 milliseconds, got "${text}"`);
        break;
      }
      case '--line-rate-mbps': {
        const text = value();
        options.lineRateMbps = Number(text);
        if (!/^\d+$/.test(text) || options.lineRateMbps < 1 || options.lineRateMbps > 400000) {
          fail(`--line-rate-mbps must be an integer from 1 to 400000 (Mbit/s), got "${text}"`);
        }
        break;
      }
      case '-h':
      case '--help':
        printHelpAndExit();
      default:
        fail(`unknown pktgen.ts argument "${arg}" (accepted: -T, -P, -m, -f, ${[...pktgenOptions].join(', ')})\n${usage}`);
    }
  }
  if (timeoutGiven && !options.waitDone) fail('--timeout only applies with --wait-done');
  return options;
}

// ---------------------------------------------------------------------------------------
// Commands

type PortList = 'all' | number[];

type Setting =
  | { field: 'rate'; percent: number }
  | { field: 'pps'; pps: number }
  | { field: 'count'; count: number }
  | { field: 'size'; size: number }
  | { field: 'srcMac' | 'dstMac'; mac: string }
  | { field: 'srcIp' | 'dstIp'; ip: string }
  | { field: 'srcPort'; udpPort: number }
  | { field: 'dstPorts'; udpPorts: number[] }
  | { field: 'flows'; flows: number };

type Command =
  | { verb: 'set'; ports: PortList; setting: Setting }
  | { verb: 'str' | 'stp' | 'show' | 'clear' | 'help' | 'quit' }
  | { verb: 'start'; ports: PortList }
  | { verb: 'delay'; ms: number };

function parsePortList(text: string, command: string): PortList {
  if (text === 'all') return 'all';
  const ports: number[] = [];
  for (const part of text.split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null) fail(`${command}: "${text}" is not a port list: expected a port, a list such as 0,1 or 0-1, or all`);
    const last = Number(range[2] ?? range[1]);
    for (let port = Number(range[1]); port <= last; port++) ports.push(port);
  }
  return ports;
}

function parseInteger(text: string | undefined, what: string, min: number, max: number, command: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    fail(`${command}: ${what} must be an integer from ${min} to ${max}, got ${text === undefined ? 'nothing' : `"${text}"`}`);
  }
  return Number(text);
}

function parseSetting(words: string[], command: string): Setting {
  const [field, ...rest] = words;
  const single = (what: string): string => {
    if (rest.length !== 1) fail(`${command}: set ${field} takes one value (${what}), got ${rest.length}`);
    return rest[0];
  };
  switch (field) {
    case 'rate': {
      const text = single('a percentage');
      const percent = Number(text);
      if (!/^\d+(\.\d+)?$/.test(text) || percent <= 0 || percent > 100) {
        fail(`${command}: rate must be a percentage of the line rate above 0 and at most 100, got "${text}"`);
      }
      return { field, percent };
    }
    case 'pps': {
      const text = single('packets per second');
      if (!/^\d+(\.\d+)?$/.test(text)) fail(`${command}: pps must be a number of packets per second >= 0, got "${text}"`);
      return { field, pps: Number(text) };
    }
    case 'count':
      return { field, count: parseInteger(single('a packet count'), 'count', 0, Number.MAX_SAFE_INTEGER, command) };
    case 'size':
      return { field, size: parseInteger(single('a frame size'), 'size (bytes, FCS included)', 64, 1518, command) };
    case 'sport':
      return { field: 'srcPort', udpPort: parseInteger(single('a UDP port'), 'sport', 0, 65535, command) };
    case 'dport': {
      const list = single('a UDP port or a list such as 53,6666,80');
      const udpPorts = list.split(',').map((text) => parseInteger(text, 'each dport', 0, 65535, command));
      if (udpPorts.length > maxTemplatesPerPort) {
        fail(`${command}: dport lists ${udpPorts.length} ports; a port sends at most ${maxTemplatesPerPort} packet templates (flows x dports)`);
      }
      return { field: 'dstPorts', udpPorts };
    }
    case 'flows': {
      const text = single('a number of flows');
      if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > maxTemplatesPerPort) {
        fail(`${command}: flows must be an integer from 1 to ${maxTemplatesPerPort} (each flow is a packet template, ` +
          `and a port sends at most ${maxTemplatesPerPort}), got "${text}"`);
      }
      return { field: 'flows', flows: Number(text) };
    }
    case 'src':
    case 'dst': {
      const [kind, value] = rest;
      if (rest.length !== 2 || (kind !== 'mac' && kind !== 'ip')) {
        fail(`${command}: expected "set PORTS ${field} mac XX:XX:XX:XX:XX:XX" or "set PORTS ${field} ip A.B.C.D"`);
      }
      if (kind === 'mac') {
        if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) {
          fail(`${command}: ${field} mac must be a MAC address such as 00:00:00:00:00:01, got "${value}"`);
        }
        return { field: field === 'src' ? 'srcMac' : 'dstMac', mac: value.toLowerCase() };
      }
      const [address, prefix] = value.split('/');
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.split('.').some((byte) => Number(byte) > 255) ||
        (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= 32))) {
        fail(`${command}: ${field} ip must be an IPv4 address such as 192.168.0.1 (optionally /24), got "${value}"`);
      }
      return { field: field === 'src' ? 'srcIp' : 'dstIp', ip: address };
    }
    default:
      fail(`${command}: unknown setting "${field}": expected rate, pps, count, size, src, dst, sport, dport or flows`);
  }
}

/** Parses one command line; null for a blank line or a comment. */
function parseCommand(line: string): Command | null {
  const text = line.replace(/#.*/, '').trim();
  if (text === '') return null;
  const words = text.split(/\s+/);
  const verb = words[0].toLowerCase();
  const noArguments = (name: 'str' | 'stp' | 'show' | 'clear' | 'help' | 'quit'): Command => {
    if (words.length > 1) fail(`"${text}": ${verb} takes no arguments`);
    return { verb: name };
  };
  switch (verb) {
    case 'set':
      if (words.length < 4) fail(`"${text}": expected "set PORTS SETTING VALUE", e.g. "set 0 count 100"`);
      return { verb: 'set', ports: parsePortList(words[1], `"${text}"`), setting: parseSetting(words.slice(2), `"${text}"`) };
    case 'str': return noArguments('str');
    case 'start':
      if (words.length !== 2) fail(`"${text}": expected "start PORTS", e.g. "start 0"`);
      return { verb: 'start', ports: parsePortList(words[1], `"${text}"`) };
    case 'stp': return noArguments('stp');
    case 'show': return noArguments('show');
    case 'page':
      if (words.length !== 2 || words[1] !== 'stats') fail(`"${text}": the only page is "page stats"`);
      return { verb: 'show' };
    case 'clear':
    case 'clr': return noArguments('clear');
    case 'help': return noArguments('help');
    case 'quit':
    case 'exit': return noArguments('quit');
    case 'delay':
      return { verb: 'delay', ms: parseInteger(words[1], 'delay (milliseconds)', 0, 3_600_000, `"${text}"`) };
    default:
      fail(`"${text}": unknown command "${words[0]}": expected set, str, start, stp, page stats, show, clear, delay, help or quit`);
  }
}

// ---------------------------------------------------------------------------------------
// The generator

interface PortSettings {
  count: number;
  size: number;
  rate: { unit: 'percent' | 'pps'; value: number };
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  /** UDP source port of the first flow; flow f uses srcPort + f. */
  srcPort: number;
  /** Flows: UDP source ports srcPort .. srcPort + flows - 1, sent in turn. */
  flows: number;
  /** UDP destination ports, each combined with every flow. */
  dstPorts: number[];
}

/** An engine and the ports it serves (one stream each, in this order). */
interface EngineGroup {
  lcore: number;
  ports: number[];
  engine: Engine;
}

interface RateSample {
  atMs: number;
  sent: number[];
  received: number[];
}

class Pktgen {
  readonly ports: Port[];
  readonly settings: PortSettings[];
  readonly lcoreOf: number[];
  readonly #pool: Mempool;
  readonly #lineRateMbps: number;
  readonly #notice: (text: string) => void;
  #groups: EngineGroup[] = [];
  // The counts the current run's engines were created with (settings may change since).
  #runCounts: number[];
  #running = false;
  #sample: RateSample | null = null;
  #pps: { tx: number[]; rx: number[] };

  /** `--shared-cpu`: engines yield the CPU when idle. */
  readonly #sharedCpu: boolean;

  constructor(options: AppOptions, notice: (text: string) => void) {
    this.#notice = notice;
    this.#lineRateMbps = options.lineRateMbps;
    this.#sharedCpu = options.sharedCpu;
    this.ports = Port.ids().map((id) => Port.get(id));
    if (this.ports.length === 0) {
      fail("no ports: give pktgen virtio-user ports, e.g. --vdev 'net_virtio_user0,mac=00:00:00:00:00:05,path=/var/run/openvswitch/vhost-user0'");
    }
    this.lcoreOf = this.#assignLcores(options.lcoreMap);
    this.#pool = Mempool.create({ name: 'pktgen', size: 8191 });
    for (const port of this.ports) {
      port.configure({ mempool: this.#pool });
      port.start();
      if (options.promiscuous) {
        try {
          port.promiscuous = true;
        } catch (error) {
          notice(`-P: port ${port.id} (${port.name}) stays non-promiscuous: ${(error as Error).message}`);
        }
      }
    }
    this.settings = this.ports.map((port, i) => ({
      count: 0, size: 64, rate: { unit: 'percent', value: 100 },
      srcMac: port.mac, dstMac: this.ports[this.peerOf(i)].mac,
      srcIp: `192.168.${i}.1`, dstIp: `192.168.${this.peerOf(i)}.1`, srcPort: 1234, flows: 1, dstPorts: [5678],
    }));
    this.#pps = { tx: this.ports.map(() => 0), rx: this.ports.map(() => 0) };
    this.#runCounts = this.settings.map((settings) => settings.count);
  }

  /** The port whose traffic port `i` receives: its partner in 0<->1, 2<->3, or itself. */
  peerOf(i: number): number {
    const partner = i ^ 1;
    return partner < this.ports.length ? partner : i;
  }

  #assignLcores(lcoreMap: LcoreMapping[]): number[] {
    const lcores = Eal.lcores();
    const workers = lcores.filter((lcore) => lcore.role === 'worker').map((lcore) => lcore.id);
    if (workers.length === 0) {
      fail(`EAL enabled no worker lcore (only lcore ${lcores.map((l) => l.id).join(', ')}): the engines need one, e.g. --lcores 0@0,1@1`);
    }
    for (const mapping of lcoreMap) {
      if (mapping.port >= this.ports.length) {
        fail(`-m entry "${mapping.entry}" names port ${mapping.port}, but there are ${this.ports.length} ports (0..${this.ports.length - 1})`);
      }
    }
    return this.ports.map((_, i) => {
      const fallback = workers[i % workers.length];
      const mapping = lcoreMap.filter((m) => m.port === i).pop();
      if (mapping === undefined || workers.includes(mapping.lcore)) return mapping?.lcore ?? fallback;
      this.#notice(`-m "${mapping.entry}": lcore ${mapping.lcore} is not an EAL worker lcore (workers: ${workers.join(', ')}): port ${i} runs on lcore ${fallback}`);
      return fallback;
    });
  }

  get running(): boolean {
    return this.#running;
  }

  /** Whether a run was started (by str) since the program began. */
  get started(): boolean {
    return this.#groups.length > 0;
  }

  #ppsOf(settings: PortSettings): number {
    if (settings.rate.unit === 'pps') return settings.rate.value;
    return settings.rate.value / 100 * this.#lineRateMbps * 1e6 / ((settings.size + wireOverheadBytes) * 8);
  }

  #portsOf(list: PortList, command: string): number[] {
    if (list === 'all') return this.ports.map((_, i) => i);
    for (const port of list) {
      if (port >= this.ports.length) fail(`${command}: port ${port} does not exist: ports are 0..${this.ports.length - 1}`);
    }
    return list;
  }

  /** Port `port`'s settings with `setting` applied; fails when its flows would not fit. */
  #applied(port: number, setting: Setting, command: string): PortSettings {
    const settings: PortSettings = { ...this.settings[port] };
    switch (setting.field) {
      case 'rate': settings.rate = { unit: 'percent', value: setting.percent }; break;
      case 'pps': settings.rate = { unit: 'pps', value: setting.pps }; break;
      case 'count': settings.count = setting.count; break;
      case 'size': settings.size = setting.size; break;
      case 'srcMac': case 'dstMac': settings[setting.field] = setting.mac; break;
      case 'srcIp': case 'dstIp': settings[setting.field] = setting.ip; break;
      case 'srcPort': settings.srcPort = setting.udpPort; break;
      case 'dstPorts': settings.dstPorts = setting.udpPorts; break;
      case 'flows': settings.flows = setting.flows; break;
    }
    const lastSrcPort = settings.srcPort + settings.flows - 1;
    if (lastSrcPort > 65535) {
      fail(`${command}: port ${port}'s ${settings.flows} flows from sport ${settings.srcPort} would use source ports up to ${lastSrcPort}, ` +
        'past 65535: lower sport or flows');
    }
    const templates = settings.flows * settings.dstPorts.length;
    if (templates > maxTemplatesPerPort) {
      fail(`${command}: port ${port}'s ${settings.flows} flows x ${settings.dstPorts.length} dports make ${templates} packet templates; ` +
        `a port sends at most ${maxTemplatesPerPort}`);
    }
    return settings;
  }

  /** The packets a port sends in turn: every flow for each destination port, source port fastest. */
  #templates(settings: PortSettings): Uint8Array[] {
    return settings.dstPorts.flatMap((dstPort) => Array.from({ length: settings.flows }, (_, flow) => {
      const packet = buildUdpPacket({
        dstMac: settings.dstMac, srcMac: settings.srcMac, srcIp: settings.srcIp, dstIp: settings.dstIp,
        srcPort: settings.srcPort + flow, dstPort, frameSize: settings.size,
      });
      // The engine writes a timestamp into every packet's payload after the checksum was
      // computed; 0 says "no checksum", which IPv4 allows, rather than a wrong one.
      packet[udpChecksumOffset] = 0;
      packet[udpChecksumOffset + 1] = 0;
      return packet;
    }));
  }

  // Frees what the rx queues hold (engines stopped); returns how many packets.
  #drainRx(): number {
    const batch = new Batch(64);
    let drained = 0;
    for (const port of this.ports) {
      for (let n = port.rxBurst(0, batch); n > 0; n = port.rxBurst(0, batch)) {
        drained += n;
        batch.free();
      }
    }
    batch.close();
    return drained;
  }

  /** `str` (every port) or `start PORTS`: a new run in which `sending` ports send, all receive. */
  async start(sending: PortList = 'all'): Promise<void> {
    this.stop();
    let stale = this.#drainRx();
    const settleEnd = Date.now() + maxSettleMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const more = this.#drainRx();
      stale += more;
      if (more === 0) break;
      if (Date.now() > settleEnd) {
        this.#notice(`str: packets keep arriving while stopped (${stale} discarded in ${maxSettleMs} ms): they will count in this run`);
        break;
      }
    }
    if (stale > 0) this.#notice(`str: discarded ${stale} packets left in the rx queues by the previous run`);
    // The last run's engines give way (and their hold on the pool) to the new run's.
    for (const group of this.#groups) group.engine.close();
    const byLcore = new Map<number, number[]>();
    this.lcoreOf.forEach((lcore, port) => byLcore.set(lcore, [...(byLcore.get(lcore) ?? []), port]));
    const groups: EngineGroup[] = [];
    for (const [lcore, ports] of byLcore) {
      const engine = Engine.create({
        lcore, mode: 'generator', mempool: this.#pool, timestampOffset, yieldWhenIdle: this.#sharedCpu,
        streams: ports.map((port) => ({
          rxPort: this.ports[port], txPort: this.ports[port], templates: this.#templates(this.settings[port]),
          txLimit: this.settings[port].count, ratePps: this.#ppsOf(this.settings[port]),
          send: sending === 'all' || sending.includes(port),
        })),
      });
      groups.push({ lcore, ports, engine });
    }
    this.#groups = groups;
    this.#runCounts = this.settings.map((settings, port) => (sending === 'all' || sending.includes(port) ? settings.count : 0));
    this.#running = true;
    try {
      for (const group of groups) group.engine.start();
    } catch (error) {
      this.stop();
      throw error;
    }
    this.#sample = { atMs: Date.now(), sent: this.ports.map(() => 0), received: this.ports.map(() => 0) };
  }

  /** `stp`: stops every engine; their counters stay readable. */
  stop(): void {
    for (const group of this.#groups) group.engine.stop();
    this.#running = false;
    this.#pps = { tx: this.ports.map(() => 0), rx: this.ports.map(() => 0) };
  }

  clear(): void {
    if (this.#running) fail('clear: the ports are running; stop them first with stp (engine counters can only be reset while stopped)');
    for (const group of this.#groups) group.engine.resetStats();
    this.#sample = null;
  }

  /** Carries out a command other than delay, help and quit, which the caller handles. */
  async execute(command: Command, text: string): Promise<void> {
    switch (command.verb) {
      case 'set': {
        // Every port's new settings are checked before any changes, so a failed set changes nothing.
        const ports = this.#portsOf(command.ports, `"${text}"`);
        const updated = ports.map((port) => this.#applied(port, command.setting, `"${text}"`));
        ports.forEach((port, k) => { this.settings[port] = updated[k]; });
        if (this.#running) this.#notice(`"${text}" applies from the next str`);
        break;
      }
      case 'str': await this.start(); break;
      case 'start': await this.start(command.ports); break;
      case 'stp': this.stop(); break;
      case 'clear': this.clear(); break;
      default: throw new Error(`Pktgen.execute cannot handle ${command.verb}`);
    }
  }

  /** Measures tx and rx rates since the last call (called once a second). */
  sampleRates(): void {
    const reports = this.reports();
    const now = Date.now();
    const sample: RateSample = { atMs: now, sent: reports.map((r) => r.sent), received: reports.map((r) => r.received) };
    const previous = this.#sample;
    if (previous !== null && this.#running && now > previous.atMs) {
      const seconds = (now - previous.atMs) / 1000;
      this.#pps = {
        tx: sample.sent.map((sent, i) => Math.round((sent - previous.sent[i]) / seconds)),
        rx: sample.received.map((received, i) => Math.round((received - previous.received[i]) / seconds)),
      };
    }
    this.#sample = sample;
  }

  reports(): PortReport[] {
    const counters = this.ports.map(() => ({ sent: 0, dropped: 0, received: 0, latency: null as LatencyStats | null }));
    for (const group of this.#groups) {
      group.engine.stats().forEach((stream, k) => {
        counters[group.ports[k]] = { sent: stream.tx, dropped: stream.dropped, received: stream.rx, latency: stream.latency ?? null };
      });
    }
    return this.ports.map((port, i) => {
      const settings = this.settings[i];
      const { sent, dropped, received, latency } = counters[i];
      const limitReached = this.#runCounts[i] > 0 && sent + dropped >= this.#runCounts[i];
      const peer = this.peerOf(i);
      return {
        port: i, name: port.name, mac: port.mac, lcore: this.lcoreOf[i], linkUp: port.link().up,
        state: this.#groups.length === 0 ? 'idle' : !this.#running ? 'stopped' : limitReached ? 'done' : 'sending',
        sent, dropped, received, peer, flows: settings.flows, dports: [...settings.dstPorts],
        missing: Math.max(0, counters[peer].sent - received),
        txPps: this.#pps.tx[i], rxPps: this.#pps.rx[i], ratePps: Math.round(this.#ppsOf(settings)), latency,
      };
    });
  }

  /**
   * Whether, in the current run, every port with a count has sent it (or had it refused)
   * and every port whose peer has a count received all the peer sent. Null when no port
   * has a count.
   */
  done(): boolean | null {
    const limited = this.#runCounts.map((count) => count > 0);
    if (!limited.includes(true)) return null;
    const reports = this.reports();
    return reports.every((report, i) => (!limited[i] || report.sent + report.dropped >= this.#runCounts[i]) &&
      (!limited[report.peer] || report.received >= reports[report.peer].sent));
  }

  close(): void {
    for (const group of this.#groups) group.engine.close();
    for (const port of this.ports) port.close();
    this.#pool.close();
  }
}

// ---------------------------------------------------------------------------------------
// Display

function microseconds(ns: number): string {
  return (ns / 1000).toFixed(1);
}

function rateText(settings: PortSettings, report: PortReport): string {
  return settings.rate.unit === 'percent' ? `${settings.rate.value}% = ${report.ratePps} pps` :
    settings.rate.value === 0 ? 'unlimited' : `${report.ratePps} pps`;
}

/** The full table: one column per port, like pktgen's main page. */
function statsTable(app: Pktgen): string {
  const reports = app.reports();
  const rows: [string, (report: PortReport, settings: PortSettings) => string][] = [
    ['Name', (r) => r.name],
    ['Link / state', (r) => `${r.linkUp ? 'up' : 'down'} / ${r.state}`],
    ['Lcore', (r) => String(r.lcore)],
    ['Count', (_, s) => s.count === 0 ? 'forever' : String(s.count)],
    ['Size (bytes)', (_, s) => String(s.size)],
    ['Rate', (r, s) => rateText(s, r)],
    ['Src MAC', (_, s) => s.srcMac],
    ['Dst MAC', (_, s) => s.dstMac],
    ['Flows', (_, s) => s.dstPorts.length === 1 ? String(s.flows) :
      `${s.flows * s.dstPorts.length} (${s.flows} sport x ${s.dstPorts.length} dport)`],
    ['Src IP:port', (_, s) => `${s.srcIp}:${s.flows === 1 ? s.srcPort : `${s.srcPort}-${s.srcPort + s.flows - 1}`}`],
    ['Dst IP:port', (_, s) => `${s.dstIp}:${s.dstPorts.join(',')}`],
    ['Sent', (r) => String(r.sent)],
    ['Tx dropped', (r) => String(r.dropped)],
    ['Tx pps', (r) => String(r.txPps)],
    ['Received', (r) => `${r.received} (from port ${r.peer})`],
    ['Missing', (r) => String(r.missing)],
    ['Rx pps', (r) => String(r.rxPps)],
    ['Latency min/avg/max us', (r) => r.latency === null ? '-' :
      `${microseconds(r.latency.minNs)}/${microseconds(r.latency.avgNs)}/${microseconds(r.latency.maxNs)}`],
    ['Latency p50/p99 us', (r) => r.latency === null ? '-' :
      `${microseconds(r.latency.percentilesNs.p50)}/${microseconds(r.latency.percentilesNs.p99)}`],
  ];
  const cells = rows.map(([label, cell]) => [label, ...reports.map((r) => cell(r, app.settings[r.port]))]);
  const header = ['', ...reports.map((r) => `Port ${r.port}`)];
  const widths = header.map((_, column) => Math.max(...[header, ...cells].map((row) => row[column].length)));
  return [header, ...cells].map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}

/** One line per port, for the live view. */
function liveRows(app: Pktgen): string[] {
  const format = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(5) : cell.padStart(11))).join(' ');
  return [
    format(['Port', 'State', 'Sent', 'Tx pps', 'Received', 'Rx pps', 'Dropped', 'Missing', 'Lat avg us', 'Lat p99 us']),
    ...app.reports().map((r) => format([String(r.port), r.state, String(r.sent), String(r.txPps), String(r.received),
      String(r.rxPps), String(r.dropped), String(r.missing), r.latency === null ? '-' : microseconds(r.latency.avgNs),
      r.latency === null ? '-' : microseconds(r.latency.percentilesNs.p99)])),
  ];
}

/** The live line printed once a second when stdout is not a terminal. */
function progressLine(app: Pktgen, elapsedS: number): string {
  return [`pktgen: ${elapsedS.toFixed(1)}s`, ...app.reports().map((r) =>
    `port ${r.port} ${r.state}: sent ${r.sent} (${r.txPps} pps) received ${r.received} (${r.rxPps} pps) dropped ${r.dropped}`)].join(' | ');
}

/**
 * The top of a terminal, redrawn in place, above a scrolling region where the prompt and
 * command output live (what pktgen's screen does).
 */
class LiveScreen {
  readonly #out: NodeJS.WriteStream;
  readonly #lines: () => string[];
  readonly #height: number;

  constructor(out: NodeJS.WriteStream, lines: () => string[]) {
    this.#out = out;
    this.#lines = lines;
    this.#height = lines().length + 1;
  }

  open(): void {
    const rows = this.#out.rows;
    this.#out.write(`\x1b[2J\x1b[${this.#height + 1};${rows}r\x1b[${rows};1H`);
    this.redraw();
  }

  redraw(): void {
    const columns = this.#out.columns;
    const lines = this.#lines().map((line) => line.slice(0, columns));
    this.#out.write(`\x1b7${lines.map((line, i) => `\x1b[${i + 1};1H${line}\x1b[K`).join('')}\x1b[${this.#height};1H${'-'.repeat(Math.min(columns, 80))}\x1b8`);
  }

  close(): void {
    this.#out.write(`\x1b[r\x1b[${this.#out.rows};1H\n`);
  }
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const { eal, app: appArgs } = splitCommandLine(process.argv.slice(2));
  const options = parseAppArgs(appArgs);
  const commands = options.commands.flatMap(({ text, source }) => {
    try {
      const command = parseCommand(text);
      return command === null ? [] : [{ command, text: text.trim(), source }];
    } catch (error) {
      if (error instanceof UsageError) fail(`${source}: ${error.message}`);
      throw error;
    }
  });
  const jsonToStdout = options.jsonPath === '-';
  const human = jsonToStdout ? process.stderr : process.stdout;
  const say = (text: string): void => void human.write(`${text}\n`);
  const notice = (text: string): void => void process.stderr.write(`pktgen: ${text}\n`);

  const { args, notes } = pktgenEalArgs(eal);
  notes.forEach(notice);
  try {
    Eal.init(args);
  } catch (error) {
    if (error instanceof DpdkError) {
      const hint = /Main lcore is not enabled/.test(error.message) ?
        ' (the lcores given do not include the main lcore: add --main-lcore with one of them)' : '';
      fail(`EAL init with ${args.join(' ')} failed: ${error.message}${hint}`);
    }
    throw error;
  }
  const app = new Pktgen(options, notice);
  const startedAt = Date.now();
  // Stops, prints the table and writes the JSON report; closes the ports unless `keepOpen`.
  const finish = (complete: boolean | null, keepOpen = false): void => {
    app.stop();
    say(statsTable(app));
    const report: PktgenReport = { complete, elapsedMs: Date.now() - startedAt, lineRateMbps: options.lineRateMbps, ports: app.reports() };
    const json = JSON.stringify(report);
    if (!keepOpen) app.close();
    if (options.jsonPath === undefined) return;
    if (jsonToStdout) {
      process.stdout.write(`${json}\n`);
      return;
    }
    try {
      writeFileSync(options.jsonPath, `${json}\n`);
    } catch (error) {
      fail(`--json ${options.jsonPath}: cannot write the report: ${(error as Error).message}`);
    }
  };
  app.ports.forEach((port, i) => notice(`port ${i}: ${port.name} ${port.mac} on lcore ${app.lcoreOf[i]}, receives from port ${app.peerOf(i)}`));

  const interactive = !options.waitDone;
  const screen = interactive && process.stdout.isTTY && process.stdin.isTTY ? new LiveScreen(process.stdout, () => liveRows(app)) : null;
  if (screen !== null) {
    screen.open();
    process.stdout.on('resize', () => screen.open());
  }
  // A readline prompt on a terminal turns Ctrl-C into its own SIGINT event (handled below).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      screen?.close();
      notice(`${signal}: stopping`);
      finish(app.done());
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
  const ticker = setInterval(() => {
    app.sampleRates();
    if (screen !== null) screen.redraw();
    else if (app.running) say(progressLine(app, (Date.now() - startedAt) / 1000));
  }, 1000);

  // Runs one command; returns true for quit.
  const run = async (command: Command, text: string): Promise<boolean> => {
    switch (command.verb) {
      case 'quit': return true;
      case 'help': say(commandHelp); return false;
      case 'show': say(statsTable(app)); return false;
      case 'delay': await new Promise((resolve) => setTimeout(resolve, command.ms)); return false;
      default: await app.execute(command, text); return false;
    }
  };

  for (const { command, text, source } of commands) {
    try {
      if (await run(command, text)) {
        clearInterval(ticker);
        finish(app.done(), options.lingerMs > 0);
        if (options.lingerMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, options.lingerMs));
          app.close();
        }
        return 0;
      }
    } catch (error) {
      clearInterval(ticker);
      app.close();
      if (error instanceof UsageError || error instanceof DpdkError) fail(`${source}: ${error.message}`);
      throw error;
    }
  }

  if (options.waitDone) {
    const problem = !app.started ? 'the commands started no run: end them with str' :
      app.done() === null ? 'the run has no port with a count, so it never ends' : null;
    if (problem !== null) {
      clearInterval(ticker);
      app.close();
      fail(`--wait-done: ${problem}, e.g. --commands "set 0 count 100; str"`);
    }
    const deadline = Date.now() + options.timeoutS * 1000;
    while (app.done() !== true && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    clearInterval(ticker);
    const complete = app.done() === true;
    finish(complete, options.lingerMs > 0);
    if (options.lingerMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, options.lingerMs));
      app.close();
    }
    if (!complete) notice(`--timeout ${options.timeoutS}: the counts were not reached`);
    return complete ? 0 : exitTimeout;
  }

  const prompt: Interface = createInterface({ input: process.stdin, output: human, prompt: 'pktgen> ', terminal: screen !== null });
  // Prompts only for a person at a terminal, not for commands piped in.
  const showPrompt = process.stdin.isTTY ? (): void => prompt.prompt() : (): void => undefined;
  return new Promise<number>((resolve) => {
    let queue = Promise.resolve();
    let quitting = false;
    const quit = (): void => {
      if (quitting) return;
      quitting = true;
      clearInterval(ticker);
      screen?.close();
      prompt.close();
      finish(app.done());
      resolve(0);
    };
    prompt.on('line', (line) => {
      queue = queue.then(async () => {
        if (quitting) return;
        try {
          const command = parseCommand(line);
          if (command !== null && await run(command, line.trim())) quit();
        } catch (error) {
          if (!(error instanceof UsageError || error instanceof DpdkError)) throw error;
          say(`error: ${error.message}`);
        }
        if (!quitting) showPrompt();
      });
    });
    prompt.on('close', () => void queue.then(quit));
    prompt.on('SIGINT', () => void queue.then(quit));
    showPrompt();
  });
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`pktgen: ${error instanceof UsageError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
