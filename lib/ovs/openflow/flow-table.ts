/**
 * The `ovs-ofctl`-like flow verbs of {@link OpenFlowClient} (`addFlows`, `modifyFlows`,
 * `deleteFlows`, `dumpFlows`, `replaceFlows`, `diffFlows`): flow text in, with port names resolved through the switch's
 * port descriptions, and `dump-flows` text out. The `dpdk-ts-ovs` command runs the same code.
 */
import { DpdkError } from '../../errors.js';
import { checkBoolean, checkOptions, describe } from '../../validate.js';
import type { OpenFlowClient } from './client.js';
import type { CallOptions } from './client-options.js';
import { diffFlowTables, flowEntriesOfStats, flowEntryOfFlowMod, planReplaceFlows } from './flow-diff.js';
import type { FlowMod, FlowModCommand } from './flow-mod.js';
import { parseFlowFilter, parseFlowMod } from './flow-syntax.js';
import { formatFlowStats, formatMatch } from './format.js';
import { flowsOfReplies, formatFlowStatsReplies } from './format-replies.js';
import type { OpenFlowErrorInfo } from './codec.js';
import type { FlowStats, PortDescription } from './multipart.js';

/** Options of {@link OpenFlowClient.addFlows}. */
export interface AddFlowsOptions extends CallOptions {
  /**
   * Install every flow or none, in an OpenFlow bundle as `ovs-ofctl --bundle` does (default
   * true); false sends them one after the other as `ovs-ofctl` does, stopping at the first
   * the switch refuses: the flows before it stay.
   */
  atomic?: boolean;
}

/** Options of {@link OpenFlowClient.modifyFlows} and {@link OpenFlowClient.deleteFlows}. */
export interface FlowEditOptions extends CallOptions {
  /** Affect only flows with exactly this match and priority (`--strict`); default false. */
  strict?: boolean;
}

/** Options of {@link OpenFlowClient.dumpFlows}. */
export interface DumpFlowsOptions extends CallOptions {
  /**
   * Print ports by name, as `ovs-ofctl --names` does (default true); false prints numbers,
   * as `ovs-ofctl` does when its output is not a terminal.
   */
  names?: boolean;
}

/** What {@link OpenFlowClient.dumpFlows} read: the flows, and the same flows as `ovs-ofctl dump-flows` prints them. */
export interface FlowDump {
  /** The flows, decoded (ports by number). */
  flows: FlowStats[];
  /**
   * One line per flow, in the switch's order, as `ovs-ofctl -O OpenFlow13 dump-flows` prints it
   * without the `OFPST_FLOW reply` header and the leading space.
   */
  lines: string[];
  /**
   * What `ovs-ofctl -O OpenFlow13 dump-flows` prints: without `names`, as into a pipe, each
   * reply message's `OFPST_FLOW reply (OF1.3) (xid=0x2):` line, then a line per flow with its
   * leading space (with `names`, as on a terminal, the flow lines only); in a reply message
   * holding a flow ovs-ofctl 3.1 cannot decode (`debug_recirc`, `debug_slow`), after the flows
   * before it, `***decode error: OFPBAC_BAD_VENDOR_TYPE***` and a hex dump of the message.
   */
  ofctlLines: string[];
}

/** Options of {@link OpenFlowClient.replaceFlows}. */
export interface ReplaceFlowsOptions extends CallOptions {
  /**
   * Send the deletes and adds in one OpenFlow bundle, all or none, as `ovs-ofctl --bundle
   * replace-flows` (default true); false sends them in order, as `ovs-ofctl` without
   * `--bundle`, stopping at the first the switch refuses.
   */
  atomic?: boolean;
  /** Re-add every flow, even those the switch already has as given (`ovs-ofctl --readd`); default false. */
  readd?: boolean;
}

/** What {@link OpenFlowClient.replaceFlows} changed. */
export interface ReplaceFlowsResult {
  /** Flows the switch did not have, added. */
  added: number;
  /** Flows the switch had with other actions, cookie or timeouts, replaced by an add. */
  modified: number;
  /** Flows the switch had and the new flows lack, deleted. */
  deleted: number;
  /** Flows the switch already had as given, left alone (re-added with `readd`). */
  unchanged: number;
}

/** A refusal of one flow of a batch: the `DpdkError` carries the flow's index and text. */
export interface FlowErrorDetails {
  /** Index of the failing flow in the texts given. */
  flowIndex: number;
  /** The failing flow, as given. */
  flow: string;
}

const callKeys = ['timeoutMs', 'signal'] as const satisfies readonly (keyof CallOptions)[];
const addKeys = [...callKeys, 'atomic'] as const satisfies readonly (keyof AddFlowsOptions)[];
const editKeys = [...callKeys, 'strict'] as const satisfies readonly (keyof FlowEditOptions)[];
const dumpKeys = [...callKeys, 'names'] as const satisfies readonly (keyof DumpFlowsOptions)[];
const replaceKeys = [...callKeys, 'atomic', 'readd'] as const satisfies readonly (keyof ReplaceFlowsOptions)[];

/** The options the client's own calls take, without the verbs' own. */
function callOptionsOf(options: CallOptions): CallOptions {
  const call: CallOptions = {};
  if (options.timeoutMs !== undefined) call.timeoutMs = options.timeoutMs;
  if (options.signal !== undefined) call.signal = options.signal;
  return call;
}

/** The switch's port numbers by name, read once per verb (the bridge's own port is LOCAL). */
export async function portMapOf(client: OpenFlowClient, call: CallOptions): Promise<Map<string, number>> {
  const ports = await client.portDescriptions(call);
  return new Map(ports.map((port) => [port.name, port.portNo]));
}

/** Whether `ovs-ofctl` quotes this port name in output: names it could not read back bare. */
function nameNeedsQuotes(name: string): boolean {
  return /^[-+0-9]/.test(name) || /[^A-Za-z0-9_]/.test(name);
}

/**
 * Port names by number as `ovs-ofctl --names` prints them: bare when they read back as a
 * name, else JSON-quoted.
 */
export function portNamesOf(ports: readonly PortDescription[]): Map<number, string> {
  return new Map(
    ports.map((port) => [port.portNo, nameNeedsQuotes(port.name) ? JSON.stringify(port.name) : port.name]),
  );
}

/** The switch's decoded error on an `ERR_OPENFLOW` error (as `openflowErrorOf` reads it, without importing the client). */
function openflowErrorOf(error: unknown): OpenFlowErrorInfo | undefined {
  return error instanceof DpdkError && error.code === 'ERR_OPENFLOW'
    ? (error as { openflowError?: OpenFlowErrorInfo }).openflowError
    : undefined;
}

function flowError(
  error: DpdkError,
  message: string,
  operation: string,
  object: string,
  details: FlowErrorDetails,
): DpdkError {
  const wrapped = new DpdkError(message, { code: error.code, operation, object, cause: error });
  const info = openflowErrorOf(error);
  return Object.assign(wrapped, details, info ? { openflowError: info } : {});
}

/** The flow texts of a verb: one string or an array of strings, none empty. */
function checkTexts(operation: string, texts: unknown): string[] {
  const list = typeof texts === 'string' ? [texts] : texts;
  if (!Array.isArray(list) || list.length === 0 || !list.every((text) => typeof text === 'string' && text !== '')) {
    throw new DpdkError(`flows must be a flow string or a non-empty array of flow strings, got ${describe(texts)}`, {
      code: 'EINVAL',
      operation,
    });
  }
  return list as string[];
}

/** Parses every flow before anything is sent; a refusal names the flow's index and text. */
function parseFlows(
  operation: string,
  texts: readonly string[],
  command: FlowModCommand | readonly FlowModCommand[],
  portMap: ReadonlyMap<string, number>,
): FlowMod[] {
  return texts.map((flow, flowIndex) => {
    try {
      return parseFlowMod(flow, { command: typeof command === 'string' ? command : command[flowIndex]!, portMap });
    } catch (error) {
      const which = texts.length === 1 ? '' : `flow ${flowIndex + 1} of ${texts.length}: `;
      throw flowError(error as DpdkError, `${which}${(error as Error).message}`, operation, flow, { flowIndex, flow });
    }
  });
}

/** Sends parsed flow mods; the switch's refusal is reported with the flow text it concerns. */
async function sendFlows(
  client: OpenFlowClient,
  operation: string,
  texts: readonly string[],
  flowMods: readonly FlowMod[],
  call: CallOptions,
  atomic = false,
): Promise<void> {
  try {
    await client.flowMods(flowMods, { ...call, atomic });
  } catch (error) {
    const info = openflowErrorOf(error);
    const flowIndex = (error as { flowModIndex?: number }).flowModIndex;
    if (info === undefined || flowIndex === undefined) throw error;
    const flow = texts[flowIndex]!;
    const which = texts.length === 1 ? 'flow' : `flow ${flowIndex + 1} of ${texts.length}`;
    const reason = `${info.typeName} ${info.codeName}${info.description ? ` (${info.description})` : ''}`;
    const rest =
      texts.length === 1
        ? ''
        : atomic
          ? '; none of the flows was installed'
          : '; the flows before it stay installed, none after it was sent';
    throw flowError(
      error as DpdkError,
      `${client.target} rejected ${which} "${flow}": ${reason}${rest}`,
      operation,
      client.target,
      { flowIndex, flow },
    );
  }
}

/** @internal {@link OpenFlowClient.addFlows}. */
export async function addFlows(
  client: OpenFlowClient,
  texts: string | readonly string[],
  options: AddFlowsOptions,
): Promise<void> {
  const operation = 'addFlows';
  checkOptions<AddFlowsOptions>(operation, options, addKeys);
  const atomic = checkBoolean(operation, 'atomic', options.atomic ?? true);
  const list = checkTexts(operation, texts);
  const call = callOptionsOf(options);
  const flowMods = parseFlows(operation, list, 'add', await portMapOf(client, call));
  await sendFlows(client, operation, list, flowMods, call, atomic);
}

/** @internal {@link OpenFlowClient.modifyFlows}. */
export async function modifyFlows(client: OpenFlowClient, text: string, options: FlowEditOptions): Promise<void> {
  const operation = 'modifyFlows';
  checkOptions<FlowEditOptions>(operation, options, editKeys);
  const strict = checkBoolean(operation, 'strict', options.strict ?? false);
  const list = checkTexts(operation, text);
  const call = callOptionsOf(options);
  const flowMods = parseFlows(operation, list, strict ? 'modify_strict' : 'modify', await portMapOf(client, call));
  await sendFlows(client, operation, list, flowMods, call);
}

/** @internal {@link OpenFlowClient.deleteFlows}. */
export async function deleteFlows(
  client: OpenFlowClient,
  text: string | undefined,
  options: FlowEditOptions,
): Promise<void> {
  const operation = 'deleteFlows';
  checkOptions<FlowEditOptions>(operation, options, editKeys);
  const strict = checkBoolean(operation, 'strict', options.strict ?? false);
  const command: FlowModCommand = strict ? 'delete_strict' : 'delete';
  const call = callOptionsOf(options);
  if (text === undefined) {
    await client.flowMod({ command }, call);
    return;
  }
  const list = checkTexts(operation, text);
  const flowMods = parseFlows(operation, list, command, await portMapOf(client, call));
  await sendFlows(client, operation, list, flowMods, call);
}

/** @internal {@link OpenFlowClient.dumpFlows}. */
export async function dumpFlows(
  client: OpenFlowClient,
  filter: string | undefined,
  options: DumpFlowsOptions,
): Promise<FlowDump> {
  const operation = 'dumpFlows';
  checkOptions<DumpFlowsOptions>(operation, options, dumpKeys);
  const names = checkBoolean(operation, 'names', options.names ?? true);
  if (filter !== undefined && typeof filter !== 'string') {
    throw new DpdkError(`filter must be a flow string such as "in_port=p1,ip", got ${describe(filter)}`, {
      code: 'EINVAL',
      operation,
    });
  }
  const call = callOptionsOf(options);
  const ports = names || (filter !== undefined && filter !== '') ? await client.portDescriptions(call) : [];
  const request =
    filter === undefined || filter === ''
      ? {}
      : parseFlowFilter(filter, { portMap: new Map(ports.map((port) => [port.name, port.portNo])) });
  const replies = await client.flowStatsReplies(request, call);
  const flows = flowsOfReplies(replies);
  const format = names ? { portNames: portNamesOf(ports) } : {};
  return {
    flows,
    lines: flows.map((flow) => formatFlowStats(flow, format)),
    ofctlLines: formatFlowStatsReplies(replies, { ...format, headers: !names }),
  };
}

/**
 * @internal Sends flows each with its own command, as an `add-flows` file whose lines start
 * with `delete`, `modify`, ... (`dpdk-ts-ovs add-flows`); errors as {@link OpenFlowClient.addFlows}.
 */
export async function sendFlowCommands(
  client: OpenFlowClient,
  flows: readonly { command: FlowModCommand; flow: string }[],
  options: AddFlowsOptions,
): Promise<void> {
  const operation = 'addFlows';
  checkOptions<AddFlowsOptions>(operation, options, addKeys);
  const atomic = checkBoolean(operation, 'atomic', options.atomic ?? true);
  const texts = flows.map(({ flow }) => flow);
  const call = callOptionsOf(options);
  const commands = flows.map(({ command }) => command);
  const flowMods = parseFlows(operation, texts, commands, await portMapOf(client, call));
  await sendFlows(client, operation, texts, flowMods, call, atomic);
}

/** The flow texts of replaceFlows and diffFlows: a string or an array of strings, possibly empty (no flows). */
function checkFlowList(operation: string, texts: unknown): string[] {
  if (Array.isArray(texts) && texts.length === 0) return [];
  return checkTexts(operation, texts);
}

/** @internal {@link OpenFlowClient.replaceFlows}. */
export async function replaceFlows(
  client: OpenFlowClient,
  texts: string | readonly string[],
  options: ReplaceFlowsOptions,
): Promise<ReplaceFlowsResult> {
  const operation = 'replaceFlows';
  checkOptions<ReplaceFlowsOptions>(operation, options, replaceKeys);
  const atomic = checkBoolean(operation, 'atomic', options.atomic ?? true);
  const readd = checkBoolean(operation, 'readd', options.readd ?? false);
  const list = checkFlowList(operation, texts);
  const call = callOptionsOf(options);
  const wanted = parseFlows(operation, list, 'add', await portMapOf(client, call)).map(flowEntryOfFlowMod);
  const current = flowEntriesOfStats(await client.flowStats({}, call));
  const plan = planReplaceFlows(current, wanted, readd);
  if (plan.flowMods.length > 0) {
    // A refused add is named by its text as given, a refused delete by the flow it deletes.
    const labels = plan.flowMods.map((flowMod, index) => {
      const flowIndex = plan.addIndexes[index];
      if (flowIndex !== undefined) return list[flowIndex]!;
      return `delete_strict table=${flowMod.tableId},${formatMatch(flowMod.match ?? {}, flowMod.priority)}`;
    });
    await sendFlows(client, operation, labels, plan.flowMods, call, atomic).catch((error: unknown) => {
      const index = (error as { flowIndex?: number }).flowIndex;
      const flowIndex = index === undefined ? undefined : plan.addIndexes[index];
      // A delete's index is not one of the flows given: leave it out.
      if (index !== undefined) {
        Object.assign(error as object, { flowIndex, flow: flowIndex === undefined ? labels[index] : list[flowIndex] });
      }
      throw error;
    });
  }
  return {
    added: plan.flowMods.length - plan.deletes - plan.replaced,
    modified: plan.replaced,
    deleted: plan.deletes,
    unchanged: plan.unchanged,
  };
}

/** @internal {@link OpenFlowClient.diffFlows}. */
export async function diffFlows(
  client: OpenFlowClient,
  texts: string | readonly string[],
  options: CallOptions,
): Promise<string[]> {
  const operation = 'diffFlows';
  checkOptions<CallOptions>(operation, options, callKeys);
  const list = checkFlowList(operation, texts);
  const call = callOptionsOf(options);
  const flows = parseFlows(operation, list, 'add', await portMapOf(client, call)).map(flowEntryOfFlowMod);
  return diffFlowTables(flowEntriesOfStats(await client.flowStats({}, call)), flows);
}
