/**
 * The part of an `ovs-ofctl` flow string after `actions=`: actions (`output:3`,
 * `mod_dl_dst:MAC`, `set_field:V->F`, ...) and instructions (`write_actions(...)`,
 * `goto_table:N`, ...), put into OpenFlow 1.3 instructions in canonical order.
 */
import { matchesIp, missingSetFieldPrerequisite } from './action-prerequisites.js';
import { encodeActions, OFPP, type Action, type Instruction } from './actions.js';
import {
  checkOutputPort,
  parseMaskedUint64,
  parsePlainUint,
  parsePort,
  parseUint,
  requireValue,
  splitTopLevel,
  syntaxError,
  toToken,
  type FlowSyntaxOptions,
  type Token,
} from './flow-tokens.js';
import { parseCheckPktLarger, parseNiciraAction, type ActionContext } from './flow-actions-nicira.js';
import { impliedEthType, OFPVID_PRESENT, type Match } from './match.js';
import { matchAfterEncap } from './nicira-encap-actions.js';
import { rememberSpelling } from './of10-spelling.js';
import { parseSetField, setFieldValue } from './flow-set-field.js';
import { fieldMax } from './oxm-fields.js';

const actionNames = [
  'output:PORT',
  'PORT',
  'drop',
  'normal',
  'flood',
  'all',
  'local',
  'in_port',
  'table',
  'controller[:MAX_LEN]',
  'group:ID',
  'mod_dl_dst:MAC',
  'mod_dl_src:MAC',
  'mod_nw_src:IP',
  'mod_nw_dst:IP',
  'mod_nw_tos:TOS',
  'mod_tp_src:PORT',
  'mod_tp_dst:PORT',
  'mod_vlan_vid:VID',
  'mod_vlan_pcp:PCP',
  'strip_vlan',
  'pop_vlan',
  'push_vlan:ETHERTYPE',
  'set_field:VALUE->FIELD',
  'dec_ttl',
  'write_actions(...)',
  'clear_actions',
  'write_metadata:VALUE[/MASK]',
  'goto_table:TABLE',
  'meter:ID',
  'resubmit(PORT,TABLE[,ct])',
  'ct(...)',
  'ct_clear',
  'load:VALUE->FIELD[a..b]',
  'move:FIELD[a..b]->FIELD[c..d]',
  'note:HEX',
  'output:FIELD[a..b]',
  'exit',
  'conjunction(ID,K/N)',
  'controller(reason=,max_len=,id=)',
  'enqueue:PORT:QUEUE',
  'set_queue:QUEUE',
  'pop_queue',
  'mod_nw_ttl:TTL',
  'learn(...), multipath(...), bundle(...), bundle_load(...), clone(...), sample(...)',
  'push:FIELD, pop:FIELD, push_mpls:ETHERTYPE, pop_mpls:ETHERTYPE, set_mpls_label/tc/ttl:N, dec_mpls_ttl',
  'encap(ethernet|nsh(...)|mpls|mpls_mc), decap([packet_type(ns=N,type=T)])',
  'NAME(ARGS) for NAME:ARGS',
];

/** Actions whose arguments are in parentheses; any other `NAME(ARGS)` means `NAME:ARGS`, as in ovs-ofctl. */
const callActions = new Set([
  'resubmit',
  'ct',
  'conjunction',
  'controller',
  'dec_ttl',
  'write_actions',
  'learn',
  'multipath',
  'bundle',
  'bundle_load',
  'clone',
  'sample',
  'enqueue',
  'encap',
  'decap',
]);

/** `output(2)` as `output:2`, `goto_table(1)` as `goto_table:1`; calls of {@link callActions} and `output(port=,max_len=)` kept. */
function normalizeCall(piece: string): string {
  const call = /^(\w+)\((.*)\)$/s.exec(piece);
  if (
    !call ||
    callActions.has(call[1]!.toLowerCase()) ||
    (call[1]!.toLowerCase() === 'output' && /port|max_len/.test(call[2]!))
  ) {
    return piece;
  }
  return `${call[1]}:${call[2]}`;
}

/** The state the actions of a flow carry from one to the next: the match, and how many VLAN tags the packet has. */
interface ParseState extends ActionContext {
  vlanDepth: number;
}

/** The instructions a flow's actions text asks for, before they are put in order. */
interface InstructionParts {
  meterId?: number;
  applyActions: Action[];
  clearActions: boolean;
  writeActions?: Action[];
  writeMetadata?: { metadata: bigint; mask: bigint };
  gotoTable?: number;
}

/** The instructions in the order OpenFlow 1.1+ requires them, by the name `ovs-ofctl` gives them. */
const instructionOrder = [
  'meter',
  'apply_actions',
  'clear_actions',
  'write_actions',
  'write_metadata',
  'goto_table',
] as const;

/** An instruction's kind, as {@link instructionOrder} names it. */
type InstructionKind = (typeof instructionOrder)[number];

/**
 * Reads an instruction (`write_actions(...)`, `goto_table:N`, ...) into `parts` and
 * returns its kind; undefined when `piece` is an action.
 */
function readInstruction(
  flow: string,
  piece: string,
  parts: InstructionParts,
  state: ParseState,
): InstructionKind | undefined {
  const nested = /^(\w+)\((.*)\)$/s.exec(piece);
  if (nested && nested[1] === 'write_actions') {
    parts.writeActions = splitTopLevel(nested[2]!).flatMap((inner) => parseAction(normalizeCall(inner), state));
    return 'write_actions';
  }
  const token = toToken(piece);
  switch (token.key) {
    case 'clear_actions':
      parts.clearActions = true;
      return 'clear_actions';
    case 'goto_table':
      parts.gotoTable = parsePlainUint(flow, token, 254);
      return 'goto_table';
    case 'meter':
      parts.meterId = parsePlainUint(flow, token, 0xffffffff);
      return 'meter';
    case 'write_metadata': {
      const { value, mask } = parseMaskedUint64(flow, token, 'write_metadata:VALUE[/MASK] with 64-bit integers');
      parts.writeMetadata = { metadata: value, mask: mask ?? 0xffffffffffffffffn };
      return 'write_metadata';
    }
  }
  return undefined;
}

/**
 * Refuses an instruction out of OpenFlow 1.1+ order, or given twice, after `previous`,
 * as `ovs-ofctl` does (actions may follow actions).
 */
function checkInstructionOrder(flow: string, previous: InstructionKind | undefined, next: InstructionKind): void {
  if (previous === undefined) {
    return;
  }
  const before = instructionOrder.indexOf(previous);
  const after = instructionOrder.indexOf(next);
  if (previous === 'apply_actions' ? after < before : after <= before) {
    syntaxError(
      flow,
      after === before
        ? `duplicate ${next} instruction not allowed, for OpenFlow 1.1+ compatibility`
        : `invalid instruction ordering: ${next} must appear before ${previous}, for OpenFlow 1.1+ compatibility`,
    );
  }
}

/** The instructions of `parts` in OpenFlow 1.3's canonical order. */
function orderInstructions(parts: InstructionParts): Instruction[] {
  const instructions: Instruction[] = [];
  if (parts.meterId !== undefined) {
    instructions.push({ type: 'meter', meterId: parts.meterId });
  }
  if (parts.applyActions.length > 0) {
    instructions.push({ type: 'apply_actions', actions: parts.applyActions });
  }
  if (parts.clearActions) {
    instructions.push({ type: 'clear_actions' });
  }
  if (parts.writeActions) {
    instructions.push({ type: 'write_actions', actions: parts.writeActions });
  }
  if (parts.writeMetadata) {
    instructions.push({ type: 'write_metadata', ...parts.writeMetadata });
  }
  if (parts.gotoTable !== undefined) {
    instructions.push({ type: 'goto_table', tableId: parts.gotoTable });
  }
  return instructions;
}

/**
 * The text with the parentheses left open at its end closed: `ovs-ofctl` reads a value
 * in parentheses up to its `)` or the end of the text, so `ct(commit,exec(move:A->B` is
 * `ct(commit,exec(move:A->B))` to it.
 */
function closeParentheses(text: string): string {
  let depth = 0;
  for (const char of text) {
    depth += char === '(' ? 1 : char === ')' ? -1 : 0;
  }
  return depth > 0 ? text + ')'.repeat(depth) : text;
}

/** Parses the text after `actions=` into instructions in OpenFlow 1.3 canonical order. */
export function parseActions(
  flow: string,
  actionsText: string,
  match: Match,
  options: FlowSyntaxOptions,
): Instruction[] {
  const pieces = splitTopLevel(closeParentheses(actionsText));
  if (pieces.length === 1 && pieces[0]!.toLowerCase() === 'drop') {
    return [];
  }
  const parts: InstructionParts = { applyActions: [], clearActions: false };
  const vlanVid = match.vlanVid;
  // A packet type `(1,TYPE)` gives the actions its EtherType, as a match on it would.
  const implied = match.ethType === undefined ? impliedEthType(match) : undefined;
  const state: ParseState = {
    flow,
    match: implied === undefined ? match : { ...match, ethType: implied },
    options,
    parseNested: (text) => splitTopLevel(text).flatMap((inner) => parseAction(normalizeCall(inner), state)),
    vlanDepth: ((typeof vlanVid === 'object' ? vlanVid.value : (vlanVid ?? 0)) & OFPVID_PRESENT) !== 0 ? 1 : 0,
  };
  let previous: InstructionKind | undefined;
  let otherAction: string | undefined;
  for (const rawPiece of pieces) {
    const piece = normalizeCall(rawPiece);
    let kind = readInstruction(flow, piece, parts, state);
    if (kind === undefined) {
      const actions = parseAction(piece, state);
      parts.applyActions.push(...actions);
      kind = 'apply_actions';
      if (actions.some((action) => action.type !== 'conjunction' && action.type !== 'note')) {
        otherAction ??= /^\w+/.exec(piece)?.[0];
      }
    } else {
      otherAction ??= kind;
    }
    checkInstructionOrder(flow, previous, kind);
    previous = kind;
  }
  if (otherAction !== undefined && parts.applyActions.some((action) => action.type === 'conjunction')) {
    syntaxError(
      flow,
      `"conjunction" actions may be used along with "note" but not any other kind of action (such as the "${otherAction}" action used here)`,
    );
  }
  return orderInstructions(parts);
}

/** `controller`, `controller:MAX_LEN` or `controller(max_len=MAX_LEN)`; undefined when `piece` is another action. */
function parseController(flow: string, piece: string, token: Token): Action | undefined {
  const controller = /^controller(?:\((?:max_len=)?(\w+)\))?$/i.exec(piece);
  if (!controller && token.key.toLowerCase() !== 'controller') {
    return undefined;
  }
  const maxText = controller?.[1] ?? token.value;
  const maxLength = maxText === undefined ? undefined : parseUint(maxText, 0xffff);
  if (maxText !== undefined && maxLength === undefined) {
    syntaxError(flow, `controller max_len must be an integer from 0 to 65535, got ${maxText}`);
  }
  return maxLength === undefined
    ? { type: 'output', port: OFPP.CONTROLLER }
    : { type: 'output', port: OFPP.CONTROLLER, maxLength };
}

/** The `mod_*` actions of OpenFlow 1.0, as the set-field actions they became; undefined for another action. */
function parseModAction(flow: string, piece: string, token: Token, match: Match): Action | undefined {
  switch (token.key.toLowerCase()) {
    case 'mod_dl_dst':
      return {
        type: 'set_field',
        field: 'ethDst',
        value: setFieldValue(flow, piece, 'ethDst', requireValue(flow, token)),
      };
    case 'mod_dl_src':
      return {
        type: 'set_field',
        field: 'ethSrc',
        value: setFieldValue(flow, piece, 'ethSrc', requireValue(flow, token)),
      };
    case 'mod_nw_src':
      return {
        type: 'set_field',
        field: 'ipv4Src',
        value: setFieldValue(flow, piece, 'ipv4Src', requireValue(flow, token)),
      };
    case 'mod_nw_dst':
      return {
        type: 'set_field',
        field: 'ipv4Dst',
        value: setFieldValue(flow, piece, 'ipv4Dst', requireValue(flow, token)),
      };
    case 'mod_nw_tos': {
      const tos = parsePlainUint(flow, token, 255);
      if (tos % 4 !== 0) {
        syntaxError(flow, `${piece}: the ECN bits must be 0; expected a multiple of 4`);
      }
      return { type: 'set_field', field: 'ipDscp', value: tos >> 2 };
    }
    case 'mod_tp_src':
    case 'mod_tp_dst': {
      const port = parsePlainUint(flow, token, 0xffff);
      const which = token.key.toLowerCase() === 'mod_tp_src' ? 'Src' : 'Dst';
      const protocol = match.ipProto === 6 ? 'tcp' : match.ipProto === 17 ? 'udp' : match.ipProto === 132 ? 'sctp' : '';
      if (protocol === '') {
        syntaxError(flow, `${piece} needs the match to name the transport protocol: add tcp, udp or sctp`);
      }
      return { type: 'set_field', field: `${protocol}${which}`, value: port };
    }
    case 'mod_vlan_vid':
      return { type: 'set_field', field: 'vlanVid', value: OFPVID_PRESENT | parsePlainUint(flow, token, 0xfff) };
    case 'mod_vlan_pcp':
      return { type: 'set_field', field: 'vlanPcp', value: parsePlainUint(flow, token, fieldMax('vlanPcp')) };
  }
  return undefined;
}

/** The actions whose fields are written with 32-bit NXM headers only. */
const namesFieldsIn32Bits = new Set<Action['type']>(['learn', 'multipath', 'bundle', 'ct']);

/**
 * Parses one action into the actions it stands for (`mod_vlan_vid` on an untagged packet adds
 * a `push_vlan`), refusing those whose field the match's protocols do not provide, as OVS does.
 */
function parseAction(piece: string, state: ParseState): Action[] {
  const actions = parseOneAction(piece, state);
  rememberSpelling(piece, actions);
  for (const action of actions) {
    if (action.type === 'push_mpls' || action.type === 'pop_mpls') {
      // As OVS's check: the actions after it see the packet's new ethertype.
      state.match = { ...state.match, ethType: action.ethertype };
    }
    if (action.type === 'encap' || action.type === 'decap') {
      state.match = matchAfterEncap(action, state.match);
    }
    if (namesFieldsIn32Bits.has(action.type)) {
      // These actions hold a 32-bit field header: an NSH field (64-bit experimenter header) cannot be named.
      try {
        encodeActions([action]);
      } catch (error) {
        syntaxError(state.flow, `${piece}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (state.vlanDepth === 0 && action.type === 'load' && action.dst.field === 'OXM_OF_VLAN_VID') {
      // OVS checks a load as a set_field: the VLAN id of a packet without a VLAN header cannot be written.
      syntaxError(state.flow, `${piece} lacks correct prerequisites: the packet has no VLAN header`);
    }
    const missing =
      action.type === 'set_field'
        ? missingSetFieldPrerequisite(action.field, state.match)
        : (action.type === 'dec_nw_ttl' ||
              action.type === 'dec_ttl' ||
              (action.type === 'set_register' && action.register === 'nw_ecn')) &&
            !matchesIp(state.match)
          ? 'ip'
          : undefined;
    if (missing) {
      syntaxError(state.flow, `${piece} lacks correct prerequisites: add ${missing} to the match`);
    }
  }
  return actions;
}

function parseOneAction(piece: string, state: ParseState): Action[] {
  const { flow, match, options } = state;
  const call = /^(\w+)\((.*)\)$/s.exec(piece);
  const colon = call ? undefined : /^(\w+):(.*)$/s.exec(piece);
  const callName = (call?.[1] ?? colon?.[1] ?? piece).toLowerCase();
  if (callName === 'enqueue') {
    // ovs-ofctl's own expansion (its output keeps max_len 0xffff): the queue for this output only.
    const [portText, queueText, extra] = (call?.[2] ?? colon?.[2] ?? '').split(/[:,]/);
    const queueId = parseUint(queueText ?? '', 0xffffffff);
    if (queueId === undefined || extra !== undefined) {
      return syntaxError(flow, `${piece}: expected enqueue:PORT:QUEUE or enqueue(PORT,QUEUE)`);
    }
    return [
      { type: 'set_queue', queueId },
      {
        type: 'output',
        port: checkOutputPort(flow, piece, parsePort(flow, piece, portText ?? '', options)),
        maxLength: 0xffff,
      },
      { type: 'pop_queue' },
    ];
  }
  const nicira = parseCheckPktLarger(state, piece) ?? parseNiciraAction(state, piece, callName, call?.[2], colon?.[2]);
  if (nicira) {
    return Array.isArray(nicira) ? nicira : [nicira];
  }
  const token = toToken(piece);
  const name = token.key.toLowerCase();
  if (name === 'mod_vlan_vid' || name === 'mod_vlan_pcp') {
    // As ovs-ofctl does, a packet without a VLAN tag gets one before its VID or PCP is set.
    const push: Action[] = state.vlanDepth === 0 ? [{ type: 'push_vlan', ethertype: 0x8100 }] : [];
    state.vlanDepth = Math.max(state.vlanDepth, 1);
    return [...push, parseModAction(flow, piece, token, match)!];
  }
  if (name === 'set_vlan_vid' || name === 'set_vlan_pcp') {
    // The OpenFlow 1.1 names: unlike mod_vlan_*, OVS adds no tag and refuses a packet without one.
    if (state.vlanDepth === 0) {
      syntaxError(
        flow,
        `${piece} needs a VLAN tag: match one (dl_vlan=..., vlan_tci=0x1000/0x1000) or push_vlan first`,
      );
    }
    return [parseModAction(flow, piece, { ...token, key: name.replace('set_', 'mod_') }, match)!];
  }
  const special = parseController(flow, piece, token) ?? parseModAction(flow, piece, token, match);
  if (special) {
    return [special];
  }
  switch (name) {
    case 'output':
      return [
        {
          type: 'output',
          port: checkOutputPort(flow, piece, parsePort(flow, piece, requireValue(flow, token), options)),
        },
      ];
    case 'normal':
    case 'flood':
    case 'all':
    case 'local':
    case 'in_port':
    case 'table':
      if (token.value === undefined) {
        return [{ type: 'output', port: OFPP[name.toUpperCase() as 'NORMAL'] }];
      }
      break;
    case 'drop':
      return syntaxError(flow, '"drop" must be the only action');
    case 'group':
      return [{ type: 'group', groupId: parsePlainUint(flow, token, 0xffffffff) }];
    case 'strip_vlan':
    case 'pop_vlan':
      if (state.vlanDepth === 0) {
        syntaxError(
          flow,
          `${piece} needs a VLAN tag: match one (dl_vlan=..., vlan_tci=0x1000/0x1000) or push_vlan first`,
        );
      }
      state.vlanDepth--;
      return [{ type: 'pop_vlan' }];
    case 'push_vlan': {
      const ethertype = parsePlainUint(flow, token, 0xffff);
      if (ethertype !== 0x8100 && ethertype !== 0x88a8) {
        syntaxError(flow, `${piece}: expected TPID 0x8100 or 0x88a8`);
      }
      state.vlanDepth++;
      return [{ type: 'push_vlan', ethertype }];
    }
    case 'dec_ttl':
      return [{ type: 'dec_nw_ttl' }];
    case 'set_field':
      return parseSetField(flow, piece, token);
  }
  if (token.value === undefined && (/^\d+$/.test(token.key) || options.portMap?.has(token.key))) {
    return [{ type: 'output', port: checkOutputPort(flow, piece, parsePort(flow, piece, token.key, options)) }];
  }
  return syntaxError(flow, `unknown action "${piece}"; expected ${actionNames.join(', ')}`);
}
