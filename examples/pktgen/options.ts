/**
 * pktgen.ts's command line (see ../pktgen.ts for what it accepts): pktgen's EAL conventions
 * (`--master-lcore`, the last of `-c`/`-l`/`--lcores` and of `-m`/`--socket-mem` wins) on
 * top of the library's preparation of EAL arguments, the `-m` port map, and the
 * application's options after `--`. A mistake is a UsageError.
 */
import { readFileSync } from 'node:fs';
import { prepareEalArgs, type CaptureDirection, type PreparedEalArgs } from '../../lib/index.js';
import {
  UsageError,
  parseMetricsAddress,
  parsePcapDirection,
  pcapUsage,
  type MetricsAddress,
  type PcapOption,
} from '../app.js';
import { commandHelp, type SourceLine } from './commands.js';

/** The usage line, printed with `-h` and with a mistake in the options. */
export const usage = `usage: pktgen.ts [EAL arguments] -- [-T] [-P] [-m MAP] [-f FILE] [--script FILE] [--commands 'A; B']
                 [--wait-done] [--timeout S] [--json PATH|-] [--line-rate-mbps N] [--shared-cpu] [--linger MS]
                 [--timeline MS [--timeline-file PATH]]
                 [--metrics HOST:PORT] [--pcap FILE [--pcap-direction rx|tx|both]]
${pcapUsage}`;

// EAL's own -h would print DPDK's help and end the process; this is pktgen.ts's.
function printHelpAndExit(): never {
  process.stdout.write(`${usage}\n\n${commandHelp}\n`);
  process.exit(0);
}

// pktgen.ts's long options (after `--`): given before it, they are a mistake, not EAL's.
const pktgenOptions = new Set([
  '--script',
  '--commands',
  '--wait-done',
  '--timeout',
  '--json',
  '--line-rate-mbps',
  '--shared-cpu',
  '--linger',
  '--timeline',
  '--timeline-file',
  '--pcap',
  '--pcap-direction',
  '--metrics',
]);

// EAL options that take a value as the next argument (the others are flags).
const ealValueOptions = new Set([
  '-c',
  '-l',
  '--lcores',
  '-m',
  '--socket-mem',
  '--socket-limit',
  '-n',
  '-r',
  '--file-prefix',
  '--vdev',
  '-a',
  '-b',
  '--allow',
  '--block',
  '--proc-type',
  '--huge-dir',
  '--iova-mode',
  '--log-level',
  '--main-lcore',
  '--master-lcore',
  '--base-virtaddr',
  '--mbuf-pool-ops-name',
  '-d',
  '-S',
  '-s',
  '--service-corelist',
  '--vfio-intr',
  '--vfio-vf-token',
  '--trace',
  '--trace-dir',
  '--trace-bufsz',
  '--trace-mode',
  '--force-max-simd-bitwidth',
]);

const coreOptions = new Set(['-c', '-l', '--lcores']);
const memoryOptions = new Set(['-m', '--socket-mem']);

interface EalOption {
  name: string;
  value?: string;
}

/**
 * Applies pktgen's conventions to its EAL arguments (`--master-lcore`, the last of a group
 * wins), before the adaptations all examples share (the library's `prepareEalArgs`);
 * `notes` say what changed. `-h` prints pktgen.ts's help and exits.
 */
export function pktgenEalArgs(raw: string[]): PreparedEalArgs {
  const options: EalOption[] = [];
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i];
    if (arg === '-h' || arg === '--help') printHelpAndExit();
    if (pktgenOptions.has(arg.split('=')[0]))
      throw new UsageError(`${arg} is a pktgen.ts option: put it after '--'\n${usage}`);
    const attached = /^(--[^=]+)=(.*)$/.exec(arg) ?? /^(-[clmn])(.+)$/.exec(arg);
    if (attached !== null) {
      options.push({ name: attached[1], value: attached[2] });
    } else if (ealValueOptions.has(arg)) {
      if (i + 1 >= raw.length) throw new UsageError(`EAL option ${arg} needs a value`);
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
  const args = kept.flatMap((option) => (option.value === undefined ? [option.name] : [option.name, option.value]));
  const shared = prepareEalArgs(args);
  if (shared.added.length > 0) notes.push(`added ${shared.added.join(' ')}`);
  return { args: shared.args, notes: [...notes, ...shared.notes], added: shared.added };
}

/** A port's lcore as `-m` gives it. */
export interface LcoreMapping {
  port: number;
  lcore: number;
  /** The `-m` entry it comes from, for messages. */
  entry: string;
}

function parseLcoreNumber(text: string, entry: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 127)
    throw new UsageError(`-m entry "${entry}": lcore "${text}" must be an integer from 0 to 127`);
  return Number(text);
}

/** Parses pktgen's `-m` port map: `L.P`, `[R:T].P` (rx and tx lcores), `[A-B].P`, `L.[A-B]`. */
function parseLcoreMap(text: string): LcoreMapping[] {
  const entries = text
    .split(/,(?![^[]*\])/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new UsageError(`-m needs a port map such as "0.0,4.1", got "${text}"`);
  const mappings: LcoreMapping[] = [];
  for (const entry of entries) {
    const match = /^(\d+|\[([^\]]+)\])\.(\d+|\[(\d+)(?:-(\d+))?\])$/.exec(entry);
    if (match === null)
      throw new UsageError(`-m entry "${entry}": expected LCORE.PORT such as 0.0, [1:2].0, [1-2].0 or 1.[0-1]`);
    // The engine receives and sends on one lcore: of several lcores, the first serves the port.
    const lcores = (match[2] ?? match[1]).split(/[:-]/).map((part) => parseLcoreNumber(part, entry));
    const firstPort = Number(match[4] ?? match[3]);
    const lastPort = match[5] === undefined ? firstPort : Number(match[5]);
    if (lastPort < firstPort) throw new UsageError(`-m entry "${entry}": port range ${firstPort}-${lastPort} is empty`);
    // DPDK port ids are 16-bit; a bound also keeps `0.[0-99999999999]` from filling memory.
    if (lastPort > 65535)
      throw new UsageError(`-m entry "${entry}": port ${lastPort} is above 65535, the largest port id`);
    for (let port = firstPort; port <= lastPort; port++) mappings.push({ port, lcore: lcores[0], entry });
  }
  return mappings;
}

/** The application's options (after `--`). */
export interface AppOptions {
  promiscuous: boolean;
  lcoreMap: LcoreMapping[];
  /** The lines of `--commands`, `--script` and `-f`, in order. */
  commands: SourceLine[];
  waitDone: boolean;
  timeoutS: number;
  jsonPath?: string;
  lineRateMbps: number;
  sharedCpu: boolean;
  lingerMs: number;
  /** `--timeline MS`: sample every port's counters every MS ms into the report (0: no timeline). */
  timelineMs: number;
  /**
   * `--timeline-file PATH`: the timeline's samples go to PATH as they are taken (one JSON
   * line each), not into memory, so that a long run's generator does not grow.
   */
  timelineFile?: string;
  /** `--pcap`, `--pcap-direction`: capture the ports' packets. */
  pcap?: PcapOption;
  /** `--metrics HOST:PORT`: where to serve Prometheus metrics, if anywhere. */
  metrics?: MetricsAddress;
}

/** Parses the application's arguments (after `--`); `-h` prints the help and exits. */
export function parseAppArgs(argv: string[]): AppOptions {
  const options: AppOptions = {
    promiscuous: false,
    lcoreMap: [],
    commands: [],
    waitDone: false,
    timeoutS: 30,
    lineRateMbps: 10000,
    sharedCpu: false,
    lingerMs: 0,
    timelineMs: 0,
  };
  let timeoutGiven = false;
  let pcapDirection: CaptureDirection | undefined;
  const readScript = (path: string, option: string): void => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`${option} ${path}: cannot read it: ${(error as Error).message}`);
    }
    text.split('\n').forEach((line, i) => options.commands.push({ text: line, source: `${path}:${i + 1}` }));
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value\n${usage}`);
      return argv[++i];
    };
    switch (arg) {
      case '-T':
        break;
      case '-P':
        options.promiscuous = true;
        break;
      case '-m':
        options.lcoreMap.push(...parseLcoreMap(value()));
        break;
      case '-f':
      case '--script':
        readScript(value(), arg);
        break;
      case '--commands':
        value()
          .split(';')
          .forEach((text, n) => options.commands.push({ text, source: `--commands command ${n + 1}` }));
        break;
      case '--wait-done':
        options.waitDone = true;
        break;
      case '--shared-cpu':
        options.sharedCpu = true;
        break;
      case '--timeout': {
        const text = value();
        options.timeoutS = Number(text);
        if (!/^\d+(\.\d+)?$/.test(text) || options.timeoutS <= 0)
          throw new UsageError(`--timeout must be a number of seconds above 0, got "${text}"`);
        timeoutGiven = true;
        break;
      }
      case '--json':
        options.jsonPath = value();
        break;
      case '--metrics':
        options.metrics = parseMetricsAddress(value());
        break;
      case '--linger': {
        const text = value();
        options.lingerMs = Number(text);
        if (!/^\d+$/.test(text) || options.lingerMs > 600000)
          throw new UsageError(`--linger must be 0 to 600000 milliseconds, got "${text}"`);
        break;
      }
      case '--timeline': {
        const text = value();
        options.timelineMs = Number(text);
        if (!/^\d+$/.test(text) || options.timelineMs < 1 || options.timelineMs > 60000)
          throw new UsageError(`--timeline must be 1 to 60000 milliseconds, got "${text}"`);
        break;
      }
      case '--timeline-file':
        options.timelineFile = value();
        if (options.timelineFile === '') throw new UsageError('--timeline-file needs a path');
        break;
      case '--line-rate-mbps': {
        const text = value();
        options.lineRateMbps = Number(text);
        if (!/^\d+$/.test(text) || options.lineRateMbps < 1 || options.lineRateMbps > 400000) {
          throw new UsageError(`--line-rate-mbps must be an integer from 1 to 400000 (Mbit/s), got "${text}"`);
        }
        break;
      }
      case '--pcap':
        options.pcap = { path: value(), direction: 'both' };
        break;
      case '--pcap-direction':
        pcapDirection = parsePcapDirection(value());
        break;
      case '-h':
      case '--help':
        printHelpAndExit();
      default:
        throw new UsageError(
          `unknown pktgen.ts argument "${arg}" (accepted: -T, -P, -m, -f, ${[...pktgenOptions].join(', ')})\n${usage}`,
        );
    }
  }
  if (options.timelineFile !== undefined && options.timelineMs === 0)
    throw new UsageError('--timeline-file only applies with --timeline MS');
  if (timeoutGiven && !options.waitDone) throw new UsageError('--timeout only applies with --wait-done');
  if (pcapDirection !== undefined) {
    if (options.pcap === undefined) throw new UsageError('--pcap-direction needs --pcap FILE');
    options.pcap.direction = pcapDirection;
  }
  return options;
}
