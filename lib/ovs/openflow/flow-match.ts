/**
 * The part of an `ovs-ofctl` flow string before `actions=`: match fields (with the
 * protocol shorthands and OVS's prerequisites), flow settings (`priority`, `cookie`,
 * `table`, timeouts, `out_port`, `out_group`) and flow-mod flags.
 */
import { invalidArgument } from '../../errors.js';
import { OFPTT_ALL } from './codec.js';
import { flowModFlagBits, type FlowModFlag } from './flow-mod.js';
import {
  parseMaskedUint,
  parseMaskedUint64,
  parsePlainUint,
  parsePort,
  requireValue,
  splitTopLevel,
  syntaxError,
  syntaxOperation,
  toToken,
  type FlowSyntaxOptions,
  type Token,
} from './flow-tokens.js';
import { parseMaskedIpv4, parseMaskedIpv6, parseMaskedMac } from './flow-match-addresses.js';
import { extensionMatchKeys, readExtensionField, rewriteSubfieldMatch } from './flow-match-nxm.js';
import { impliesEthernet, matchesEthernetField } from './format-nxm.js';
import { impliedEthType, OFPVID_PRESENT, type Masked, type Match, type MatchFieldName } from './match.js';
import { addTunMetadataField, readTunMetadataMatch, tunMetadataIndex } from './tun-metadata.js';
import { fieldMax, specByName } from './oxm-fields.js';
import { isArp, matchPrerequisites } from './match-prerequisites.js';

/** The match and flow-level settings of a flow string, before it becomes a flow mod or a filter. */
export interface ParsedFlow {
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
  /** The text after `actions=`, undefined when the flow has none. */
  actionsText: string | undefined;
}

/** Shorthands for `dl_type` (and `nw_proto`) accepted in the match, as in `ovs-fields(7)`. */
const protocolShorthands: Readonly<Record<string, { ethType: number; ipProto?: number }>> = {
  ip: { ethType: 0x0800 },
  icmp: { ethType: 0x0800, ipProto: 1 },
  tcp: { ethType: 0x0800, ipProto: 6 },
  udp: { ethType: 0x0800, ipProto: 17 },
  sctp: { ethType: 0x0800, ipProto: 132 },
  ipv6: { ethType: 0x86dd },
  ip6: { ethType: 0x86dd },
  icmp6: { ethType: 0x86dd, ipProto: 58 },
  tcp6: { ethType: 0x86dd, ipProto: 6 },
  udp6: { ethType: 0x86dd, ipProto: 17 },
  sctp6: { ethType: 0x86dd, ipProto: 132 },
  arp: { ethType: 0x0806 },
  rarp: { ethType: 0x8035 },
  mpls: { ethType: 0x8847 },
  mplsm: { ethType: 0x8848 },
};

/** Keys `ovs-ofctl` prints in dumps and ignores on input, so that a dump line can be fed back. */
const ignoredStatsKeys = new Set(['duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age']);

const matchKeys = [
  'in_port',
  'dl_type',
  'eth_type',
  'dl_src',
  'eth_src',
  'dl_dst',
  'eth_dst',
  'dl_vlan',
  'vlan_vid',
  'dl_vlan_pcp',
  'vlan_pcp',
  'vlan_tci',
  'nw_src',
  'ip_src',
  'nw_dst',
  'ip_dst',
  'nw_proto',
  'ip_proto',
  'nw_tos',
  'ip_dscp',
  'ipv6_src',
  'ipv6_dst',
  'tp_src',
  'tp_dst',
  'tcp_src',
  'tcp_dst',
  'udp_src',
  'udp_dst',
  'sctp_src',
  'sctp_dst',
  'icmp_type',
  'icmp_code',
  'icmpv6_type',
  'icmpv6_code',
  'nd_target',
  'tun_src',
  'tun_dst',
  'tun_ipv6_src',
  'tun_ipv6_dst',
  'nw_ecn',
  'ip_ecn',
  'nw_ttl',
  'nd_sll',
  'nd_tll',
  'arp_op',
  'arp_spa',
  'arp_tpa',
  'metadata',
  ...extensionMatchKeys,
];
const flowKeys = ['priority', 'cookie', 'table', 'idle_timeout', 'hard_timeout', 'importance', 'out_port', 'out_group'];

/**
 * Match keys that set one field directly, whatever the protocol: integers (masked where
 * the field is maskable) up to the field's largest value, and addresses.
 */
const directFields: Readonly<Record<string, MatchFieldName>> = {
  dl_type: 'ethType',
  eth_type: 'ethType',
  dl_src: 'ethSrc',
  eth_src: 'ethSrc',
  dl_dst: 'ethDst',
  eth_dst: 'ethDst',
  vlan_vid: 'vlanVid',
  dl_vlan_pcp: 'vlanPcp',
  vlan_pcp: 'vlanPcp',
  arp_spa: 'arpSpa',
  arp_tpa: 'arpTpa',
  arp_op: 'arpOp',
  ipv6_src: 'ipv6Src',
  ipv6_dst: 'ipv6Dst',
  ip_dscp: 'ipDscp',
  icmpv6_type: 'icmpv6Type',
  icmpv6_code: 'icmpv6Code',
  nd_target: 'ndTarget',
  tun_src: 'tunSrc',
  tun_dst: 'tunDst',
  tun_ipv6_src: 'tunIpv6Src',
  tun_ipv6_dst: 'tunIpv6Dst',
  nw_ecn: 'ipEcn',
  ip_ecn: 'ipEcn',
  nw_ttl: 'nwTtl',
  nd_sll: 'ndSll',
  nd_tll: 'ndTll',
  ct_nw_src: 'ctNwSrc',
  ct_nw_dst: 'ctNwDst',
  ct_ipv6_src: 'ctIpv6Src',
  ct_ipv6_dst: 'ctIpv6Dst',
  ct_nw_proto: 'ctNwProto',
  ct_tp_src: 'ctTpSrc',
  ct_tp_dst: 'ctTpDst',
  tun_gbp_id: 'tunGbpId',
  tun_gbp_flags: 'tunGbpFlags',
};

/**
 * Fields narrower than the byte OVS reads them in: `ovs-ofctl` takes any value that fits the
 * byte and keeps the field's low bits (`vlan_pcp=8` is 0, `ip_dscp=64` is 0, `nw_ecn=4` is 0).
 */
const byteWideFields: ReadonlySet<MatchFieldName> = new Set(['vlanPcp', 'ipDscp', 'ipEcn']);

/** The value of a {@link directFields} key, read as its field's kind says. */
function parseDirectField(flow: string, token: Token, field: MatchFieldName): Match[MatchFieldName] {
  const spec = specByName.get(field)!;
  if (byteWideFields.has(field)) {
    return parsePlainUint(flow, token, 0xff) & fieldMax(field);
  }
  if (field === 'vlanVid') {
    // Read as the 16-bit OXM field, then the 13 bits of VID and present bit kept, as OVS does.
    const vid = parseMaskedUint(flow, token, 0xffff);
    if (typeof vid === 'number') {
      return vid & 0x1fff;
    }
    const mask = vid.mask & 0x1fff;
    return mask === 0x1fff ? vid.value & mask : { value: vid.value & mask, mask };
  }
  switch (spec.kind) {
    case 'mac':
      return parseMaskedMac(flow, token);
    case 'ipv4':
      return parseMaskedIpv4(flow, token);
    case 'ipv6':
      return parseMaskedIpv6(flow, token);
    default:
      return spec.maskable
        ? parseMaskedUint(flow, token, fieldMax(field))
        : parsePlainUint(flow, token, fieldMax(field));
  }
}

/** Transport-port tokens, resolved once the protocol is known (they may precede `tcp`/`udp`). */
interface PendingTransport {
  token: Token;
  which: 'src' | 'dst';
}

/**
 * Builds a match token by token: a field set twice takes its last value, and
 * keeps the protocol-dependent tokens (`nw_src`, `nw_proto`, `tp_dst`, ...) until
 * {@link MatchBuilder.finish}, since `ovs-ofctl` accepts them before the protocol.
 */
class MatchBuilder {
  readonly #flow: string;
  readonly #match: Match;
  readonly #transport: PendingTransport[] = [];
  #nwSrc: Token | undefined;
  #nwDst: Token | undefined;
  #nwProto: number | undefined;
  /**
   * Whether a field with prerequisites was read: OVS's parser then sets the packet type to
   * Ethernet, which its encoder sends when no such field is left (dropped, or masked out).
   */
  #ethernet = false;

  constructor(flow: string, match: Match) {
    this.#flow = flow;
    this.#match = match;
  }

  /** Sets `field`; a later setting replaces an earlier one, as in `ovs-ofctl` (`reg0=1,reg0=2` is `reg0=2`). */
  set(field: MatchFieldName, value: Match[MatchFieldName]): void {
    (this.#match as Record<string, unknown>)[field] = value;
    this.#ethernet ||= impliesEthernet(field);
  }

  /** Reads a protocol shorthand (`tcp`, `arp`, ...); false when `token` is none. */
  readShorthand(token: Token): boolean {
    // `eth` is packet_type=(0,0) (printed in recirc_id dumps: `recirc_id=0x5,eth,ip`); with an
    // Ethernet-layer field OVS encodes nothing for it, which is settled at the end.
    if (token.key === 'eth' && token.value === undefined) {
      this.set('packetType', 0);
      return true;
    }
    const shorthand = Object.hasOwn(protocolShorthands, token.key) ? protocolShorthands[token.key] : undefined;
    if (!shorthand || token.value !== undefined) {
      return false;
    }
    this.set('ethType', shorthand.ethType);
    if (shorthand.ipProto !== undefined) {
      this.#nwProto = shorthand.ipProto;
    }
    return true;
  }

  /** Reads a match field; false when `token` is not one. */
  readField(token: Token, options: FlowSyntaxOptions): boolean {
    const flow = this.#flow;
    const key = token.key;
    if (Object.hasOwn(directFields, key)) {
      const field = directFields[key];
      this.set(field, parseDirectField(flow, token, field));
      // A PCP after dl_vlan=0xffff sets the CFI bit again, as OVS's match_set_dl_vlan_pcp: VLAN 0.
      if (field === 'vlanPcp' && this.#match.vlanVid === 0) {
        this.set('vlanVid', OFPVID_PRESENT);
      }
      return true;
    }
    // Fields read now and placed once the protocol is known (they may precede it).
    this.#ethernet ||= /^(nw_|ip_|tp_|tcp_|udp_|sctp_|icmp_|vlan_tci)/.test(key);
    const tunIndex = tunMetadataIndex(key);
    if (tunIndex !== undefined) {
      const field = readTunMetadataMatch(flow, token, tunIndex);
      this.#match.tunMetadata = addTunMetadataField(flow, this.#match.tunMetadata, field);
      return true;
    }
    const extension = readExtensionField(flow, token);
    if (extension) {
      for (const [field, value] of extension) {
        this.set(field, value);
      }
      return true;
    }
    switch (key) {
      case 'in_port':
        this.set('inPort', parsePort(flow, token.text, requireValue(flow, token), options));
        return true;
      case 'dl_vlan': {
        // As OVS's match_set_dl_vlan: 0xffff is "no VLAN tag" (dropping a PCP read before), any
        // other value keeps its low 12 bits.
        const vid = parseUint16(flow, token);
        if (vid === 0xffff) {
          delete this.#match.vlanPcp;
        }
        this.set('vlanVid', vid === 0xffff ? 0 : OFPVID_PRESENT | (vid & 0xfff));
        return true;
      }
      case 'vlan_tci':
        this.#readVlanTci(token, parseMaskedUint(flow, token, 0xffff));
        return true;
      case 'nw_src':
      case 'ip_src':
        this.#nwSrc = token;
        return true;
      case 'nw_dst':
      case 'ip_dst':
        this.#nwDst = token;
        return true;
      case 'nw_proto':
      case 'ip_proto':
        this.#nwProto = parsePlainUint(flow, token, fieldMax('ipProto'));
        return true;
      case 'nw_tos': {
        // As OVS's match_set_nw_dscp: the ECN bits of the byte are dropped (nw_tos=33 is 32).
        const tos = parsePlainUint(flow, token, 255);
        this.set('ipDscp', tos >> 2);
        return true;
      }
      // OVS keeps one pair of transport ports: tcp_src, udp_src and sctp_src all set tp_src,
      // which the protocol then names (`udp,tcp_src=5` is `udp,tp_src=5`).
      case 'tp_src':
      case 'tp_dst':
      case 'tcp_src':
      case 'tcp_dst':
      case 'udp_src':
      case 'udp_dst':
      case 'sctp_src':
      case 'sctp_dst':
      case 'icmp_type':
      case 'icmp_code':
        this.#transport.push({ token, which: key.endsWith('_src') || key === 'icmp_type' ? 'src' : 'dst' });
        return true;
      case 'metadata': {
        const { value, mask } = parseMaskedUint64(flow, token, 'a 64-bit integer, optionally /MASK');
        this.set('metadata', mask === undefined ? value : { value, mask });
        return true;
      }
    }
    return false;
  }

  /** Translates an 802.1Q TCI match (`vlan_tci=TCI[/MASK]`) into OXM `vlan_vid`/`vlan_pcp`. */
  #readVlanTci(token: Token, tci: Masked<number>): void {
    const flow = this.#flow;
    const value = typeof tci === 'number' ? tci : tci.value;
    const mask = typeof tci === 'number' ? 0xffff : tci.mask;
    if (mask === 0) {
      return;
    }
    if ((mask & OFPVID_PRESENT) === 0) {
      // VID bits alone go as a masked OXM vlan_vid, as OVS sends them; PCP bits need the tag.
      if ((mask & 0xe000) !== 0) {
        syntaxError(flow, `${token.text}: OpenFlow 1.3 cannot match PCP bits without the CFI bit (0x1000) in the mask`);
      }
      this.set('vlanVid', { value: value & mask, mask });
      return;
    }
    if ((value & OFPVID_PRESENT) === 0) {
      if ((value & mask) !== 0) {
        syntaxError(flow, `${token.text}: a TCI without the CFI bit (no VLAN tag) cannot have other bits set`);
      }
      this.set('vlanVid', 0);
      return;
    }
    const vidMask = mask & 0x0fff;
    this.set(
      'vlanVid',
      vidMask === 0x0fff
        ? OFPVID_PRESENT | (value & 0x0fff)
        : { value: OFPVID_PRESENT | (value & vidMask), mask: OFPVID_PRESENT | vidMask },
    );
    const pcpMask = (mask >> 13) & 7;
    if (pcpMask === 7) {
      this.set('vlanPcp', (value >> 13) & 7);
    } else if (pcpMask !== 0) {
      syntaxError(flow, `${token.text}: OpenFlow 1.3 can match the VLAN PCP only as a whole (mask 0xe000 or 0)`);
    }
  }

  /** Places the kept tokens on the fields their protocol implies and drops those whose protocol is missing. */
  finish(): void {
    // A packet type in the EtherType namespace implies its EtherType for the fields that
    // need one (`packet_type=(1,0x800),nw_dst=...`), which OVS does not encode.
    const match = this.#match;
    const implied = match.ethType === undefined ? impliedEthType(match) : undefined;
    if (implied !== undefined) {
      match.ethType = implied;
    }
    this.#placeAddresses();
    this.#placeProtocol();
    this.#placeTransport();
    this.#checkPrerequisites();
    if (implied !== undefined) {
      delete match.ethType;
    }
    // A field masked to nothing matches nothing, and OVS encodes nothing for it.
    for (const [key, value] of Object.entries(match)) {
      if (typeof value === 'object' && value !== null && 'mask' in value && isZero(value.mask)) {
        delete (match as Record<string, unknown>)[key];
      }
    }
    if (this.#ethernet && match.packetType === undefined) {
      match.packetType = 0;
    }
    if (match.packetType === 0 && matchesEthernetField(match)) {
      delete match.packetType;
    }
  }

  /** `nw_src`/`nw_dst`: IPv4 addresses, or ARP's sender and target addresses. */
  #placeAddresses(): void {
    const match = this.#match;
    for (const [token, ipField, arpField] of [
      [this.#nwSrc, 'ipv4Src', 'arpSpa'],
      [this.#nwDst, 'ipv4Dst', 'arpTpa'],
    ] as const) {
      if (!token) {
        continue;
      }
      if (isArp(match)) {
        this.set(arpField, parseMaskedIpv4(this.#flow, token));
      } else {
        // Without ip or arp, ovs-ofctl checks the address and then leaves it out of the match.
        const address = parseMaskedIpv4(this.#flow, token);
        if (match.ethType === 0x0800) {
          this.set(ipField, address);
        }
      }
    }
  }

  /** `nw_proto`: the IP protocol, or ARP's opcode. */
  #placeProtocol(): void {
    const match = this.#match;
    const nwProto = this.#nwProto;
    if (nwProto === undefined) {
      return;
    }
    if (isArp(match)) {
      this.set('arpOp', nwProto);
    } else if (match.ethType === 0x0800 || match.ethType === 0x86dd) {
      match.ipProto = nwProto;
    }
  }

  /** `tp_src`/`tp_dst` as TCP or UDP ports, `icmp_type`/`icmp_code` (and `tp_*` with ICMP) as ICMP fields. */
  #placeTransport(): void {
    const match = this.#match;
    const flow = this.#flow;
    for (const { token, which } of this.#transport) {
      const icmpOnly = token.key.startsWith('icmp');
      if (match.ipProto === 6 && !icmpOnly) {
        this.set(which === 'src' ? 'tcpSrc' : 'tcpDst', parseMaskedUint(flow, token, 0xffff));
      } else if (match.ipProto === 17 && !icmpOnly) {
        this.set(which === 'src' ? 'udpSrc' : 'udpDst', parseMaskedUint(flow, token, 0xffff));
      } else if (match.ipProto === 132 && !icmpOnly) {
        this.set(which === 'src' ? 'sctpSrc' : 'sctpDst', parseMaskedUint(flow, token, 0xffff));
      } else if (match.ipProto === 1 && match.ethType === 0x0800) {
        this.set(which === 'src' ? 'icmpv4Type' : 'icmpv4Code', parsePlainUint(flow, token, 255));
      } else if (match.ipProto === 58 && match.ethType === 0x86dd) {
        this.set(which === 'src' ? 'icmpv6Type' : 'icmpv6Code', parsePlainUint(flow, token, 255));
      } else if (icmpOnly) {
        parsePlainUint(flow, token, 255);
      } else {
        parseMaskedUint(flow, token, 0xffff);
      }
    }
  }

  /**
   * Drops fields whose protocol the match lacks, as `ovs-ofctl` does (OVS encodes no field
   * without its prerequisites); a PCP alone implies "any VLAN tag".
   */
  #checkPrerequisites(): void {
    const match = this.#match;
    for (const [field, , satisfied] of matchPrerequisites) {
      if (match[field] !== undefined && !satisfied(match)) {
        delete match[field];
      }
    }
    if (match.vlanPcp !== undefined && match.vlanVid === undefined) {
      match.vlanVid = { value: OFPVID_PRESENT, mask: OFPVID_PRESENT };
    }
    if (match.ipDscp !== undefined && match.ethType !== 0x0800 && match.ethType !== 0x86dd) {
      delete match.ipDscp;
    }
  }
}

/** Whether a mask (number, bigint, or MAC/IPv4/IPv6 text) has no bit set. */
function isZero(mask: unknown): boolean {
  return mask === 0 || mask === 0n || (typeof mask === 'string' && /^[0:.]*$/.test(mask));
}

function parseUint16(flow: string, token: Token): number {
  return parsePlainUint(flow, token, 0xffff);
}

/** Reads a flow setting (`priority`, `cookie`, ...) into `parsed`; false when `token` is none. */
function readFlowSetting(flow: string, parsed: ParsedFlow, token: Token, options: FlowSyntaxOptions): boolean {
  switch (token.key) {
    case 'priority':
      parsed.priority = parseUint16(flow, token);
      return true;
    case 'cookie': {
      const { value, mask } = parseMaskedUint64(
        flow,
        token,
        'a 64-bit integer (decimal or 0x hex), optionally /MASK (-1 for all bits)',
      );
      parsed.cookie = value;
      parsed.cookieMask = mask;
      return true;
    }
    case 'table':
      parsed.tableId = requireValue(flow, token).toLowerCase() === 'all' ? OFPTT_ALL : parsePlainUint(flow, token, 255);
      return true;
    case 'idle_timeout':
      parsed.idleTimeout = parseUint16(flow, token);
      return true;
    case 'hard_timeout':
      parsed.hardTimeout = parseUint16(flow, token);
      return true;
    case 'importance':
      // OpenFlow 1.4's eviction importance: ovs-ofctl checks it and leaves it out over OpenFlow 1.3.
      parseUint16(flow, token);
      return true;
    case 'out_port':
      parsed.outPort = parsePort(flow, token.text, requireValue(flow, token), options);
      return true;
    case 'out_group':
      parsed.outGroup = parsePlainUint(flow, token, 0xffffffff);
      return true;
  }
  return false;
}

/** Reads a flow-mod flag (`send_flow_rem`, ...) into `parsed`; false when `token` is none. */
function readFlag(parsed: ParsedFlow, token: Token): boolean {
  if (!Object.hasOwn(flowModFlagBits, token.key) || token.value !== undefined) {
    return false;
  }
  parsed.flags.push(token.key as FlowModFlag);
  return true;
}

function unknownField(flow: string, token: Token): never {
  return syntaxError(
    flow,
    `unknown field "${token.key}" in "${token.text}"; expected one of ${matchKeys.join(', ')}, ${flowKeys.join(', ')}, ` +
      `the shorthands eth, ${Object.keys(protocolShorthands).join(', ')}, the flags ${Object.keys(flowModFlagBits).join(', ')}, then actions=...`,
  );
}

/**
 * Parses a flow string up to `actions=`: its match (fields without their prerequisites dropped), flow
 * settings and flags, and the text of its actions, left for flow-actions.ts.
 */
export function parseFlowText(flow: string, options: FlowSyntaxOptions): ParsedFlow {
  if (typeof flow !== 'string') {
    invalidArgument(syntaxOperation, `flow must be a string, got ${typeof flow}`);
  }
  const actionsAt = /(^|[\s,])actions?\s*[=:]/.exec(flow);
  const matchText = actionsAt ? flow.slice(0, actionsAt.index) : flow;
  const actionsText = actionsAt ? flow.slice(actionsAt.index + actionsAt[0].length).trim() : undefined;
  const parsed: ParsedFlow = { match: {}, flags: [], actionsText };
  const builder = new MatchBuilder(flow, parsed.match);
  for (const token of splitTopLevel(matchText).map((piece) => rewriteSubfieldMatch(flow, toToken(piece)))) {
    const known =
      builder.readShorthand(token) ||
      readFlag(parsed, token) ||
      ignoredStatsKeys.has(token.key) ||
      readFlowSetting(flow, parsed, token, options) ||
      builder.readField(token, options);
    if (!known) {
      unknownField(flow, token);
    }
  }
  builder.finish();
  return parsed;
}
