/**
 * NXM/OXM field headers as Open vSwitch's actions name them (`load:V->NXM_NX_REG0[0..3]`,
 * `move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]`, `output:NXM_NX_REG1[0..15]`, `ct(zone=...)`):
 * the 32-bit header of each field, its width, its names, and the `NAME[a..b]` syntax.
 */
import { invalidArgument } from '../../errors.js';
import { laterFragment } from './action-prerequisites.js';
import type { Match } from './match.js';
import { NXOXM_NSH_EXPERIMENTER_ID } from './oxm-fields.js';

/** A bit range of a field: `NXM_NX_REG0[0..15]` is `{ field: 'NXM_NX_REG0', offset: 0, bits: 16 }`. */
export interface FieldRef {
  /** The field's NXM or OXM name, e.g. `NXM_NX_REG0`, `OXM_OF_METADATA`. */
  field: string;
  /** The first bit, counted from the least significant. */
  offset: number;
  /** The number of bits. */
  bits: number;
}

/** One field actions may name. */
interface NxmField {
  /** The NXM/OXM name, as `ovs-ofctl` prints it. */
  name: string;
  /** The 32-bit header (class, field, mask bit 0, length), as OVS sends it for OpenFlow 1.0-style actions. */
  header: number;
  /** The field's width in bits. */
  width: number;
  /** The name of `ovs-fields(7)`, also accepted (`reg0`, `eth_dst`, `tun_id`). */
  shortName?: string;
  /** The protocol the match must name for actions to read or write the field. */
  needs?: { what: string; ok: (match: Match) => boolean };
  /** Refused as a destination (`ovs-ofctl`: "is read-only"). */
  readOnly?: boolean;
  /** The experimenter id of an experimenter OXM field, whose 64-bit header is `header` then this id. */
  experimenter?: number;
}

const isIpv4 = { what: 'ip', ok: (match: Match) => match.ethType === 0x0800 };
const isIpv6 = { what: 'ipv6', ok: (match: Match) => match.ethType === 0x86dd };
const isIp = { what: 'ip', ok: (match: Match) => match.ethType === 0x0800 || match.ethType === 0x86dd };
const isArp = { what: 'arp', ok: (match: Match) => match.ethType === 0x0806 || match.ethType === 0x8035 };
// Later fragments have no transport header: OVS refuses their ports as it would without tcp/udp.
const isTcp = { what: 'tcp', ok: (match: Match) => isIp.ok(match) && match.ipProto === 6 && !laterFragment(match) };
const isMpls = { what: 'mpls', ok: (match: Match) => match.ethType === 0x8847 || match.ethType === 0x8848 };
const isNsh = { what: 'dl_type=0x894f', ok: (match: Match) => match.ethType === 0x894f };
const isUdp = { what: 'udp', ok: (match: Match) => isIp.ok(match) && match.ipProto === 17 && !laterFragment(match) };

function header(oxmClass: number, field: number, bytes: number): number {
  return ((oxmClass << 16) | (field << 9) | bytes) >>> 0;
}

const nxmFields: NxmField[] = [
  { name: 'NXM_OF_IN_PORT', header: header(0, 0, 2), width: 16, shortName: 'in_port' },
  { name: 'NXM_OF_ETH_DST', header: header(0, 1, 6), width: 48, shortName: 'eth_dst' },
  { name: 'NXM_OF_ETH_SRC', header: header(0, 2, 6), width: 48, shortName: 'eth_src' },
  { name: 'NXM_OF_ETH_TYPE', header: header(0, 3, 2), width: 16, shortName: 'eth_type', readOnly: true },
  { name: 'NXM_OF_VLAN_TCI', header: header(0, 4, 2), width: 16, shortName: 'vlan_tci' },
  { name: 'NXM_OF_IP_TOS', header: header(0, 5, 1), width: 8, shortName: 'nw_tos', needs: isIp },
  { name: 'NXM_OF_IP_PROTO', header: header(0, 6, 1), width: 8, shortName: 'nw_proto', needs: isIp, readOnly: true },
  { name: 'NXM_OF_IP_SRC', header: header(0, 7, 4), width: 32, shortName: 'ip_src', needs: isIpv4 },
  { name: 'NXM_OF_IP_DST', header: header(0, 8, 4), width: 32, shortName: 'ip_dst', needs: isIpv4 },
  { name: 'NXM_OF_TCP_SRC', header: header(0, 9, 2), width: 16, shortName: 'tcp_src', needs: isTcp },
  { name: 'NXM_OF_TCP_DST', header: header(0, 10, 2), width: 16, shortName: 'tcp_dst', needs: isTcp },
  { name: 'NXM_OF_UDP_SRC', header: header(0, 11, 2), width: 16, shortName: 'udp_src', needs: isUdp },
  { name: 'NXM_OF_UDP_DST', header: header(0, 12, 2), width: 16, shortName: 'udp_dst', needs: isUdp },
  { name: 'NXM_OF_ARP_OP', header: header(0, 15, 2), width: 16, shortName: 'arp_op', needs: isArp },
  { name: 'NXM_OF_ARP_SPA', header: header(0, 16, 4), width: 32, shortName: 'arp_spa', needs: isArp },
  { name: 'NXM_OF_ARP_TPA', header: header(0, 17, 4), width: 32, shortName: 'arp_tpa', needs: isArp },
  ...Array.from({ length: 16 }, (_, index) => ({
    name: `NXM_NX_REG${index}`,
    header: header(1, index, 4),
    width: 32,
    shortName: `reg${index}`,
  })),
  { name: 'NXM_NX_TUN_ID', header: header(1, 16, 8), width: 64, shortName: 'tun_id' },
  { name: 'NXM_NX_ARP_SHA', header: header(1, 17, 6), width: 48, shortName: 'arp_sha', needs: isArp },
  { name: 'NXM_NX_ARP_THA', header: header(1, 18, 6), width: 48, shortName: 'arp_tha', needs: isArp },
  { name: 'NXM_NX_IPV6_SRC', header: header(1, 19, 16), width: 128, shortName: 'ipv6_src', needs: isIpv6 },
  { name: 'NXM_NX_IPV6_DST', header: header(1, 20, 16), width: 128, shortName: 'ipv6_dst', needs: isIpv6 },
  { name: 'NXM_NX_IP_TTL', header: header(1, 29, 1), width: 8, shortName: 'nw_ttl', needs: isIp },
  { name: 'NXM_NX_PKT_MARK', header: header(1, 33, 4), width: 32, shortName: 'pkt_mark' },
  { name: 'NXM_NX_CT_STATE', header: header(1, 105, 4), width: 32, shortName: 'ct_state', readOnly: true },
  { name: 'NXM_NX_CT_ZONE', header: header(1, 106, 2), width: 16, shortName: 'ct_zone', readOnly: true },
  { name: 'NXM_NX_CT_MARK', header: header(1, 107, 4), width: 32, shortName: 'ct_mark' },
  { name: 'NXM_NX_CT_LABEL', header: header(1, 108, 16), width: 128, shortName: 'ct_label' },
  ...Array.from({ length: 4 }, (_, index) => ({
    name: `NXM_NX_XXREG${index}`,
    header: header(1, 111 + index, 16),
    width: 128,
    shortName: `xxreg${index}`,
  })),
  // Up to 124 bytes, variable-length: the header names the whole width (OVS's NXM_NX_TUN_METADATA<n>).
  ...Array.from({ length: 64 }, (_, index) => ({
    name: `NXM_NX_TUN_METADATA${index}`,
    header: header(1, 40 + index, 124),
    width: 992,
    shortName: `tun_metadata${index}`,
  })),
  { name: 'OXM_OF_METADATA', header: header(0x8000, 2, 8), width: 64, shortName: 'metadata' },
  // OpenFlow 1.2+ fields NXM never named: OVS prints and encodes their OXM names.
  { name: 'OXM_OF_VLAN_VID', header: header(0x8000, 6, 2), width: 12, shortName: 'vlan_vid' },
  { name: 'OXM_OF_MPLS_LABEL', header: header(0x8000, 34, 4), width: 20, shortName: 'mpls_label', needs: isMpls },
  { name: 'OXM_OF_MPLS_TC', header: header(0x8000, 35, 1), width: 3, shortName: 'mpls_tc', needs: isMpls },
  {
    name: 'OXM_OF_MPLS_BOS',
    header: header(0x8000, 36, 1),
    width: 1,
    shortName: 'mpls_bos',
    needs: isMpls,
    readOnly: true,
  },
  // NSH: experimenter OXM fields (64-bit headers), written with NXAST_REG_LOAD2 as OVS writes them.
  ...(
    [
      ['FLAGS', 1, 1, 8],
      ['MDTYPE', 2, 1, 8],
      ['NP', 3, 1, 8],
      ['SPI', 4, 4, 24],
      ['SI', 5, 1, 8],
      ['C1', 6, 4, 32],
      ['C2', 7, 4, 32],
      ['C3', 8, 4, 32],
      ['C4', 9, 4, 32],
      ['TTL', 10, 1, 8],
    ] as const
  ).map(([name, field, bytes, width]) => ({
    name: `NXOXM_NSH_${name}`,
    header: header(0xffff, field, 4 + bytes),
    width,
    shortName: `nsh_${name.toLowerCase()}`,
    needs: isNsh,
    readOnly: name === 'MDTYPE' || name === 'NP',
    experimenter: NXOXM_NSH_EXPERIMENTER_ID,
  })),
  ...Array.from({ length: 8 }, (_, index) => ({
    name: `OXM_OF_PKT_REG${index}`,
    header: header(0x8001, index, 8),
    width: 64,
    shortName: `xreg${index}`,
  })),
];

const byName = new Map<string, NxmField>();
for (const field of nxmFields) {
  byName.set(field.name, field);
  if (field.shortName) {
    byName.set(field.shortName, field);
  }
}
// The other names ovs-fields(7) gives some fields, which ovs-ofctl accepts as well.
for (const [alias, name] of [
  ['dl_dst', 'eth_dst'],
  ['dl_src', 'eth_src'],
  ['dl_type', 'eth_type'],
  ['nw_src', 'ip_src'],
  ['nw_dst', 'ip_dst'],
  ['ip_proto', 'nw_proto'],
  ['tp_src', 'tcp_src'],
  ['tp_dst', 'tcp_dst'],
  ['tunnel_id', 'tun_id'],
  // OpenFlow 1.2+ names of the fields NXM named first (OVS prints and encodes the NXM ones).
  ['OXM_OF_ETH_DST', 'eth_dst'],
  ['OXM_OF_ETH_SRC', 'eth_src'],
  ['OXM_OF_ETH_TYPE', 'eth_type'],
  ['OXM_OF_IP_PROTO', 'nw_proto'],
  ['OXM_OF_IPV4_SRC', 'ip_src'],
  ['OXM_OF_IPV4_DST', 'ip_dst'],
  ['OXM_OF_TCP_SRC', 'tcp_src'],
  ['OXM_OF_TCP_DST', 'tcp_dst'],
  ['OXM_OF_UDP_SRC', 'udp_src'],
  ['OXM_OF_UDP_DST', 'udp_dst'],
  ['OXM_OF_ARP_OP', 'arp_op'],
  ['OXM_OF_ARP_SPA', 'arp_spa'],
  ['OXM_OF_ARP_TPA', 'arp_tpa'],
  ['OXM_OF_ARP_SHA', 'arp_sha'],
  ['OXM_OF_ARP_THA', 'arp_tha'],
  ['OXM_OF_IPV6_SRC', 'ipv6_src'],
  ['OXM_OF_IPV6_DST', 'ipv6_dst'],
  ['OXM_OF_TUNNEL_ID', 'tun_id'],
] as const) {
  byName.set(alias, byName.get(name)!);
}
const byHeader = new Map(
  nxmFields.map((field) => [
    field.experimenter === undefined ? `${field.header}` : `${field.header}:${field.experimenter}`,
    field,
  ]),
);

/** The field an action names (NXM/OXM or `ovs-fields(7)` name); undefined when unknown. */
export function nxmFieldByName(name: string): NxmField | undefined {
  return byName.get(name);
}

/** The field of a 32-bit header from the wire (the mask bit ignored); undefined when unknown. */
export function nxmFieldByHeader(value: number): NxmField | undefined {
  // A switch names tun_metadata with the length its TLV table maps: the field is the same.
  const tunMetadata = value >>> 16 === 1 && ((value >>> 9) & 0x7f) >= 40 && ((value >>> 9) & 0x7f) < 104;
  return byHeader.get(`${(tunMetadata ? (value & ~0x1ff) | 124 : value & ~0x100) >>> 0}`);
}

/** Whether a ref's field is an experimenter OXM field (NSH), whose header is 64 bits. */
export function isExperimenterRef(ref: FieldRef): boolean {
  return byName.get(ref.field)?.experimenter !== undefined;
}

/** The header of a ref's field as OVS writes it in a move or a stack action: 32 bits, or 64 for an experimenter field. */
export function fieldHeaderBytes(ref: FieldRef): Buffer {
  const field = byName.get(ref.field)!;
  const bytes = Buffer.alloc(field.experimenter === undefined ? 4 : 8);
  bytes.writeUInt32BE(field.header, 0);
  if (field.experimenter !== undefined) {
    bytes.writeUInt32BE(field.experimenter, 4);
  }
  return bytes;
}

/** Reads a 32- or 64-bit field header at `at`: the field's name and the header's length; undefined when unknown or cut. */
export function readFieldHeader(buffer: Buffer, at: number): { name: string; length: number } | undefined {
  if (at + 4 > buffer.length) {
    return undefined;
  }
  const value = buffer.readUInt32BE(at);
  if (value >>> 16 !== 0xffff) {
    const field = nxmFieldByHeader(value);
    return field && { name: field.name, length: 4 };
  }
  if (at + 8 > buffer.length) {
    return undefined;
  }
  // A masked header (NXAST_REG_LOAD2's) counts the mask in its length too.
  const length = value & 0x100 ? ((value & 0xff) - 4) / 2 + 4 : value & 0xff;
  const field = byHeader.get(`${((value & ~0x1ff) | length) >>> 0}:${buffer.readUInt32BE(at + 4)}`);
  return field && { name: field.name, length: 8 };
}

/** Whether a field ref's field can be written (`load`, `move`'s destination). */
export function isWritable(ref: FieldRef): boolean {
  return !byName.get(ref.field)?.readOnly;
}

/** What the match must add for an action to touch `ref`'s field; undefined when the match suffices. */
export function missingPrerequisite(ref: FieldRef, match: Match): string | undefined {
  const needs = byName.get(ref.field)?.needs;
  return needs && !needs.ok(match) ? needs.what : undefined;
}

/**
 * Parses `NAME[]`, `NAME[BIT]`, `NAME[FIRST..LAST]` or a bare `NAME` (the whole field);
 * returns the ref, or the reason it is not one (in `ovs-ofctl`'s words).
 */
export function parseFieldRef(text: string): FieldRef | string {
  const parts = /^([A-Za-z_][\w]*)(?:\[(?:(\d+)(?:\.\.(\d+))?)?\])?$/.exec(text);
  if (!parts) {
    return `${text}: expected a field such as NXM_NX_REG0[], NXM_NX_REG0[3] or NXM_NX_REG0[0..15]`;
  }
  const field = byName.get(parts[1]!);
  if (!field) {
    return `${text}: unknown field \`${parts[1]}'`;
  }
  if (parts[2] === undefined) {
    return { field: field.name, offset: 0, bits: field.width };
  }
  const first = Number(parts[2]);
  const last = parts[3] === undefined ? first : Number(parts[3]);
  if (first > last) {
    return `${text}: starting bit ${first} is after ending bit ${last}`;
  }
  if (first >= field.width) {
    return `${text}: starting bit ${first} is not valid because field is only ${field.width} bits wide`;
  }
  if (last >= field.width) {
    return `${text}: ending bit ${last} is not valid because field is only ${field.width} bits wide`;
  }
  return { field: field.name, offset: first, bits: last - first + 1 };
}

/** `NAME[]` for the whole field, `NAME[BIT]`, else `NAME[FIRST..LAST]`, as `ovs-ofctl` prints a ref. */
export function formatFieldRef(ref: FieldRef): string {
  const width = byName.get(ref.field)?.width;
  if (ref.offset === 0 && ref.bits === width) {
    return `${ref.field}[]`;
  }
  return ref.bits === 1 ? `${ref.field}[${ref.offset}]` : `${ref.field}[${ref.offset}..${ref.offset + ref.bits - 1}]`;
}

/**
 * The 32-bit wire header of a ref's field; an experimenter field (NSH) has none, and is
 * refused where an action holds only 32 bits for it.
 */
export function fieldHeader(ref: FieldRef): number {
  const field = byName.get(ref.field)!;
  if (field.experimenter !== undefined) {
    invalidArgument(
      'encodeActions',
      `experimenter OXM field ${ref.field} not supported: this action holds a 32-bit NXM header; expected an NXM field such as NXM_NX_REG0`,
    );
  }
  return field.header;
}

/** The ref a header and bit range from the wire name; undefined when the header is unknown. */
export function fieldRefFromWire(wireHeader: number, offset: number, bits: number): FieldRef | undefined {
  const field = nxmFieldByHeader(wireHeader);
  return field ? { field: field.name, offset, bits } : undefined;
}
