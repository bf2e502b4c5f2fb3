import { DpdkError, invalidArgument } from '../../errors.js';

/**
 * A field value with an optional mask: a plain value matches exactly; `{ value, mask }`
 * matches the bits set in `mask` (OXM `hasmask`).
 */
export type Masked<T> = T | { value: T; mask: T };

/** The OpenFlow 1.3 `OFPVID_PRESENT` bit of an OXM `vlan_vid` value: "a VLAN tag is present". */
export const OFPVID_PRESENT = 0x1000;

/**
 * An OpenFlow 1.3 match (the OXM fields of `ofp_match`). Field names follow the OXM
 * names of the spec in camelCase. Prerequisites (e.g. `ipv4Src` needs `ethType` 0x0800)
 * are the caller's job, as on the wire; the flow-syntax parser checks them.
 */
export interface Match {
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
  /** `OXM_OF_ICMPV4_TYPE`. */
  icmpv4Type?: number;
  /** `OXM_OF_ICMPV4_CODE`. */
  icmpv4Code?: number;
  /** `OXM_OF_ICMPV6_TYPE`. */
  icmpv6Type?: number;
  /** `OXM_OF_ICMPV6_CODE`. */
  icmpv6Code?: number;
  /** `OXM_OF_ARP_OP`. */
  arpOp?: number;
  /** `OXM_OF_ARP_SPA`: sender IPv4 address. */
  arpSpa?: Masked<string>;
  /** `OXM_OF_ARP_TPA`: target IPv4 address. */
  arpTpa?: Masked<string>;
  /** `OXM_OF_METADATA`: the 64-bit pipeline metadata register. */
  metadata?: Masked<bigint>;
  /**
   * OXM fields this SDK does not model, kept verbatim when decoding a switch's reply so
   * that they can be shown and sent back. Encoded after the modelled fields.
   */
  otherFields?: RawOxmField[];
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
export type MatchFieldName = Exclude<keyof Match, 'otherFields'>;

const OFPXMC_OPENFLOW_BASIC = 0x8000;
const OFPMT_OXM = 1;

type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';

interface FieldSpec {
  readonly name: MatchFieldName;
  readonly oxmField: number;
  readonly kind: FieldKind;
  readonly maskable: boolean;
  /** Largest value for integer fields narrower than their byte width. */
  readonly max?: number;
}

/**
 * The modelled OXM fields, in the order `ovs-ofctl` puts them on the wire (so that our
 * encodings are byte-for-byte comparable): metadata-like port first, then L2, VLAN,
 * L3 and L4, ARP, and `metadata` last.
 */
const FIELD_SPECS: readonly FieldSpec[] = [
  { name: 'inPort', oxmField: 0, kind: 'u32', maskable: false },
  { name: 'ethSrc', oxmField: 4, kind: 'mac', maskable: true },
  { name: 'ethDst', oxmField: 3, kind: 'mac', maskable: true },
  { name: 'ethType', oxmField: 5, kind: 'u16', maskable: false },
  { name: 'vlanVid', oxmField: 6, kind: 'u16', maskable: true, max: 0x1fff },
  { name: 'vlanPcp', oxmField: 7, kind: 'u8', maskable: false, max: 7 },
  { name: 'ipv4Src', oxmField: 11, kind: 'ipv4', maskable: true },
  { name: 'ipv4Dst', oxmField: 12, kind: 'ipv4', maskable: true },
  { name: 'ipv6Src', oxmField: 26, kind: 'ipv6', maskable: true },
  { name: 'ipv6Dst', oxmField: 27, kind: 'ipv6', maskable: true },
  { name: 'ipDscp', oxmField: 8, kind: 'u8', maskable: false, max: 63 },
  { name: 'ipProto', oxmField: 10, kind: 'u8', maskable: false },
  { name: 'tcpSrc', oxmField: 13, kind: 'u16', maskable: true },
  { name: 'tcpDst', oxmField: 14, kind: 'u16', maskable: true },
  { name: 'udpSrc', oxmField: 15, kind: 'u16', maskable: true },
  { name: 'udpDst', oxmField: 16, kind: 'u16', maskable: true },
  { name: 'icmpv4Type', oxmField: 19, kind: 'u8', maskable: false },
  { name: 'icmpv4Code', oxmField: 20, kind: 'u8', maskable: false },
  { name: 'icmpv6Type', oxmField: 29, kind: 'u8', maskable: false },
  { name: 'icmpv6Code', oxmField: 30, kind: 'u8', maskable: false },
  { name: 'arpOp', oxmField: 21, kind: 'u16', maskable: false },
  { name: 'arpSpa', oxmField: 22, kind: 'ipv4', maskable: true },
  { name: 'arpTpa', oxmField: 23, kind: 'ipv4', maskable: true },
  { name: 'metadata', oxmField: 2, kind: 'u64', maskable: true },
];

const SPEC_BY_OXM_FIELD = new Map(FIELD_SPECS.map((spec) => [spec.oxmField, spec]));
const SPEC_BY_NAME = new Map(FIELD_SPECS.map((spec) => [spec.name, spec]));
const KNOWN_KEYS = new Set<string>([...SPEC_BY_NAME.keys(), 'otherFields']);

const KIND_WIDTH: Record<FieldKind, number> = { u8: 1, u16: 2, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated) into 6 bytes; undefined when malformed. */
export function parseMac(text: string): Buffer | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((part) => /^[0-9a-fA-F]{1,2}$/.test(part))) {
    return undefined;
  }
  return Buffer.from(parts.map((part) => parseInt(part, 16)));
}

/** Formats 6 bytes as lower-case `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/** Parses a dotted-quad IPv4 address into 4 bytes; undefined when malformed. */
export function parseIpv4(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) {
    return undefined;
  }
  return Buffer.from(parts.map(Number));
}

/** Formats 4 bytes as a dotted quad. */
export function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes).join('.');
}

/**
 * Parses an IPv6 address (with `::` compression and an optional trailing dotted quad)
 * into 16 bytes; undefined when malformed.
 */
export function parseIpv6(text: string): Buffer | undefined {
  let head = text;
  let tail: number[] = [];
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const ipv4 = parseIpv4(quad[2]!);
    if (!ipv4) {
      return undefined;
    }
    head = quad[1]!.endsWith('::') ? quad[1]! : quad[1]!.slice(0, -1);
    tail = [ipv4.readUInt16BE(0), ipv4.readUInt16BE(2)];
  }
  const halves = head.split('::');
  if (halves.length > 2) {
    return undefined;
  }
  const toWords = (part: string): number[] | undefined => {
    if (part === '') {
      return [];
    }
    const words = part.split(':');
    return words.every((word) => /^[0-9a-fA-F]{1,4}$/.test(word)) ? words.map((word) => parseInt(word, 16)) : undefined;
  };
  const left = toWords(halves[0]!);
  const right = halves.length === 2 ? toWords(halves[1]!) : [];
  if (!left || !right) {
    return undefined;
  }
  const given = left.length + right.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) {
    return undefined;
  }
  const words = [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail];
  const bytes = Buffer.alloc(16);
  words.forEach((word, index) => bytes.writeUInt16BE(word, index * 2));
  return bytes;
}

/**
 * Formats 16 bytes as an IPv6 address the way `inet_ntop` (and so `ovs-ofctl`) does:
 * lower-case, the longest run of two or more zero words compressed to `::`, and
 * IPv4-mapped or -compatible addresses ending in a dotted quad.
 */
export function formatIpv6(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes);
  const words = Array.from({ length: 8 }, (_, index) => buffer.readUInt16BE(index * 2));
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; ) {
    if (words[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && words[end] === 0) {
      end++;
    }
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  if (bestLength < 2) {
    bestStart = -1;
  }
  const embedsIpv4 = bestStart === 0 && (bestLength === 6 || (bestLength === 7 && words[7] !== 1) || (bestLength === 5 && words[5] === 0xffff));
  const lastWord = embedsIpv4 ? 6 : 8;
  let text = '';
  for (let index = 0; index < lastWord; index++) {
    if (index === bestStart) {
      text += '::';
      index += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) {
      text += ':';
    }
    text += words[index]!.toString(16);
  }
  if (embedsIpv4) {
    text += `${text.endsWith(':') ? '' : ':'}${formatIpv4(buffer.subarray(12))}`;
  }
  return text;
}

function matchError(message: string): never {
  return invalidArgument('encodeMatch', message);
}

function valueBytes(spec: FieldSpec, value: unknown, role: 'value' | 'mask'): Buffer {
  const what = `match field ${spec.name} ${role}`;
  const width = KIND_WIDTH[spec.kind];
  switch (spec.kind) {
    case 'mac': {
      const bytes = typeof value === 'string' ? parseMac(value) : undefined;
      return bytes ?? matchError(`${what} ${JSON.stringify(value)} is not a MAC address; expected aa:bb:cc:dd:ee:ff`);
    }
    case 'ipv4': {
      const bytes = typeof value === 'string' ? parseIpv4(value) : undefined;
      return bytes ?? matchError(`${what} ${JSON.stringify(value)} is not an IPv4 address; expected a dotted quad such as 10.0.0.1`);
    }
    case 'ipv6': {
      const bytes = typeof value === 'string' ? parseIpv6(value) : undefined;
      return bytes ?? matchError(`${what} ${JSON.stringify(value)} is not an IPv6 address; expected e.g. 2001:db8::1`);
    }
    case 'u64': {
      if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) {
        return matchError(`${what} ${String(value)} is not a 64-bit unsigned bigint`);
      }
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(value);
      return bytes;
    }
    default: {
      const max = spec.max ?? 2 ** (8 * width) - 1;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
        return matchError(`${what} ${String(value)} is out of range; expected an integer 0..${max}`);
      }
      const bytes = Buffer.alloc(width);
      bytes.writeUIntBE(value, 0, width);
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
      return matchError(`match field ${spec.name} cannot be masked; give a plain value`);
    }
    value = valueBytes(spec, fieldValue.value, 'value');
    mask = valueBytes(spec, fieldValue.mask, 'mask');
    if (mask.every((byte) => byte === 0)) {
      return undefined;
    }
    const fullMask = spec.max === undefined ? undefined : valueBytes(spec, spec.max, 'mask');
    if (fullMask ? mask.equals(fullMask) : mask.every((byte) => byte === 0xff)) {
      mask = undefined;
    } else {
      for (let i = 0; i < value.length; i++) {
        value[i] = value[i]! & mask[i]!;
      }
    }
  } else {
    value = valueBytes(spec, fieldValue, 'value');
  }
  return rawOxm(OFPXMC_OPENFLOW_BASIC, spec.oxmField, value, mask);
}

function rawOxm(oxmClass: number, field: number, value: Buffer, mask?: Buffer): Buffer {
  const payloadLength = value.length + (mask?.length ?? 0);
  const header = Buffer.alloc(4);
  header.writeUInt16BE(oxmClass, 0);
  header.writeUInt8((field << 1) | (mask ? 1 : 0), 2);
  header.writeUInt8(payloadLength, 3);
  return Buffer.concat(mask ? [header, value, mask] : [header, value]);
}

/** Encodes the OXM TLVs of a match (no `ofp_match` header), in OVS's order. */
export function encodeOxmFields(match: Match): Buffer {
  for (const key of Object.keys(match)) {
    if (!KNOWN_KEYS.has(key)) {
      matchError(`unknown match field "${key}"; expected one of ${[...KNOWN_KEYS].join(', ')}`);
    }
  }
  const tlvs: Buffer[] = [];
  for (const spec of FIELD_SPECS) {
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
      return formatIpv4(bytes);
    case 'ipv6':
      return formatIpv6(bytes);
    case 'u64':
      return bytes.readBigUInt64BE(0);
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
      decodeError(`OXM TLV (class 0x${oxmClass.toString(16)}, field ${field}) length ${payloadLength} overruns the match`);
    }
    const payload = buffer.subarray(position + 4, position + 4 + payloadLength);
    position += 4 + payloadLength;
    const spec = oxmClass === OFPXMC_OPENFLOW_BASIC ? SPEC_BY_OXM_FIELD.get(field) : undefined;
    const width = spec ? KIND_WIDTH[spec.kind] : 0;
    if (spec && payloadLength === (hasMask ? 2 * width : width)) {
      const value = fieldValueFromBytes(spec, payload.subarray(0, width));
      writable[spec.name] = hasMask
        ? { value, mask: fieldValueFromBytes(spec, payload.subarray(width)) }
        : value;
    } else {
      const half = hasMask ? payloadLength / 2 : payloadLength;
      const other: RawOxmField = { oxmClass, field, value: Buffer.from(payload.subarray(0, half)) };
      if (hasMask) {
        other.mask = Buffer.from(payload.subarray(half));
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
export const OVS_FIELD_NAMES: Readonly<Record<MatchFieldName, string>> = {
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
  udpDst: 'udp_dst',
  icmpv4Type: 'icmp_type',
  icmpv4Code: 'icmp_code',
  icmpv6Type: 'icmpv6_type',
  icmpv6Code: 'icmpv6_code',
  arpOp: 'arp_op',
  arpSpa: 'arp_spa',
  arpTpa: 'arp_tpa',
  metadata: 'metadata',
};
