/**
 * OpenFlow 1.3 multipart requests and replies: the request header, reply parts, and the
 * flow stats, port stats and port description bodies this SDK reads.
 */
import { formatMac } from '../../address.js';
import { DpdkError } from '../../errors.js';
import { checkBigInt, checkInteger, checkOptions } from '../../validate.js';
import { decodeInstructions, OFPP, type Instruction } from './actions.js';
import { encodeMessage, OFPG_ANY, OFPT, OFPTT_ALL } from './codec.js';
import { decodeFlowModFlags, type FlowModFlag } from './flow-mod.js';
import { decodeMatch, encodeMatch, type Match } from './match.js';

/** OpenFlow 1.3 multipart types (`enum ofp_multipart_type`) used by this SDK. */
export const OFPMP = { FLOW: 1, PORT_STATS: 4, PORT_DESC: 13 } as const;

/** `OFPMPF_REPLY_MORE`: more parts of this multipart reply follow. */
export const OFPMPF_REPLY_MORE = 1;

const uint64Max = 0xffffffffffffffffn;

function protocolError(operation: string, message: string): never {
  throw new DpdkError(message, { code: 'EPROTO', operation });
}

/** Encodes an OFPT_MULTIPART_REQUEST of `multipartType` with the given request body. */
export function encodeMultipartRequest(
  xid: number,
  multipartType: number,
  requestBody: Buffer = Buffer.alloc(0),
): Buffer {
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
    protocolError(
      'decodeMultipartReply',
      `MULTIPART_REPLY body has ${body.length} bytes; the multipart header needs 8`,
    );
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

const flowStatsRequestKeys = [
  'tableId',
  'outPort',
  'outGroup',
  'cookie',
  'cookieMask',
  'match',
] as const satisfies readonly (keyof FlowStatsRequest)[];

/** Encodes the body of an OFPMP_FLOW request (`ofp_flow_stats_request`). */
export function encodeFlowStatsRequestBody(request: FlowStatsRequest): Buffer {
  const operation = 'encodeFlowStatsRequest';
  checkOptions<FlowStatsRequest>(operation, request, flowStatsRequestKeys);
  const fixed = Buffer.alloc(32);
  fixed.writeUInt8(checkInteger(operation, 'tableId', request.tableId ?? OFPTT_ALL, 0, 255), 0);
  fixed.writeUInt32BE(checkInteger(operation, 'outPort', request.outPort ?? OFPP.ANY, 0, 0xffffffff), 4);
  fixed.writeUInt32BE(checkInteger(operation, 'outGroup', request.outGroup ?? OFPG_ANY, 0, 0xffffffff), 8);
  fixed.writeBigUInt64BE(checkBigInt(operation, 'cookie', request.cookie ?? 0n, 0n, uint64Max), 16);
  fixed.writeBigUInt64BE(checkBigInt(operation, 'cookieMask', request.cookieMask ?? 0n, 0n, uint64Max), 24);
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
      protocolError(
        'decodeFlowStats',
        `flow stats entry truncated: ${body.length - position} bytes left, need at least 48`,
      );
    }
    const length = body.readUInt16BE(position);
    if (length < 56 || position + length > body.length) {
      protocolError(
        'decodeFlowStats',
        `flow stats entry length ${length} is invalid (${body.length - position} bytes left, minimum 56)`,
      );
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
  body.writeUInt32BE(checkInteger('encodePortStatsRequest', 'port', portNo, 0, 0xffffffff), 0);
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

const portStatsLength = 112;

/** Decodes the `ofp_port_stats` entries of one OFPMP_PORT_STATS reply part. */
export function decodePortStatsEntries(body: Buffer): PortStats[] {
  return decodeFixedEntries(body, portStatsLength, 'decodePortStats', 'port stats', (position) => {
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
function decodeFixedEntries<T>(
  body: Buffer,
  entryLength: number,
  operation: string,
  what: string,
  decode: (position: number) => T,
): T[] {
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

const portDescLength = 64;

/** Decodes the `ofp_port` entries of one OFPMP_PORT_DESC reply part. */
export function decodePortDescEntries(body: Buffer): PortDescription[] {
  return decodeFixedEntries(body, portDescLength, 'decodePortDesc', 'port desc', (position) => {
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
