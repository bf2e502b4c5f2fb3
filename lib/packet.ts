/**
 * Ethernet, IPv4, UDP and TCP headers: constants, readers and writers with checksums, and
 * a builder of whole UDP test packets. The address parsers live in lib/address.ts and are
 * re-exported here, so `dpdk-ts` offers them beside the headers that use them.
 */
import { formatIpv4, formatMac, parseIpv4, parseMac } from './address.js';
import { invalidArgument } from './errors.js';
import { checkInteger, checkOptions } from './validate.js';

export { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from './address.js';

/** EtherType of IPv4. */
export const ETHER_TYPE_IPV4 = 0x0800;
/** EtherType of ARP. */
export const ETHER_TYPE_ARP = 0x0806;
/** EtherType of an 802.1Q VLAN tag. */
export const ETHER_TYPE_VLAN = 0x8100;
/** IP protocol number of UDP. */
export const IP_PROTO_UDP = 17;
/** IP protocol number of TCP. */
export const IP_PROTO_TCP = 6;
/** Bytes of an Ethernet header (no VLAN tag). */
export const ETHER_HEADER_LENGTH = 14;
/** Bytes of an IPv4 header without options. */
export const IPV4_HEADER_LENGTH = 20;
/** Bytes of a UDP header. */
export const UDP_HEADER_LENGTH = 8;
/** Bytes of a TCP header without options. */
export const TCP_HEADER_LENGTH = 20;
/** TCP flag FIN (RFC 9293): no more data from the sender. */
export const TCP_FIN = 0x01;
/** TCP flag SYN: synchronize sequence numbers. */
export const TCP_SYN = 0x02;
/** TCP flag RST: reset the connection. */
export const TCP_RST = 0x04;
/** TCP flag PSH: push function. */
export const TCP_PSH = 0x08;
/** TCP flag ACK: the acknowledgment field is significant. */
export const TCP_ACK = 0x10;
/** TCP flag URG: the urgent pointer field is significant. */
export const TCP_URG = 0x20;
/** TCP flag ECE: ECN-Echo (RFC 3168). */
export const TCP_ECE = 0x40;
/** TCP flag CWR: congestion window reduced (RFC 3168). */
export const TCP_CWR = 0x80;

/** The Internet checksum (RFC 1071) of `length` bytes at `offset`, folded, complemented. */
export function internetChecksum(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  let sum = initial;
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Fields of an Ethernet header. */
export interface EthernetHeader {
  /** Destination MAC. */
  dst: string;
  /** Source MAC. */
  src: string;
  /** EtherType, e.g. {@link ETHER_TYPE_IPV4}. */
  etherType: number;
}

/** Writes an Ethernet header at `offset`; returns the offset after it. */
export function writeEthernet(bytes: Uint8Array, offset: number, header: EthernetHeader): number {
  bytes.set(parseMac(header.dst), offset);
  bytes.set(parseMac(header.src), offset + 6);
  const etherType = checkInteger('writeEthernet', 'etherType', header.etherType, 0, 0xffff);
  bytes[offset + 12] = etherType >> 8;
  bytes[offset + 13] = etherType & 255;
  return offset + ETHER_HEADER_LENGTH;
}

/**
 * Refuses to read a `length`-byte header at `offset` that is not all inside `bytes` (a
 * truncated or hostile packet): EINVAL, rather than a RangeError or fields read as zeros.
 */
function checkHeaderFits(operation: string, bytes: Uint8Array, offset: number, length: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + length > bytes.length) {
    invalidArgument(
      operation,
      `${what} at offset ${offset} does not fit: it needs ${length} bytes, the packet has ${bytes.length}`,
    );
  }
}

/** Reads the Ethernet header at `offset`. Throws `EINVAL` when the packet is too short for it. */
export function readEthernet(bytes: Uint8Array, offset = 0): EthernetHeader {
  checkHeaderFits('readEthernet', bytes, offset, ETHER_HEADER_LENGTH, 'the Ethernet header');
  return {
    dst: formatMac(bytes, offset),
    src: formatMac(bytes, offset + 6),
    etherType: (bytes[offset + 12] << 8) | bytes[offset + 13],
  };
}

/** Fields of an IPv4 header (no options). */
export interface Ipv4Header {
  /** Source address, dotted. */
  src: string;
  /** Destination address, dotted. */
  dst: string;
  /** Protocol, e.g. {@link IP_PROTO_UDP}. */
  protocol: number;
  /** Header plus payload, in bytes. */
  totalLength: number;
  /** Time to live. Default 64. */
  ttl?: number;
  /** Identification. Default 0. */
  id?: number;
  /** Type of service / DSCP+ECN. Default 0. */
  tos?: number;
}

/** Writes an IPv4 header with its checksum at `offset`; returns the offset after it. */
export function writeIpv4(bytes: Uint8Array, offset: number, header: Ipv4Header): number {
  const op = 'writeIpv4';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint8(offset, 0x45);
  view.setUint8(offset + 1, checkInteger(op, 'tos', header.tos ?? 0, 0, 255));
  view.setUint16(offset + 2, checkInteger(op, 'totalLength', header.totalLength, IPV4_HEADER_LENGTH, 0xffff));
  view.setUint16(offset + 4, checkInteger(op, 'id', header.id ?? 0, 0, 0xffff));
  view.setUint16(offset + 6, 0x4000);
  view.setUint8(offset + 8, checkInteger(op, 'ttl', header.ttl ?? 64, 0, 255));
  view.setUint8(offset + 9, checkInteger(op, 'protocol', header.protocol, 0, 255));
  view.setUint16(offset + 10, 0);
  view.setUint32(offset + 12, parseIpv4(header.src));
  view.setUint32(offset + 16, parseIpv4(header.dst));
  view.setUint16(offset + 10, internetChecksum(bytes, offset, IPV4_HEADER_LENGTH));
  return offset + IPV4_HEADER_LENGTH;
}

/**
 * Reads the IPv4 header at `offset` and whether its checksum is right (false when the
 * header's stated length runs past the packet). Throws `EINVAL` when the packet is too
 * short for the fixed header.
 */
export function readIpv4(
  bytes: Uint8Array,
  offset: number,
): Ipv4Header & { checksumOk: boolean; headerLength: number } {
  checkHeaderFits('readIpv4', bytes, offset, IPV4_HEADER_LENGTH, 'the IPv4 header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = (view.getUint8(offset) & 15) * 4;
  return {
    tos: view.getUint8(offset + 1),
    totalLength: view.getUint16(offset + 2),
    id: view.getUint16(offset + 4),
    ttl: view.getUint8(offset + 8),
    protocol: view.getUint8(offset + 9),
    src: formatIpv4(view.getUint32(offset + 12)),
    dst: formatIpv4(view.getUint32(offset + 16)),
    headerLength,
    checksumOk: offset + headerLength <= bytes.length && internetChecksum(bytes, offset, headerLength) === 0,
  };
}

/** Fields of a UDP header. */
export interface UdpHeader {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** Header plus payload, in bytes. */
  length: number;
}

/**
 * Writes a UDP header at `udpOffset`, with the checksum over the IPv4 pseudo-header
 * (whose header is at `ipOffset`) and the payload already in place.
 */
export function writeUdp(bytes: Uint8Array, ipOffset: number, udpOffset: number, header: UdpHeader): number {
  const op = 'writeUdp';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint16(udpOffset, checkInteger(op, 'srcPort', header.srcPort, 0, 0xffff));
  view.setUint16(udpOffset + 2, checkInteger(op, 'dstPort', header.dstPort, 0, 0xffff));
  view.setUint16(udpOffset + 4, checkInteger(op, 'length', header.length, UDP_HEADER_LENGTH, 0xffff));
  view.setUint16(udpOffset + 6, 0);
  view.setUint16(udpOffset + 6, udpChecksum(bytes, ipOffset, udpOffset, header.length));
  return udpOffset + UDP_HEADER_LENGTH;
}

/** The UDP checksum of the datagram at `udpOffset` (0 is sent as 0xffff, as RFC 768 says). */
export function udpChecksum(bytes: Uint8Array, ipOffset: number, udpOffset: number, length: number): number {
  const checksum = internetChecksum(bytes, udpOffset, length, pseudoHeaderSum(bytes, ipOffset, IP_PROTO_UDP, length));
  return checksum === 0 ? 0xffff : checksum;
}

// The sum of the IPv4 pseudo-header of UDP and TCP checksums: addresses, protocol, length.
function pseudoHeaderSum(bytes: Uint8Array, ipOffset: number, protocol: number, length: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = protocol + length;
  for (let i = 12; i < 20; i += 2) sum += view.getUint16(ipOffset + i);
  return sum;
}

// Whether the checksum in place over the pseudo-header and `length` bytes verifies.
function checksumVerifies(
  bytes: Uint8Array,
  ipOffset: number,
  offset: number,
  protocol: number,
  length: number,
): boolean {
  if (offset + length > bytes.length) return false;
  return internetChecksum(bytes, offset, length, pseudoHeaderSum(bytes, ipOffset, protocol, length)) === 0;
}

/**
 * Reads the UDP header at `udpOffset`, with its checksum and whether the checksum is right
 * over the IPv4 pseudo-header (whose header is at `ipOffset`) and the `length` bytes of the
 * datagram; a checksum of 0 (none sent, as IPv4 allows) counts as right. Throws `EINVAL`
 * when the packet is too short for either header.
 */
export function readUdp(
  bytes: Uint8Array,
  ipOffset: number,
  udpOffset: number,
): UdpHeader & { checksum: number; checksumOk: boolean } {
  checkHeaderFits('readUdp', bytes, ipOffset, IPV4_HEADER_LENGTH, 'the IPv4 header');
  checkHeaderFits('readUdp', bytes, udpOffset, UDP_HEADER_LENGTH, 'the UDP header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint16(udpOffset + 4);
  const checksum = view.getUint16(udpOffset + 6);
  return {
    srcPort: view.getUint16(udpOffset),
    dstPort: view.getUint16(udpOffset + 2),
    length,
    checksum,
    checksumOk: checksum === 0 || checksumVerifies(bytes, ipOffset, udpOffset, IP_PROTO_UDP, length),
  };
}

/** Fields of a TCP header (RFC 9293). */
export interface TcpHeader {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** Sequence number, 0 to 2^32 - 1. */
  seq: number;
  /** Acknowledgment number, 0 to 2^32 - 1. */
  ack: number;
  /**
   * The flags, OR-ed: {@link TCP_SYN}, {@link TCP_ACK}, ...; the 9 bits from FIN (0x001) to
   * the nonce-sum bit NS (0x100).
   */
  flags: number;
  /** Receive window. */
  window: number;
  /**
   * Header length in 32-bit words, 5 to 15. Default 5 (no options); when larger, the
   * writer leaves the options already in place after the fixed header.
   */
  dataOffset?: number;
  /** Urgent pointer. Default 0. */
  urgentPointer?: number;
}

/**
 * Writes a TCP header at `tcpOffset`, with the checksum over the IPv4 pseudo-header (whose
 * header, at `ipOffset`, gives the segment's length) and the options and payload already
 * in place; returns the offset after the header, options included.
 */
export function writeTcp(bytes: Uint8Array, ipOffset: number, tcpOffset: number, header: TcpHeader): number {
  const op = 'writeTcp';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = checkInteger(op, 'dataOffset', header.dataOffset ?? 5, 5, 15);
  const flags = checkInteger(op, 'flags', header.flags, 0, 0x1ff);
  view.setUint16(tcpOffset, checkInteger(op, 'srcPort', header.srcPort, 0, 0xffff));
  view.setUint16(tcpOffset + 2, checkInteger(op, 'dstPort', header.dstPort, 0, 0xffff));
  view.setUint32(tcpOffset + 4, checkInteger(op, 'seq', header.seq, 0, 0xffffffff));
  view.setUint32(tcpOffset + 8, checkInteger(op, 'ack', header.ack, 0, 0xffffffff));
  view.setUint8(tcpOffset + 12, (dataOffset << 4) | (flags >> 8));
  view.setUint8(tcpOffset + 13, flags & 0xff);
  view.setUint16(tcpOffset + 14, checkInteger(op, 'window', header.window, 0, 0xffff));
  view.setUint16(tcpOffset + 16, 0);
  view.setUint16(tcpOffset + 18, checkInteger(op, 'urgentPointer', header.urgentPointer ?? 0, 0, 0xffff));
  const length = tcpSegmentLength(view, ipOffset, tcpOffset);
  if (length < dataOffset * 4 || tcpOffset + length > bytes.length) {
    invalidArgument(
      op,
      `the IPv4 header's total length leaves ${length} bytes for the TCP segment, expected from ${dataOffset * 4} to the ${bytes.length - tcpOffset} bytes after the IPv4 header`,
    );
  }
  view.setUint16(
    tcpOffset + 16,
    internetChecksum(bytes, tcpOffset, length, pseudoHeaderSum(bytes, ipOffset, IP_PROTO_TCP, length)),
  );
  return tcpOffset + dataOffset * 4;
}

// The TCP segment's length: the IPv4 total length less the bytes before the segment.
function tcpSegmentLength(view: DataView, ipOffset: number, tcpOffset: number): number {
  return view.getUint16(ipOffset + 2) - (tcpOffset - ipOffset);
}

/**
 * Reads the TCP header at `tcpOffset`, with its header length in bytes, its checksum and
 * whether the checksum is right over the IPv4 pseudo-header (whose header, at `ipOffset`,
 * gives the segment's length) and the segment. Throws `EINVAL` when the packet is too
 * short for either header.
 */
export function readTcp(
  bytes: Uint8Array,
  ipOffset: number,
  tcpOffset: number,
): Required<TcpHeader> & { headerLength: number; checksum: number; checksumOk: boolean } {
  checkHeaderFits('readTcp', bytes, ipOffset, IPV4_HEADER_LENGTH, 'the IPv4 header');
  checkHeaderFits('readTcp', bytes, tcpOffset, TCP_HEADER_LENGTH, 'the TCP header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offsetAndNs = view.getUint8(tcpOffset + 12);
  const dataOffset = offsetAndNs >> 4;
  const length = tcpSegmentLength(view, ipOffset, tcpOffset);
  return {
    srcPort: view.getUint16(tcpOffset),
    dstPort: view.getUint16(tcpOffset + 2),
    seq: view.getUint32(tcpOffset + 4),
    ack: view.getUint32(tcpOffset + 8),
    dataOffset,
    headerLength: dataOffset * 4,
    flags: ((offsetAndNs & 1) << 8) | view.getUint8(tcpOffset + 13),
    window: view.getUint16(tcpOffset + 14),
    checksum: view.getUint16(tcpOffset + 16),
    urgentPointer: view.getUint16(tcpOffset + 18),
    checksumOk: length >= dataOffset * 4 && checksumVerifies(bytes, ipOffset, tcpOffset, IP_PROTO_TCP, length),
  };
}

/** Options of {@link buildUdpPacket}. */
export interface UdpPacketOptions {
  /** Destination MAC. */
  dstMac: string;
  /** Source MAC. */
  srcMac: string;
  /** Source IPv4 address. */
  srcIp: string;
  /** Destination IPv4 address. */
  dstIp: string;
  /** UDP source port. Default 1234. */
  srcPort?: number;
  /** UDP destination port. Default 5678. */
  dstPort?: number;
  /**
   * Frame size on the wire in bytes, FCS included, 64..1518 (pktgen's convention): the
   * packet built is 4 bytes shorter. Default 64.
   */
  frameSize?: number;
  /** Payload bytes placed after the UDP header (the rest is zeros). */
  payload?: Uint8Array;
}

const udpPacketKeys = [
  'dstMac',
  'srcMac',
  'srcIp',
  'dstIp',
  'srcPort',
  'dstPort',
  'frameSize',
  'payload',
] as const satisfies readonly (keyof UdpPacketOptions)[];

/** Builds an Ethernet/IPv4/UDP packet with valid checksums. */
export function buildUdpPacket(options: UdpPacketOptions): Uint8Array {
  const op = 'buildUdpPacket';
  checkOptions<UdpPacketOptions>(op, options, udpPacketKeys);
  const frameSize = checkInteger(op, 'frameSize', options.frameSize ?? 64, 64, 1518);
  const length = frameSize - 4;
  const bytes = new Uint8Array(length);
  const payloadRoom = length - ETHER_HEADER_LENGTH - IPV4_HEADER_LENGTH - UDP_HEADER_LENGTH;
  if (options.payload !== undefined) {
    if (!(options.payload instanceof Uint8Array) || options.payload.length > payloadRoom) {
      invalidArgument(op, `payload must be a Uint8Array of at most ${payloadRoom} bytes for frameSize ${frameSize}`);
    }
    bytes.set(options.payload, ETHER_HEADER_LENGTH + IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH);
  }
  const ipOffset = writeEthernet(bytes, 0, { dst: options.dstMac, src: options.srcMac, etherType: ETHER_TYPE_IPV4 });
  const udpOffset = writeIpv4(bytes, ipOffset, {
    src: options.srcIp,
    dst: options.dstIp,
    protocol: IP_PROTO_UDP,
    totalLength: length - ETHER_HEADER_LENGTH,
  });
  writeUdp(bytes, ipOffset, udpOffset, {
    srcPort: options.srcPort ?? 1234,
    dstPort: options.dstPort ?? 5678,
    length: length - ETHER_HEADER_LENGTH - IPV4_HEADER_LENGTH,
  });
  return bytes;
}
