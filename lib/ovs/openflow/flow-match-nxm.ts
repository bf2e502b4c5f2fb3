/**
 * The match keys of Open vSwitch's extensions in the `ovs-ofctl` flow syntax: registers
 * (`reg0`..`reg15`, `xreg0`..`xreg7`), conntrack (`ct_state` with its `+trk-new` flag
 * syntax, `ct_zone`, `ct_mark`, `ct_label`), `tun_id`, `pkt_mark`, `ip_frag`,
 * `tcp_flags`, MPLS, `recirc_id` and `conj_id`, read as `ovs-ofctl` reads them.
 */
import {
  parseMaskedUint,
  parseMaskedUint64,
  parsePlainUint,
  parsePort,
  requireValue,
  syntaxError,
  type Token,
} from './flow-tokens.js';
import type { Match, MatchFieldName } from './match.js';
import { nxmFieldByName } from './nxm-fields.js';
import { ctStateFlagNames, fieldMax, tcpFlagNames } from './oxm-fields.js';

/** The extension keys, as the refusal of an unknown key lists them. */
export const extensionMatchKeys = [
  'reg0..reg15',
  'xreg0..xreg7',
  'xxreg0..xxreg3',
  'tun_id',
  'pkt_mark',
  'ct_state',
  'ct_zone',
  'ct_mark',
  'ct_label',
  'ct_nw_src',
  'ct_nw_dst',
  'ct_ipv6_src',
  'ct_ipv6_dst',
  'ct_nw_proto',
  'ct_tp_src',
  'ct_tp_dst',
  'tun_gbp_id',
  'tun_gbp_flags',
  'ip_frag',
  'tcp_flags',
  'mpls_label',
  'mpls_tc',
  'mpls_bos',
  'recirc_id',
  'conj_id',
  'actset_output',
  'packet_type',
  'nsh_flags',
  'nsh_ttl',
  'nsh_mdtype',
  'nsh_np',
  'nsh_spi',
  'nsh_si',
  'nsh_c1..nsh_c4',
];

/** One field setting a key makes (an `xreg` makes two). */
export type FieldSetting = readonly [MatchFieldName, Match[MatchFieldName]];

/**
 * `ip_frag` names: the fragment bits (0x1 "fragment", 0x2 "later fragment") and the bits
 * they match (0xff: both, which OVS sends unmasked).
 */
const fragNames: Readonly<Record<string, { value: number; mask: number }>> = {
  no: { value: 0, mask: 0xff },
  yes: { value: 1, mask: 1 },
  first: { value: 1, mask: 0xff },
  later: { value: 3, mask: 0xff },
  not_later: { value: 0, mask: 2 },
};

const uint32Max = 0xffffffff;
const uint128Max = (1n << 128n) - 1n;

/**
 * Reads the flags of `ct_state` or `tcp_flags` as OVS's `parse_flags` does: `VALUE/MASK`
 * numbers, `+name-name` (the named bits set or clear, the others wildcarded), or
 * `name|name|NUMBER` (exactly those bits set: masked with `exactMask` where OVS keeps
 * the field narrower than its wire width, as `ct_state`'s 0xff).
 */
function parseFlags(
  flow: string,
  token: Token,
  names: Readonly<Record<number, string>>,
  allowed: number,
  exactMask: number | undefined,
): number | { value: number; mask: number } {
  const text = requireValue(flow, token);
  const what = `${token.key} flag`;
  const known = Object.values(names)
    .filter((name) => !name.startsWith('['))
    .join(', ');
  const unknown = (piece: string): never =>
    syntaxError(
      flow,
      `${token.text}: unknown ${what} "${piece}"; expected ${known}, or a number within 0x${allowed.toString(16)}`,
    );
  const numeric = /^(0x[0-9a-f]+|\d+)\/(0x[0-9a-f]+|\d+)$/i.exec(text);
  if (numeric) {
    const value = Number(numeric[1]);
    const mask = Number(numeric[2]);
    if ((value & ~allowed) !== 0 || (mask & ~allowed) !== 0) {
      unknown(text);
    }
    return { value, mask };
  }
  const bitOf = new Map(Object.entries(names).map(([bit, name]) => [name, Number(bit)]));
  if (text.startsWith('+') || text.startsWith('-')) {
    let value = 0;
    let mask = 0;
    for (const [, sign, name] of text.matchAll(/([+-])([^+-]*)/g)) {
      const bit = bitOf.get(name!);
      if (bit === undefined || (bit & allowed) === 0) {
        return unknown(name!);
      }
      if ((mask & bit) !== 0) {
        syntaxError(flow, `${token.text}: each ${what} can be given only once, "${name}" is repeated`);
      }
      mask |= bit;
      value |= sign === '+' ? bit : 0;
    }
    return { value, mask };
  }
  let value = 0;
  for (const piece of text.split('|')) {
    const bit = /^(0x[0-9a-f]+|\d+)$/i.test(piece) ? Number(piece) : bitOf.get(piece);
    if (bit === undefined || (bit & ~allowed) !== 0) {
      return unknown(piece);
    }
    value |= bit;
  }
  return exactMask === undefined ? value : { value, mask: exactMask };
}

/** The 128-bit value of `ct_label=V[/M]` (decimal or 0x hex). */
function parseLabel(flow: string, token: Token): bigint | { value: bigint; mask: bigint } {
  const text = requireValue(flow, token);
  const [valueText, maskText, extra] = text.split('/');
  const read = (piece: string | undefined): bigint | undefined => {
    if (piece === undefined || !/^(0x[0-9a-f]{1,32}|\d+)$/i.test(piece)) {
      return undefined;
    }
    const value = BigInt(piece);
    return value <= uint128Max ? value : undefined;
  };
  const value = read(valueText);
  const mask = maskText === undefined ? undefined : read(maskText);
  if (value === undefined || extra !== undefined || (maskText !== undefined && mask === undefined)) {
    return syntaxError(flow, `${token.text}: expected a 128-bit integer (decimal or 0x hex), optionally /MASK`);
  }
  return mask === undefined ? value : { value, mask };
}

/**
 * `xregN=V[/M]` (64 bits) and `xxregN=V[/M]` (128 bits): OpenFlow 1.3 has no wide registers,
 * so OVS writes the 32-bit registers they are made of, most significant first.
 */
function readWideRegister(flow: string, token: Token, index: number, words: number): FieldSetting[] {
  const bits = 32 * words;
  const all = (1n << BigInt(bits)) - 1n;
  const [valueText = '', maskText, extra] = requireValue(flow, token).split('/');
  const parse = (text: string): bigint | undefined =>
    /^(0x[0-9a-fA-F]+|\d+)$/.test(text) && BigInt(text) <= all ? BigInt(text) : undefined;
  const value = parse(valueText);
  const mask = maskText === undefined ? all : parse(maskText);
  if (value === undefined || mask === undefined || extra !== undefined) {
    return syntaxError(flow, `${token.text}: expected a ${bits}-bit integer, optionally /MASK`);
  }
  const parts: FieldSetting[] = [];
  for (let word = 0; word < words; word++) {
    const shift = BigInt(32 * (words - 1 - word));
    const partValue = Number((value >> shift) & 0xffffffffn);
    const partMask = Number((mask >> shift) & 0xffffffffn);
    if (partMask !== 0) {
      parts.push([
        `reg${words * index + word}` as MatchFieldName,
        partMask === uint32Max ? partValue : { value: partValue, mask: partMask },
      ]);
    }
  }
  return parts;
}

/** An integer of a field OVS does not let be masked, refused with a mask as `ovs-ofctl` refuses it. */
function parseUnmasked(flow: string, token: Token, max: number): number {
  if (token.value?.includes('/')) {
    syntaxError(flow, `${token.text}: invalid mask for field ${token.key}; expected ${token.key}=VALUE with no mask`);
  }
  return parsePlainUint(flow, token, max);
}

/** `packet_type=(NS,TYPE)`, two 16-bit integers (decimal or 0x hex), as `ovs-ofctl` reads it. */
function parsePacketType(flow: string, token: Token): number {
  const parts = /^\((0x[0-9a-f]+|\d+),(0x[0-9a-f]+|\d+)\)$/i.exec(requireValue(flow, token));
  const ns = parts ? Number(parts[1]) : NaN;
  const type = parts ? Number(parts[2]) : NaN;
  if (!(ns <= 0xffff && type <= 0xffff)) {
    return syntaxError(
      flow,
      `${token.text}: expected packet_type=(NS,TYPE) with 16-bit integers, e.g. (0,0) for Ethernet or (1,0x800) for IPv4`,
    );
  }
  return ns * 0x10000 + type;
}

/**
 * Reads an extension key into the settings it makes; undefined when `token` is not one.
 * Prerequisites are checked once the match is complete ({@link extensionPrerequisites}).
 */
export function readExtensionField(flow: string, token: Token): FieldSetting[] | undefined {
  const key = token.key;
  const register = /^(x{0,2})reg(\d+)$/.exec(key);
  if (register) {
    const index = Number(register[2]);
    if (register[1] !== '') {
      const words = 2 * register[1].length;
      return index < 16 / words ? readWideRegister(flow, token, index, words) : undefined;
    }
    return index <= 15 ? [[`reg${index}` as MatchFieldName, parseMaskedUint(flow, token, uint32Max)]] : undefined;
  }
  switch (key) {
    case 'tun_id':
    case 'tunnel_id': {
      const { value, mask } = parseMaskedUint64(flow, token, 'a 64-bit tunnel id, optionally /MASK');
      return [['tunnelId', mask === undefined ? value : { value, mask }]];
    }
    case 'pkt_mark':
      return [['pktMark', parseMaskedUint(flow, token, uint32Max)]];
    case 'ct_mark':
      return [['ctMark', parseMaskedUint(flow, token, uint32Max)]];
    case 'ct_zone':
      return [['ctZone', parsePlainUint(flow, token, 0xffff)]];
    case 'ct_label':
      return [['ctLabel', parseLabel(flow, token)]];
    case 'ct_state':
      return [['ctState', parseFlags(flow, token, ctStateFlagNames, 0xff, 0xff)]];
    case 'tcp_flags':
      return [['tcpFlags', parseFlags(flow, token, tcpFlagNames, 0xfff, undefined)]];
    case 'ip_frag':
    case 'nw_frag': {
      const text = requireValue(flow, token);
      const frag = Object.hasOwn(fragNames, text) ? fragNames[text] : undefined;
      if (!frag) {
        return syntaxError(flow, `${token.text}: expected one of ${Object.keys(fragNames).join(', ')}`);
      }
      return [['ipFrag', frag.mask === 0xff ? frag.value : frag]];
    }
    // OVS reads the MPLS fields at their byte width and keeps the low bits (mpls_tc=8 is 0).
    case 'mpls_label':
      return [['mplsLabel', parsePlainUint(flow, token, uint32Max) & fieldMax('mplsLabel')]];
    case 'mpls_tc':
      return [['mplsTc', parsePlainUint(flow, token, 0xff) & fieldMax('mplsTc')]];
    case 'mpls_bos':
      return [['mplsBos', parsePlainUint(flow, token, 0xff) & fieldMax('mplsBos')]];
    case 'recirc_id':
      return [['recircId', parsePlainUint(flow, token, uint32Max)]];
    case 'conj_id':
      return [['conjId', parsePlainUint(flow, token, uint32Max)]];
    case 'packet_type':
      return [['packetType', parsePacketType(flow, token)]];
    case 'nsh_flags':
      return [['nshFlags', parseMaskedUint(flow, token, 0xff)]];
    case 'nsh_ttl':
      return [['nshTtl', parseUnmasked(flow, token, 0xff)]];
    case 'nsh_mdtype':
      return [['nshMdtype', parseUnmasked(flow, token, 0xff)]];
    case 'nsh_np':
      return [['nshNp', parseUnmasked(flow, token, 0xff)]];
    case 'nsh_si':
      return [['nshSi', parseUnmasked(flow, token, 0xff)]];
    // As OVS: read at 32 bits, the 24-bit SPI keeps the low bits.
    case 'nsh_spi':
      return [['nshSpi', parseUnmasked(flow, token, uint32Max) & fieldMax('nshSpi')]];
    case 'nsh_c1':
    case 'nsh_c2':
    case 'nsh_c3':
    case 'nsh_c4':
      return [[`nshC${key.slice(5)}` as MatchFieldName, parseMaskedUint(flow, token, uint32Max)]];
    case 'actset_output': {
      const text = requireValue(flow, token);
      return [['actsetOutput', text.toUpperCase() === 'UNSET' ? 0xfffffff7 : parsePort(flow, token.text, text, {})]];
    }
  }
  return undefined;
}

function isIp(match: Match): boolean {
  return match.ethType === 0x0800 || match.ethType === 0x86dd;
}

function isMpls(match: Match): boolean {
  return match.ethType === 0x8847 || match.ethType === 0x8848;
}

/** The extension fields that need a protocol in the match, with the shorthand that provides it. */
export const extensionPrerequisites: readonly [MatchFieldName, string, (match: Match) => boolean][] = [
  ['ipFrag', 'ip', isIp],
  ['tcpFlags', 'tcp', (match) => isIp(match) && match.ipProto === 6],
  ['mplsLabel', 'mpls', isMpls],
  ['mplsTc', 'mpls', isMpls],
  ['mplsBos', 'mpls', isMpls],
  // OVS encodes the conntrack ports only with a non-zero ct_nw_proto (nx_put_raw), so they vanish without one.
  ['ctNwProto', 'ct_nw_proto', (match) => match.ctNwProto !== 0],
  ['ctTpSrc', 'ct_nw_proto', (match) => !!match.ctNwProto],
  ['ctTpDst', 'ct_nw_proto', (match) => !!match.ctNwProto],
];

/** `value/mask` in the notation the field's key reads: MAC, IPv4 or IPv6 address, else hex. */
function formatMasked(fieldName: string, width: number, value: bigint, mask: bigint): string {
  const bytes = (number: bigint): number[] =>
    Array.from({ length: width / 8 }, (_, index) => Number((number >> BigInt(width - 8 - 8 * index)) & 0xffn));
  const as = (number: bigint): string => {
    if (width === 48) {
      return bytes(number)
        .map((byte) => byte.toString(16).padStart(2, '0'))
        .join(':');
    }
    if (width === 32 && /_(IP|ARP)_(SRC|DST|SPA|TPA)$/.test(fieldName)) {
      return bytes(number).join('.');
    }
    if (width === 128 && fieldName.includes('IPV6')) {
      return Array.from({ length: 8 }, (_, word) => ((number >> BigInt(112 - 16 * word)) & 0xffffn).toString(16)).join(
        ':',
      );
    }
    return `0x${number.toString(16)}`;
  };
  return `${as(value)}/${as(mask)}`;
}

/**
 * Rewrites a bit-range match `FIELD[BIT]=V` or `FIELD[FIRST..LAST]=V` (OVS's `parse_subfield`)
 * as the masked match `FIELD=V<<FIRST/MASK` it makes; other tokens come back unchanged.
 */
export function rewriteSubfieldMatch(flow: string, token: Token): Token {
  const parts = /^(\w+)\[(\d+)(?:\.\.(\d+))?\]$/.exec(token.key);
  if (!parts) {
    return token;
  }
  const field = nxmFieldByName(parts[1]!);
  if (!field) {
    return syntaxError(flow, `${token.text}: unknown field "${parts[1]}"`);
  }
  const first = Number(parts[2]);
  const last = parts[3] === undefined ? first : Number(parts[3]);
  if (first > last || last >= field.width) {
    return syntaxError(flow, `${token.text}: bits ${first}..${last} are not within the ${field.width}-bit field`);
  }
  const text = requireValue(flow, token);
  const value = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? BigInt(text) : undefined;
  const bits = last - first + 1;
  if (value === undefined) {
    return syntaxError(flow, `${token.text}: cannot parse integer value: ${text}`);
  }
  if (value >> BigInt(bits) !== 0n) {
    return syntaxError(flow, `${token.text}: value ${text} does not fit into ${bits} bits`);
  }
  const mask = ((1n << BigInt(bits)) - 1n) << BigInt(first);
  const masked = formatMasked(field.name, field.width, value << BigInt(first), mask);
  return { key: parts[1]!, value: masked, text: token.text };
}
