/**
 * The part of an `ovs-ofctl` flow string after `actions=`: actions (`output:3`,
 * `mod_dl_dst:MAC`, `set_field:V->F`, ...) and instructions (`write_actions(...)`,
 * `goto_table:N`, ...), put into OpenFlow 1.3 instructions in canonical order.
 */
import { tryParseIpv4, tryParseIpv6, tryParseMac } from '../../address.js';
import { OFPP, type Action, type Instruction, type SetFieldName } from './actions.js';
import {
  parseMaskedUint64,
  parsePlainUint,
  parsePort,
  parseUint,
  parseUint64,
  requireValue,
  splitTopLevel,
  syntaxError,
  toToken,
  type FlowSyntaxOptions,
  type Token,
} from './flow-tokens.js';
import { OFPVID_PRESENT, type Match } from './match.js';
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
];

/** Names accepted after `set_field:VALUE->`, with the field each writes. */
const setFieldNames: Readonly<Record<string, SetFieldName>> = {
  eth_dst: 'ethDst',
  dl_dst: 'ethDst',
  eth_src: 'ethSrc',
  dl_src: 'ethSrc',
  vlan_vid: 'vlanVid',
  vlan_pcp: 'vlanPcp',
  dl_vlan_pcp: 'vlanPcp',
  ip_src: 'ipv4Src',
  nw_src: 'ipv4Src',
  ipv4_src: 'ipv4Src',
  ip_dst: 'ipv4Dst',
  nw_dst: 'ipv4Dst',
  ipv4_dst: 'ipv4Dst',
  ip_dscp: 'ipDscp',
  tcp_src: 'tcpSrc',
  tcp_dst: 'tcpDst',
  udp_src: 'udpSrc',
  udp_dst: 'udpDst',
  icmp_type: 'icmpv4Type',
  icmp_code: 'icmpv4Code',
  ipv6_src: 'ipv6Src',
  ipv6_dst: 'ipv6Dst',
  icmpv6_type: 'icmpv6Type',
  icmpv6_code: 'icmpv6Code',
  arp_op: 'arpOp',
  arp_spa: 'arpSpa',
  arp_tpa: 'arpTpa',
  metadata: 'metadata',
};

/** The value `action` writes into `field`, typed as in {@link Match}; integers up to the field's largest value. */
function setFieldValue(flow: string, action: string, field: SetFieldName, text: string): string | number | bigint {
  const fail = (expected: string): never => syntaxError(flow, `${action}: value "${text}" is not ${expected}`);
  switch (field) {
    case 'ethDst':
    case 'ethSrc':
      return tryParseMac(text) ? text.toLowerCase() : fail('a MAC address aa:bb:cc:dd:ee:ff');
    case 'ipv4Src':
    case 'ipv4Dst':
    case 'arpSpa':
    case 'arpTpa':
      return tryParseIpv4(text) !== undefined ? text : fail('an IPv4 address');
    case 'ipv6Src':
    case 'ipv6Dst':
      return tryParseIpv6(text) ? text : fail('an IPv6 address');
    case 'metadata':
      return parseUint64(text) ?? fail('a 64-bit integer');
    default: {
      const max = fieldMax(field);
      return parseUint(text, max) ?? fail(`an integer from 0 to ${max}`);
    }
  }
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
  match: Match,
  options: FlowSyntaxOptions,
): InstructionKind | undefined {
  const nested = /^(\w+)\((.*)\)$/s.exec(piece);
  if (nested && nested[1] === 'write_actions') {
    parts.writeActions = splitTopLevel(nested[2]!).map((inner) => parseAction(flow, inner, match, options));
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

/** Parses the text after `actions=` into instructions in OpenFlow 1.3 canonical order. */
export function parseActions(
  flow: string,
  actionsText: string,
  match: Match,
  options: FlowSyntaxOptions,
): Instruction[] {
  const pieces = splitTopLevel(actionsText);
  if (pieces.length === 1 && pieces[0]!.toLowerCase() === 'drop') {
    return [];
  }
  const parts: InstructionParts = { applyActions: [], clearActions: false };
  let previous: InstructionKind | undefined;
  for (const piece of pieces) {
    let kind = readInstruction(flow, piece, parts, match, options);
    if (kind === undefined) {
      parts.applyActions.push(parseAction(flow, piece, match, options));
      kind = 'apply_actions';
    }
    checkInstructionOrder(flow, previous, kind);
    previous = kind;
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
      if (match.ipProto !== 6 && match.ipProto !== 17) {
        syntaxError(flow, `${piece} needs the match to name the transport protocol: add tcp or udp`);
      }
      return { type: 'set_field', field: `${match.ipProto === 6 ? 'tcp' : 'udp'}${which}`, value: port };
    }
    case 'mod_vlan_vid':
      return { type: 'set_field', field: 'vlanVid', value: OFPVID_PRESENT | parsePlainUint(flow, token, 0xfff) };
    case 'mod_vlan_pcp':
      return { type: 'set_field', field: 'vlanPcp', value: parsePlainUint(flow, token, fieldMax('vlanPcp')) };
  }
  return undefined;
}

/** `set_field:VALUE->FIELD`. */
function parseSetField(flow: string, piece: string, token: Token): Action {
  const arrow = /^(.+)->(\w+)$/.exec(requireValue(flow, token));
  const field = arrow && Object.hasOwn(setFieldNames, arrow[2]!) ? setFieldNames[arrow[2]!] : undefined;
  if (!arrow || !field) {
    return syntaxError(
      flow,
      `${piece}: expected set_field:VALUE->FIELD with FIELD one of ${Object.keys(setFieldNames).join(', ')}`,
    );
  }
  return { type: 'set_field', field, value: setFieldValue(flow, piece, field, arrow[1]!) };
}

/** Parses one action. */
function parseAction(flow: string, piece: string, match: Match, options: FlowSyntaxOptions): Action {
  const token = toToken(piece);
  const special = parseController(flow, piece, token) ?? parseModAction(flow, piece, token, match);
  if (special) {
    return special;
  }
  const name = token.key.toLowerCase();
  switch (name) {
    case 'output':
      return { type: 'output', port: parsePort(flow, piece, requireValue(flow, token), options) };
    case 'normal':
    case 'flood':
    case 'all':
    case 'local':
    case 'in_port':
      if (token.value === undefined) {
        return { type: 'output', port: OFPP[name.toUpperCase() as 'NORMAL'] };
      }
      break;
    case 'drop':
      return syntaxError(flow, '"drop" must be the only action');
    case 'group':
      return { type: 'group', groupId: parsePlainUint(flow, token, 0xffffffff) };
    case 'strip_vlan':
    case 'pop_vlan':
      return { type: 'pop_vlan' };
    case 'push_vlan': {
      const ethertype = parsePlainUint(flow, token, 0xffff);
      if (ethertype !== 0x8100 && ethertype !== 0x88a8) {
        syntaxError(flow, `${piece}: expected TPID 0x8100 or 0x88a8`);
      }
      return { type: 'push_vlan', ethertype };
    }
    case 'dec_ttl':
      return { type: 'dec_nw_ttl' };
    case 'set_field':
      return parseSetField(flow, piece, token);
  }
  if (
    token.value === undefined &&
    (parseUint(token.key, 0xffffffff) !== undefined || options.portMap?.has(token.key))
  ) {
    return { type: 'output', port: parsePort(flow, piece, token.key, options) };
  }
  return syntaxError(flow, `unknown action "${piece}"; expected ${actionNames.join(', ')}`);
}
