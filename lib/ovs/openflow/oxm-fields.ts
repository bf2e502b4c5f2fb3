/**
 * The table of modelled OXM fields (number, wire kind, maskability, largest value), in
 * one place for the match codec (match.ts) and the flow syntax's value limits. Internal:
 * not re-exported by the package.
 */
import type { MatchFieldName } from './match.js';

/** `OFPXMC_OPENFLOW_BASIC`: the OXM class of the OpenFlow 1.3 basic fields. */
export const OFPXMC_OPENFLOW_BASIC = 0x8000;

/** How a field's value is written on the wire. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';

/** One modelled OXM field. */
export interface FieldSpec {
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
export const fieldSpecs: readonly FieldSpec[] = [
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

/** The spec of each OpenFlow-basic field number. */
export const specByOxmField: ReadonlyMap<number, FieldSpec> = new Map(fieldSpecs.map((spec) => [spec.oxmField, spec]));

/** The spec of each modelled field name. */
export const specByName: ReadonlyMap<MatchFieldName, FieldSpec> = new Map(fieldSpecs.map((spec) => [spec.name, spec]));

/** Bytes of a value of each kind. */
export const kindWidth: Readonly<Record<FieldKind, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  mac: 6,
  ipv4: 4,
  ipv6: 16,
};

/** The largest value of an integer field of up to 32 bits (`vlanPcp`: 7, `tcpDst`: 65535). */
export function fieldMax(name: MatchFieldName): number {
  const spec = specByName.get(name)!;
  return spec.max ?? 2 ** (8 * kindWidth[spec.kind]) - 1;
}
