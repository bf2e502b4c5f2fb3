/**
 * OpenFlow 1.3 matches: the {@link Match} type, and the OXM TLV encoding and decoding of
 * `ofp_match` (masks normalised as OVS does, unmodelled fields kept verbatim).
 */
import { formatIpv4, formatIpv6, formatMac, tryParseIpv4, tryParseIpv6, tryParseMac } from '../../address.js';
import { DpdkError, invalidArgument } from '../../errors.js';
import { checkBigInt, checkInteger, checkOptions, describe } from '../../validate.js';
import {
  fieldMax,
  fieldSpecs,
  kindWidth,
  OFPXMC_EXPERIMENTER,
  OFPXMC_OPENFLOW_BASIC,
  oxmKey,
  specByName,
  specByOxmField,
  type FieldSpec,
} from './oxm-fields.js';
import { decodeTunMetadataField, encodeTunMetadataFields, type TunMetadataField } from './tun-metadata.js';

/**
 * A field value with an optional mask: a plain value matches exactly; `{ value, mask }`
 * matches the bits set in `mask` (OXM `hasmask`).
 */
export type Masked<T> = T | { value: T; mask: T };

/** The OpenFlow 1.3 `OFPVID_PRESENT` bit of an OXM `vlan_vid` value: "a VLAN tag is present". */
export const OFPVID_PRESENT = 0x1000;

/** The numbers of Open vSwitch's 32-bit registers `reg0`..`reg15`. */
export type RegisterIndex = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15;

/** `NXM_NX_REG0`..`NXM_NX_REG15`: Open vSwitch's 32-bit registers, `reg0`..`reg15`. */
export type RegisterMatch = { [K in `reg${RegisterIndex}`]?: Masked<number> };

/**
 * An OpenFlow 1.3 match (the OXM fields of `ofp_match`). Field names follow the OXM
 * names of the spec in camelCase; Open vSwitch's extensions (NXM fields) follow OVS's
 * names. Prerequisites (e.g. `ipv4Src` needs `ethType` 0x0800) are the caller's job, as
 * on the wire; the flow-syntax parser checks them.
 */
export interface Match extends RegisterMatch {
  /**
   * `OXM_OF_PACKET_TYPE`: OVS's packet type, `namespace << 16 | type`: 0 is Ethernet (OVS
   * leaves it out of a match with an Ethernet-layer field), `0x10000 | ethertype` a packet
   * that starts with that protocol's header (`packet_type=(1,0x800)`), which implies the
   * EtherType for the fields that need one.
   */
  packetType?: number;
  /** `NXM_NX_RECIRC_ID`: the recirculation id (0 for packets not recirculated). */
  recircId?: number;
  /** `NXM_NX_CONJ_ID`: the id of the `conjunction` that matched. */
  conjId?: number;
  /** `ONFOXM_ET_ACTSET_OUTPUT`: the output port in the action set (0xfffffff7, `UNSET`: none yet). */
  actsetOutput?: number;
  /** `OXM_OF_IN_PORT`: ingress port number (reserved numbers such as `LOCAL` allowed). */
  inPort?: number;
  /** `OXM_OF_ETH_DST`: destination MAC, `aa:bb:cc:dd:ee:ff`. */
  ethDst?: Masked<string>;
  /** `OXM_OF_ETH_SRC`: source MAC. */
  ethSrc?: Masked<string>;
  /** `OXM_OF_ETH_TYPE`: EtherType, e.g. 0x0800. */
  ethType?: number;
  /**
   * `OXM_OF_VLAN_VID`: VLAN id with the {@link OFPVID_PRESENT} bit, as on the wire:
   * `0x1000 | 10` matches VLAN 10, `0` matches untagged packets,
   * `{ value: 0x1000, mask: 0x1000 }` matches any tagged packet.
   */
  vlanVid?: Masked<number>;
  /** `OXM_OF_VLAN_PCP`: VLAN priority 0..7 (needs a tagged `vlanVid`). */
  vlanPcp?: number;
  /** `OXM_OF_IP_DSCP`: the 6-bit DSCP (the TOS byte shifted right by 2). */
  ipDscp?: number;
  /** `OXM_OF_IP_PROTO`: IP protocol number (6 TCP, 17 UDP, 1 ICMP). */
  ipProto?: number;
  /** `OXM_OF_IPV4_SRC`: dotted-quad address. */
  ipv4Src?: Masked<string>;
  /** `OXM_OF_IPV4_DST`: dotted-quad address. */
  ipv4Dst?: Masked<string>;
  /** `OXM_OF_IPV6_SRC`: IPv6 address in any textual form (decoded in RFC 5952 form). */
  ipv6Src?: Masked<string>;
  /** `OXM_OF_IPV6_DST`: IPv6 address. */
  ipv6Dst?: Masked<string>;
  /** `OXM_OF_TCP_SRC`. */
  tcpSrc?: Masked<number>;
  /** `OXM_OF_TCP_DST`. */
  tcpDst?: Masked<number>;
  /** `OXM_OF_UDP_SRC`. */
  udpSrc?: Masked<number>;
  /** `OXM_OF_UDP_DST`. */
  udpDst?: Masked<number>;
  /** `OXM_OF_SCTP_SRC`. */
  sctpSrc?: Masked<number>;
  /** `OXM_OF_SCTP_DST`. */
  sctpDst?: Masked<number>;
  /** `OXM_OF_ICMPV4_TYPE`. */
  icmpv4Type?: number;
  /** `OXM_OF_ICMPV4_CODE`. */
  icmpv4Code?: number;
  /** `OXM_OF_ICMPV6_TYPE`. */
  icmpv6Type?: number;
  /** `OXM_OF_ICMPV6_CODE`. */
  icmpv6Code?: number;
  /** `OXM_OF_IPV6_ND_TARGET`: the target of an ND solicitation or advertisement (ICMPv6 type 135/136, code 0). */
  ndTarget?: Masked<string>;
  /** `OXM_OF_IPV6_ND_SLL`: the source link-layer address option of a solicitation (type 135). */
  ndSll?: Masked<string>;
  /** `OXM_OF_IPV6_ND_TLL`: the target link-layer address option of an advertisement (type 136). */
  ndTll?: Masked<string>;
  /** `OXM_OF_ARP_OP`. */
  arpOp?: number;
  /** `OXM_OF_ARP_SPA`: sender IPv4 address. */
  arpSpa?: Masked<string>;
  /** `OXM_OF_ARP_TPA`: target IPv4 address. */
  arpTpa?: Masked<string>;
  /** `OXM_OF_MPLS_LABEL`: the 20-bit label of the outermost MPLS header (needs `ethType` 0x8847/0x8848). */
  mplsLabel?: number;
  /** `OXM_OF_MPLS_TC`: its 3-bit traffic class. */
  mplsTc?: number;
  /** `OXM_OF_MPLS_BOS`: its bottom-of-stack bit. */
  mplsBos?: number;
  /** `NXM_NX_IP_FRAG`: bit 0 "is a fragment", bit 1 "is a later fragment" (as `ip_frag=` sets them). */
  ipFrag?: Masked<number>;
  /** `OXM_OF_IP_ECN`: the 2 ECN bits (`nw_ecn`). */
  ipEcn?: number;
  /** `NXM_NX_IP_TTL`: the IPv4 TTL or IPv6 hop limit (`nw_ttl`). */
  nwTtl?: number;
  /** `ONFOXM_ET_TCP_FLAGS`: the 12 TCP flag bits (FIN 0x001, SYN 0x002, RST 0x004, ACK 0x010, ...). */
  tcpFlags?: Masked<number>;
  /** `OXM_OF_TUNNEL_ID`: the tunnel key (`tun_id`). */
  tunnelId?: Masked<bigint>;
  /** `NXM_NX_TUN_IPV4_SRC`: the tunnel's outer IPv4 source (`tun_src`). */
  tunSrc?: Masked<string>;
  /** `NXM_NX_TUN_IPV6_SRC`: the tunnel's outer IPv6 source (`tun_ipv6_src`). */
  tunIpv6Src?: Masked<string>;
  /** `NXM_NX_TUN_IPV6_DST`: the tunnel's outer IPv6 destination (`tun_ipv6_dst`). */
  tunIpv6Dst?: Masked<string>;
  /** `NXOXM_ET_ERSPAN_IDX`: the ERSPAN v1 index (`tun_erspan_idx`, 20 bits); set only. */
  tunErspanIdx?: number;
  /** `NXOXM_ET_ERSPAN_VER`: the ERSPAN version (`tun_erspan_ver`); set only. */
  tunErspanVer?: number;
  /** `NXOXM_ET_ERSPAN_DIR`: the ERSPAN v2 direction (`tun_erspan_dir`); set only. */
  tunErspanDir?: number;
  /** `NXOXM_ET_ERSPAN_HWID`: the ERSPAN v2 hardware id (`tun_erspan_hwid`); set only. */
  tunErspanHwid?: number;
  /** `NXM_NX_TUN_IPV4_DST`: the tunnel's outer IPv4 destination (`tun_dst`). */
  tunDst?: Masked<string>;
  /** `NXM_NX_PKT_MARK`: the packet's mark (skb mark). */
  pktMark?: Masked<number>;
  /**
   * `NXM_NX_CT_STATE`: connection-tracking state bits (new 0x01, est 0x02, rel 0x04,
   * rpl 0x08, inv 0x10, trk 0x20, snat 0x40, dnat 0x80).
   */
  ctState?: Masked<number>;
  /** `NXM_NX_CT_ZONE`: the conntrack zone. */
  ctZone?: number;
  /** `NXM_NX_CT_MARK`: the connection's 32-bit mark. */
  ctMark?: Masked<number>;
  /** `NXM_NX_CT_LABEL`: the connection's 128-bit label. */
  ctLabel?: Masked<bigint>;
  /** `NXM_NX_CT_NW_SRC`: the IPv4 source of the connection's original direction (needs a valid `ctState`). */
  ctNwSrc?: Masked<string>;
  /** `NXM_NX_CT_IPV6_SRC`: the IPv6 source of the connection's original direction. */
  ctIpv6Src?: Masked<string>;
  /** `NXM_NX_CT_NW_DST`: the IPv4 destination of the connection's original direction. */
  ctNwDst?: Masked<string>;
  /** `NXM_NX_CT_IPV6_DST`: the IPv6 destination of the connection's original direction. */
  ctIpv6Dst?: Masked<string>;
  /** `NXM_NX_CT_NW_PROTO`: the IP protocol of the connection (OVS sends the ports only with a non-zero one). */
  ctNwProto?: number;
  /** `NXM_NX_CT_TP_SRC`: the transport source port of the original direction. */
  ctTpSrc?: Masked<number>;
  /** `NXM_NX_CT_TP_DST`: the transport destination port of the original direction. */
  ctTpDst?: Masked<number>;
  /** `NXM_NX_TUN_GBP_ID`: the VXLAN group policy id (`tun_gbp_id`). */
  tunGbpId?: Masked<number>;
  /** `NXM_NX_TUN_GBP_FLAGS`: the VXLAN group policy flags (`tun_gbp_flags`). */
  tunGbpFlags?: Masked<number>;
  /** `NXOXM_NSH_FLAGS`: the NSH base header's flags (needs `ethType` 0x894f, as all NSH fields). */
  nshFlags?: Masked<number>;
  /** `NXOXM_NSH_TTL`: the NSH header's 6-bit TTL. */
  nshTtl?: number;
  /** `NXOXM_NSH_MDTYPE`: the NSH metadata type (1: fixed-length context, 2: TLVs). */
  nshMdtype?: number;
  /** `NXOXM_NSH_NP`: the NSH next protocol. */
  nshNp?: number;
  /** `NXOXM_NSH_SPI`: the 24-bit service path identifier. */
  nshSpi?: number;
  /** `NXOXM_NSH_SI`: the service index. */
  nshSi?: number;
  /** `NXOXM_NSH_C1`: MD type 1 context header 1. */
  nshC1?: Masked<number>;
  /** `NXOXM_NSH_C2`: MD type 1 context header 2. */
  nshC2?: Masked<number>;
  /** `NXOXM_NSH_C3`: MD type 1 context header 3. */
  nshC3?: Masked<number>;
  /** `NXOXM_NSH_C4`: MD type 1 context header 4. */
  nshC4?: Masked<number>;
  /** `OXM_OF_METADATA`: the 64-bit pipeline metadata register. */
  metadata?: Masked<bigint>;
  /**
   * `NXM_NX_TUN_METADATA<n>` (`tun_metadataN`): tunnel option bytes the switch's TLV table
   * maps (`tlvTableMod`), in index order; each as long as it is on the wire.
   */
  tunMetadata?: TunMetadataField[];
  /**
   * OXM fields this SDK does not model, kept verbatim when decoding a switch's reply so
   * that they can be shown and sent back. Encoded after the modelled fields.
   */
  otherFields?: RawOxmField[];
}

/** The EtherType a packet type of the EtherType namespace (`packet_type=(1,TYPE)`) stands for; undefined for others. */
export function impliedEthType(match: Match): number | undefined {
  const packetType = match.packetType;
  return packetType !== undefined && packetType >>> 16 === 1 ? packetType & 0xffff : undefined;
}

/** An OXM TLV this SDK does not model, as found on the wire. */
export interface RawOxmField {
  /** The OXM class, e.g. 0x8000 (`OFPXMC_OPENFLOW_BASIC`) or 0x0001 (`NXM_1`). */
  oxmClass: number;
  /** The field number within the class. */
  field: number;
  /** The value bytes. */
  value: Buffer;
  /** The mask bytes when the TLV has `hasmask` set. */
  mask?: Buffer;
}

/** The names of the modelled {@link Match} fields, in OVS's canonical encoding order. */
export type MatchFieldName = Exclude<keyof Match, 'otherFields' | 'tunMetadata'>;

const OFPMT_OXM = 1;

const knownKeys: readonly (keyof Match)[] = [...specByName.keys(), 'otherFields', 'tunMetadata'];
const uint64Max = 0xffffffffffffffffn;
const uint128Max = (1n << 128n) - 1n;

/** The wire bytes of one value or mask; `name` is how a refusal calls it (`vlanVid.mask`). */
function valueBytes(spec: FieldSpec, value: unknown, name: string): Buffer {
  const operation = 'encodeMatch';
  const width = kindWidth[spec.kind];
  switch (spec.kind) {
    case 'mac': {
      const bytes = tryParseMac(value);
      return bytes
        ? Buffer.from(bytes)
        : invalidArgument(operation, `${name} must be a MAC address like 00:00:00:00:00:01, got ${describe(value)}`);
    }
    case 'ipv4': {
      const address = tryParseIpv4(value);
      if (address === undefined) {
        invalidArgument(operation, `${name} must be a dotted IPv4 address such as 10.0.0.1, got ${describe(value)}`);
      }
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(address);
      return bytes;
    }
    case 'ipv6': {
      const bytes = tryParseIpv6(value);
      return bytes
        ? Buffer.from(bytes)
        : invalidArgument(operation, `${name} must be an IPv6 address such as 2001:db8::1, got ${describe(value)}`);
    }
    case 'u64': {
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(checkBigInt(operation, name, value, 0n, uint64Max));
      return bytes;
    }
    case 'u128': {
      const wide = checkBigInt(operation, name, value, 0n, uint128Max);
      const bytes = Buffer.alloc(16);
      bytes.writeBigUInt64BE(wide >> 64n, 0);
      bytes.writeBigUInt64BE(wide & uint64Max, 8);
      return bytes;
    }
    default: {
      const bytes = Buffer.alloc(width);
      bytes.writeUIntBE(checkInteger(operation, name, value, 0, fieldMax(spec.name)), 0, width);
      return bytes;
    }
  }
}

function isMaskedObject(value: unknown): value is { value: unknown; mask: unknown } {
  return typeof value === 'object' && value !== null && 'value' in value && 'mask' in value;
}

/**
 * Encodes one OXM TLV, or nothing when the mask is all zeros (a wildcard). A mask of all
 * ones becomes an exact match and the value is ANDed with the mask, as OVS does, so
 * that equal matches have equal encodings.
 */
function encodeField(spec: FieldSpec, fieldValue: unknown): Buffer | undefined {
  let value: Buffer;
  let mask: Buffer | undefined;
  if (isMaskedObject(fieldValue)) {
    if (!spec.maskable) {
      return invalidArgument('encodeMatch', `match field ${spec.name} cannot be masked; give a plain value`);
    }
    value = valueBytes(spec, fieldValue.value, `${spec.name}.value`);
    mask = valueBytes(spec, fieldValue.mask, `${spec.name}.mask`);
    if (mask.every((byte) => byte === 0)) {
      return undefined;
    }
    const fullMask = spec.max === undefined ? undefined : valueBytes(spec, spec.max, `${spec.name}.mask`);
    if (fullMask ? mask.equals(fullMask) : mask.every((byte) => byte === 0xff)) {
      mask = undefined;
    } else {
      for (let i = 0; i < value.length; i++) {
        value[i] = value[i]! & mask[i]!;
      }
    }
  } else {
    value = valueBytes(spec, fieldValue, spec.name);
  }
  return rawOxm(spec.oxmClass ?? OFPXMC_OPENFLOW_BASIC, spec.oxmField, value, mask, spec.experimenter);
}

/** One OXM TLV; an experimenter field's value starts with its 32-bit experimenter id, counted in the length. */
function rawOxm(oxmClass: number, field: number, value: Buffer, mask?: Buffer, experimenter?: number): Buffer {
  const prefix = experimenter === undefined ? 4 : 8;
  const header = Buffer.alloc(prefix);
  header.writeUInt16BE(oxmClass, 0);
  header.writeUInt8((field << 1) | (mask ? 1 : 0), 2);
  header.writeUInt8(prefix - 4 + value.length + (mask?.length ?? 0), 3);
  if (experimenter !== undefined) {
    header.writeUInt32BE(experimenter, 4);
  }
  return Buffer.concat(mask ? [header, value, mask] : [header, value]);
}

/** Encodes the OXM TLVs of a match (no `ofp_match` header), in OVS's order. */
export function encodeOxmFields(match: Match): Buffer {
  checkOptions<Match>('encodeMatch', match, knownKeys);
  const tlvs: Buffer[] = [];
  for (const spec of fieldSpecs) {
    if (spec.name === 'tunErspanIdx') {
      // OVS puts the tunnel metadata after the other tunnel fields, before ERSPAN's.
      tlvs.push(...encodeTunMetadataFields(match.tunMetadata));
    }
    const fieldValue = match[spec.name];
    if (fieldValue === undefined) {
      continue;
    }
    const tlv = encodeField(spec, fieldValue);
    if (tlv) {
      tlvs.push(tlv);
    }
  }
  for (const other of match.otherFields ?? []) {
    tlvs.push(rawOxm(other.oxmClass, other.field, other.value, other.mask));
  }
  return Buffer.concat(tlvs);
}

/** Encodes a whole `ofp_match` (type OXM, length, fields, padding to 8 bytes). */
export function encodeMatch(match: Match): Buffer {
  const fields = encodeOxmFields(match);
  const length = 4 + fields.length;
  const padded = Buffer.alloc((length + 7) & ~7);
  padded.writeUInt16BE(OFPMT_OXM, 0);
  padded.writeUInt16BE(length, 2);
  fields.copy(padded, 4);
  return padded;
}

function decodeError(message: string): never {
  throw new DpdkError(message, { code: 'EPROTO', operation: 'decodeMatch' });
}

function fieldValueFromBytes(spec: FieldSpec, bytes: Buffer): string | number | bigint {
  switch (spec.kind) {
    case 'mac':
      return formatMac(bytes);
    case 'ipv4':
      return formatIpv4(bytes.readUInt32BE(0));
    case 'ipv6':
      return formatIpv6(bytes);
    case 'u64':
      return bytes.readBigUInt64BE(0);
    case 'u128':
      return (bytes.readBigUInt64BE(0) << 64n) | bytes.readBigUInt64BE(8);
    default:
      return bytes.readUIntBE(0, bytes.length);
  }
}

/**
 * Decodes the `ofp_match` at `offset` of `buffer`. Returns the match and the padded
 * length it occupies. Throws `EPROTO` on a malformed match.
 */
export function decodeMatch(buffer: Buffer, offset: number): { match: Match; paddedLength: number } {
  if (buffer.length - offset < 4) {
    decodeError(`ofp_match truncated: ${buffer.length - offset} bytes left, need at least 4`);
  }
  const type = buffer.readUInt16BE(offset);
  const length = buffer.readUInt16BE(offset + 2);
  if (type !== OFPMT_OXM) {
    decodeError(`ofp_match type ${type} is not OFPMT_OXM (1)`);
  }
  const paddedLength = (length + 7) & ~7;
  if (length < 4 || offset + paddedLength > buffer.length) {
    decodeError(`ofp_match length ${length} does not fit in the ${buffer.length - offset} bytes left`);
  }
  const match = decodeOxmFields(buffer, offset + 4, offset + length);
  return { match, paddedLength };
}

/**
 * Decodes the OXM TLVs in `buffer[start, end)` into a {@link Match}; unmodelled fields
 * land in `otherFields`. Throws `EPROTO` on a malformed TLV.
 */
export function decodeOxmFields(buffer: Buffer, start: number, end: number): Match {
  const match: Match = {};
  const writable = match as Record<string, unknown>;
  let position = start;
  while (position < end) {
    if (end - position < 4) {
      decodeError(`OXM TLV header truncated at match offset ${position - start}`);
    }
    const oxmClass = buffer.readUInt16BE(position);
    const fieldAndMask = buffer.readUInt8(position + 2);
    const payloadLength = buffer.readUInt8(position + 3);
    const field = fieldAndMask >> 1;
    const hasMask = (fieldAndMask & 1) === 1;
    if (position + 4 + payloadLength > end) {
      decodeError(
        `OXM TLV (class 0x${oxmClass.toString(16)}, field ${field}) length ${payloadLength} overruns the match`,
      );
    }
    let payload = buffer.subarray(position + 4, position + 4 + payloadLength);
    position += 4 + payloadLength;
    let experimenter: number | undefined;
    if (oxmClass === OFPXMC_EXPERIMENTER && payload.length >= 4) {
      experimenter = payload.readUInt32BE(0);
      payload = payload.subarray(4);
    }
    const tunMetadata = decodeTunMetadataField(oxmClass, field, hasMask, payload);
    if (tunMetadata) {
      (match.tunMetadata ??= []).push(tunMetadata);
      continue;
    }
    const spec = specByOxmField.get(oxmKey(oxmClass, field, experimenter));
    const width = spec ? kindWidth[spec.kind] : 0;
    if (spec && payload.length === (hasMask ? 2 * width : width)) {
      const value = fieldValueFromBytes(spec, payload.subarray(0, width));
      writable[spec.name] = hasMask ? { value, mask: fieldValueFromBytes(spec, payload.subarray(width)) } : value;
    } else {
      const raw = buffer.subarray(position - payloadLength, position);
      const half = hasMask ? payloadLength / 2 : payloadLength;
      const other: RawOxmField = { oxmClass, field, value: Buffer.from(raw.subarray(0, half)) };
      if (hasMask) {
        other.mask = Buffer.from(raw.subarray(half));
      }
      (match.otherFields ??= []).push(other);
    }
  }
  return match;
}

/** The value and mask of a masked field, the mask being undefined for an exact match. */
export function splitMasked<T>(field: Masked<T>): { value: T; mask: T | undefined } {
  return isMaskedObject(field) ? { value: field.value as T, mask: field.mask as T } : { value: field, mask: undefined };
}

/** The OVS name (as in `ovs-fields(7)` and `set_field:...->NAME`) of each modelled field. */
export const ovsFieldNames: Readonly<Record<MatchFieldName, string>> = {
  ...(Object.fromEntries(Array.from({ length: 16 }, (_, index) => [`reg${index}`, `reg${index}`])) as Record<
    keyof RegisterMatch,
    string
  >),
  recircId: 'recirc_id',
  conjId: 'conj_id',
  actsetOutput: 'actset_output',
  mplsLabel: 'mpls_label',
  mplsTc: 'mpls_tc',
  mplsBos: 'mpls_bos',
  ipFrag: 'ip_frag',
  ipEcn: 'nw_ecn',
  nwTtl: 'nw_ttl',
  tcpFlags: 'tcp_flags',
  tunnelId: 'tun_id',
  tunSrc: 'tun_src',
  tunIpv6Src: 'tun_ipv6_src',
  tunIpv6Dst: 'tun_ipv6_dst',
  tunErspanIdx: 'tun_erspan_idx',
  tunErspanVer: 'tun_erspan_ver',
  tunErspanDir: 'tun_erspan_dir',
  tunErspanHwid: 'tun_erspan_hwid',
  tunDst: 'tun_dst',
  pktMark: 'pkt_mark',
  ctState: 'ct_state',
  ctZone: 'ct_zone',
  ctMark: 'ct_mark',
  ctLabel: 'ct_label',
  ctNwSrc: 'ct_nw_src',
  ctIpv6Src: 'ct_ipv6_src',
  ctNwDst: 'ct_nw_dst',
  ctIpv6Dst: 'ct_ipv6_dst',
  ctNwProto: 'ct_nw_proto',
  ctTpSrc: 'ct_tp_src',
  ctTpDst: 'ct_tp_dst',
  tunGbpId: 'tun_gbp_id',
  tunGbpFlags: 'tun_gbp_flags',
  inPort: 'in_port',
  ethDst: 'eth_dst',
  ethSrc: 'eth_src',
  ethType: 'eth_type',
  vlanVid: 'vlan_vid',
  vlanPcp: 'vlan_pcp',
  ipDscp: 'ip_dscp',
  ipProto: 'nw_proto',
  ipv4Src: 'ip_src',
  ipv4Dst: 'ip_dst',
  ipv6Src: 'ipv6_src',
  ipv6Dst: 'ipv6_dst',
  tcpSrc: 'tcp_src',
  tcpDst: 'tcp_dst',
  udpSrc: 'udp_src',
  sctpSrc: 'sctp_src',
  sctpDst: 'sctp_dst',
  udpDst: 'udp_dst',
  icmpv4Type: 'icmp_type',
  icmpv4Code: 'icmp_code',
  icmpv6Type: 'icmpv6_type',
  icmpv6Code: 'icmpv6_code',
  ndTarget: 'nd_target',
  ndSll: 'nd_sll',
  ndTll: 'nd_tll',
  arpOp: 'arp_op',
  arpSpa: 'arp_spa',
  arpTpa: 'arp_tpa',
  metadata: 'metadata',
  packetType: 'packet_type',
  nshFlags: 'nsh_flags',
  nshTtl: 'nsh_ttl',
  nshMdtype: 'nsh_mdtype',
  nshNp: 'nsh_np',
  nshSpi: 'nsh_spi',
  nshSi: 'nsh_si',
  nshC1: 'nsh_c1',
  nshC2: 'nsh_c2',
  nshC3: 'nsh_c3',
  nshC4: 'nsh_c4',
};
