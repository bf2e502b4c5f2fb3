/**
 * Open vSwitch's `encap(...)` and `decap(...)`: read as `ovs-ofctl` 3.1 reads them, laid out as
 * OVS sends them over OpenFlow 1.3 (NXAST_RAW_ENCAP with its NSH properties, NXAST_RAW_DECAP),
 * printed as it prints them, and the packet type each leaves for the actions after it.
 */
import type { Match } from './match.js';
import { parseUint, syntaxError } from './flow-tokens.js';
import { NX_VENDOR_ID, nxAction } from './nx-action.js';

/** One MD type 2 TLV of `encap(nsh(...,tlv(CLASS,TYPE,VALUE)))`. */
export interface NshTlv {
  tlvClass: number;
  tlvType: number;
  /** The value bytes, as many as its hex digits give. */
  value: Buffer;
}

/** The encapsulation actions. */
export type EncapAction =
  /**
   * `encap(HEADER)`: push a header, making the packet of type `packetType` (`namespace << 16 |
   * type`: 0 Ethernet, 0x1894f NSH, 0x18847 MPLS, 0x18848 MPLS multicast); NSH takes an MD type
   * and MD type 2 TLVs.
   */
  | { type: 'encap'; packetType: number; nshMdType?: number; nshTlvs?: NshTlv[] }
  /** `decap(...)`: pop the outer header; `packetType` 0xfffe (`decap()`) takes the next protocol's. */
  | { type: 'decap'; packetType: number };

const NXAST_RAW_ENCAP = 46;
const NXAST_RAW_DECAP = 47;
/** `OFPPPC_NSH`: the property class of NSH's encap properties. */
const OFPPPC_NSH = 4;
const OFPPPT_PROP_NSH_MDTYPE = 1;
const OFPPPT_PROP_NSH_TLV = 2;
/** `decap()`'s packet type: "use the next protocol of the header popped". */
const PT_USE_NEXT_PROTO = 0xfffe;

/** The headers `encap(...)` takes, by name, with the packet type each makes. */
const encapHeaders: Readonly<Record<string, number>> = {
  ethernet: 0,
  nsh: 0x1894f,
  mpls: 0x18847,
  mpls_mc: 0x18848,
};

/** `encap(ethernet)`, `encap(mpls)`, `encap(mpls_mc)`, `encap(nsh)`, `encap(nsh(md_type=N,tlv(C,T,V)...))`. */
export function parseEncap(flow: string, piece: string, args: string): EncapAction {
  const header = /^(\w+)(?:\((.*)\))?$/s.exec(args.trim());
  const packetType = header && Object.hasOwn(encapHeaders, header[1]!) ? encapHeaders[header[1]!] : undefined;
  if (!header || packetType === undefined) {
    return syntaxError(
      flow,
      `${piece}: Encap hdr not supported: ${args}; expected ${Object.keys(encapHeaders).join(', ')}`,
    );
  }
  const props = header[2]?.trim() ?? '';
  if (props === '') {
    return { type: 'encap', packetType };
  }
  if (header[1] !== 'nsh') {
    return syntaxError(flow, `${piece}: ${header[1]} takes no properties`);
  }
  const action: EncapAction = { type: 'encap', packetType };
  for (const prop of props.match(/tlv\([^)]*\)|[^,]+/g) ?? []) {
    const mdType = /^md_type=(.*)$/.exec(prop);
    const tlv = /^tlv\(([^,]*),([^,]*),([^,]*)\)$/.exec(prop);
    if (mdType) {
      const value = parseUint(mdType[1]!, 0xff);
      if (value !== 1 && value !== 2) {
        syntaxError(flow, `${piece}: invalid md_type ${mdType[1]}; expected 1 or 2`);
      }
      action.nshMdType = value;
    } else if (tlv) {
      const tlvClass = parseUint(tlv[1]!, 0xffff);
      const tlvType = parseUint(tlv[2]!, 0xff);
      const hex = /^0x([0-9a-f]+)$/i.exec(tlv[3]!)?.[1];
      if (tlvClass === undefined || tlvType === undefined || hex === undefined || hex.length > 2 * 255) {
        syntaxError(flow, `${piece}: ${prop}: expected tlv(CLASS,TYPE,0xVALUE) with a 16-bit class and an 8-bit type`);
      }
      // As OVS: the value is as many bytes as whole pairs of hex digits (0x123 is 0x12).
      const value = Buffer.from(hex!.slice(0, hex!.length & ~1), 'hex');
      (action.nshTlvs ??= []).push({ tlvClass: tlvClass!, tlvType: tlvType!, value });
    } else {
      syntaxError(flow, `${piece}: Invalid property: ${prop}; expected md_type=N or tlv(CLASS,TYPE,VALUE)`);
    }
  }
  return action;
}

/** `decap`, `decap()` or `decap(packet_type(ns=N,type=T))`. */
export function parseDecap(flow: string, piece: string, args: string | undefined): EncapAction {
  const text = args?.trim() ?? '';
  if (text === '') {
    return { type: 'decap', packetType: PT_USE_NEXT_PROTO };
  }
  const parts = /^packet_type\(ns=([^,]+),type=([^)]+)\)$/.exec(text);
  const ns = parts ? parseUint(parts[1]!, 0xffff) : undefined;
  const type = parts ? parseUint(parts[2]!, 0xffff) : undefined;
  if (ns === undefined || type === undefined) {
    return syntaxError(flow, `${piece}: expected decap() or decap(packet_type(ns=NS,type=TYPE)) with 16-bit integers`);
  }
  return { type: 'decap', packetType: ns * 0x10000 + type };
}

/** The bytes of an encap or decap action: its header, and for NSH the MD type and TLV properties. */
export function encodeEncapAction(action: EncapAction): Buffer {
  if (action.type === 'decap') {
    const buffer = nxAction(NXAST_RAW_DECAP, 16);
    buffer.writeUInt32BE(action.packetType, 12);
    return buffer;
  }
  const props: Buffer[] = [];
  if (action.nshMdType !== undefined) {
    const prop = Buffer.alloc(8);
    prop.writeUInt16BE(OFPPPC_NSH, 0);
    prop.writeUInt8(OFPPPT_PROP_NSH_MDTYPE, 2);
    prop.writeUInt8(5, 3);
    prop.writeUInt8(action.nshMdType, 4);
    props.push(prop);
  }
  for (const tlv of action.nshTlvs ?? []) {
    // The property's length counts its padding to 8 bytes.
    const length = (8 + tlv.value.length + 7) & ~7;
    const prop = Buffer.alloc(length);
    prop.writeUInt16BE(OFPPPC_NSH, 0);
    prop.writeUInt8(OFPPPT_PROP_NSH_TLV, 2);
    prop.writeUInt8(length, 3);
    prop.writeUInt16BE(tlv.tlvClass, 4);
    prop.writeUInt8(tlv.tlvType, 6);
    prop.writeUInt8(tlv.value.length, 7);
    tlv.value.copy(prop, 8);
    props.push(prop);
  }
  const body = Buffer.concat(props);
  const buffer = nxAction(NXAST_RAW_ENCAP, 16 + body.length);
  buffer.writeUInt32BE(action.packetType, 12);
  body.copy(buffer, 16);
  return buffer;
}

/** Decodes an experimenter action's body (vendor onwards) if it is an encap or decap; undefined otherwise. */
export function decodeEncapAction(body: Buffer): EncapAction | undefined {
  if (body.length < 12 || body.readUInt32BE(0) !== NX_VENDOR_ID) {
    return undefined;
  }
  const subtype = body.readUInt16BE(4);
  if (subtype === NXAST_RAW_DECAP) {
    return { type: 'decap', packetType: body.readUInt32BE(8) };
  }
  if (subtype !== NXAST_RAW_ENCAP) {
    return undefined;
  }
  const action: EncapAction = { type: 'encap', packetType: body.readUInt32BE(8) };
  let offset = 12;
  while (offset + 4 <= body.length) {
    const propClass = body.readUInt16BE(offset);
    const propType = body.readUInt8(offset + 2);
    const length = body.readUInt8(offset + 3);
    if (length < 4 || offset + length > body.length || propClass !== OFPPPC_NSH) {
      return undefined;
    }
    if (propType === OFPPPT_PROP_NSH_MDTYPE && length >= 5) {
      action.nshMdType = body.readUInt8(offset + 4);
    } else if (propType === OFPPPT_PROP_NSH_TLV && length >= 8 && 8 + body.readUInt8(offset + 7) <= length) {
      const valueLength = body.readUInt8(offset + 7);
      (action.nshTlvs ??= []).push({
        tlvClass: body.readUInt16BE(offset + 4),
        tlvType: body.readUInt8(offset + 6),
        value: Buffer.from(body.subarray(offset + 8, offset + 8 + valueLength)),
      });
    } else {
      return undefined;
    }
    offset += (length + 7) & ~7;
  }
  return action;
}

/** The dump text of an encap or decap action, as `ovs-ofctl` prints it. */
export function formatEncapAction(action: EncapAction): string {
  const ns = action.packetType >>> 16;
  const type = action.packetType & 0xffff;
  if (action.type === 'decap') {
    return action.packetType === PT_USE_NEXT_PROTO
      ? 'decap()'
      : `decap(packet_type(ns=${ns},type=${type === 0 ? 0 : `0x${type.toString(16)}`}))`;
  }
  const name = Object.keys(encapHeaders).find((key) => encapHeaders[key] === action.packetType);
  if (name === undefined) {
    return `encap(packet_type(ns=${ns},type=0x${type.toString(16)}))`;
  }
  const props = [
    ...(action.nshMdType === undefined ? [] : [`md_type=${action.nshMdType}`]),
    ...(action.nshTlvs ?? []).map(
      // OVS prints the value as one number: leading zero bytes do not show.
      (tlv) =>
        `tlv(0x${tlv.tlvClass.toString(16)},${tlv.tlvType},0x${BigInt(`0x0${tlv.value.toString('hex')}`).toString(16)})`,
    ),
  ];
  return props.length === 0 ? `encap(${name})` : `encap(${name}(${props.join(',')}))`;
}

/**
 * The match the actions after `action` see, as OVS checks them: `encap` makes the packet of
 * its type (of its EtherType, in namespace 1); `decap` of an Ethernet packet leaves a packet of
 * its EtherType, of any other a packet whose headers are not known until it is popped.
 */
export function matchAfterEncap(action: EncapAction, match: Match): Match {
  const ethernet = match.packetType === undefined || match.packetType === 0;
  if (action.type === 'encap') {
    const ns = action.packetType >>> 16;
    const next: Match = { ...match, packetType: action.packetType };
    if (ns === 1) {
      next.ethType = action.packetType & 0xffff;
    }
    if (next.ethType !== 0x0800 && next.ethType !== 0x86dd) {
      delete next.ipProto;
    }
    return next;
  }
  if (ethernet) {
    return { ...match, packetType: 0x10000 | (match.ethType ?? 0) };
  }
  return { ...match, packetType: 0xffffffff, ethType: 0xffff };
}
