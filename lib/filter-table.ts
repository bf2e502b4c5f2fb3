/**
 * PacketFilter's rules as the table of numbers the native matcher reads
 * (native/packet_filter.h): checked and encoded once, so that nothing per packet crosses to
 * JavaScript. The Engine's filter (`engine-filter.ts`) and Port.capture's filter share it.
 */
import { invalidArgument } from './errors.js';
import { parseRule, type PacketRule } from './packet-filter.js';
import { checkInteger, describe } from './validate.js';

/** @internal Numbers per rule in the table the native filter reads (see native/packet_filter.h). */
export const ruleWords = 10;

/** A parsed rule given as an object: the native table takes numbers PacketFilter never checks. */
function checkRule(op: string, name: string, rule: PacketRule): PacketRule {
  const network = (field: 'source' | 'destination'): void => {
    const value = rule[field];
    if (value === undefined) return;
    checkInteger(op, `${name}.${field}.address`, value.address, 0, 0xffffffff);
    checkInteger(op, `${name}.${field}.mask`, value.mask, 0, 0xffffffff);
  };
  const ports = (field: 'sourcePorts' | 'destinationPorts'): void => {
    const value = rule[field];
    if (value === undefined) return;
    if (!Array.isArray(value) || value.length !== 2) {
      invalidArgument(op, `${name}.${field} must be [LOW, HIGH], got ${describe(value)}`);
    }
    checkInteger(op, `${name}.${field}[0]`, value[0], 0, 65535);
    checkInteger(op, `${name}.${field}[1]`, value[1], 0, 65535);
  };
  if (rule.protocol !== undefined) checkInteger(op, `${name}.protocol`, rule.protocol, 0, 255);
  network('source');
  network('destination');
  ports('sourcePorts');
  ports('destinationPorts');
  return rule;
}

/**
 * @internal A rule given as a text (parsed by PacketFilter's own parser: the same syntax and
 * the same errors) or as a PacketRule (checked), as a rule; `name` names it in errors, which
 * say it must be `expected`.
 */
export function toRule(op: string, name: string, match: unknown, expected: string): PacketRule {
  if (typeof match === 'string') return parseRule(match);
  if (typeof match === 'object' && match !== null) return checkRule(op, name, match as PacketRule);
  return invalidArgument(op, `${name} must be ${expected}, got ${describe(match)}`);
}

/** @internal Writes `rule` (and whether it drops) as row `index` of `table`. */
export function setRuleRow(table: Int32Array, index: number, rule: PacketRule, drop: boolean): void {
  table.set(
    [
      rule.protocol ?? -1,
      rule.source?.address ?? 0,
      rule.source?.mask ?? 0,
      rule.destination?.address ?? 0,
      rule.destination?.mask ?? 0,
      // A missing range takes in -1 too: the port of a packet without one (PacketFilter skips the test).
      ...(rule.sourcePorts ?? [-1, 65535]),
      ...(rule.destinationPorts ?? [-1, 65535]),
      drop ? 1 : 0,
    ],
    index * ruleWords,
  );
}
