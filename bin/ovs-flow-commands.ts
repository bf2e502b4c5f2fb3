/**
 * The `ovs-ofctl`-like verbs of the dpdk-ts-ovs CLI (`add-flow`, `dump-flows`,
 * `dump-ports`, ...), run against a bridge's OpenFlow socket with {@link OpenFlowClient}.
 */
import { readFile, stat } from 'node:fs/promises';
import { DpdkError, invalidArgument } from '../lib/errors.js';
import { OFPP } from '../lib/ovs/openflow/actions.js';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import type { CallOptions } from '../lib/ovs/openflow/client-options.js';
import {
  diffFlowTables,
  flowEntriesOfStats,
  flowEntryOfFlowMod,
  type FlowEntry,
} from '../lib/ovs/openflow/flow-diff.js';
import { splitFlowCommand, splitFlowFile, type FlowFileLine } from '../lib/ovs/openflow/flow-file.js';
import { portMapOf, sendFlowCommands } from '../lib/ovs/openflow/flow-table.js';
import { parseFlowMod } from '../lib/ovs/openflow/flow-syntax.js';
import { formatPortDescription, formatPortStats, sortPortDescriptions } from '../lib/ovs/openflow/format.js';
import { formatTlvTable, parseTlvMappings } from '../lib/ovs/openflow/tlv-table.js';
import { checkOptions } from '../lib/validate.js';

/** Options of {@link runFlowCommand}. */
export interface FlowCommandOptions {
  /**
   * The bridge's OpenFlow socket: `unix:/path/br0.mgmt`, a bare path, or `tcp:HOST:PORT`
   * (unused by `diff-flows`, whose arguments name both sides).
   */
  target?: string;
  /** `diff-flows`: where a source that names a bridge has its `BRIDGE.mgmt` socket (default /var/run/openvswitch). */
  rundir?: string;
  /** `replace-flows`: re-add every flow, even those the switch has as given (`--readd`). */
  readd?: boolean;
  /** `--strict`: `mod-flows`/`del-flows` affect only flows with exactly this match and priority. */
  strict?: boolean;
  /** `dump-flows`: print ports by name (`--names`); default false, as `ovs-ofctl` into a pipe. */
  names?: boolean;
  /**
   * `--bundle`: `add-flow`/`add-flows`/`replace-flows` change all the flows or none, in one OpenFlow
   * bundle. Without it, as `ovs-ofctl` without `--bundle`, the flows go in order and those
   * the switch accepted stay when one is refused.
   */
  bundle?: boolean;
  /** Timeout of the connection and of each request, in ms (default 10000). */
  timeoutMs?: number;
}

/** Usage of each verb; the arguments exclude the bridge, which `options.target` names. */
export const flowCommandUsage: Readonly<Record<string, string>> = {
  'add-flow': 'add-flow FLOW',
  'add-flows': 'add-flows FILE',
  'replace-flows': 'replace-flows FILE',
  'diff-flows': 'diff-flows SOURCE1 SOURCE2',
  'mod-flows': 'mod-flows FLOW',
  'del-flows': 'del-flows [FLOW]',
  'dump-flows': 'dump-flows [FLOW]',
  'dump-ports': 'dump-ports [PORT]',
  'dump-ports-desc': 'dump-ports-desc',
  'add-tlv-map': 'add-tlv-map MAP',
  'del-tlv-map': 'del-tlv-map [MAP]',
  'dump-tlv-map': 'dump-tlv-map',
};

const optionKeys = [
  'target',
  'rundir',
  'readd',
  'strict',
  'names',
  'bundle',
  'timeoutMs',
] as const satisfies readonly (keyof FlowCommandOptions)[];
const strictVerbs = new Set(['mod-flows', 'del-flows']);
const bundleVerbs = new Set(['add-flow', 'add-flows', 'replace-flows']);

/** A bad command line of `verb`: `dpdk-ts-ovs` exits 2 for it (`exitCode`), 1 for a refused flow. */
function usageError(verb: string, message: string): never {
  try {
    return invalidArgument(`ovs-flow ${verb}`, `${message}; usage: ${flowCommandUsage[verb]}`);
  } catch (error) {
    throw Object.assign(error as object, { exitCode: 2 });
  }
}

function checkArgs(verb: string, args: readonly string[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    usageError(
      verb,
      `${verb} takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${args.length}`,
    );
  }
}

/** Reads a flow file (`-`: standard input) into its flows, with their line numbers. */
async function readFlowFile(verb: string, path: string): Promise<FlowFileLine[]> {
  try {
    return splitFlowFile(path === '-' ? await readStdin() : await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new DpdkError(`cannot read flow file ${path}: ${(error as Error).message}`, {
      code,
      operation: `ovs-flow ${verb}`,
      object: path,
      cause: error,
    });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Restates a failure of the flow at `flowIndex` of a file as `FILE:LINE: message`, as
 * `ovs-ofctl` points into its files; a parse error keeps only the parser's own words.
 */
function fileError(operation: string, file: string, lines: readonly FlowFileLine[], error: unknown): unknown {
  const flowIndex = (error as { flowIndex?: number }).flowIndex;
  if (!(error instanceof DpdkError) || flowIndex === undefined) return error;
  const message =
    error.code === 'EINVAL' ? ((error.cause as Error | undefined)?.message ?? error.message) : error.message;
  return Object.assign(
    new DpdkError(`${file}:${lines[flowIndex]!.line}: ${message}`, {
      code: error.code,
      operation,
      object: file,
      cause: error,
    }),
    { flowIndex, flow: lines[flowIndex]!.text },
  );
}

/** The OpenFlow target of a switch named on the command line: a target as is, a bridge name as its `RUNDIR/BRIDGE.mgmt`. */
export function switchTarget(name: string, rundir = '/var/run/openvswitch'): string {
  return name.includes(':') || name.includes('/') ? name : `unix:${rundir}/${name}.mgmt`;
}

/**
 * Whether a `diff-flows` source is a file, as `ovs-ofctl` decides: a path starting with `/`
 * or `.`, or without a `:` and naming something that exists; else a bridge or target.
 */
async function isFileSource(source: string): Promise<boolean> {
  if (source === '-' || source.startsWith('/') || source.startsWith('.')) return true;
  if (source.includes(':')) return false;
  return stat(source).then(
    () => true,
    () => false,
  );
}

/**
 * Reads one side of `diff-flows`: a flow file, or the flows of a switch (a bridge name,
 * resolved in `rundir`, or a target); port names in a file resolve through `portMap`.
 */
async function readSource(
  operation: string,
  source: string,
  options: FlowCommandOptions,
  call: CallOptions,
  portMap: () => Promise<ReadonlyMap<string, number>>,
): Promise<FlowEntry[]> {
  if (await isFileSource(source)) {
    const lines = await readFlowFile('diff-flows', source);
    const map = await portMap();
    return lines.map((line, flowIndex) => {
      try {
        return flowEntryOfFlowMod(parseFlowMod(line.text, { command: 'add', portMap: map }));
      } catch (error) {
        throw fileError(operation, source, lines, Object.assign(error as DpdkError, { flowIndex }));
      }
    });
  }
  const target = switchTarget(source, options.rundir);
  const client = await OpenFlowClient.connect(target, call);
  try {
    return flowEntriesOfStats(await client.flowStats({}, call));
  } finally {
    await client.close();
  }
}

/**
 * `diff-flows SOURCE1 SOURCE2`: prints what differs and resolves with `ovs-ofctl`'s exit
 * status, 2 when something does, else 0. Port names in files resolve through the ports of
 * the switch sources.
 */
async function diffFlowsCommand(
  args: readonly string[],
  options: FlowCommandOptions,
  call: CallOptions,
  out: (line: string) => void,
): Promise<number> {
  const operation = 'ovs-flow diff-flows';
  const switches: string[] = [];
  for (const source of args) if (!(await isFileSource(source))) switches.push(source);
  let ports: Map<string, number> | undefined;
  const portMap = async (): Promise<ReadonlyMap<string, number>> => {
    if (ports === undefined) {
      ports = new Map();
      for (const source of switches) {
        const target = switchTarget(source, options.rundir);
        const client = await OpenFlowClient.connect(target, call);
        try {
          for (const [name, number] of await portMapOf(client, call)) ports.set(name, number);
        } finally {
          await client.close();
        }
      }
    }
    return ports;
  };
  const a = await readSource(operation, args[0]!, options, call, portMap);
  const b = await readSource(operation, args[1]!, options, call, portMap);
  const lines = diffFlowTables(a, b);
  lines.forEach((line) => out(line));
  return lines.length > 0 ? 2 : 0;
}

/**
 * Runs one `ovs-ofctl`-like verb against a bridge's OpenFlow socket, speaking
 * OpenFlow 1.3, and writes its output lines (formatted like `ovs-ofctl -O OpenFlow13`,
 * without the `OFPST_* reply` header line; `dump-flows` prints ovs-ofctl's decode error and hex
 * dump for a reply message it cannot decode, see `FlowDump.ofctlLines`) to `out`. Resolves with the exit status
 * `ovs-ofctl` would have: 0, or 2 when `diff-flows` found differences.
 *
 * Verbs and their `args` (the bridge is `options.target`): `add-flow FLOW`,
 * `add-flows FILE`, `replace-flows FILE`, `mod-flows FLOW`, `del-flows [FLOW]`,
 * `dump-flows [FLOW]`, `dump-ports [PORT]`, `dump-ports-desc`, and `diff-flows SOURCE1
 * SOURCE2` (each a flow file or a switch), and the TLV table's `add-tlv-map MAP`,
 * `del-tlv-map [MAP]` (none: every mapping) and `dump-tlv-map`. Files hold a flow per line, `#` comments, and
 * `-` reads standard input; `add-flows` lines may start with `add`, `delete`,
 * `delete_strict`, `modify` or `modify_strict`. Port names in flows are resolved through
 * the bridge's port descriptions (`--names`: `dump-flows` prints them too). Failures are
 * `DpdkError`s (see {@link OpenFlowClient}); one in a file names its line (`FILE:LINE: ...`).
 */
export async function runFlowCommand(
  verb: string,
  args: string[],
  options: FlowCommandOptions,
  out: (line: string) => void,
): Promise<number> {
  const operation = `ovs-flow ${verb}`;
  if (!Object.hasOwn(flowCommandUsage, verb)) {
    invalidArgument(operation, `unknown verb "${verb}"; expected one of ${Object.keys(flowCommandUsage).join(', ')}`);
  }
  checkOptions<FlowCommandOptions>(operation, options, optionKeys);
  if (verb !== 'diff-flows' && (typeof options.target !== 'string' || options.target === '')) {
    invalidArgument(operation, 'options.target must name the bridge socket, e.g. unix:/var/run/openvswitch/br0.mgmt');
  }
  if (options.strict && !strictVerbs.has(verb)) {
    usageError(verb, `--strict applies only to ${[...strictVerbs].join(' and ')}`);
  }
  if (options.names && verb !== 'dump-flows') {
    usageError(verb, '--names applies only to dump-flows');
  }
  if (options.bundle && !bundleVerbs.has(verb)) {
    usageError(verb, '--bundle applies only to add-flow, add-flows and replace-flows');
  }
  if (options.readd && verb !== 'replace-flows') {
    usageError(verb, '--readd applies only to replace-flows');
  }
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    usageError(verb, 'args must be an array of strings');
  }
  const call: CallOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const atomic = options.bundle ?? false;
  switch (verb) {
    case 'add-flow':
    case 'add-flows':
    case 'replace-flows':
    case 'mod-flows':
      checkArgs(verb, args, 1, 1);
      break;
    case 'diff-flows':
      checkArgs(verb, args, 2, 2);
      return diffFlowsCommand(args, options, call, out);
    case 'del-flows':
    case 'dump-flows':
    case 'dump-ports':
      checkArgs(verb, args, 0, 1);
      break;
    case 'dump-ports-desc':
    case 'dump-tlv-map':
      checkArgs(verb, args, 0, 0);
      break;
    case 'add-tlv-map':
      checkArgs(verb, args, 1, 1);
      break;
    case 'del-tlv-map':
      checkArgs(verb, args, 0, 1);
      break;
  }
  // As ovs-ofctl: the mappings are read before the switch is contacted.
  const mappings = verb.endsWith('-tlv-map') && args.length > 0 ? parseTlvMappings(args[0]!) : [];
  const client = await OpenFlowClient.connect(options.target!, call);
  try {
    switch (verb) {
      case 'add-flow':
        await client.addFlows(args[0]!, { ...call, atomic });
        break;
      case 'mod-flows':
        await client.modifyFlows(args[0]!, { ...call, strict: options.strict ?? false });
        break;
      case 'del-flows':
        await client.deleteFlows(args[0], { ...call, strict: options.strict ?? false });
        break;
      case 'add-flows': {
        const file = args[0]!;
        const lines = await readFlowFile(verb, file);
        if (lines.length === 0) break;
        const flows = lines.map((line) => splitFlowCommand(line.text));
        await sendFlowCommands(client, flows, { ...call, atomic }).catch((error: unknown) => {
          throw fileError(operation, file, lines, error);
        });
        break;
      }
      case 'replace-flows': {
        const file = args[0]!;
        const lines = await readFlowFile(verb, file);
        const flows = lines.map((line) => line.text);
        await client.replaceFlows(flows, { ...call, atomic, readd: options.readd ?? false }).catch((error: unknown) => {
          throw fileError(operation, file, lines, error);
        });
        break;
      }
      case 'dump-flows':
        (await client.dumpFlows(args[0], { ...call, names: options.names ?? false })).ofctlLines.forEach((line) =>
          out(line),
        );
        break;
      case 'dump-ports': {
        let portNo: number = OFPP.ANY;
        if (args.length > 0) {
          const portMap = await portMapOf(client, call);
          const name = args[0]!;
          const number = /^\d+$/.test(name)
            ? Number(name)
            : name.toUpperCase() === 'LOCAL'
              ? OFPP.LOCAL
              : portMap.get(name);
          if (number === undefined || number > 0xffffffff) {
            usageError(
              verb,
              `unknown port "${name}"; expected a port number, LOCAL, or one of ${[...portMap.keys()].join(', ')}`,
            );
          }
          portNo = number;
        }
        for (const stats of await client.portStats(portNo, call)) {
          formatPortStats(stats).forEach((line) => out(line));
        }
        break;
      }
      case 'dump-ports-desc':
        for (const port of sortPortDescriptions(await client.portDescriptions(call))) {
          formatPortDescription(port).forEach((line) => out(line));
        }
        break;
      case 'add-tlv-map':
        await client.tlvTableMod('add', mappings, call);
        break;
      case 'del-tlv-map':
        await client.tlvTableMod(args.length > 0 ? 'delete' : 'clear', mappings, call);
        break;
      case 'dump-tlv-map':
        formatTlvTable(await client.tlvTable(call)).forEach((line) => out(line));
        break;
    }
  } finally {
    await client.close();
  }
  return 0;
}
