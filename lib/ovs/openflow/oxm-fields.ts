/**
 * The table of modelled OXM fields (number, wire kind, maskability, largest value), in
 * one place for the match codec (match.ts) and the flow syntax's value limits. Internal:
 * not re-exported by the package.
 */
import type { MatchFieldName } from './match.js';

/** `OFPXMC_OPENFLOW_BASIC`: the OXM class of the OpenFlow 1.3 basic fields. */
export const OFPXMC_OPENFLOW_BASIC = 0x8000;

/** `NXM_1`: the class of Open vSwitch's Nicira extension fields (registers, conntrack, ...). */
export const OFPXMC_NXM_1 = 0x0001;

/** `OFPXMC_EXPERIMENTER`: an OXM whose value starts with a 32-bit experimenter id. */
export const OFPXMC_EXPERIMENTER = 0xffff;

/** The Nicira experimenter id, under which OVS carries its newer fields (`NXOXM_ET_*`, e.g. ERSPAN's). */
export const NX_EXPERIMENTER_ID = 0x00002320;

/** The experimenter id under which Open vSwitch carries the NSH fields (`NXOXM_NSH_*`). */
export const NXOXM_NSH_EXPERIMENTER_ID = 0x005ad650;

/** The ONF experimenter id, under which OpenFlow 1.3 carries `tcp_flags` (`ONFOXM_ET_TCP_FLAGS`). */
export const ONF_EXPERIMENTER_ID = 0x4f4e4600;

/** How a field's value is written on the wire. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'u128' | 'mac' | 'ipv4' | 'ipv6';

/** One modelled OXM field. */
export interface FieldSpec {
  readonly name: MatchFieldName;
  /** The OXM class (default {@link OFPXMC_OPENFLOW_BASIC}). */
  readonly oxmClass?: number;
  /** The experimenter id of an {@link OFPXMC_EXPERIMENTER} field. */
  readonly experimenter?: number;
  readonly oxmField: number;
  readonly kind: FieldKind;
  readonly maskable: boolean;
  /** Largest value for integer fields narrower than their byte width. */
  readonly max?: number;
}

const registerSpecs: FieldSpec[] = Array.from({ length: 16 }, (_, index) => ({
  name: `reg${index}` as MatchFieldName,
  oxmClass: OFPXMC_NXM_1,
  oxmField: index,
  kind: 'u32',
  maskable: true,
}));

/**
 * The modelled OXM fields, in the order `ovs-ofctl` puts them on the wire (OVS's
 * `nx_put_raw`, so that our encodings are byte-for-byte comparable): recirculation and
 * port first (after the packet type, which OVS puts before everything), then L2, VLAN, MPLS,
 * L3 and L4, ARP, tunnel, NSH, registers, packet mark, conntrack, and `metadata` last.
 */
export const fieldSpecs: readonly FieldSpec[] = [
  { name: 'packetType', oxmField: 44, kind: 'u32', maskable: false },
  { name: 'recircId', oxmClass: OFPXMC_NXM_1, oxmField: 36, kind: 'u32', maskable: false },
  { name: 'conjId', oxmClass: OFPXMC_NXM_1, oxmField: 37, kind: 'u32', maskable: false },
  { name: 'inPort', oxmField: 0, kind: 'u32', maskable: false },
  {
    name: 'actsetOutput',
    oxmClass: OFPXMC_EXPERIMENTER,
    experimenter: ONF_EXPERIMENTER_ID,
    oxmField: 43,
    kind: 'u32',
    maskable: false,
  },
  { name: 'ethSrc', oxmField: 4, kind: 'mac', maskable: true },
  { name: 'ethDst', oxmField: 3, kind: 'mac', maskable: true },
  { name: 'ethType', oxmField: 5, kind: 'u16', maskable: false },
  { name: 'vlanVid', oxmField: 6, kind: 'u16', maskable: true, max: 0x1fff },
  { name: 'vlanPcp', oxmField: 7, kind: 'u8', maskable: false, max: 7 },
  { name: 'mplsTc', oxmField: 35, kind: 'u8', maskable: false, max: 7 },
  { name: 'mplsBos', oxmField: 36, kind: 'u8', maskable: false, max: 1 },
  { name: 'mplsLabel', oxmField: 34, kind: 'u32', maskable: false, max: 0xfffff },
  { name: 'ipv4Src', oxmField: 11, kind: 'ipv4', maskable: true },
  { name: 'ipv4Dst', oxmField: 12, kind: 'ipv4', maskable: true },
  { name: 'ipv6Src', oxmField: 26, kind: 'ipv6', maskable: true },
  { name: 'ipv6Dst', oxmField: 27, kind: 'ipv6', maskable: true },
  { name: 'ipFrag', oxmClass: OFPXMC_NXM_1, oxmField: 26, kind: 'u8', maskable: true },
  { name: 'ipDscp', oxmField: 8, kind: 'u8', maskable: false, max: 63 },
  { name: 'ipEcn', oxmField: 9, kind: 'u8', maskable: false, max: 3 },
  { name: 'nwTtl', oxmClass: OFPXMC_NXM_1, oxmField: 29, kind: 'u8', maskable: false },
  { name: 'ipProto', oxmField: 10, kind: 'u8', maskable: false },
  { name: 'tcpSrc', oxmField: 13, kind: 'u16', maskable: true },
  { name: 'tcpDst', oxmField: 14, kind: 'u16', maskable: true },
  {
    name: 'tcpFlags',
    oxmClass: OFPXMC_EXPERIMENTER,
    experimenter: ONF_EXPERIMENTER_ID,
    oxmField: 42,
    kind: 'u16',
    maskable: true,
  },
  { name: 'udpSrc', oxmField: 15, kind: 'u16', maskable: true },
  { name: 'udpDst', oxmField: 16, kind: 'u16', maskable: true },
  { name: 'sctpSrc', oxmField: 17, kind: 'u16', maskable: true },
  { name: 'sctpDst', oxmField: 18, kind: 'u16', maskable: true },
  { name: 'icmpv4Type', oxmField: 19, kind: 'u8', maskable: false },
  { name: 'icmpv4Code', oxmField: 20, kind: 'u8', maskable: false },
  { name: 'icmpv6Type', oxmField: 29, kind: 'u8', maskable: false },
  { name: 'icmpv6Code', oxmField: 30, kind: 'u8', maskable: false },
  { name: 'ndTarget', oxmField: 31, kind: 'ipv6', maskable: true },
  { name: 'ndSll', oxmField: 32, kind: 'mac', maskable: true },
  { name: 'ndTll', oxmField: 33, kind: 'mac', maskable: true },
  { name: 'arpOp', oxmField: 21, kind: 'u16', maskable: false },
  { name: 'arpSpa', oxmField: 22, kind: 'ipv4', maskable: true },
  { name: 'arpTpa', oxmField: 23, kind: 'ipv4', maskable: true },
  { name: 'tunnelId', oxmField: 38, kind: 'u64', maskable: true },
  { name: 'tunSrc', oxmClass: OFPXMC_NXM_1, oxmField: 31, kind: 'ipv4', maskable: true },
  { name: 'tunDst', oxmClass: OFPXMC_NXM_1, oxmField: 32, kind: 'ipv4', maskable: true },
  { name: 'tunIpv6Src', oxmClass: OFPXMC_NXM_1, oxmField: 109, kind: 'ipv6', maskable: true },
  { name: 'tunIpv6Dst', oxmClass: OFPXMC_NXM_1, oxmField: 110, kind: 'ipv6', maskable: true },
  { name: 'tunGbpId', oxmClass: OFPXMC_NXM_1, oxmField: 38, kind: 'u16', maskable: true },
  { name: 'tunGbpFlags', oxmClass: OFPXMC_NXM_1, oxmField: 39, kind: 'u8', maskable: true },
  ...(
    [
      ['tunErspanIdx', 11, 'u32'],
      ['tunErspanVer', 12, 'u8'],
      ['tunErspanDir', 13, 'u8'],
      ['tunErspanHwid', 14, 'u8'],
    ] as const
  ).map(([name, oxmField, kind]) => ({
    name,
    oxmClass: OFPXMC_EXPERIMENTER,
    experimenter: NX_EXPERIMENTER_ID,
    oxmField,
    kind,
    maskable: false,
  })),
  ...(
    [
      ['nshFlags', 1, 'u8', true, undefined],
      ['nshTtl', 10, 'u8', false, undefined],
      ['nshMdtype', 2, 'u8', false, undefined],
      ['nshNp', 3, 'u8', false, undefined],
      ['nshSpi', 4, 'u32', false, 0xffffff],
      ['nshSi', 5, 'u8', false, undefined],
      ['nshC1', 6, 'u32', true, undefined],
      ['nshC2', 7, 'u32', true, undefined],
      ['nshC3', 8, 'u32', true, undefined],
      ['nshC4', 9, 'u32', true, undefined],
    ] as const
  ).map(([name, oxmField, kind, maskable, max]) => ({
    name,
    oxmClass: OFPXMC_EXPERIMENTER,
    experimenter: NXOXM_NSH_EXPERIMENTER_ID,
    oxmField,
    kind,
    maskable,
    ...(max === undefined ? {} : { max }),
  })),
  ...registerSpecs,
  { name: 'pktMark', oxmClass: OFPXMC_NXM_1, oxmField: 33, kind: 'u32', maskable: true },
  { name: 'ctState', oxmClass: OFPXMC_NXM_1, oxmField: 105, kind: 'u32', maskable: true },
  { name: 'ctZone', oxmClass: OFPXMC_NXM_1, oxmField: 106, kind: 'u16', maskable: false },
  { name: 'ctMark', oxmClass: OFPXMC_NXM_1, oxmField: 107, kind: 'u32', maskable: true },
  { name: 'ctLabel', oxmClass: OFPXMC_NXM_1, oxmField: 108, kind: 'u128', maskable: true },
  { name: 'ctNwSrc', oxmClass: OFPXMC_NXM_1, oxmField: 120, kind: 'ipv4', maskable: true },
  { name: 'ctIpv6Src', oxmClass: OFPXMC_NXM_1, oxmField: 122, kind: 'ipv6', maskable: true },
  { name: 'ctNwDst', oxmClass: OFPXMC_NXM_1, oxmField: 121, kind: 'ipv4', maskable: true },
  { name: 'ctIpv6Dst', oxmClass: OFPXMC_NXM_1, oxmField: 123, kind: 'ipv6', maskable: true },
  { name: 'ctNwProto', oxmClass: OFPXMC_NXM_1, oxmField: 119, kind: 'u8', maskable: false },
  { name: 'ctTpSrc', oxmClass: OFPXMC_NXM_1, oxmField: 124, kind: 'u16', maskable: true },
  { name: 'ctTpDst', oxmClass: OFPXMC_NXM_1, oxmField: 125, kind: 'u16', maskable: true },
  { name: 'metadata', oxmField: 2, kind: 'u64', maskable: true },
];

/** The key of a field in {@link specByOxmField}: class, field number and, for experimenter fields, the id. */
export function oxmKey(oxmClass: number, oxmField: number, experimenter?: number): string {
  return `${oxmClass}:${oxmField}:${experimenter ?? ''}`;
}

/** The spec of each field, by {@link oxmKey}. */
export const specByOxmField: ReadonlyMap<string, FieldSpec> = new Map(
  fieldSpecs.map((spec) => [oxmKey(spec.oxmClass ?? OFPXMC_OPENFLOW_BASIC, spec.oxmField, spec.experimenter), spec]),
);

/** The spec of each modelled field name. */
export const specByName: ReadonlyMap<MatchFieldName, FieldSpec> = new Map(fieldSpecs.map((spec) => [spec.name, spec]));

/** Bytes of a value of each kind. */
export const kindWidth: Readonly<Record<FieldKind, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  u128: 16,
  mac: 6,
  ipv4: 4,
  ipv6: 16,
};

/** The largest value of an integer field of up to 32 bits (`vlanPcp`: 7, `tcpDst`: 65535). */
export function fieldMax(name: MatchFieldName): number {
  const spec = specByName.get(name)!;
  return spec.max ?? 2 ** (8 * kindWidth[spec.kind]) - 1;
}

/** The names of the `ct_state` bits, by bit (`ovs-fields(7)`). */
export const ctStateFlagNames: Readonly<Record<number, string>> = {
  0x01: 'new',
  0x02: 'est',
  0x04: 'rel',
  0x08: 'rpl',
  0x10: 'inv',
  0x20: 'trk',
  0x40: 'snat',
  0x80: 'dnat',
};

/** The names of the `tcp_flags` bits, by bit; the three reserved bits print as `[200]`, `[400]`, `[800]`. */
export const tcpFlagNames: Readonly<Record<number, string>> = {
  0x001: 'fin',
  0x002: 'syn',
  0x004: 'rst',
  0x008: 'psh',
  0x010: 'ack',
  0x020: 'urg',
  0x040: 'ece',
  0x080: 'cwr',
  0x100: 'ns',
  0x200: '[200]',
  0x400: '[400]',
  0x800: '[800]',
};
