/**
 * The Engine's native packet filter: PacketFilter's rules (same syntax, same parser, same
 * matching) applied in C, with an action and counters per rule. The rules are checked and
 * compiled here, once, into a table of numbers the engine's loop reads; nothing per packet
 * crosses to JavaScript.
 */
import { invalidArgument } from './errors.js';
import { ruleWords, setRuleRow, toRule } from './filter-table.js';
import { PacketFilter, type PacketRule } from './packet-filter.js';
import { Port } from './port.js';
import { checkInteger, checkOptions, describe } from './validate.js';

/** What a filter does with a packet: forward it as the engine's mode does, or free it. */
export type FilterAction = 'pass' | 'drop';

/** A rule with its own action. */
export interface EngineFilterRule {
  /** The match, as PacketFilter takes it: a text for `parseRule` or a parsed rule. */
  match: string | PacketRule;
  /** What a packet this rule matches (first) undergoes. */
  action: FilterAction;
}

/**
 * {@link EngineOptions.filter}: rules tried in order on each received packet, the first
 * that matches deciding (as `PacketFilter.match`). A bare rule (text or `PacketRule`)
 * drops what it matches, as examples/ips.ts does; `{ match, action: 'pass' }` forwards it.
 */
export interface EngineFilter {
  /** At most {@link maxFilterRules} rules; a PacketFilter's rules all drop. */
  rules: readonly (string | PacketRule | EngineFilterRule)[] | PacketFilter;
  /** What happens to packets no rule matches. Default `'pass'`. */
  defaultAction?: FilterAction;
  /**
   * A port (started, and kept busy while the engine runs) that gets a copy of every packet a
   * rule matched, pass or drop, as received: an IDS's tap. Copies come from the packet's
   * own mempool. Default: none.
   */
  mirror?: { port: Port; queue?: number };
}

/** Packets and bytes (of whole packets, as received) one rule, or no rule, matched. */
export interface FilterCounter {
  packets: number;
  bytes: number;
}

/** Counters of an engine's filter (see `Engine.filterStats`). */
export interface FilterStats {
  /** Per rule, in the filter's order: its text, action and what it matched first. */
  rules: (FilterCounter & { rule: string; action: FilterAction })[];
  /** Packets no rule matched (they underwent the default action). */
  unmatched: FilterCounter;
  /** With a mirror: copies sent, and copies lost (no mbuf for the copy, or a full tx queue). */
  mirror?: { sent: number; dropped: number };
}

/** The most rules a native filter takes: it tries them one by one on every packet. */
export const maxFilterRules = 256;

/** @internal A filter ready for the native engine, and what its counters are reported as. */
export interface CompiledFilter {
  /** Per rule: protocol (-1: any), source address and mask, destination address and mask,
   * source port low and high, destination port low and high (-1..65535: any), drop (0 or 1). */
  table: Int32Array;
  defaultDrop: boolean;
  mirrorPort?: number;
  mirrorQueue?: number;
  rules: { rule: string; action: FilterAction }[];
}

function checkAction(op: string, name: string, value: unknown): FilterAction {
  if (value !== 'pass' && value !== 'drop')
    invalidArgument(op, `${name} must be "pass" or "drop", got ${describe(value)}`);
  return value;
}

/** @internal Checks `filter` and compiles it for the native engine. */
export function compileFilter(op: string, filter: unknown): CompiledFilter {
  checkOptions<EngineFilter>(`${op} filter`, filter, ['rules', 'defaultAction', 'mirror']);
  const { rules, defaultAction, mirror } = filter as EngineFilter;
  const list = rules instanceof PacketFilter ? rules.rules : rules;
  if (!Array.isArray(list) || list.length > maxFilterRules) {
    invalidArgument(
      op,
      `filter.rules must be a PacketFilter or a list of at most ${maxFilterRules} rules, got ${Array.isArray(list) ? `${list.length} rules` : describe(list)}`,
    );
  }
  const table = new Int32Array(list.length * ruleWords);
  const compiled = (list as readonly unknown[]).map((entry, i) => {
    const name = `filter.rules[${i}]`;
    let match: unknown = entry;
    let action: FilterAction = 'drop';
    if (typeof entry === 'object' && entry !== null && 'match' in entry) {
      checkOptions<EngineFilterRule>(`${op} ${name}`, entry, ['match', 'action']);
      match = (entry as EngineFilterRule).match;
      action = checkAction(op, `${name}.action`, (entry as EngineFilterRule).action);
    }
    const rule = toRule(op, name, match, 'a rule text, a PacketRule or { match, action }');
    setRuleRow(table, i, rule, action === 'drop');
    return { rule: typeof rule.text === 'string' ? rule.text : describe(rule), action };
  });
  const fallback = defaultAction === undefined ? 'pass' : checkAction(op, 'filter.defaultAction', defaultAction);
  let mirrorPort: number | undefined;
  let mirrorQueue: number | undefined;
  if (mirror !== undefined) {
    checkOptions<{ port: Port; queue?: number }>(`${op} filter.mirror`, mirror, ['port', 'queue']);
    if (!(mirror.port instanceof Port)) {
      invalidArgument(op, `filter.mirror.port must be a Port, got ${describe(mirror.port)}`);
    }
    mirrorPort = mirror.port.id;
    mirrorQueue = checkInteger(op, 'filter.mirror.queue', mirror.queue ?? 0, 0, 1023);
  }
  return { table, defaultDrop: fallback === 'drop', mirrorPort, mirrorQueue, rules: compiled };
}

/** @internal FilterStats from the native counters: [packets, bytes] per rule, then unmatched, then the mirror's [sent, dropped]. */
export function filterStats(compiled: CompiledFilter, raw: Float64Array): FilterStats {
  const n = compiled.rules.length;
  const stats: FilterStats = {
    rules: compiled.rules.map((rule, i) => ({ ...rule, packets: raw[2 * i], bytes: raw[2 * i + 1] })),
    unmatched: { packets: raw[2 * n], bytes: raw[2 * n + 1] },
  };
  if (compiled.mirrorPort !== undefined) stats.mirror = { sent: raw[2 * n + 2], dropped: raw[2 * n + 3] };
  return stats;
}
