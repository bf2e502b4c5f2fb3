/**
 * Where the inner Ethernet frame of a GRE-encapsulated packet starts: for network functions
 * that receive mirrored traffic as GRE (an OVN `Mirror` of type `gre`, an OVS GRE tunnel
 * port) and look at what was mirrored, e.g. `PacketFilter.match` at the inner offset. No
 * allocation: it reads the headers in place through the packet's DataView.
 */
import { ETHER_HEADER_LENGTH, ETHER_TYPE_IPV4 } from './packet.js';

/** IP protocol number of GRE (RFC 2784). */
export const IP_PROTO_GRE = 47;
/** GRE protocol type of an encapsulated Ethernet frame (Transparent Ethernet Bridging). */
export const GRE_PROTO_TEB = 0x6558;

/** GRE flag bits of the first 16-bit word (RFC 2784, RFC 2890). */
const greChecksum = 0x8000;
const greKey = 0x2000;
const greSequence = 0x1000;
const greVersion = 0x0007;

/**
 * The offset of the Ethernet frame inside an Ethernet/IPv4/GRE packet (GRE version 0 with
 * protocol type 0x6558, with or without checksum, key and sequence number) at `offset` of
 * `view`, `length` bytes long; or -1 when the packet is not one, or is too short to hold
 * an inner Ethernet header. The inner frame is then `length - (inner - offset)` bytes.
 */
export function greInnerOffset(view: DataView, offset: number, length: number): number {
  const ip = offset + ETHER_HEADER_LENGTH;
  const end = offset + length;
  if (length < ETHER_HEADER_LENGTH + 20 + 4 || view.getUint16(offset + 12) !== ETHER_TYPE_IPV4) return -1;
  const versionAndLength = view.getUint8(ip);
  const ipHeaderLength = (versionAndLength & 0x0f) * 4;
  if (versionAndLength >> 4 !== 4 || ipHeaderLength < 20 || view.getUint8(ip + 9) !== IP_PROTO_GRE) return -1;
  // A fragment other than the first carries no GRE header.
  if ((view.getUint16(ip + 6) & 0x1fff) !== 0) return -1;
  const gre = ip + ipHeaderLength;
  if (gre + 4 > end) return -1;
  const flags = view.getUint16(gre);
  if ((flags & greVersion) !== 0 || view.getUint16(gre + 2) !== GRE_PROTO_TEB) return -1;
  const inner =
    gre +
    4 +
    ((flags & greChecksum) !== 0 ? 4 : 0) +
    ((flags & greKey) !== 0 ? 4 : 0) +
    ((flags & greSequence) !== 0 ? 4 : 0);
  return inner + ETHER_HEADER_LENGTH <= end ? inner : -1;
}
