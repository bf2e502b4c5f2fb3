import { DpdkError, invalidArgument } from '../../errors.js';
import { decodeInstructions, encodeInstructions, OFPP, type Instruction } from './actions.js';
import { decodeMatch, encodeMatch, formatMac, type Match } from './match.js';

/** The wire version number of OpenFlow 1.3. */
export const OFP13_VERSION = 4;

/** Size of `ofp_header`. */
export const OFP_HEADER_LENGTH = 8;

/** OpenFlow 1.3 message types (`enum ofp_type`) used by this SDK. */
export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  FLOW_MOD: 14,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
} as const;

/** OpenFlow 1.3 multipart types (`enum ofp_multipart_type`) used by this SDK. */
export const OFPMP = { FLOW: 1, PORT_STATS: 4, PORT_DESC: 13 } as const;

/** `OFPMPF_REPLY_MORE`: more parts of this multipart reply follow. */
export const OFPMPF_REPLY_MORE = 1;

/** `OFPTT_ALL`: every table, in flow deletes and stats requests. */
export const OFPTT_ALL = 0xff;

/** `OFPG_ANY`: wildcard group in flow deletes and stats requests. */
export const OFPG_ANY = 0xffffffff;

/** `OFP_NO_BUFFER`: the flow-mod refers to no buffered packet. */
export const OFP_NO_BUFFER = 0xffffffff;

/** `OFP_DEFAULT_PRIORITY`: the priority of a flow that names none. */
export const OFP_DEFAULT_PRIORITY = 0x8000;

/** One OpenFlow message: the decoded header and the body after it. */
export interface OpenFlowMessage {
  /** Wire version (4 for OpenFlow 1.3). */
  version: number;
  /** Message type, see {@link OFPT}. */
  type: number;
  /** Transaction id, echoed in replies. */
  xid: number;
  /** The bytes after the 8-byte header. */
  body: Buffer;
}

function protocolError(operation: string, message: string): never {
  throw new DpdkError(message, { code: 'EPROTO', operation });
}

/** Builds a whole message: `ofp_header` (version, type, length, xid) followed by `body`. */
export function encodeMessage(type: number, xid: number, body: Buffer = Buffer.alloc(0), version = OFP13_VERSION): Buffer {
  const length = OFP_HEADER_LENGTH + body.length;
  if (length > 0xffff) {
    invalidArgument('encodeMessage', `OpenFlow message of type ${type} would be ${length} bytes; the limit is 65535`);
  }
  const header = Buffer.alloc(OFP_HEADER_LENGTH);
  header.writeUInt8(version, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(length, 2);
  header.writeUInt32BE(xid >>> 0, 4);
  return Buffer.concat([header, body]);
}

/**
 * Splits a byte stream into OpenFlow messages: copes with messages split across reads
 * and several messages per read. Holds at most one partial message (< 64 KiB, the
 * largest length a header can state) between calls, and copies it only once complete,
 * so a peer dribbling bytes costs linear, not quadratic, work.
 */
export class FrameDecoder {
  private readonly held: Buffer[] = [];
  private heldBytes = 0;
  /** Bytes needed before parsing can progress: a header, then the whole message. */
  private neededBytes = OFP_HEADER_LENGTH;

  /** Bytes held back, waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.heldBytes;
  }

  /**
   * Feeds the next chunk of the stream and returns the messages it completes.
   * Throws `EPROTO` when a header states a length below 8: the stream cannot be resynchronised.
   */
  push(chunk: Buffer): OpenFlowMessage[] {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes < this.neededBytes) {
      return [];
    }
    const data = this.held.length === 1 ? chunk : Buffer.concat(this.held, this.heldBytes);
    this.held.length = 0;
    this.heldBytes = 0;
    this.neededBytes = OFP_HEADER_LENGTH;
    const messages: OpenFlowMessage[] = [];
    let offset = 0;
    while (data.length - offset >= OFP_HEADER_LENGTH) {
      const length = data.readUInt16BE(offset + 2);
      if (length < OFP_HEADER_LENGTH) {
        protocolError('FrameDecoder.push', `OpenFlow header states length ${length}; the minimum is ${OFP_HEADER_LENGTH}`);
      }
      if (data.length - offset < length) {
        this.neededBytes = length;
        break;
      }
      messages.push({
        version: data.readUInt8(offset),
        type: data.readUInt8(offset + 1),
        xid: data.readUInt32BE(offset + 4),
        body: Buffer.from(data.subarray(offset + OFP_HEADER_LENGTH, offset + length)),
      });
      offset += length;
    }
    if (offset < data.length) {
      const rest = Buffer.from(data.subarray(offset));
      this.held.push(rest);
      this.heldBytes = rest.length;
    }
    return messages;
  }
}

/** `OFPHET_VERSIONBITMAP`: the hello element listing the versions a peer supports. */
const OFPHET_VERSIONBITMAP = 1;

/** Encodes a HELLO offering exactly OpenFlow 1.3 (header version 4 plus a version bitmap). */
export function encodeHello(xid: number): Buffer {
  const element = Buffer.alloc(8);
  element.writeUInt16BE(OFPHET_VERSIONBITMAP, 0);
  element.writeUInt16BE(8, 2);
  element.writeUInt32BE(1 << OFP13_VERSION, 4);
  return encodeMessage(OFPT.HELLO, xid, element);
}

/**
 * The versions a peer's HELLO offers: the bitmap when present, else (OpenFlow 1.0
 * style) every version up to the header's.
 */
export function helloVersions(message: OpenFlowMessage): number[] {
  const versions = new Set<number>();
  let position = 0;
  const body = message.body;
  while (body.length - position >= 4) {
    const type = body.readUInt16BE(position);
    const length = body.readUInt16BE(position + 2);
    if (length < 4 || position + length > body.length) {
      break;
    }
    if (type === OFPHET_VERSIONBITMAP) {
      for (let word = 0; word * 4 + 4 <= length - 4; word++) {
        const bitmap = body.readUInt32BE(position + 4 + word * 4);
        for (let bit = 0; bit < 32; bit++) {
          if (bitmap & (1 << bit)) {
            versions.add(word * 32 + bit);
          }
        }
      }
    }
    position += (length + 7) & ~7;
  }
  if (versions.size === 0) {
    for (let version = 1; version <= message.version; version++) {
      versions.add(version);
    }
  }
  return [...versions].sort((a, b) => a - b);
}

/** The OpenFlow version names `ovs-vsctl set bridge ... protocols=` uses, by wire version. */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'OpenFlow10',
  2: 'OpenFlow11',
  3: 'OpenFlow12',
  4: 'OpenFlow13',
  5: 'OpenFlow14',
  6: 'OpenFlow15',
};

/** The switch's answer to FEATURES_REQUEST. */
export interface SwitchFeatures {
  /** Datapath id (OVS: derived from the bridge's MAC unless `other-config:datapath-id`). */
  datapathId: bigint;
  /** Packets the switch can buffer for the controller. */
  nBuffers: number;
  /** Number of flow tables. */
  nTables: number;
  /** Auxiliary connection id (0: main connection). */
  auxiliaryId: number;
  /** `OFPC_*` capability bits. */
  capabilities: number;
}

/** Decodes an OFPT_FEATURES_REPLY body. Throws `EPROTO` when it is too short. */
export function decodeFeaturesReply(body: Buffer): SwitchFeatures {
  if (body.length < 24) {
    protocolError('decodeFeaturesReply', `FEATURES_REPLY body has ${body.length} bytes; expected 24`);
  }
  return {
    datapathId: body.readBigUInt64BE(0),
    nBuffers: body.readUInt32BE(8),
    nTables: body.readUInt8(12),
    auxiliaryId: body.readUInt8(13),
    capabilities: body.readUInt32BE(16),
  };
}

/** Flow-mod commands (`enum ofp_flow_mod_command`), named as in `ovs-ofctl`. */
export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';

const FLOW_MOD_COMMANDS: Record<FlowModCommand, number> = {
  add: 0,
  modify: 1,
  modify_strict: 2,
  delete: 3,
  delete_strict: 4,
};

/** Flow-mod flags (`enum ofp_flow_mod_flags`), named as in `ovs-ofctl`. */
export type FlowModFlag = 'send_flow_rem' | 'check_overlap' | 'reset_counts' | 'no_packet_counts' | 'no_byte_counts';

/** Bit value of each {@link FlowModFlag}, in the order `ovs-ofctl` prints them. */
export const FLOW_MOD_FLAG_BITS: Readonly<Record<FlowModFlag, number>> = {
  send_flow_rem: 1,
  check_overlap: 2,
  reset_counts: 4,
  no_packet_counts: 8,
  no_byte_counts: 16,
};

/** An OFPT_FLOW_MOD: add, modify or delete flows. */
export interface FlowMod {
  /** What to do. */
  command: FlowModCommand;
  /** Which packets the flow matches; for modify/delete, which flows are affected. Default: all. */
  match?: Match;
  /** Opaque 64-bit id set on add; with `cookieMask`, a filter on modify/delete. Default 0. */
  cookie?: bigint;
  /** Bits of `cookie` that must match (modify/delete). Default 0: any cookie. */
  cookieMask?: bigint;
  /** Table, default 0 for add/modify and {@link OFPTT_ALL} for delete. */
  tableId?: number;
  /** Seconds of inactivity before expiry, 0 (default) for never. */
  idleTimeout?: number;
  /** Seconds before expiry, 0 (default) for never. */
  hardTimeout?: number;
  /** Priority 0..65535, default {@link OFP_DEFAULT_PRIORITY}. */
  priority?: number;
  /** Buffered packet to apply the flow to, default {@link OFP_NO_BUFFER}. */
  bufferId?: number;
  /** Delete only flows that output to this port. Default `OFPP.ANY`. */
  outPort?: number;
  /** Delete only flows that output to this group. Default {@link OFPG_ANY}. */
  outGroup?: number;
  /** Flow-mod flags. */
  flags?: FlowModFlag[];
  /** Instructions; none means drop. */
  instructions?: Instruction[];
}

const FLOW_MOD_KEYS = new Set([
  'command', 'match', 'cookie', 'cookieMask', 'tableId', 'idleTimeout', 'hardTimeout', 'priority',
  'bufferId', 'outPort', 'outGroup', 'flags', 'instructions',
]);

function checkUint(operation: string, what: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    invalidArgument(operation, `${what} ${String(value)} is out of range; expected an integer 0..${max}`);
  }
  return value;
}

function checkUint64(operation: string, what: string, value: unknown): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) {
    invalidArgument(operation, `${what} ${String(value)} is not a 64-bit unsigned bigint`);
  }
  return value;
}

/** The flag bits of a list of {@link FlowModFlag}s. Throws `EINVAL` on an unknown name. */
export function encodeFlowModFlags(flags: readonly FlowModFlag[], operation: string): number {
  let bits = 0;
  for (const flag of flags) {
    const bit = Object.hasOwn(FLOW_MOD_FLAG_BITS, flag) ? FLOW_MOD_FLAG_BITS[flag] : undefined;
    if (bit === undefined) {
      invalidArgument(operation, `unknown flow-mod flag "${String(flag)}"; expected ${Object.keys(FLOW_MOD_FLAG_BITS).join(', ')}`);
    }
    bits |= bit;
  }
  return bits;
}

/** The {@link FlowModFlag}s set in `bits`, in `ovs-ofctl` order; unknown bits are dropped. */
export function decodeFlowModFlags(bits: number): FlowModFlag[] {
  return (Object.entries(FLOW_MOD_FLAG_BITS) as [FlowModFlag, number][])
    .filter(([, bit]) => (bits & bit) !== 0)
    .map(([flag]) => flag);
}

/** Encodes an OFPT_FLOW_MOD message. Throws `EINVAL` with the offending field on bad input. */
export function encodeFlowMod(xid: number, flowMod: FlowMod): Buffer {
  const operation = 'encodeFlowMod';
  for (const key of Object.keys(flowMod)) {
    if (!FLOW_MOD_KEYS.has(key)) {
      invalidArgument(operation, `unknown flow-mod option "${key}"; expected one of ${[...FLOW_MOD_KEYS].join(', ')}`);
    }
  }
  const command = Object.hasOwn(FLOW_MOD_COMMANDS, flowMod.command) ? FLOW_MOD_COMMANDS[flowMod.command] : undefined;
  if (command === undefined) {
    invalidArgument(operation, `unknown flow-mod command "${String(flowMod.command)}"; expected ${Object.keys(FLOW_MOD_COMMANDS).join(', ')}`);
  }
  const isDelete = flowMod.command === 'delete' || flowMod.command === 'delete_strict';
  const fixed = Buffer.alloc(40);
  fixed.writeBigUInt64BE(checkUint64(operation, 'cookie', flowMod.cookie ?? 0n), 0);
  fixed.writeBigUInt64BE(checkUint64(operation, 'cookie mask', flowMod.cookieMask ?? 0n), 8);
  fixed.writeUInt8(checkUint(operation, 'table id', flowMod.tableId ?? (isDelete ? OFPTT_ALL : 0), 255), 16);
  fixed.writeUInt8(command, 17);
  fixed.writeUInt16BE(checkUint(operation, 'idle timeout', flowMod.idleTimeout ?? 0, 0xffff), 18);
  fixed.writeUInt16BE(checkUint(operation, 'hard timeout', flowMod.hardTimeout ?? 0, 0xffff), 20);
  fixed.writeUInt16BE(checkUint(operation, 'priority', flowMod.priority ?? OFP_DEFAULT_PRIORITY, 0xffff), 22);
  fixed.writeUInt32BE(checkUint(operation, 'buffer id', flowMod.bufferId ?? OFP_NO_BUFFER, 0xffffffff), 24);
  fixed.writeUInt32BE(checkUint(operation, 'out port', flowMod.outPort ?? OFPP.ANY, 0xffffffff), 28);
  fixed.writeUInt32BE(checkUint(operation, 'out group', flowMod.outGroup ?? OFPG_ANY, 0xffffffff), 32);
  fixed.writeUInt16BE(encodeFlowModFlags(flowMod.flags ?? [], operation), 36);
  const match = encodeMatch(flowMod.match ?? {});
  const instructions = encodeInstructions(flowMod.instructions ?? []);
  return encodeMessage(OFPT.FLOW_MOD, xid, Buffer.concat([fixed, match, instructions]));
}

/** Encodes an OFPT_MULTIPART_REQUEST of `multipartType` with the given request body. */
export function encodeMultipartRequest(xid: number, multipartType: number, requestBody: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(multipartType, 0);
  return encodeMessage(OFPT.MULTIPART_REQUEST, xid, Buffer.concat([header, requestBody]));
}

/** The header of one OFPT_MULTIPART_REPLY part. */
export interface MultipartReplyPart {
  /** See {@link OFPMP}. */
  multipartType: number;
  /** `OFPMPF_*` flags; {@link OFPMPF_REPLY_MORE} means more parts follow. */
  flags: number;
  /** The part's body after the 8-byte multipart header. */
  body: Buffer;
}

/** Splits an OFPT_MULTIPART_REPLY body into its multipart header and payload. */
export function decodeMultipartReply(body: Buffer): MultipartReplyPart {
  if (body.length < 8) {
    protocolError('decodeMultipartReply', `MULTIPART_REPLY body has ${body.length} bytes; the multipart header needs 8`);
  }
  return { multipartType: body.readUInt16BE(0), flags: body.readUInt16BE(2), body: body.subarray(8) };
}

/** Filters of a flow stats (or flow delete-like) request. */
export interface FlowStatsRequest {
  /** Table to read, default {@link OFPTT_ALL}. */
  tableId?: number;
  /** Only flows that output to this port, default `OFPP.ANY`. */
  outPort?: number;
  /** Only flows that output to this group, default {@link OFPG_ANY}. */
  outGroup?: number;
  /** Cookie value to require under `cookieMask`. */
  cookie?: bigint;
  /** Cookie bits to compare, default 0 (any cookie). */
  cookieMask?: bigint;
  /** Only flows whose match is at least as specific as this one (non-strict). */
  match?: Match;
}

const FLOW_STATS_REQUEST_KEYS = new Set(['tableId', 'outPort', 'outGroup', 'cookie', 'cookieMask', 'match']);

/** Encodes the body of an OFPMP_FLOW request (`ofp_flow_stats_request`). */
export function encodeFlowStatsRequestBody(request: FlowStatsRequest): Buffer {
  const operation = 'encodeFlowStatsRequest';
  for (const key of Object.keys(request)) {
    if (!FLOW_STATS_REQUEST_KEYS.has(key)) {
      invalidArgument(operation, `unknown flow stats option "${key}"; expected one of ${[...FLOW_STATS_REQUEST_KEYS].join(', ')}`);
    }
  }
  const fixed = Buffer.alloc(32);
  fixed.writeUInt8(checkUint(operation, 'table id', request.tableId ?? OFPTT_ALL, 255), 0);
  fixed.writeUInt32BE(checkUint(operation, 'out port', request.outPort ?? OFPP.ANY, 0xffffffff), 4);
  fixed.writeUInt32BE(checkUint(operation, 'out group', request.outGroup ?? OFPG_ANY, 0xffffffff), 8);
  fixed.writeBigUInt64BE(checkUint64(operation, 'cookie', request.cookie ?? 0n), 16);
  fixed.writeBigUInt64BE(checkUint64(operation, 'cookie mask', request.cookieMask ?? 0n), 24);
  return Buffer.concat([fixed, encodeMatch(request.match ?? {})]);
}

/** One flow, as reported by flow stats (`ofp_flow_stats`). */
export interface FlowStats {
  /** Table holding the flow. */
  tableId: number;
  /** Whole seconds the flow has existed. */
  durationSec: number;
  /** Nanoseconds beyond `durationSec`. */
  durationNsec: number;
  /** Flow priority. */
  priority: number;
  /** Idle timeout in seconds, 0 for none. */
  idleTimeout: number;
  /** Hard timeout in seconds, 0 for none. */
  hardTimeout: number;
  /** Flow-mod flags the flow was added with. */
  flags: FlowModFlag[];
  /** The flow's cookie. */
  cookie: bigint;
  /** Packets matched (2^64-1 when the switch does not count). */
  packetCount: bigint;
  /** Bytes matched (2^64-1 when the switch does not count). */
  byteCount: bigint;
  /** The flow's match. */
  match: Match;
  /** The flow's instructions. */
  instructions: Instruction[];
}

/** Decodes the `ofp_flow_stats` entries of one OFPMP_FLOW reply part. Throws `EPROTO` on a malformed entry. */
export function decodeFlowStatsEntries(body: Buffer): FlowStats[] {
  const flows: FlowStats[] = [];
  let position = 0;
  while (position < body.length) {
    if (body.length - position < 48) {
      protocolError('decodeFlowStats', `flow stats entry truncated: ${body.length - position} bytes left, need at least 48`);
    }
    const length = body.readUInt16BE(position);
    if (length < 56 || position + length > body.length) {
      protocolError('decodeFlowStats', `flow stats entry length ${length} is invalid (${body.length - position} bytes left, minimum 56)`);
    }
    const entry = body.subarray(position, position + length);
    const { match, paddedLength } = decodeMatch(entry, 48);
    flows.push({
      tableId: entry.readUInt8(2),
      durationSec: entry.readUInt32BE(4),
      durationNsec: entry.readUInt32BE(8),
      priority: entry.readUInt16BE(12),
      idleTimeout: entry.readUInt16BE(14),
      hardTimeout: entry.readUInt16BE(16),
      flags: decodeFlowModFlags(entry.readUInt16BE(18)),
      cookie: entry.readBigUInt64BE(24),
      packetCount: entry.readBigUInt64BE(32),
      byteCount: entry.readBigUInt64BE(40),
      match,
      instructions: decodeInstructions(entry, 48 + paddedLength, length),
    });
    position += length;
  }
  return flows;
}

/** Encodes the body of an OFPMP_PORT_STATS request for one port or `OFPP.ANY`. */
export function encodePortStatsRequestBody(portNo: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(checkUint('encodePortStatsRequest', 'port', portNo, 0xffffffff), 0);
  return body;
}

/** Counters of one port (`ofp_port_stats`); 2^64-1 means "not supported". */
export interface PortStats {
  /** Port number. */
  portNo: number;
  /** Received packets. */
  rxPackets: bigint;
  /** Transmitted packets. */
  txPackets: bigint;
  /** Received bytes. */
  rxBytes: bigint;
  /** Transmitted bytes. */
  txBytes: bigint;
  /** Packets dropped on receive. */
  rxDropped: bigint;
  /** Packets dropped on transmit. */
  txDropped: bigint;
  /** Receive errors. */
  rxErrors: bigint;
  /** Transmit errors. */
  txErrors: bigint;
  /** Frame alignment errors. */
  rxFrameErrors: bigint;
  /** Receive overruns. */
  rxOverErrors: bigint;
  /** CRC errors. */
  rxCrcErrors: bigint;
  /** Collisions. */
  collisions: bigint;
  /** Whole seconds the port has existed (2^32-1 when unknown). */
  durationSec: number;
  /** Nanoseconds beyond `durationSec`. */
  durationNsec: number;
}

const PORT_STATS_LENGTH = 112;

/** Decodes the `ofp_port_stats` entries of one OFPMP_PORT_STATS reply part. */
export function decodePortStatsEntries(body: Buffer): PortStats[] {
  return decodeFixedEntries(body, PORT_STATS_LENGTH, 'decodePortStats', 'port stats', (position) => {
    const counter = (index: number): bigint => body.readBigUInt64BE(position + 8 + index * 8);
    return {
      portNo: body.readUInt32BE(position),
      rxPackets: counter(0),
      txPackets: counter(1),
      rxBytes: counter(2),
      txBytes: counter(3),
      rxDropped: counter(4),
      txDropped: counter(5),
      rxErrors: counter(6),
      txErrors: counter(7),
      rxFrameErrors: counter(8),
      rxOverErrors: counter(9),
      rxCrcErrors: counter(10),
      collisions: counter(11),
      durationSec: body.readUInt32BE(position + 104),
      durationNsec: body.readUInt32BE(position + 108),
    };
  });
}

/** Decodes a reply body of `entryLength`-byte entries, one `decode(position)` each. */
function decodeFixedEntries<T>(body: Buffer, entryLength: number, operation: string, what: string, decode: (position: number) => T): T[] {
  if (body.length % entryLength !== 0) {
    protocolError(operation, `${what} reply body of ${body.length} bytes is not a multiple of ${entryLength}`);
  }
  const entries: T[] = [];
  for (let position = 0; position < body.length; position += entryLength) entries.push(decode(position));
  return entries;
}

/** A port's description (`ofp_port`). */
export interface PortDescription {
  /** Port number. */
  portNo: number;
  /** Hardware address. */
  hwAddr: string;
  /** Port name (for OVS, the interface name). */
  name: string;
  /** `OFPPC_*` configuration bits (1: port down, 4: no receive, 32: no forward, 64: no packet-in). */
  config: number;
  /** `OFPPS_*` state bits (1: link down, 2: blocked, 4: live). */
  state: number;
  /** `OFPPF_*` current features. */
  curr: number;
  /** `OFPPF_*` advertised features. */
  advertised: number;
  /** `OFPPF_*` supported features. */
  supported: number;
  /** `OFPPF_*` features advertised by the peer. */
  peer: number;
  /** Current bit rate in kbps. */
  currSpeed: number;
  /** Maximum bit rate in kbps. */
  maxSpeed: number;
}

const PORT_DESC_LENGTH = 64;

/** Decodes the `ofp_port` entries of one OFPMP_PORT_DESC reply part. */
export function decodePortDescEntries(body: Buffer): PortDescription[] {
  return decodeFixedEntries(body, PORT_DESC_LENGTH, 'decodePortDesc', 'port desc', (position) => {
    const nameBytes = body.subarray(position + 16, position + 32);
    const nameEnd = nameBytes.indexOf(0);
    return {
      portNo: body.readUInt32BE(position),
      hwAddr: formatMac(body.subarray(position + 8, position + 14)),
      name: nameBytes.subarray(0, nameEnd === -1 ? 16 : nameEnd).toString('latin1'),
      config: body.readUInt32BE(position + 32),
      state: body.readUInt32BE(position + 36),
      curr: body.readUInt32BE(position + 40),
      advertised: body.readUInt32BE(position + 44),
      supported: body.readUInt32BE(position + 48),
      peer: body.readUInt32BE(position + 52),
      currSpeed: body.readUInt32BE(position + 56),
      maxSpeed: body.readUInt32BE(position + 60),
    };
  });
}

/** An OFPT_ERROR message, with its type and code decoded into spec names. */
export interface OpenFlowErrorInfo {
  /** `ofp_error_type` number (0xffff: experimenter). */
  type: number;
  /** Code within the type (for experimenter errors, the experimenter's code). */
  code: number;
  /** Spec name of the type, e.g. `OFPET_BAD_ACTION`. */
  typeName: string;
  /** Spec name of the code, e.g. `OFPBAC_BAD_OUT_PORT`. */
  codeName: string;
  /** Experimenter id, for `OFPET_EXPERIMENTER` errors. */
  experimenter?: number;
  /** Usually the first bytes of the offending request. */
  data: Buffer;
  /** A short explanation of the common codes, e.g. "bad output port". */
  description?: string;
}

/** Plain-words explanations of the errors a flow programmer meets most. */
const ERROR_DESCRIPTIONS: Readonly<Record<string, string>> = {
  OFPHFC_INCOMPATIBLE: 'no common OpenFlow version',
  OFPBRC_BAD_VERSION: 'the switch does not accept this OpenFlow version',
  OFPBRC_BAD_TYPE: 'message type not supported',
  OFPBRC_BAD_MULTIPART: 'multipart request type not supported',
  OFPBRC_BAD_LEN: 'wrong request length',
  OFPBRC_BAD_TABLE_ID: 'no such table',
  OFPBRC_BAD_PORT: 'no such port',
  OFPBAC_BAD_TYPE: 'unknown action type',
  OFPBAC_BAD_LEN: 'wrong action length',
  OFPBAC_BAD_OUT_PORT: 'bad output port',
  OFPBAC_BAD_ARGUMENT: 'bad action argument',
  OFPBAC_BAD_OUT_GROUP: 'no such group',
  OFPBAC_MATCH_INCONSISTENT: 'the action does not fit the match (e.g. set a TCP port without matching tcp)',
  OFPBAC_BAD_SET_TYPE: 'set_field of a field the switch cannot set',
  OFPBAC_BAD_SET_ARGUMENT: 'bad set_field value (e.g. vlan_vid without the 0x1000 present bit)',
  OFPBIC_UNKNOWN_INST: 'unknown instruction',
  OFPBIC_UNSUP_INST: 'instruction not supported',
  OFPBIC_BAD_TABLE_ID: 'goto_table to a table that does not exist or is not later in the pipeline',
  OFPBMC_BAD_FIELD: 'match field not supported',
  OFPBMC_BAD_VALUE: 'bad match value',
  OFPBMC_BAD_MASK: 'bad match mask',
  OFPBMC_BAD_PREREQ: 'match field prerequisites missing (e.g. nw_src without ip)',
  OFPBMC_DUP_FIELD: 'match field given twice',
  OFPFMFC_TABLE_FULL: 'flow table full',
  OFPFMFC_BAD_TABLE_ID: 'no such table (or table 255 in an add)',
  OFPFMFC_OVERLAP: 'check_overlap found an overlapping flow of the same priority',
  OFPFMFC_EPERM: 'permission denied',
  OFPFMFC_BAD_TIMEOUT: 'bad timeout',
  OFPFMFC_BAD_COMMAND: 'unknown flow-mod command',
  OFPFMFC_BAD_FLAGS: 'bad flow-mod flags',
};

const ERROR_TYPES: readonly (readonly [string, string, readonly string[]])[] = [
  ['OFPET_HELLO_FAILED', 'OFPHFC', ['INCOMPATIBLE', 'EPERM']],
  ['OFPET_BAD_REQUEST', 'OFPBRC', ['BAD_VERSION', 'BAD_TYPE', 'BAD_MULTIPART', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'EPERM', 'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN', 'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT', 'BAD_PACKET', 'MULTIPART_BUFFER_OVERFLOW']],
  ['OFPET_BAD_ACTION', 'OFPBAC', ['BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT', 'EPERM', 'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER', 'BAD_TAG', 'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT']],
  ['OFPET_BAD_INSTRUCTION', 'OFPBIC', ['UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA', 'UNSUP_METADATA_MASK', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM']],
  ['OFPET_BAD_MATCH', 'OFPBMC', ['BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK', 'BAD_WILDCARDS', 'BAD_FIELD', 'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM']],
  ['OFPET_FLOW_MOD_FAILED', 'OFPFMFC', ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS']],
  ['OFPET_GROUP_MOD_FAILED', 'OFPGMFC', ['GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED', 'OUT_OF_GROUPS', 'OUT_OF_BUCKETS', 'CHAINING_UNSUPPORTED', 'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP', 'CHAINED_GROUP', 'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET', 'BAD_WATCH', 'EPERM']],
  ['OFPET_PORT_MOD_FAILED', 'OFPPMFC', ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM']],
  ['OFPET_TABLE_MOD_FAILED', 'OFPTMFC', ['BAD_TABLE', 'BAD_CONFIG', 'EPERM']],
  ['OFPET_QUEUE_OP_FAILED', 'OFPQOFC', ['BAD_PORT', 'BAD_QUEUE', 'EPERM']],
  ['OFPET_SWITCH_CONFIG_FAILED', 'OFPSCFC', ['BAD_FLAGS', 'BAD_LEN', 'EPERM']],
  ['OFPET_ROLE_REQUEST_FAILED', 'OFPRRFC', ['STALE', 'UNSUP', 'BAD_ROLE']],
  ['OFPET_METER_MOD_FAILED', 'OFPMMFC', ['UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER', 'BAD_COMMAND', 'BAD_FLAGS', 'BAD_RATE', 'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS', 'OUT_OF_BANDS']],
  ['OFPET_TABLE_FEATURES_FAILED', 'OFPTFFC', ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM']],
];

/** `OFPET_HELLO_FAILED`: version negotiation failed. */
export const OFPET_HELLO_FAILED = 0;
const OFPET_EXPERIMENTER = 0xffff;

/** Decodes an OFPT_ERROR body into type/code numbers and their spec names. */
export function decodeErrorMessage(body: Buffer): OpenFlowErrorInfo {
  if (body.length < 4) {
    protocolError('decodeError', `ERROR body has ${body.length} bytes; expected at least 4`);
  }
  const type = body.readUInt16BE(0);
  const code = body.readUInt16BE(2);
  if (type === OFPET_EXPERIMENTER) {
    const experimenter = body.length >= 8 ? body.readUInt32BE(4) : 0;
    return {
      type,
      code,
      typeName: 'OFPET_EXPERIMENTER',
      codeName: `experimenter 0x${experimenter.toString(16)} code ${code}`,
      experimenter,
      data: Buffer.from(body.subarray(8)),
    };
  }
  const known = ERROR_TYPES[type];
  const codeSuffix = known?.[2][code];
  const codeName = known && codeSuffix ? `${known[1]}_${codeSuffix}` : `code ${code}`;
  const info: OpenFlowErrorInfo = {
    type,
    code,
    typeName: known ? known[0] : `error type ${type}`,
    codeName,
    data: Buffer.from(body.subarray(4)),
  };
  const description = Object.hasOwn(ERROR_DESCRIPTIONS, codeName) ? ERROR_DESCRIPTIONS[codeName] : undefined;
  if (description) {
    info.description = description;
  }
  return info;
}
