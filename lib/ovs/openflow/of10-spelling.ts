/**
 * The OpenFlow 1.0 spellings of actions (`mod_nw_src:IP`, `strip_vlan`, `set_tunnel:ID`,
 * `enqueue:PORT:QUEUE`, ...) as `ovs-ofctl` keeps them for a flow it read from text. It parses
 * each into an action of its own kind, which it prints back in that spelling and which
 * differs from the set-field (or pop_vlan, or set_queue/output/pop_queue) the switch reports
 * over OpenFlow 1.3: `diff-flows` and `replace-flows` see such a flow of a file as another
 * version of the switch's. dpdk-ts parses these spellings into the actions the switch reports,
 * and remembers the spelling here, beside the actions, for those comparisons.
 */
import type { Action, Instruction } from './actions.js';
import { formatAction, formatPort } from './format.js';

/** The spelling of each action that starts one; '' for the others of its group (`mod_vlan_vid`'s push_vlan and set_field). */
const spellings = new WeakMap<Action, string>();

/** The names whose spelling `ovs-ofctl` keeps. */
const spelledNames = new Set([
  'mod_dl_src',
  'mod_dl_dst',
  'mod_nw_src',
  'mod_nw_dst',
  'mod_nw_tos',
  'mod_nw_ecn',
  'mod_tp_src',
  'mod_tp_dst',
  'mod_vlan_vid',
  'mod_vlan_pcp',
  'set_vlan_vid',
  'set_vlan_pcp',
  'strip_vlan',
  'set_tunnel',
  'set_tunnel64',
  'enqueue',
]);

/** The value of a set-field action as `ovs-ofctl` prints it (`set_field:VALUE->FIELD`). */
function setFieldValue(action: Action | undefined): string {
  const text = action === undefined ? '' : formatAction(action);
  return /^set_field:(.*)->[^>]*$/s.exec(text)?.[1] ?? text;
}

/** The spelling `ovs-ofctl` prints for the action `name` parsed into `actions`; undefined when it keeps none. */
function spellingOf(name: string, actions: readonly Action[]): string | undefined {
  const last = actions[actions.length - 1];
  switch (name) {
    case 'strip_vlan':
      return name;
    case 'enqueue': {
      const output = actions.find((action) => action.type === 'output');
      const queue = actions.find((action) => action.type === 'set_queue');
      return output && queue ? `enqueue:${formatPort(output.port)}:${queue.queueId}` : undefined;
    }
    case 'mod_nw_tos':
      return `${name}:${Number(setFieldValue(last)) << 2}`;
    case 'mod_vlan_vid':
    case 'set_vlan_vid':
      return `${name}:${Number(setFieldValue(last)) & 0xfff}`;
    case 'set_tunnel':
    case 'set_tunnel64': {
      const value = setFieldValue(last);
      return `${name === 'set_tunnel64' || BigInt(value) > 0xffffffffn ? 'set_tunnel64' : 'set_tunnel'}:${value}`;
    }
  }
  return `${name}:${setFieldValue(last)}`;
}

/** Remembers the spelling of `piece` for the actions it was parsed into, when `ovs-ofctl` keeps one. */
export function rememberSpelling(piece: string, actions: readonly Action[]): void {
  const name = (/^\w+/.exec(piece)?.[0] ?? '').toLowerCase();
  if (actions.length === 0 || !spelledNames.has(name)) {
    return;
  }
  const spelling = spellingOf(name, actions);
  if (spelling === undefined) {
    return;
  }
  actions.forEach((action, index) => spellings.set(action, index === 0 ? spelling : ''));
}

/**
 * The actions of `parsed` printed as `ovs-ofctl` prints a flow it read from text: `decoded`
 * (the same instructions through the wire and back) with the remembered spellings in place
 * of their actions. Undefined when none is remembered, or the two do not pair up.
 */
export function spelledInstructions(
  parsed: readonly Instruction[],
  decoded: readonly Instruction[],
  format: (instructions: readonly Instruction[]) => string,
): string | undefined {
  let spelled = false;
  const parts: string[] = [];
  if (parsed.length !== decoded.length) {
    return undefined;
  }
  for (const [index, instruction] of parsed.entries()) {
    const other = decoded[index]!;
    if (
      (instruction.type === 'apply_actions' || instruction.type === 'write_actions') &&
      other.type === instruction.type &&
      other.actions.length === instruction.actions.length
    ) {
      const texts = instruction.actions.flatMap((action, at) => {
        const spelling = spellings.get(action);
        spelled ||= spelling !== undefined;
        return spelling === undefined ? [formatAction(other.actions[at]!)] : spelling === '' ? [] : [spelling];
      });
      const text = texts.join(',');
      parts.push(instruction.type === 'write_actions' ? `write_actions(${text})` : text);
    } else {
      parts.push(format([other]));
    }
  }
  return spelled ? parts.filter((part) => part !== '').join(',') || 'drop' : undefined;
}
