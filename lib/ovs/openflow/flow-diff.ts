/**
 * Flow tables compared as `ovs-ofctl diff-flows` and `replace-flows` compare them: a flow
 * is identified by its table, match and priority; two versions of it are the same when
 * their cookie, timeouts, table and actions (as text) are. Flows given as text are encoded
 * and decoded once, so that they compare in the form the switch reports them in.
 */
import { OFPP, decodeInstructions, type Instruction } from './actions.js';
import { OFP_HEADER_LENGTH } from './codec.js';
import { encodeFlowMod, type FlowMod, type FlowModFlag } from './flow-mod.js';
import { formatInstructions, formatMatch } from './format.js';
import { decodeMatch, type Match } from './match.js';
import { spelledInstructions } from './of10-spelling.js';
import type { FlowStats } from './multipart.js';

/** One flow of a table, as compared by {@link diffFlowTables} and {@link planReplaceFlows}. */
export interface FlowEntry {
  /** Table of the flow. */
  tableId: number;
  /** Priority of the flow. */
  priority: number;
  /** Match of the flow. */
  match: Match;
  /** Cookie of the flow. */
  cookie: bigint;
  /** Idle timeout in seconds, 0 for none. */
  idleTimeout: number;
  /** Hard timeout in seconds, 0 for none. */
  hardTimeout: number;
  /** The flags `ovs-ofctl` carries over when it re-adds a flow (`send_flow_rem`). */
  flags: FlowModFlag[];
  /** Instructions of the flow. */
  instructions: Instruction[];
  /**
   * The actions as `ovs-ofctl` prints them for a flow it read from text, where that keeps
   * OpenFlow 1.0 spellings (`mod_nw_src:IP`, `strip_vlan`, ...) that the switch reports
   * otherwise; undefined: as `instructions` print.
   */
  actionsText?: string;
}

/** What {@link planReplaceFlows} decided: the flow mods to send, in order, and how many flows stay as they are. */
export interface ReplacePlan {
  /**
   * `delete_strict` of each switch flow the new flows lack and `add` of each new flow that
   * the switch lacks or has in another version (an add replaces it).
   */
  flowMods: FlowMod[];
  /** For each flow mod, the index in the new flows of the flow it adds; undefined for a delete. */
  addIndexes: (number | undefined)[];
  /** How many flow mods are deletes. */
  deletes: number;
  /** Adds that replace a flow the switch has in another version (the rest are new flows). */
  replaced: number;
  /** Flows the switch already has in the same version. */
  unchanged: number;
}

/** Only `send_flow_rem` survives a re-add, as in `ovs-ofctl` (the emergency flag has no OpenFlow 1.3 meaning). */
function keptFlags(flags: readonly FlowModFlag[]): FlowModFlag[] {
  return flags.filter((flag) => flag === 'send_flow_rem');
}

/** The entries of flows read from a switch. */
export function flowEntriesOfStats(flows: readonly FlowStats[]): FlowEntry[] {
  return flows.map((flow) => ({
    tableId: flow.tableId,
    priority: flow.priority,
    match: flow.match,
    cookie: flow.cookie,
    idleTimeout: flow.idleTimeout,
    hardTimeout: flow.hardTimeout,
    flags: keptFlags(flow.flags),
    instructions: flow.instructions,
  }));
}

/**
 * The entry of a parsed `add` flow mod, through the wire encoding and back so that its match
 * and actions read as the switch would report them.
 */
export function flowEntryOfFlowMod(flowMod: FlowMod): FlowEntry {
  const message = encodeFlowMod(0, flowMod);
  const matchOffset = OFP_HEADER_LENGTH + 40;
  const { match, paddedLength } = decodeMatch(message, matchOffset);
  const instructions = decodeInstructions(message, matchOffset + paddedLength, message.length);
  const actionsText = spelledInstructions(flowMod.instructions ?? [], instructions, (list) => formatInstructions(list));
  return {
    tableId: flowMod.tableId ?? 0,
    priority: message.readUInt16BE(OFP_HEADER_LENGTH + 22),
    match,
    cookie: flowMod.cookie ?? 0n,
    idleTimeout: flowMod.idleTimeout ?? 0,
    hardTimeout: flowMod.hardTimeout ?? 0,
    flags: keptFlags(flowMod.flags ?? []),
    instructions,
    ...(actionsText === undefined ? {} : { actionsText }),
  };
}

function keyOf(entry: FlowEntry): string {
  return `${entry.tableId} ${formatMatch(entry.match, entry.priority)}`;
}

function actionsOf(entry: FlowEntry): string {
  return entry.actionsText ?? formatInstructions(entry.instructions);
}

function sameVersion(a: FlowEntry, b: FlowEntry): boolean {
  return (
    a.cookie === b.cookie &&
    a.idleTimeout === b.idleTimeout &&
    a.hardTimeout === b.hardTimeout &&
    a.tableId === b.tableId &&
    actionsOf(a) === actionsOf(b)
  );
}

/** A flow as a `diff-flows` line prints it (without the `-`/`+`): table, match, cookie, timeouts, actions. */
export function formatFlowEntry(entry: FlowEntry): string {
  let line = entry.tableId !== 0 ? `table=${entry.tableId} ` : '';
  line += formatMatch(entry.match, entry.priority);
  if (entry.cookie !== 0n) line += ` cookie=0x${entry.cookie.toString(16)}`;
  if (entry.idleTimeout !== 0) line += ` idle_timeout=${entry.idleTimeout}`;
  if (entry.hardTimeout !== 0) line += ` hard_timeout=${entry.hardTimeout}`;
  return `${line} actions=${actionsOf(entry)}`;
}

/** The mask of one match field as text: its mask, or `exact` for a field without one. */
function fieldMask(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(fieldMask).join(',')}]`;
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const field = value as { index?: number; oxmClass?: number; field?: number; value?: unknown; mask?: unknown };
    const name = field.index ?? (field.oxmClass !== undefined ? `${field.oxmClass}:${field.field}` : '');
    const mask =
      field.mask === undefined
        ? 'exact'
        : Buffer.isBuffer(field.mask)
          ? field.mask.toString('hex')
          : String(field.mask);
    return `${name}/${mask}`;
  }
  return 'exact';
}

/**
 * Fields that OVS keeps in one place of its flow (`tp_src`, `nw_src`, ...) under one name,
 * so that `tcp,tp_dst=80`, `udp,tp_dst=53` and `icmp,icmp_code=0` (an exact `tp_dst`)
 * share a subtable as in `ovs-ofctl`.
 */
const SAME_OVS_FIELD: Record<string, string> = {
  udpSrc: 'tcpSrc',
  sctpSrc: 'tcpSrc',
  udpDst: 'tcpDst',
  sctpDst: 'tcpDst',
  icmpv4Type: 'tcpSrc',
  icmpv6Type: 'tcpSrc',
  icmpv4Code: 'tcpDst',
  icmpv6Code: 'tcpDst',
  arpSpa: 'ipv4Src',
  arpTpa: 'ipv4Dst',
  arpOp: 'ipProto',
  ndSll: 'arpSha',
  ndTll: 'arpTha',
};

/**
 * Which fields a match sets and with which masks: the classifier subtable `ovs-ofctl` files
 * the flow under (flows with the same masks share one).
 */
function maskKeyOf(entry: FlowEntry): string {
  const match = entry.match as Record<string, unknown>;
  return Object.keys(match)
    .filter((name) => match[name] !== undefined)
    .map((name) => `${SAME_OVS_FIELD[name] ?? name}=${fieldMask(match[name])}`)
    .sort()
    .join(' ');
}

interface FlowPair {
  a?: FlowEntry;
  aIndex?: number;
  b?: FlowEntry;
  bIndex?: number;
  tableId: number;
}

/**
 * Both sides' versions of each flow, in the order `ovs-ofctl`'s classifier visits them: by
 * table; within a table by subtable (flows of the same field masks), subtables by their
 * highest priority, highest first (ties in order of creation); within a subtable by first
 * appearance, A's flows before B's. A later flow with the same table, match and priority
 * replaces an earlier one of its side and keeps its place, as in `ovs-ofctl`.
 */
function pairUp(a: readonly FlowEntry[], b: readonly FlowEntry[]): FlowPair[] {
  const pairs = new Map<string, FlowPair>();
  const put = (entry: FlowEntry, index: number, side: 'a' | 'b'): void => {
    const key = keyOf(entry);
    const pair = pairs.get(key) ?? { tableId: entry.tableId };
    pairs.set(key, Object.assign(pair, side === 'a' ? { a: entry, aIndex: index } : { b: entry, bIndex: index }));
  };
  a.forEach((entry, index) => put(entry, index, 'a'));
  b.forEach((entry, index) => put(entry, index, 'b'));
  const subtables = new Map<string, { tableId: number; maxPriority: number; pairs: FlowPair[] }>();
  for (const pair of pairs.values()) {
    const entry = (pair.a ?? pair.b) as FlowEntry;
    const key = `${entry.tableId} ${maskKeyOf(entry)}`;
    const subtable = subtables.get(key) ?? { tableId: entry.tableId, maxPriority: entry.priority, pairs: [] };
    subtable.maxPriority = Math.max(subtable.maxPriority, entry.priority);
    subtable.pairs.push(pair);
    subtables.set(key, subtable);
  }
  // Array.prototype.sort is stable, as glibc's qsort (a merge sort) is for OVS's subtable vector.
  return [...subtables.values()]
    .sort((x, y) => x.tableId - y.tableId || y.maxPriority - x.maxPriority)
    .flatMap((subtable) => subtable.pairs);
}

/**
 * The lines `ovs-ofctl diff-flows A B` prints (each ending without a newline): `-FLOW` for
 * a flow only A has or has in another version, `+FLOW` for B's. None when the tables are the
 * same. Lines come in the order of `ovs-ofctl`'s classifier (see `pairUp`).
 */
export function diffFlowTables(a: readonly FlowEntry[], b: readonly FlowEntry[]): string[] {
  const lines: string[] = [];
  for (const pair of pairUp(a, b)) {
    if (pair.a && pair.b && sameVersion(pair.a, pair.b)) continue;
    const aText = pair.a ? formatFlowEntry(pair.a) : '';
    const bText = pair.b ? formatFlowEntry(pair.b) : '';
    if (aText === bText) continue;
    if (pair.a) lines.push(`-${aText}`);
    if (pair.b) lines.push(`+${bText}`);
  }
  return lines;
}

/**
 * What `ovs-ofctl replace-flows` sends to make the switch's flows `current` into `wanted`,
 * table by table: a strict delete of each flow `wanted` lacks, then an add of each flow
 * that is new or differs (all of them with `readd`). An add replaces the flow of the same
 * match and priority, so a changed flow takes one add (its counters restart, as with
 * `ovs-ofctl`). Sent one by one, a refusal stops it with the tables after it untouched.
 */
export function planReplaceFlows(
  current: readonly FlowEntry[],
  wanted: readonly FlowEntry[],
  readd = false,
): ReplacePlan {
  const plan: ReplacePlan = { flowMods: [], addIndexes: [], deletes: 0, replaced: 0, unchanged: 0 };
  const pairs = pairUp(current, wanted);
  const tables = [...new Set(pairs.map((pair) => pair.tableId))];
  for (const tableId of tables) {
    const table = pairs.filter((pair) => pair.tableId === tableId);
    for (const { a, b } of table) {
      if (!a || b) continue;
      plan.flowMods.push({
        command: 'delete_strict',
        tableId,
        priority: a.priority,
        match: a.match,
        outPort: OFPP.ANY,
      });
      plan.addIndexes.push(undefined);
      plan.deletes++;
    }
    for (const { a, b, bIndex } of table) {
      if (!b) continue;
      if (a && !readd && sameVersion(a, b)) {
        plan.unchanged++;
        continue;
      }
      const add: FlowMod = {
        command: 'add',
        tableId,
        priority: b.priority,
        match: b.match,
        cookie: b.cookie,
        idleTimeout: b.idleTimeout,
        hardTimeout: b.hardTimeout,
        instructions: b.instructions,
      };
      if (b.flags.length > 0) add.flags = b.flags;
      if (a) plan.replaced++;
      plan.flowMods.push(add);
      plan.addIndexes.push(bIndex);
    }
  }
  return plan;
}
