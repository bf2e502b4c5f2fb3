/**
 * The `ovs-ofctl`-like verbs of the dpdk-ts-ovs CLI (`add-flow`, `dump-flows`,
 * `dump-ports`, ...), run against a bridge's OpenFlow socket with {@link OpenFlowClient}.
 */
import { readFile } from 'node:fs/promises';
import { DpdkError, invalidArgument } from '../lib/errors.js';
import { OFPP } from '../lib/ovs/openflow/actions.js';
import { OpenFlowClient, type CallOptions } from '../lib/ovs/openflow/client.js';
import { portMapOf } from '../lib/ovs/openflow/flow-table.js';
import { formatPortDescription, formatPortStats, sortPortDescriptions } from '../lib/ovs/openflow/format.js';
import { checkOptions } from '../lib/validate.js';

/** Options of {@link runFlowCommand}. */
export interface FlowCommandOptions {
  /** The bridge's OpenFlow socket: `unix:/path/br0.mgmt`, a bare path, or `tcp:HOST:PORT`. */
  target: string;
  /** `--strict`: `mod-flows`/`del-flows` affect only flows with exactly this match and priority. */
  strict?: boolean;
  /** `dump-flows`: print ports by name (`--names`); default false, as `ovs-ofctl` into a pipe. */
  names?: boolean;
  /**
   * `--bundle`: `add-flow`/`add-flows` install all the flows or none, in one OpenFlow
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
  'mod-flows': 'mod-flows FLOW',
  'del-flows': 'del-flows [FLOW]',
  'dump-flows': 'dump-flows [FLOW]',
  'dump-ports': 'dump-ports [PORT]',
  'dump-ports-desc': 'dump-ports-desc',
};

const optionKeys = [
  'target',
  'strict',
  'names',
  'bundle',
  'timeoutMs',
] as const satisfies readonly (keyof FlowCommandOptions)[];
const strictVerbs = new Set(['mod-flows', 'del-flows']);
const bundleVerbs = new Set(['add-flow', 'add-flows']);

function usageError(verb: string, message: string): never {
  return invalidArgument(`ovs-flow ${verb}`, `${message}; usage: ${flowCommandUsage[verb]}`);
}

function checkArgs(verb: string, args: readonly string[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    usageError(
      verb,
      `${verb} takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${args.length}`,
    );
  }
}

/**
 * Reads an `add-flows` file: one flow per line; blank lines and `#` comments are
 * skipped. Returns the flows and their line numbers.
 */
async function readFlowFile(verb: string, path: string): Promise<{ flows: string[]; lines: number[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new DpdkError(`cannot read flow file ${path}: ${(error as Error).message}`, {
      code,
      operation: `ovs-flow ${verb}`,
      object: path,
      cause: error,
    });
  }
  const flows: string[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((line, index) => {
    const flow = line.trim();
    if (flow !== '' && !flow.startsWith('#')) {
      flows.push(flow);
      lines.push(index + 1);
    }
  });
  return { flows, lines };
}

/**
 * Runs one `ovs-ofctl`-like verb against a bridge's OpenFlow socket, speaking
 * OpenFlow 1.3, and writes its output lines (formatted like `ovs-ofctl -O OpenFlow13`,
 * without the `OFPST_* reply` header line) to `out`.
 *
 * Verbs and their `args` (the bridge is `options.target`): `add-flow FLOW`,
 * `add-flows FILE`, `mod-flows FLOW`, `del-flows [FLOW]`, `dump-flows [FLOW]`,
 * `dump-ports [PORT]`, `dump-ports-desc`. Port names in flows are resolved through
 * the bridge's port descriptions (`--names`: `dump-flows` prints them too). Failures are `DpdkError`s (see {@link OpenFlowClient}).
 */
export async function runFlowCommand(
  verb: string,
  args: string[],
  options: FlowCommandOptions,
  out: (line: string) => void,
): Promise<void> {
  const operation = `ovs-flow ${verb}`;
  if (!Object.hasOwn(flowCommandUsage, verb)) {
    invalidArgument(operation, `unknown verb "${verb}"; expected one of ${Object.keys(flowCommandUsage).join(', ')}`);
  }
  checkOptions<FlowCommandOptions>(operation, options, optionKeys);
  if (typeof options.target !== 'string' || options.target === '') {
    invalidArgument(operation, 'options.target must name the bridge socket, e.g. unix:/var/run/openvswitch/br0.mgmt');
  }
  if (options.strict && !strictVerbs.has(verb)) {
    usageError(verb, `--strict applies only to ${[...strictVerbs].join(' and ')}`);
  }
  if (options.names && verb !== 'dump-flows') {
    usageError(verb, '--names applies only to dump-flows');
  }
  if (options.bundle && !bundleVerbs.has(verb)) {
    usageError(verb, `--bundle applies only to ${[...bundleVerbs].join(' and ')}`);
  }
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    usageError(verb, 'args must be an array of strings');
  }
  const call: CallOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const atomic = options.bundle ?? false;
  switch (verb) {
    case 'add-flow':
    case 'add-flows':
    case 'mod-flows':
      checkArgs(verb, args, 1, 1);
      break;
    case 'del-flows':
    case 'dump-flows':
    case 'dump-ports':
      checkArgs(verb, args, 0, 1);
      break;
    case 'dump-ports-desc':
      checkArgs(verb, args, 0, 0);
      break;
  }
  const client = await OpenFlowClient.connect(options.target, call);
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
        const { flows, lines } = await readFlowFile(verb, file);
        if (flows.length === 0) break;
        await client.addFlows(flows, { ...call, atomic }).catch((error: unknown) => {
          const flowIndex = (error as { flowIndex?: number }).flowIndex;
          if (!(error instanceof DpdkError) || flowIndex === undefined) throw error;
          // A parse error reads best as the file's line and the parser's own words.
          const message = error.code === 'EINVAL' ? (error.cause as Error).message : error.message;
          throw Object.assign(
            new DpdkError(`${file}:${lines[flowIndex]}: ${message}`, {
              code: error.code,
              operation,
              object: file,
              cause: error,
            }),
            { flowIndex, flow: flows[flowIndex] },
          );
        });
        break;
      }
      case 'dump-flows':
        for (const line of (await client.dumpFlows(args[0], { ...call, names: options.names ?? false })).lines) {
          out(` ${line}`);
        }
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
    }
  } finally {
    await client.close();
  }
}
