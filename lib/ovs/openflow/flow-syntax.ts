import { invalidArgument } from '../../errors.js';
import { OFPP, RESERVED_PORT_NAMES, type Action, type Instruction, type SetFieldName } from './actions.js';
import { FLOW_MOD_FLAG_BITS, OFPTT_ALL, type FlowMod, type FlowModCommand, type FlowModFlag, type FlowStatsRequest } from './codec.js';
import { OFPVID_PRESENT, OVS_FIELD_NAMES, parseIpv4, parseIpv6, parseMac, type Masked, type Match, type MatchFieldName } from './match.js';

/** Options of {@link parseFlowMod} and {@link parseFlowFilter}. */
export interface FlowSyntaxOptions {
  /** Port numbers by name (from port desc), to accept `in_port=p1` and `output:p1`. */
  portMap?: ReadonlyMap<string, number>;
}

const OPERATION = 'parseFlow';

function syntaxError(text: string, message: string): never {
  return invalidArgument(OPERATION, `${message} (in flow "${text}")`);
}

/** Shorthands for `dl_type` (and `nw_proto`) accepted in the match, as in `ovs-fields(7)`. */
const PROTOCOL_SHORTHANDS: Readonly<Record<string, { ethType: number; ipProto?: number }>> = {
  ip: { ethType: 0x0800 },
  icmp: { ethType: 0x0800, ipProto: 1 },
  tcp: { ethType: 0x0800, ipProto: 6 },
  udp: { ethType: 0x0800, ipProto: 17 },
  sctp: { ethType: 0x0800, ipProto: 132 },
  ipv6: { ethType: 0x86dd },
  icmp6: { ethType: 0x86dd, ipProto: 58 },
  tcp6: { ethType: 0x86dd, ipProto: 6 },
  udp6: { ethType: 0x86dd, ipProto: 17 },
  sctp6: { ethType: 0x86dd, ipProto: 132 },
  arp: { ethType: 0x0806 },
  rarp: { ethType: 0x8035 },
};

/** Keys `ovs-ofctl` prints in dumps and ignores on input, so that a dump line can be fed back. */
const IGNORED_STATS_KEYS = new Set(['duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age']);

const MATCH_KEYS = [
  'in_port', 'dl_type', 'eth_type', 'dl_src', 'eth_src', 'dl_dst', 'eth_dst', 'dl_vlan', 'vlan_vid', 'dl_vlan_pcp',
  'vlan_pcp', 'vlan_tci', 'nw_src', 'ip_src', 'nw_dst', 'ip_dst', 'nw_proto', 'ip_proto', 'nw_tos', 'ip_dscp',
  'ipv6_src', 'ipv6_dst', 'tp_src', 'tp_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'icmp_type', 'icmp_code',
  'icmpv6_type', 'icmpv6_code', 'arp_op', 'arp_spa', 'arp_tpa', 'metadata',
];
const FLOW_KEYS = ['priority', 'cookie', 'table', 'idle_timeout', 'hard_timeout', 'out_port', 'out_group'];

const ACTION_NAMES = [
  'output:PORT', 'PORT', 'drop', 'normal', 'flood', 'all', 'local', 'in_port', 'controller[:MAX_LEN]', 'group:ID',
  'mod_dl_dst:MAC', 'mod_dl_src:MAC', 'mod_nw_src:IP', 'mod_nw_dst:IP', 'mod_nw_tos:TOS', 'mod_tp_src:PORT',
  'mod_tp_dst:PORT', 'mod_vlan_vid:VID', 'mod_vlan_pcp:PCP', 'strip_vlan', 'pop_vlan', 'push_vlan:ETHERTYPE',
  'set_field:VALUE->FIELD', 'dec_ttl', 'write_actions(...)', 'clear_actions', 'write_metadata:VALUE[/MASK]',
  'goto_table:TABLE', 'meter:ID',
];

/** Parses an unsigned integer in decimal or 0x hex; undefined when malformed or above `max`. */
function parseUint(text: string, max: number): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) {
    return undefined;
  }
  const value = Number(text);
  return Number.isSafeInteger(value) && value <= max ? value : undefined;
}

function parseUint64(text: string): bigint | undefined {
  if (text === '-1') {
    return 0xffffffffffffffffn;
  }
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) {
    return undefined;
  }
  const value = BigInt(text);
  return value <= 0xffffffffffffffffn ? value : undefined;
}

/** A `key=value` (or bare `key`) token of a flow string. */
interface Token {
  key: string;
  value: string | undefined;
  /** The token as written, for error messages. */
  text: string;
}

/** Splits at commas and white space outside parentheses, as `ovs-ofctl` does. */
function splitTopLevel(text: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') {
      depth++;
    } else if (char === ')') {
      depth--;
    }
    if (depth === 0 && (char === ',' || /\s/.test(char))) {
      if (current !== '') {
        pieces.push(current);
      }
      current = '';
    } else {
      current += char;
    }
  }
  if (current !== '') {
    pieces.push(current);
  }
  return pieces;
}

function toToken(piece: string): Token {
  const equals = piece.indexOf('=');
  const separator = equals !== -1 ? equals : piece.indexOf(':');
  if (separator === -1) {
    return { key: piece, value: undefined, text: piece };
  }
  return { key: piece.slice(0, separator), value: piece.slice(separator + 1), text: piece };
}

/** Resolves a port: number, reserved name (any case) or bridge port name. */
function parsePort(flow: string, token: string, text: string, options: FlowSyntaxOptions): number {
  const number = parseUint(text, 0xffffffff);
  if (number !== undefined) {
    return number;
  }
  const reserved = Object.hasOwn(OFPP, text.toUpperCase()) && text.toUpperCase() !== 'MAX' ? OFPP[text.toUpperCase() as keyof typeof OFPP] : undefined;
  if (reserved !== undefined) {
    return reserved;
  }
  const named = options.portMap?.get(text);
  if (named !== undefined) {
    return named;
  }
  const known = options.portMap ? [...options.portMap.keys()].join(', ') : '(no port names known: none were looked up)';
  const reservedNames = [...RESERVED_PORT_NAMES.values()].join(', ');
  return syntaxError(flow, `unknown port "${text}" in ${token}; expected a port number, a reserved port (${reservedNames}) or a port of the bridge: ${known}`);
}

function parseMaskedUint(flow: string, token: Token, max: number): Masked<number> {
  const [valueText, maskText, extra] = requireValue(flow, token).split('/');
  const value = parseUint(valueText!, max);
  const mask = maskText === undefined ? undefined : parseUint(maskText, max);
  if (value === undefined || extra !== undefined || (maskText !== undefined && mask === undefined)) {
    return syntaxError(flow, `${token.text}: expected an integer 0..${max} (decimal or 0x hex), optionally /MASK`);
  }
  return mask === undefined ? value : { value, mask };
}

function parsePlainUint(flow: string, token: Token, max: number): number {
  const value = parseUint(requireValue(flow, token), max);
  if (value === undefined) {
    return syntaxError(flow, `${token.text}: expected an integer 0..${max} (decimal or 0x hex)`);
  }
  return value;
}

function requireValue(flow: string, token: Token): string {
  if (token.value === undefined || token.value === '') {
    return syntaxError(flow, `${token.key} needs a value (${token.key}=...)`);
  }
  return token.value;
}

function parseMaskedMac(flow: string, token: Token): Masked<string> {
  const [valueText, maskText, extra] = requireValue(flow, token).split('/');
  const ok = parseMac(valueText!) !== undefined && (maskText === undefined || parseMac(maskText) !== undefined) && extra === undefined;
  if (!ok) {
    return syntaxError(flow, `${token.text}: expected a MAC address aa:bb:cc:dd:ee:ff, optionally /MASK`);
  }
  const value = valueText!.toLowerCase();
  return maskText === undefined ? value : { value, mask: maskText.toLowerCase() };
}

function parseMaskedIpv4(flow: string, token: Token): Masked<string> {
  const [valueText, maskText, extra] = requireValue(flow, token).split('/');
  const expected = `${token.text}: expected an IPv4 address, optionally /PREFIX (0..32) or /MASK`;
  if (parseIpv4(valueText!) === undefined || extra !== undefined) {
    return syntaxError(flow, expected);
  }
  if (maskText === undefined) {
    return valueText!;
  }
  if (/^\d{1,2}$/.test(maskText) && Number(maskText) <= 32) {
    const bits = Number(maskText);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { value: valueText!, mask: [24, 16, 8, 0].map((shift) => (mask >>> shift) & 0xff).join('.') };
  }
  if (parseIpv4(maskText) === undefined) {
    return syntaxError(flow, expected);
  }
  return { value: valueText!, mask: maskText };
}

function parseMaskedIpv6(flow: string, token: Token): Masked<string> {
  const [valueText, maskText, extra] = requireValue(flow, token).split('/');
  const expected = `${token.text}: expected an IPv6 address, optionally /PREFIX (0..128) or /MASK`;
  if (parseIpv6(valueText!) === undefined || extra !== undefined) {
    return syntaxError(flow, expected);
  }
  if (maskText === undefined) {
    return valueText!;
  }
  if (/^\d{1,3}$/.test(maskText) && Number(maskText) <= 128) {
    const mask = Buffer.alloc(16);
    for (let bit = 0; bit < Number(maskText); bit++) {
      mask[bit >> 3] = mask[bit >> 3]! | (0x80 >> (bit & 7));
    }
    return { value: valueText!, mask: Array.from({ length: 8 }, (_, word) => mask.readUInt16BE(word * 2).toString(16)).join(':') };
  }
  if (parseIpv6(maskText) === undefined) {
    return syntaxError(flow, expected);
  }
  return { value: valueText!, mask: maskText };
}

/** The match and flow-level settings of a flow string, before it becomes a flow mod or a filter. */
interface ParsedFlow {
  match: Match;
  priority?: number;
  cookie?: bigint;
  cookieMask?: bigint;
  tableId?: number;
  idleTimeout?: number;
  hardTimeout?: number;
  outPort?: number;
  outGroup?: number;
  flags: FlowModFlag[];
  actionsText: string | undefined;
}

/** Transport-port tokens, resolved once the protocol is known (they may precede `tcp`/`udp`). */
interface PendingTransport {
  token: Token;
  which: 'src' | 'dst';
}

function parseFlowText(flow: string, options: FlowSyntaxOptions): ParsedFlow {
  if (typeof flow !== 'string') {
    invalidArgument(OPERATION, `flow must be a string, got ${typeof flow}`);
  }
  const actionsAt = /(^|[\s,])actions?\s*[=:]/.exec(flow);
  const matchText = actionsAt ? flow.slice(0, actionsAt.index) : flow;
  const actionsText = actionsAt ? flow.slice(actionsAt.index + actionsAt[0].length).trim() : undefined;
  const parsed: ParsedFlow = { match: {}, flags: [], actionsText };
  const match = parsed.match;
  const transport: PendingTransport[] = [];
  let nwSrc: Token | undefined;
  let nwDst: Token | undefined;
  let nwProto: number | undefined;
  const seen = new Set<string>();
  const set = <K extends MatchFieldName>(token: Token, field: K, value: Match[K]): void => {
    if (seen.has(field) && match[field] !== value) {
      syntaxError(flow, `${token.text} conflicts with an earlier setting of ${OVS_FIELD_NAMES[field]}`);
    }
    seen.add(field);
    match[field] = value;
  };
  for (const token of splitTopLevel(matchText).map(toToken)) {
    const key = token.key;
    const shorthand = Object.hasOwn(PROTOCOL_SHORTHANDS, key) ? PROTOCOL_SHORTHANDS[key] : undefined;
    if (shorthand && token.value === undefined) {
      set(token, 'ethType', shorthand.ethType);
      if (shorthand.ipProto !== undefined) {
        nwProto = shorthand.ipProto;
      }
      continue;
    }
    if (Object.hasOwn(FLOW_MOD_FLAG_BITS, key) && token.value === undefined) {
      parsed.flags.push(key as FlowModFlag);
      continue;
    }
    if (IGNORED_STATS_KEYS.has(key)) {
      continue;
    }
    switch (key) {
      case 'priority':
        parsed.priority = parsePlainUint(flow, token, 0xffff);
        break;
      case 'cookie': {
        const [valueText, maskText, extra] = requireValue(flow, token).split('/');
        const cookie = parseUint64(valueText!);
        const mask = maskText === undefined ? undefined : parseUint64(maskText);
        if (cookie === undefined || extra !== undefined || (maskText !== undefined && mask === undefined)) {
          syntaxError(flow, `${token.text}: expected a 64-bit integer (decimal or 0x hex), optionally /MASK (-1 for all bits)`);
        }
        parsed.cookie = cookie;
        parsed.cookieMask = mask;
        break;
      }
      case 'table':
        parsed.tableId = requireValue(flow, token).toLowerCase() === 'all' ? OFPTT_ALL : parsePlainUint(flow, token, 255);
        break;
      case 'idle_timeout':
        parsed.idleTimeout = parsePlainUint(flow, token, 0xffff);
        break;
      case 'hard_timeout':
        parsed.hardTimeout = parsePlainUint(flow, token, 0xffff);
        break;
      case 'out_port':
        parsed.outPort = parsePort(flow, token.text, requireValue(flow, token), options);
        break;
      case 'out_group':
        parsed.outGroup = parsePlainUint(flow, token, 0xffffffff);
        break;
      case 'in_port':
        set(token, 'inPort', parsePort(flow, token.text, requireValue(flow, token), options));
        break;
      case 'dl_type':
      case 'eth_type':
        set(token, 'ethType', parsePlainUint(flow, token, 0xffff));
        break;
      case 'dl_src':
      case 'eth_src':
        set(token, 'ethSrc', parseMaskedMac(flow, token));
        break;
      case 'dl_dst':
      case 'eth_dst':
        set(token, 'ethDst', parseMaskedMac(flow, token));
        break;
      case 'dl_vlan': {
        const vid = parsePlainUint(flow, token, 0xffff);
        if (vid > 0xfff && vid !== 0xffff) {
          syntaxError(flow, `${token.text}: expected a VLAN id 0..4095, or 0xffff for "no VLAN tag"`);
        }
        set(token, 'vlanVid', vid === 0xffff ? 0 : OFPVID_PRESENT | vid);
        break;
      }
      case 'vlan_vid':
        set(token, 'vlanVid', parseMaskedUint(flow, token, 0x1fff));
        break;
      case 'dl_vlan_pcp':
      case 'vlan_pcp':
        set(token, 'vlanPcp', parsePlainUint(flow, token, 7));
        break;
      case 'vlan_tci':
        applyVlanTci(flow, token, parseMaskedUint(flow, token, 0xffff), set);
        break;
      case 'nw_src':
      case 'ip_src':
        nwSrc = token;
        break;
      case 'nw_dst':
      case 'ip_dst':
        nwDst = token;
        break;
      case 'arp_spa':
        set(token, 'arpSpa', parseMaskedIpv4(flow, token));
        break;
      case 'ipv6_src':
        set(token, 'ipv6Src', parseMaskedIpv6(flow, token));
        break;
      case 'ipv6_dst':
        set(token, 'ipv6Dst', parseMaskedIpv6(flow, token));
        break;
      case 'arp_tpa':
        set(token, 'arpTpa', parseMaskedIpv4(flow, token));
        break;
      case 'nw_proto':
      case 'ip_proto':
        nwProto = parsePlainUint(flow, token, 255);
        break;
      case 'arp_op':
        set(token, 'arpOp', parsePlainUint(flow, token, 0xffff));
        break;
      case 'nw_tos': {
        const tos = parsePlainUint(flow, token, 255);
        if (tos % 4 !== 0) {
          syntaxError(flow, `${token.text}: the ECN bits must be 0; expected a multiple of 4 (DSCP << 2)`);
        }
        set(token, 'ipDscp', tos >> 2);
        break;
      }
      case 'ip_dscp':
        set(token, 'ipDscp', parsePlainUint(flow, token, 63));
        break;
      case 'tp_src':
      case 'tp_dst':
        transport.push({ token, which: key === 'tp_src' ? 'src' : 'dst' });
        break;
      case 'tcp_src':
        set(token, 'tcpSrc', parseMaskedUint(flow, token, 0xffff));
        break;
      case 'tcp_dst':
        set(token, 'tcpDst', parseMaskedUint(flow, token, 0xffff));
        break;
      case 'udp_src':
        set(token, 'udpSrc', parseMaskedUint(flow, token, 0xffff));
        break;
      case 'udp_dst':
        set(token, 'udpDst', parseMaskedUint(flow, token, 0xffff));
        break;
      case 'icmp_type':
      case 'icmp_code':
        transport.push({ token, which: key === 'icmp_type' ? 'src' : 'dst' });
        break;
      case 'icmpv6_type':
        set(token, 'icmpv6Type', parsePlainUint(flow, token, 255));
        break;
      case 'icmpv6_code':
        set(token, 'icmpv6Code', parsePlainUint(flow, token, 255));
        break;
      case 'metadata': {
        const [valueText, maskText, extra] = requireValue(flow, token).split('/');
        const value = parseUint64(valueText!);
        const mask = maskText === undefined ? undefined : parseUint64(maskText);
        if (value === undefined || extra !== undefined || (maskText !== undefined && mask === undefined)) {
          syntaxError(flow, `${token.text}: expected a 64-bit integer, optionally /MASK`);
        }
        set(token, 'metadata', mask === undefined ? value : { value, mask });
        break;
      }
      default:
        syntaxError(
          flow,
          `unknown field "${key}" in "${token.text}"; expected one of ${MATCH_KEYS.join(', ')}, ${FLOW_KEYS.join(', ')}, ` +
            `the shorthands ${Object.keys(PROTOCOL_SHORTHANDS).join(', ')}, the flags ${Object.keys(FLOW_MOD_FLAG_BITS).join(', ')}, then actions=...`,
        );
    }
  }
  applyLayer3(flow, match, { nwSrc, nwDst, nwProto, transport }, set);
  if (match.ipDscp !== undefined && match.ethType !== 0x0800 && match.ethType !== 0x86dd) {
    syntaxError(flow, 'nw_tos/ip_dscp needs an IP match: add ip or ipv6 (or dl_type=0x0800)');
  }
  return parsed;
}

type FieldSetter = <K extends MatchFieldName>(token: Token, field: K, value: Match[K]) => void;

/** Translates an 802.1Q TCI match (`vlan_tci=TCI[/MASK]`) into OXM `vlan_vid`/`vlan_pcp`. */
function applyVlanTci(flow: string, token: Token, tci: Masked<number>, set: FieldSetter): void {
  const value = typeof tci === 'number' ? tci : tci.value;
  const mask = typeof tci === 'number' ? 0xffff : tci.mask;
  if (mask === 0) {
    return;
  }
  if ((mask & OFPVID_PRESENT) === 0) {
    syntaxError(flow, `${token.text}: OpenFlow 1.3 cannot match VLAN bits without the CFI bit (0x1000) in the mask`);
  }
  if ((value & OFPVID_PRESENT) === 0) {
    if ((value & mask) !== 0) {
      syntaxError(flow, `${token.text}: a TCI without the CFI bit (no VLAN tag) cannot have other bits set`);
    }
    set(token, 'vlanVid', 0);
    return;
  }
  const vidMask = mask & 0x0fff;
  set(token, 'vlanVid', vidMask === 0x0fff ? OFPVID_PRESENT | (value & 0x0fff) : { value: OFPVID_PRESENT | (value & vidMask), mask: OFPVID_PRESENT | vidMask });
  const pcpMask = (mask >> 13) & 7;
  if (pcpMask === 7) {
    set(token, 'vlanPcp', (value >> 13) & 7);
  } else if (pcpMask !== 0) {
    syntaxError(flow, `${token.text}: OpenFlow 1.3 can match the VLAN PCP only as a whole (mask 0xe000 or 0)`);
  }
}

/** Places `nw_src`/`nw_dst`/`nw_proto`/`tp_*` on the fields their protocol implies, checking prerequisites. */
function applyLayer3(
  flow: string,
  match: Match,
  layer3: { nwSrc?: Token; nwDst?: Token; nwProto?: number; transport: PendingTransport[] },
  set: FieldSetter,
): void {
  const isArp = match.ethType === 0x0806 || match.ethType === 0x8035;
  const isIp = match.ethType === 0x0800 || match.ethType === 0x86dd;
  for (const [token, ipField, arpField] of [
    [layer3.nwSrc, 'ipv4Src', 'arpSpa'],
    [layer3.nwDst, 'ipv4Dst', 'arpTpa'],
  ] as const) {
    if (!token) {
      continue;
    }
    if (isArp) {
      set(token, arpField, parseMaskedIpv4(flow, token));
    } else if (match.ethType === 0x0800) {
      set(token, ipField, parseMaskedIpv4(flow, token));
    } else {
      syntaxError(flow, `${token.text} needs an IPv4 or ARP match: add ip or arp (or dl_type=0x0800)`);
    }
  }
  if (layer3.nwProto !== undefined) {
    if (isArp) {
      set({ key: 'nw_proto', value: String(layer3.nwProto), text: `nw_proto=${layer3.nwProto}` }, 'arpOp', layer3.nwProto);
    } else if (isIp) {
      match.ipProto = layer3.nwProto;
    } else {
      syntaxError(flow, `nw_proto=${layer3.nwProto} needs an IP match: add ip (or dl_type=0x0800)`);
    }
  }
  for (const { token, which } of layer3.transport) {
    const icmpOnly = token.key.startsWith('icmp');
    if (match.ipProto === 6 && !icmpOnly) {
      set(token, which === 'src' ? 'tcpSrc' : 'tcpDst', parseMaskedUint(flow, token, 0xffff));
    } else if (match.ipProto === 17 && !icmpOnly) {
      set(token, which === 'src' ? 'udpSrc' : 'udpDst', parseMaskedUint(flow, token, 0xffff));
    } else if (match.ipProto === 1 && match.ethType === 0x0800) {
      set(token, which === 'src' ? 'icmpv4Type' : 'icmpv4Code', parsePlainUint(flow, token, 255));
    } else if (match.ipProto === 58 && match.ethType === 0x86dd) {
      set(token, which === 'src' ? 'icmpv6Type' : 'icmpv6Code', parsePlainUint(flow, token, 255));
    } else if (icmpOnly) {
      syntaxError(flow, `${token.text} needs the icmp (or icmp6) protocol: add icmp to the match`);
    } else {
      syntaxError(flow, `${token.text} needs a transport protocol: add tcp or udp (or nw_proto=6/17 with ip)`);
    }
  }
  const needs: [MatchFieldName, string, boolean][] = [
    ['tcpSrc', 'tcp', match.ipProto === 6],
    ['tcpDst', 'tcp', match.ipProto === 6],
    ['udpSrc', 'udp', match.ipProto === 17],
    ['udpDst', 'udp', match.ipProto === 17],
    ['icmpv4Type', 'icmp', match.ipProto === 1 && match.ethType === 0x0800],
    ['icmpv4Code', 'icmp', match.ipProto === 1 && match.ethType === 0x0800],
    ['icmpv6Type', 'icmp6', match.ipProto === 58 && match.ethType === 0x86dd],
    ['icmpv6Code', 'icmp6', match.ipProto === 58 && match.ethType === 0x86dd],
    ['ipv6Src', 'ipv6', match.ethType === 0x86dd],
    ['ipv6Dst', 'ipv6', match.ethType === 0x86dd],
    ['arpOp', 'arp', isArp],
    ['arpSpa', 'arp', isArp],
    ['arpTpa', 'arp', isArp],
  ];
  for (const [field, shorthand, satisfied] of needs) {
    if (match[field] !== undefined && !satisfied) {
      syntaxError(flow, `${OVS_FIELD_NAMES[field]} needs the ${shorthand} protocol: add ${shorthand} to the match`);
    }
  }
  if (match.vlanPcp !== undefined && match.vlanVid === undefined) {
    match.vlanVid = { value: OFPVID_PRESENT, mask: OFPVID_PRESENT };
  }
}

/** Names accepted after `set_field:VALUE->`, with the field each writes. */
const SET_FIELD_NAMES: Readonly<Record<string, SetFieldName>> = {
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

function setFieldValue(flow: string, action: string, field: SetFieldName, text: string): string | number | bigint {
  const fail = (expected: string): never => syntaxError(flow, `${action}: value "${text}" is not ${expected}`);
  switch (field) {
    case 'ethDst':
    case 'ethSrc':
      return parseMac(text) ? text.toLowerCase() : fail('a MAC address aa:bb:cc:dd:ee:ff');
    case 'ipv4Src':
    case 'ipv4Dst':
    case 'arpSpa':
    case 'arpTpa':
      return parseIpv4(text) ? text : fail('an IPv4 address');
    case 'ipv6Src':
    case 'ipv6Dst':
      return parseIpv6(text) ? text : fail('an IPv6 address');
    case 'metadata':
      return parseUint64(text) ?? fail('a 64-bit integer');
    default: {
      const max = field === 'vlanVid' ? 0x1fff : field === 'vlanPcp' ? 7 : field === 'ipDscp' ? 63 : ['tcpSrc', 'tcpDst', 'udpSrc', 'udpDst', 'arpOp', 'ethType'].includes(field) ? 0xffff : 255;
      return parseUint(text, max) ?? fail(`an integer 0..${max}`);
    }
  }
}

/** Parses the text after `actions=` into instructions in OpenFlow 1.3 canonical order. */
function parseActions(flow: string, actionsText: string, match: Match, options: FlowSyntaxOptions): Instruction[] {
  const applyActions: Action[] = [];
  let writeActions: Action[] | undefined;
  let clearActions = false;
  let writeMetadata: { metadata: bigint; mask: bigint } | undefined;
  let gotoTable: number | undefined;
  let meterId: number | undefined;
  const pieces = splitTopLevel(actionsText);
  if (pieces.length === 1 && pieces[0]!.toLowerCase() === 'drop') {
    return [];
  }
  for (const piece of pieces) {
    const nested = /^(\w+)\((.*)\)$/s.exec(piece);
    if (nested && nested[1] === 'write_actions') {
      writeActions = parseActionList(flow, splitTopLevel(nested[2]!), match, options);
      continue;
    }
    const token = toToken(piece);
    switch (token.key) {
      case 'clear_actions':
        clearActions = true;
        continue;
      case 'goto_table':
        gotoTable = parsePlainUint(flow, token, 254);
        continue;
      case 'meter':
        meterId = parsePlainUint(flow, token, 0xffffffff);
        continue;
      case 'write_metadata': {
        const [valueText, maskText, extra] = requireValue(flow, token).split('/');
        const metadata = parseUint64(valueText!);
        const mask = maskText === undefined ? 0xffffffffffffffffn : parseUint64(maskText);
        if (metadata === undefined || mask === undefined || extra !== undefined) {
          syntaxError(flow, `${token.text}: expected write_metadata:VALUE[/MASK] with 64-bit integers`);
        }
        writeMetadata = { metadata, mask };
        continue;
      }
    }
    applyActions.push(...parseActionList(flow, [piece], match, options));
  }
  const instructions: Instruction[] = [];
  if (meterId !== undefined) {
    instructions.push({ type: 'meter', meterId });
  }
  if (applyActions.length > 0) {
    instructions.push({ type: 'apply_actions', actions: applyActions });
  }
  if (clearActions) {
    instructions.push({ type: 'clear_actions' });
  }
  if (writeActions) {
    instructions.push({ type: 'write_actions', actions: writeActions });
  }
  if (writeMetadata) {
    instructions.push({ type: 'write_metadata', ...writeMetadata });
  }
  if (gotoTable !== undefined) {
    instructions.push({ type: 'goto_table', tableId: gotoTable });
  }
  return instructions;
}

function parseActionList(flow: string, pieces: string[], match: Match, options: FlowSyntaxOptions): Action[] {
  const actions: Action[] = [];
  for (const piece of pieces) {
    const controller = /^controller(?:\((?:max_len=)?(\w+)\))?$/i.exec(piece);
    const token = toToken(piece);
    const name = token.key.toLowerCase();
    if (controller || name === 'controller') {
      const maxText = controller?.[1] ?? token.value;
      const maxLength = maxText === undefined ? undefined : parseUint(maxText, 0xffff);
      if (maxText !== undefined && maxLength === undefined) {
        syntaxError(flow, `${piece}: expected controller[:MAX_LEN] with MAX_LEN 0..65535`);
      }
      actions.push(maxLength === undefined ? { type: 'output', port: OFPP.CONTROLLER } : { type: 'output', port: OFPP.CONTROLLER, maxLength });
      continue;
    }
    switch (name) {
      case 'output':
        actions.push({ type: 'output', port: parsePort(flow, piece, requireValue(flow, token), options) });
        continue;
      case 'normal':
      case 'flood':
      case 'all':
      case 'local':
      case 'in_port':
        if (token.value === undefined) {
          actions.push({ type: 'output', port: OFPP[name.toUpperCase() as 'NORMAL'] });
          continue;
        }
        break;
      case 'drop':
        syntaxError(flow, '"drop" must be the only action');
        break;
      case 'group':
        actions.push({ type: 'group', groupId: parsePlainUint(flow, token, 0xffffffff) });
        continue;
      case 'strip_vlan':
      case 'pop_vlan':
        actions.push({ type: 'pop_vlan' });
        continue;
      case 'push_vlan': {
        const ethertype = parsePlainUint(flow, token, 0xffff);
        if (ethertype !== 0x8100 && ethertype !== 0x88a8) {
          syntaxError(flow, `${piece}: expected TPID 0x8100 or 0x88a8`);
        }
        actions.push({ type: 'push_vlan', ethertype });
        continue;
      }
      case 'dec_ttl':
        actions.push({ type: 'dec_nw_ttl' });
        continue;
      case 'mod_dl_dst':
      case 'mod_dl_src': {
        const field = name === 'mod_dl_dst' ? 'ethDst' : 'ethSrc';
        actions.push({ type: 'set_field', field, value: setFieldValue(flow, piece, field, requireValue(flow, token)) });
        continue;
      }
      case 'mod_nw_src':
      case 'mod_nw_dst': {
        const field = name === 'mod_nw_src' ? 'ipv4Src' : 'ipv4Dst';
        actions.push({ type: 'set_field', field, value: setFieldValue(flow, piece, field, requireValue(flow, token)) });
        continue;
      }
      case 'mod_nw_tos': {
        const tos = parsePlainUint(flow, token, 255);
        if (tos % 4 !== 0) {
          syntaxError(flow, `${piece}: the ECN bits must be 0; expected a multiple of 4`);
        }
        actions.push({ type: 'set_field', field: 'ipDscp', value: tos >> 2 });
        continue;
      }
      case 'mod_tp_src':
      case 'mod_tp_dst': {
        const port = parsePlainUint(flow, token, 0xffff);
        const which = name === 'mod_tp_src' ? 'Src' : 'Dst';
        if (match.ipProto !== 6 && match.ipProto !== 17) {
          syntaxError(flow, `${piece} needs the match to name the transport protocol: add tcp or udp`);
        }
        actions.push({ type: 'set_field', field: `${match.ipProto === 6 ? 'tcp' : 'udp'}${which}`, value: port });
        continue;
      }
      case 'mod_vlan_vid':
        actions.push({ type: 'set_field', field: 'vlanVid', value: OFPVID_PRESENT | parsePlainUint(flow, token, 0xfff) });
        continue;
      case 'mod_vlan_pcp':
        actions.push({ type: 'set_field', field: 'vlanPcp', value: parsePlainUint(flow, token, 7) });
        continue;
      case 'set_field': {
        const arrow = /^(.+)->(\w+)$/.exec(requireValue(flow, token));
        const field = arrow && Object.hasOwn(SET_FIELD_NAMES, arrow[2]!) ? SET_FIELD_NAMES[arrow[2]!] : undefined;
        if (!arrow || !field) {
          syntaxError(flow, `${piece}: expected set_field:VALUE->FIELD with FIELD one of ${Object.keys(SET_FIELD_NAMES).join(', ')}`);
        }
        actions.push({ type: 'set_field', field, value: setFieldValue(flow, piece, field, arrow[1]!) });
        continue;
      }
    }
    if (token.value === undefined && (parseUint(token.key, 0xffffffff) !== undefined || options.portMap?.has(token.key))) {
      actions.push({ type: 'output', port: parsePort(flow, piece, token.key, options) });
      continue;
    }
    syntaxError(flow, `unknown action "${piece}"; expected ${ACTION_NAMES.join(', ')}`);
  }
  return actions;
}

/** Options of {@link parseFlowMod}. */
export interface ParseFlowModOptions extends FlowSyntaxOptions {
  /** The flow-mod command: `add` and `modify*` need actions, `delete*` takes none. */
  command: FlowModCommand;
}

/**
 * Parses an `ovs-ofctl` flow string (as `add-flow`, `mod-flows` and `del-flows` take
 * it) into a {@link FlowMod}, e.g. `in_port=2,dl_type=0x800,idle_timeout=0,action=output:3`
 * or `priority=10,udp,nw_src=10.0.0.0/24,tp_dst=53,actions=mod_dl_dst:00:00:00:00:00:02,output:3`.
 * Throws `EINVAL` naming the offending token and what is accepted.
 */
export function parseFlowMod(flow: string, options: ParseFlowModOptions): FlowMod {
  for (const key of Object.keys(options)) {
    if (key !== 'command' && key !== 'portMap') {
      invalidArgument(OPERATION, `unknown option "${key}"; expected command, portMap`);
    }
  }
  const parsed = parseFlowText(flow, options);
  const isDelete = options.command === 'delete' || options.command === 'delete_strict';
  const flowMod: FlowMod = { command: options.command, match: parsed.match };
  if (isDelete) {
    if (parsed.actionsText !== undefined) {
      syntaxError(flow, 'deleting flows takes no actions; remove "actions=..."');
    }
  } else if (parsed.actionsText === undefined) {
    syntaxError(flow, 'missing actions: end the flow with actions=... (e.g. actions=output:3 or actions=drop)');
  } else {
    flowMod.instructions = parseActions(flow, parsed.actionsText, parsed.match, options);
  }
  if (parsed.cookie !== undefined) {
    if (options.command === 'add' && parsed.cookieMask !== undefined) {
      syntaxError(flow, 'adding a flow takes a plain cookie=VALUE; a /MASK only filters mod-flows and del-flows');
    }
    if ((options.command === 'modify' || options.command === 'modify_strict') && parsed.cookieMask === undefined) {
      syntaxError(flow, 'OpenFlow 1.3 cannot change the cookie of existing flows; give cookie=VALUE/MASK to select the flows to modify');
    }
    flowMod.cookie = parsed.cookie;
    if (parsed.cookieMask !== undefined) {
      flowMod.cookieMask = parsed.cookieMask;
    } else if (isDelete) {
      flowMod.cookieMask = 0xffffffffffffffffn;
    }
  }
  const copy = <K extends keyof FlowMod & keyof ParsedFlow>(key: K): void => {
    if (parsed[key] !== undefined) {
      (flowMod as unknown as Record<string, unknown>)[key] = parsed[key];
    }
  };
  (['priority', 'tableId', 'idleTimeout', 'hardTimeout', 'outPort', 'outGroup'] as const).forEach(copy);
  if (parsed.flags.length > 0) {
    flowMod.flags = parsed.flags;
  }
  return flowMod;
}

/**
 * Parses the flow filter `dump-flows` takes (match fields, `table=`, `cookie=V/M`,
 * `out_port=`) into a {@link FlowStatsRequest}. Throws `EINVAL` on a bad token.
 */
export function parseFlowFilter(flow: string, options: FlowSyntaxOptions = {}): FlowStatsRequest {
  for (const key of Object.keys(options)) {
    if (key !== 'portMap') {
      invalidArgument(OPERATION, `unknown option "${key}"; expected portMap`);
    }
  }
  const parsed = parseFlowText(flow, options);
  if (parsed.actionsText !== undefined) {
    syntaxError(flow, 'a flow filter takes no actions; remove "actions=..."');
  }
  const request: FlowStatsRequest = { match: parsed.match };
  if (parsed.tableId !== undefined) {
    request.tableId = parsed.tableId;
  }
  if (parsed.outPort !== undefined) {
    request.outPort = parsed.outPort;
  }
  if (parsed.outGroup !== undefined) {
    request.outGroup = parsed.outGroup;
  }
  if (parsed.cookie !== undefined) {
    request.cookie = parsed.cookie;
    request.cookieMask = parsed.cookieMask ?? 0xffffffffffffffffn;
  }
  return request;
}
