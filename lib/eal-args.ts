/**
 * EAL command lines as DPDK's applications take them (`EAL args -- app args`), adapted to
 * the machine they run on: the SDK's defaults added, core and memory options that name
 * resources the machine lacks folded onto what it has.
 */
import { defaultEalFlags } from './eal.js';
import { freeHugepageMb, maxCpuId, numaNodes, parseCorelist } from './host.js';

export { parseCorelist };
import { native } from './native.js';

/** A command line split at `--`: EAL arguments before, the application's after. */
export interface SplitCommandLine {
  /** Arguments for EAL, as given. */
  eal: string[];
  /** Arguments for the application. */
  app: string[];
}

/** Splits `argv` (without node and script) at the first `--`. Without one, every argument is EAL's. */
export function splitCommandLine(argv: string[]): SplitCommandLine {
  const separator = argv.indexOf('--');
  return separator < 0 ? { eal: argv, app: [] } : { eal: argv.slice(0, separator), app: argv.slice(separator + 1) };
}

/** EAL arguments ready for `Eal.init`, and what was changed to get there. */
export interface PreparedEalArgs {
  /** The arguments to pass to `Eal.init(string[])`. */
  args: string[];
  /** One line per change made to the arguments given, for the user to read. */
  notes: string[];
  /** The SDK's default flags that were added (see {@link prepareEalArgs}). */
  added: string[];
}

/**
 * The facts about the machine that {@link prepareEalArgs} adapts a command line to. Each
 * one left out is read from the machine when needed; tests and tools that prepare a
 * command line for another machine give them.
 */
export interface MachineFacts {
  /** The CPUs this process may run on. Default: `Eal.threadAffinity()` of the calling thread. */
  cpus?: number[];
  /** The NUMA node ids. Default: `numaNodes()`. */
  numaNodes?: number[];
  /** MiB of free hugepage memory. Default: `freeHugepageMb()`. */
  freeHugepageMb?: number;
}

/**
 * Parses a hexadecimal core mask such as `0xE0` into lcore ids; undefined when it is not
 * one, or sets a bit above {@link maxCpuId}.
 */
export function parseCoremask(mask: string): number[] | undefined {
  if (!/^(0x)?[0-9a-fA-F]+$/.test(mask)) return undefined;
  const digits = mask.replace(/^(0x)?0*/, '');
  // Read digit by digit: a BigInt of a long mask would cost quadratic time in its length.
  if (digits.length * 4 > maxCpuId + 1) return undefined;
  const ids: number[] = [];
  for (let i = digits.length - 1, base = 0; i >= 0; i--, base += 4) {
    const nibble = parseInt(digits[i]!, 16);
    for (let bit = 0; bit < 4; bit++) if (nibble & (1 << bit)) ids.push(base + bit);
  }
  return ids;
}

/** Where an option with a value sits in an argument list: `-c 0x3`, `-c0x3` or `--lcores=...`. */
interface OptionAt {
  index: number;
  /** How many arguments the option spans (1 when the value is attached, else 2). */
  span: number;
  value: string;
}

function findOption(args: string[], names: string[]): OptionAt | undefined {
  for (let i = 0; i < args.length; i++) {
    for (const name of names) {
      if (args[i] === name && i + 1 < args.length) return { index: i, span: 2, value: args[i + 1] };
      if (name.startsWith('--') && args[i].startsWith(`${name}=`))
        return { index: i, span: 1, value: args[i].slice(name.length + 1) };
      if (!name.startsWith('--') && args[i].startsWith(name) && args[i].length > name.length) {
        return { index: i, span: 1, value: args[i].slice(name.length) };
      }
    }
  }
  return undefined;
}

/**
 * Runs the lcores of `-c`/`-l` on CPUs that exist when the ones named do not (a reference
 * command line written for a bigger machine, e.g. `-c 0xE0` on a 2-CPU VM): the lcore ids
 * stay, the main lcore goes to the first allowed CPU and the workers round-robin over the
 * others, as an `--lcores` map.
 */
function foldLcores(args: string[], notes: string[], machine: MachineFacts): string[] {
  const coremask = findOption(args, ['-c']);
  const corelist = findOption(args, ['-l']);
  const given = coremask ?? corelist;
  if (given === undefined) return args;
  const lcores = coremask !== undefined ? parseCoremask(coremask.value) : parseCorelist(given.value);
  if (lcores === undefined || lcores.length === 0) return args;
  const allowed = machine.cpus ?? native.threadAffinity();
  if (lcores.every((cpu) => allowed.includes(cpu))) return args;
  const mainOption = findOption(args, ['--main-lcore']);
  const mainLcore = mainOption === undefined ? lcores[0] : Number(mainOption.value);
  const mainCpu = allowed[0];
  const workerCpus = allowed.length > 1 ? allowed.slice(1) : allowed;
  let next = 0;
  const map = lcores
    .map((lcore) => `${lcore}@${lcore === mainLcore ? mainCpu : workerCpus[next++ % workerCpus.length]}`)
    .join(',');
  const flag = coremask !== undefined ? '-c' : '-l';
  notes.push(
    `EAL lcores ${lcores.join(',')} (${flag} ${given.value}) name CPUs this machine lacks (it has ${allowed.join(',')}): ` +
      `running them as --lcores ${map}`,
  );
  return [...args.slice(0, given.index), '--lcores', map, ...args.slice(given.index + given.span)];
}

/**
 * Drops a `--socket-mem` that cannot be honoured here: one naming NUMA sockets the machine
 * lacks (EAL refuses it) or asking for more hugepage memory than is free (another DPDK
 * process on the machine would then get none). EAL then allocates memory as needed.
 */
function fitSocketMem(args: string[], notes: string[], machine: MachineFacts): string[] {
  const option = findOption(args, ['--socket-mem']);
  if (option === undefined) return args;
  const perSocket = option.value.split(',').map(Number);
  const nodes = machine.numaNodes ?? numaNodes();
  const missing = perSocket.flatMap((mb, socket) => (mb > 0 && !nodes.includes(socket) ? [socket] : []));
  const total = perSocket.reduce((sum, mb) => sum + (Number.isFinite(mb) ? mb : 0), 0);
  const free = machine.freeHugepageMb ?? freeHugepageMb();
  let reason: string | undefined;
  if (missing.length > 0) reason = `names NUMA socket(s) ${missing.join(',')} but this machine has ${nodes.join(',')}`;
  else if (total > free) reason = `asks for ${total} MiB but only ${free} MiB of hugepages are free`;
  if (reason === undefined) return args;
  notes.push(`--socket-mem ${option.value} ${reason}: left out, EAL allocates memory as needed`);
  return [...args.slice(0, option.index), ...args.slice(option.index + option.span)];
}

/**
 * Prepares a sample application's EAL arguments for `Eal.init(string[])`: adds what the
 * SDK's typed options default to (see `defaultEalFlags`: `--in-memory` and
 * `--single-file-segments`, so that no hugepage file is left behind and virtio-user can
 * share memory with vhost; telemetry stays on, or off with `--no-telemetry`) unless the
 * arguments say otherwise (`--no-huge`, `--proc-type`), and adapts core and memory options that name
 * resources the machine lacks: lcores of `-c`/`-l` on CPUs it does not have run as an
 * `--lcores` map on the CPUs it has (the main lcore on the first), and a `--socket-mem`
 * naming missing NUMA sockets or more memory than is free is left out. `machine` gives the
 * facts to adapt to instead of reading them from this machine.
 */
export function prepareEalArgs(given: string[], machine: MachineFacts = {}): PreparedEalArgs {
  const notes: string[] = [];
  let args = foldLcores([...given], notes, machine);
  args = fitSocketMem(args, notes, machine);
  const has = (name: string): boolean => args.some((arg) => arg === name || arg.startsWith(`${name}=`));
  // A secondary process needs the primary's runtime files: no --in-memory, no segment choice.
  const secondary = has('--proc-type');
  const defaults = defaultEalFlags({
    noHuge: has('--no-huge'),
    inMemory: secondary ? false : undefined,
    singleFileSegments: secondary ? false : undefined,
  });
  const added = defaults.memory.filter((flag) => !has(flag));
  return { args: [...args, ...added], notes, added };
}
