/**
 * Open vSwitch's Nicira extension actions (experimenter 0x00002320): their types and
 * their encoding and decoding, laid out as OVS 3.1 sends them over OpenFlow 1.3.
 */
import { formatIpv6, tryParseIpv4, tryParseIpv6 } from '../../address.js';
import { invalidArgument } from '../../errors.js';
import type { Action } from './actions.js';
import { decodeLoad2, encodeLoad2, encodeNshMaskedWrite, type NshMaskedWrite } from './nsh-load.js';
import {
  fieldHeader,
  fieldHeaderBytes,
  fieldRefFromWire,
  isExperimenterRef,
  readFieldHeader,
  type FieldRef,
} from './nxm-fields.js';
import { NX_VENDOR_ID, nxAction } from './nx-action.js';

export { NX_VENDOR_ID } from './nx-action.js';

/** Why a packet went to the controller (`ofp_packet_in_reason`), as `controller(reason=...)` names it. */
export type PacketInReason = 'no_match' | 'action' | 'invalid_ttl' | 'action_set' | 'group' | 'packet_out';

/** The reasons by wire number. */
export const packetInReasons: readonly PacketInReason[] = [
  'no_match',
  'action',
  'invalid_ttl',
  'action_set',
  'group',
  'packet_out',
];

/** The address translation of `ct(nat(...))`. */
export interface NatAction {
  type: 'nat';
  /** Translate the source (`src=`) or the destination (`dst=`); undefined: reuse the connection's translation. */
  kind?: 'src' | 'dst';
  /** First and last address of the range (IPv4 or IPv6 text). */
  addressMin?: string;
  addressMax?: string;
  /** First and last port of the range. */
  portMin?: number;
  portMax?: number;
  persistent?: boolean;
  hash?: boolean;
  random?: boolean;
}

/** An Open vSwitch extension action. */
export type NiciraAction =
  /** `resubmit(PORT,TABLE[,ct])`: run the pipeline again from `table` (default this one) as if from `port` (default the input port). */
  | { type: 'resubmit'; port?: number; table?: number; ct?: boolean }
  /** `ct(...)`: send through the connection tracker; `actions` are the `nat(...)` and `exec(...)` set-fields. */
  | {
      type: 'ct';
      commit?: boolean;
      force?: boolean;
      /** The zone: a number, or the 16 bits of a field that hold it. */
      zone?: number | FieldRef;
      /** The table to continue in with the tracked packet. */
      table?: number;
      /** The application-layer gateway's port (21 ftp, 69 tftp). */
      alg?: number;
      actions?: Action[];
    }
  | NatAction
  /** `ct_clear`: forget the packet's connection-tracking state. */
  | { type: 'ct_clear' }
  /** `pop_queue`: back to the queue the packet had before `set_queue`. */
  | { type: 'pop_queue' }
  /** `load:VALUE->DST`: write bits of a field. */
  | { type: 'load'; dst: FieldRef; value: bigint }
  /** `set_field:VALUE/MASK->nsh_*` with a mask of several runs of bits, or none. */
  | NshMaskedWrite
  /** `move:SRC->DST`: copy bits between fields of equal width. */
  | { type: 'move'; src: FieldRef; dst: FieldRef }
  /** `note:HEX`: opaque bytes kept with the flow (padded with zeros as on the wire). */
  | { type: 'note'; data: Buffer }
  /** `output:FIELD`: output to the port number held in bits of a field. */
  | { type: 'output_reg'; src: FieldRef; maxLength?: number }
  /** `check_pkt_larger(LEN)->DST`: set the 1-bit `dst` when the packet is longer than `pktLen` bytes. */
  | { type: 'check_pkt_larger'; pktLen: number; dst: FieldRef }
  /** `output(port=P,max_len=N)`: output at most N bytes of the packet. */
  | { type: 'output_trunc'; port: number; maxLength: number }
  /** `exit`: stop processing actions. */
  | { type: 'exit' }
  /** `conjunction(ID,CLAUSE/CLAUSES)`: this flow is clause `clause` (1-based) of conjunctive match `id`. */
  | { type: 'conjunction'; id: number; clause: number; nClauses: number }
  /** `controller(...)`: to the controller, with a reason, a controller id, opaque user data, or paused. */
  | {
      type: 'controller';
      maxLength?: number;
      reason?: PacketInReason;
      controllerId?: number;
      userdata?: Buffer;
      pause?: boolean;
      /** `meter_id=`: the meter the packet-ins pass (NXAC2PT_METER_ID). */
      meterId?: number;
    }
  /** `dec_ttl(ID,...)`: decrement the TTL, telling these controllers when it expires. */
  | { type: 'dec_ttl'; controllerIds: number[] };

const NXAST = {
  POP_QUEUE: 5,
  REG_MOVE: 6,
  REG_LOAD: 7,
  REG_LOAD2: 33,
  NOTE: 8,
  RESUBMIT_TABLE: 14,
  OUTPUT_REG: 15,
  OUTPUT_REG2: 32,
  EXIT: 17,
  CONTROLLER: 20,
  CONTROLLER2: 37,
  DEC_TTL_CNT_IDS: 21,
  CONJUNCTION: 34,
  CT: 35,
  NAT: 36,
  OUTPUT_TRUNC: 39,
  CT_CLEAR: 43,
  RESUBMIT_TABLE_CT: 44,
  CHECK_PKT_LARGER: 49,
} as const;

/**
 * Bytes after the subtype that the decoder of a subtype reads, where that is more than the
 * 6 every Nicira action has: a shorter action (a hostile or corrupt peer) stays `unknown`
 * instead of reading past its end.
 */
const minimumArgumentBytes: Readonly<Record<number, number>> = {
  [NXAST.REG_MOVE]: 14,
  [NXAST.REG_LOAD]: 14,
  [NXAST.OUTPUT_REG]: 8,
  [NXAST.OUTPUT_REG2]: 8,
  [NXAST.CT]: 14,
  [NXAST.CHECK_PKT_LARGER]: 8,
};

const ctFlags = { commit: 1, force: 2 } as const;
const natFlags = { src: 1, dst: 2, persistent: 4, hash: 8, random: 16 } as const;
const natRange = { ipv4Min: 1, ipv4Max: 2, ipv6Min: 4, ipv6Max: 8, portMin: 16, portMax: 32 } as const;

/** OpenFlow 1.3 port numbers as the 16-bit ports of Nicira actions (reserved ports 0xfffffff8.. as 0xfff8..). */
export function toPort16(port: number): number {
  return port >= 0xffffff00 ? port - 0xffff0000 : port;
}

function fromPort16(port: number): number {
  return port >= 0xff00 ? port + 0xffff0000 : port;
}

function ofsNbits(ref: FieldRef): number {
  return (ref.offset << 6) | (ref.bits - 1);
}

function encodeNat(action: NatAction): Buffer {
  let flags = 0;
  let range = 0;
  const parts: Buffer[] = [];
  if (action.kind) {
    flags |= natFlags[action.kind];
  }
  for (const key of ['persistent', 'hash', 'random'] as const) {
    flags |= action[key] ? natFlags[key] : 0;
  }
  for (const [text, v4, v6] of [
    [action.addressMin, natRange.ipv4Min, natRange.ipv6Min],
    [action.addressMax, natRange.ipv4Max, natRange.ipv6Max],
  ] as const) {
    if (text === undefined) {
      continue;
    }
    const ipv4 = tryParseIpv4(text);
    if (ipv4 !== undefined) {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(ipv4);
      parts.push(bytes);
      range |= v4;
    } else {
      const ipv6 =
        tryParseIpv6(text) ?? invalidArgument('encodeActions', `nat address must be IPv4 or IPv6, got ${text}`);
      parts.push(Buffer.from(ipv6));
      range |= v6;
    }
  }
  for (const [port, bit] of [
    [action.portMin, natRange.portMin],
    [action.portMax, natRange.portMax],
  ] as const) {
    if (port !== undefined) {
      const bytes = Buffer.alloc(2);
      bytes.writeUInt16BE(port);
      parts.push(bytes);
      range |= bit;
    }
  }
  const body = Buffer.concat(parts);
  const buffer = nxAction(NXAST.NAT, (16 + body.length + 7) & ~7);
  buffer.writeUInt16BE(flags, 12);
  buffer.writeUInt16BE(range, 14);
  body.copy(buffer, 16);
  return buffer;
}

/** Encodes an extension action; `encodeNested` encodes the actions inside `ct(...)`. */
export function encodeNiciraAction(action: NiciraAction, encodeNested: (actions: Action[]) => Buffer): Buffer {
  switch (action.type) {
    case 'resubmit': {
      const buffer = nxAction(action.ct ? NXAST.RESUBMIT_TABLE_CT : NXAST.RESUBMIT_TABLE, 16);
      buffer.writeUInt16BE(toPort16(action.port ?? 0xfffffff8), 10);
      buffer.writeUInt8(action.table ?? 255, 12);
      return buffer;
    }
    case 'ct': {
      const nested = encodeNested(action.actions ?? []);
      const buffer = nxAction(NXAST.CT, 24 + nested.length);
      buffer.writeUInt16BE((action.commit ? ctFlags.commit : 0) | (action.force ? ctFlags.force : 0), 10);
      if (typeof action.zone === 'object') {
        buffer.writeUInt32BE(fieldHeader(action.zone), 12);
        buffer.writeUInt16BE(ofsNbits(action.zone), 16);
      } else {
        buffer.writeUInt16BE(action.zone ?? 0, 16);
      }
      buffer.writeUInt8(action.table ?? 255, 18);
      buffer.writeUInt16BE(action.alg ?? 0, 22);
      nested.copy(buffer, 24);
      return buffer;
    }
    case 'nat':
      return encodeNat(action);
    case 'ct_clear':
      return nxAction(NXAST.CT_CLEAR, 16);
    case 'pop_queue':
      return nxAction(NXAST.POP_QUEUE, 16);
    case 'load': {
      if (isExperimenterRef(action.dst)) {
        return encodeLoad2(action.dst, action.value);
      }
      if (action.dst.bits > 64) {
        // NXAST_REG_LOAD holds 64 bits: ovs-ofctl sends a wider load as one load per 64 bits.
        invalidArgument(
          'encodeActions',
          `load.dst must name at most 64 bits, got ${action.dst.bits} (${action.dst.field}); expected one load per 64 bits`,
        );
      }
      const buffer = nxAction(NXAST.REG_LOAD, 24);
      buffer.writeUInt16BE(ofsNbits(action.dst), 10);
      buffer.writeUInt32BE(fieldHeader(action.dst), 12);
      buffer.writeBigUInt64BE(action.value, 16);
      return buffer;
    }
    case 'set_nsh_field':
      return encodeNshMaskedWrite(action);
    case 'move': {
      // A field's header is 32 bits, or 64 for an experimenter (NSH) field.
      const src = fieldHeaderBytes(action.src);
      const dst = fieldHeaderBytes(action.dst);
      const buffer = nxAction(NXAST.REG_MOVE, (16 + src.length + dst.length + 7) & ~7);
      buffer.writeUInt16BE(action.src.bits, 10);
      buffer.writeUInt16BE(action.src.offset, 12);
      buffer.writeUInt16BE(action.dst.offset, 14);
      src.copy(buffer, 16);
      dst.copy(buffer, 16 + src.length);
      return buffer;
    }
    case 'note': {
      const buffer = nxAction(NXAST.NOTE, Math.max(16, (10 + action.data.length + 7) & ~7));
      action.data.copy(buffer, 10);
      return buffer;
    }
    case 'output_reg': {
      if (isExperimenterRef(action.src)) {
        // As OVS: a field without a 32-bit NXM header (NSH's) goes in NXAST_OUTPUT_REG2, header last.
        const buffer = nxAction(NXAST.OUTPUT_REG2, 24);
        buffer.writeUInt16BE(ofsNbits(action.src), 10);
        buffer.writeUInt16BE(action.maxLength ?? 0xffff, 12);
        fieldHeaderBytes(action.src).copy(buffer, 14);
        return buffer;
      }
      const buffer = nxAction(NXAST.OUTPUT_REG, 24);
      buffer.writeUInt16BE(ofsNbits(action.src), 10);
      buffer.writeUInt32BE(fieldHeader(action.src), 12);
      buffer.writeUInt16BE(action.maxLength ?? 0xffff, 16);
      return buffer;
    }
    case 'check_pkt_larger': {
      // OVS's nx_action_check_pkt_larger: length, the bit's offset, the field's 32- or 64-bit header.
      const buffer = nxAction(NXAST.CHECK_PKT_LARGER, 24);
      buffer.writeUInt16BE(action.pktLen, 10);
      buffer.writeUInt16BE(action.dst.offset, 12);
      fieldHeaderBytes(action.dst).copy(buffer, 14);
      return buffer;
    }
    case 'output_trunc': {
      const buffer = nxAction(NXAST.OUTPUT_TRUNC, 16);
      buffer.writeUInt16BE(toPort16(action.port), 10);
      buffer.writeUInt32BE(action.maxLength, 12);
      return buffer;
    }
    case 'exit':
      return nxAction(NXAST.EXIT, 16);
    case 'conjunction': {
      const buffer = nxAction(NXAST.CONJUNCTION, 16);
      buffer.writeUInt8(action.clause - 1, 10);
      buffer.writeUInt8(action.nClauses, 11);
      buffer.writeUInt32BE(action.id, 12);
      return buffer;
    }
    case 'controller': {
      if (action.userdata || action.pause || action.meterId !== undefined) {
        return encodeController2(action);
      }
      const buffer = nxAction(NXAST.CONTROLLER, 16);
      buffer.writeUInt16BE(action.maxLength ?? 0xffff, 10);
      buffer.writeUInt16BE(action.controllerId ?? 0, 12);
      buffer.writeUInt8(packetInReasons.indexOf(action.reason ?? 'action'), 14);
      return buffer;
    }
    case 'dec_ttl': {
      const buffer = nxAction(NXAST.DEC_TTL_CNT_IDS, (16 + 2 * action.controllerIds.length + 7) & ~7);
      buffer.writeUInt16BE(action.controllerIds.length, 10);
      action.controllerIds.forEach((id, index) => buffer.writeUInt16BE(id, 16 + 2 * index));
      return buffer;
    }
  }
}

/** `NXAC2PT_*`: the properties of NXAST_CONTROLLER2. */
const NXAC2PT = { MAX_LEN: 0, CONTROLLER_ID: 1, REASON: 2, USERDATA: 3, PAUSE: 4, METER_ID: 5 } as const;

/** A property: type, length (without padding), value, padded to 8 bytes. */
function property(type: number, value: Buffer): Buffer {
  const buffer = Buffer.alloc((4 + value.length + 7) & ~7);
  buffer.writeUInt16BE(type, 0);
  buffer.writeUInt16BE(4 + value.length, 2);
  value.copy(buffer, 4);
  return buffer;
}

/** NXAST_CONTROLLER2, which OVS sends when a `controller(...)` has user data or pauses: only what differs from the defaults. */
function encodeController2(action: Extract<NiciraAction, { type: 'controller' }>): Buffer {
  const properties: Buffer[] = [];
  // OVS's 16-bit properties carry two bytes of padding inside their length (ofpprop_put_u16).
  const u16 = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff, 0, 0]);
  if (action.maxLength !== undefined && action.maxLength !== 0xffff) {
    properties.push(property(NXAC2PT.MAX_LEN, u16(action.maxLength)));
  }
  if (action.controllerId) {
    properties.push(property(NXAC2PT.CONTROLLER_ID, u16(action.controllerId)));
  }
  if ((action.reason ?? 'action') !== 'action') {
    properties.push(property(NXAC2PT.REASON, Buffer.from([packetInReasons.indexOf(action.reason!)])));
  }
  if (action.userdata) {
    properties.push(property(NXAC2PT.USERDATA, action.userdata));
  }
  if (action.pause) {
    properties.push(property(NXAC2PT.PAUSE, Buffer.alloc(0)));
  }
  if (action.meterId !== undefined) {
    const meter = Buffer.alloc(4);
    meter.writeUInt32BE(action.meterId);
    properties.push(property(NXAC2PT.METER_ID, meter));
  }
  const body = Buffer.concat(properties);
  const buffer = nxAction(NXAST.CONTROLLER2, 16 + body.length);
  body.copy(buffer, 16);
  return buffer;
}

function decodeController2(at: Buffer): NiciraAction | undefined {
  const action: Extract<NiciraAction, { type: 'controller' }> = { type: 'controller' };
  let position = 6;
  while (position + 4 <= at.length) {
    const type = at.readUInt16BE(position);
    const length = at.readUInt16BE(position + 2);
    if (length < 4 || position + length > at.length) {
      return undefined;
    }
    const value = at.subarray(position + 4, position + length);
    if (type === NXAC2PT.MAX_LEN && value.length >= 2) {
      action.maxLength = value.readUInt16BE(0);
    } else if (type === NXAC2PT.CONTROLLER_ID && value.length >= 2) {
      action.controllerId = value.readUInt16BE(0);
    } else if (type === NXAC2PT.REASON && value.length === 1 && packetInReasons[value[0]!]) {
      action.reason = packetInReasons[value[0]!];
    } else if (type === NXAC2PT.USERDATA) {
      action.userdata = Buffer.from(value);
    } else if (type === NXAC2PT.PAUSE) {
      action.pause = true;
    } else if (type === NXAC2PT.METER_ID && value.length === 4) {
      // NX_CTLR_NO_METER (0) is the default: no meter.
      if (value.readUInt32BE(0) !== 0) action.meterId = value.readUInt32BE(0);
    } else {
      return undefined;
    }
    position += (length + 7) & ~7;
  }
  return action;
}

function decodeNat(body: Buffer): NatAction | undefined {
  const flags = body.readUInt16BE(2);
  const range = body.readUInt16BE(4);
  const nat: NatAction = { type: 'nat' };
  if (flags & natFlags.src) {
    nat.kind = 'src';
  } else if (flags & natFlags.dst) {
    nat.kind = 'dst';
  }
  for (const key of ['persistent', 'hash', 'random'] as const) {
    if (flags & natFlags[key]) {
      nat[key] = true;
    }
  }
  let position = 6;
  const take = (bytes: number): Buffer | undefined => {
    const slice = position + bytes <= body.length ? body.subarray(position, position + bytes) : undefined;
    position += bytes;
    return slice;
  };
  for (const [bit, key] of [
    [natRange.ipv4Min, 'addressMin'],
    [natRange.ipv4Max, 'addressMax'],
  ] as const) {
    if (range & bit) {
      const bytes = take(4);
      nat[key] = bytes ? [...bytes].join('.') : undefined;
    }
  }
  for (const [bit, key] of [
    [natRange.ipv6Min, 'addressMin'],
    [natRange.ipv6Max, 'addressMax'],
  ] as const) {
    if (range & bit) {
      const bytes = take(16);
      nat[key] = bytes ? formatIpv6(bytes) : undefined;
    }
  }
  for (const [bit, key] of [
    [natRange.portMin, 'portMin'],
    [natRange.portMax, 'portMax'],
  ] as const) {
    if (range & bit) {
      nat[key] = take(2)?.readUInt16BE(0);
    }
  }
  return position <= body.length ? nat : undefined;
}

/**
 * Decodes an experimenter action's body (after type and length); undefined when it is
 * not a modelled Nicira action, which then stays an `unknown` action.
 */
export function decodeNiciraAction(
  body: Buffer,
  decodeNested: (buffer: Buffer, start: number, end: number) => Action[],
): NiciraAction | undefined {
  if (body.length < 12 || body.readUInt32BE(0) !== NX_VENDOR_ID) {
    return undefined;
  }
  const subtype = body.readUInt16BE(4);
  const at = body.subarray(6);
  if (at.length < (minimumArgumentBytes[subtype] ?? 0)) {
    return undefined;
  }
  const ref = (headerAt: number, ofsNbitsAt: number): FieldRef | undefined => {
    const value = at.readUInt16BE(ofsNbitsAt);
    return fieldRefFromWire(at.readUInt32BE(headerAt), value >> 6, (value & 0x3f) + 1);
  };
  switch (subtype) {
    case NXAST.RESUBMIT_TABLE:
    case NXAST.RESUBMIT_TABLE_CT: {
      const action: NiciraAction = { type: 'resubmit' };
      const port = fromPort16(at.readUInt16BE(0));
      const table = at.readUInt8(2);
      if (port !== 0xfffffff8) action.port = port;
      if (table !== 255) action.table = table;
      if (subtype === NXAST.RESUBMIT_TABLE_CT) action.ct = true;
      return action;
    }
    case NXAST.CT: {
      const flags = at.readUInt16BE(0);
      const zoneField = at.readUInt32BE(2);
      const action: NiciraAction = { type: 'ct' };
      if (flags & ctFlags.commit) action.commit = true;
      if (flags & ctFlags.force) action.force = true;
      const table = at.readUInt8(8);
      if (table !== 255) action.table = table;
      if (zoneField !== 0) {
        const zone = ref(2, 6);
        if (!zone) return undefined;
        action.zone = zone;
      } else if (at.readUInt16BE(6) !== 0) {
        action.zone = at.readUInt16BE(6);
      }
      if (at.readUInt16BE(12) !== 0) action.alg = at.readUInt16BE(12);
      const nested = decodeNested(body, 20, body.length);
      if (nested.length > 0) action.actions = nested;
      return action;
    }
    case NXAST.NAT:
      return decodeNat(at);
    case NXAST.CT_CLEAR:
      return { type: 'ct_clear' };
    case NXAST.POP_QUEUE:
      return { type: 'pop_queue' };
    case NXAST.REG_LOAD: {
      const dst = ref(2, 0);
      return dst && { type: 'load', dst, value: at.readBigUInt64BE(6) };
    }
    case NXAST.REG_MOVE: {
      const bits = at.readUInt16BE(0);
      const src = readFieldHeader(at, 6);
      const dst = src && readFieldHeader(at, 6 + src.length);
      return (
        dst && {
          type: 'move',
          src: { field: src.name, offset: at.readUInt16BE(2), bits },
          dst: { field: dst.name, offset: at.readUInt16BE(4), bits },
        }
      );
    }
    case NXAST.REG_LOAD2:
      return decodeLoad2(at);
    case NXAST.NOTE:
      return { type: 'note', data: Buffer.from(at) };
    case NXAST.OUTPUT_REG: {
      const src = ref(2, 0);
      return src && { type: 'output_reg', src, maxLength: at.readUInt16BE(6) };
    }
    case NXAST.OUTPUT_REG2: {
      const value = at.readUInt16BE(0);
      const src = readFieldHeader(at, 4);
      return (
        src && {
          type: 'output_reg',
          src: { field: src.name, offset: value >> 6, bits: (value & 0x3f) + 1 },
          maxLength: at.readUInt16BE(2),
        }
      );
    }
    case NXAST.CHECK_PKT_LARGER: {
      const dst = readFieldHeader(at, 4);
      return (
        dst && {
          type: 'check_pkt_larger',
          pktLen: at.readUInt16BE(0),
          dst: { field: dst.name, offset: at.readUInt16BE(2), bits: 1 },
        }
      );
    }
    case NXAST.OUTPUT_TRUNC:
      return { type: 'output_trunc', port: fromPort16(at.readUInt16BE(0)), maxLength: at.readUInt32BE(2) };
    case NXAST.EXIT:
      return { type: 'exit' };
    case NXAST.CONJUNCTION:
      return { type: 'conjunction', clause: at.readUInt8(0) + 1, nClauses: at.readUInt8(1), id: at.readUInt32BE(2) };
    case NXAST.CONTROLLER: {
      const reason = packetInReasons[at.readUInt8(4)];
      return reason
        ? { type: 'controller', maxLength: at.readUInt16BE(0), controllerId: at.readUInt16BE(2), reason }
        : undefined;
    }
    case NXAST.CONTROLLER2:
      return decodeController2(at);
    case NXAST.DEC_TTL_CNT_IDS: {
      const count = at.readUInt16BE(0);
      return 6 + 2 * count <= at.length
        ? {
            type: 'dec_ttl',
            controllerIds: Array.from({ length: count }, (_, index) => at.readUInt16BE(6 + 2 * index)),
          }
        : undefined;
    }
  }
  return undefined;
}
