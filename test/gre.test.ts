// greInnerOffset (lib/gre.ts): where the Ethernet frame inside an Ethernet/IPv4/GRE packet
// starts, for each GRE header length, and -1 for what is not such a packet. Pure parsing.
import t from 'tap';
import { PacketFilter, buildUdpPacket, greInnerOffset, writeEthernet, writeIpv4 } from '../lib/index.js';

const inner = buildUdpPacket({
  dstMac: '00:00:00:00:00:02',
  srcMac: '00:00:00:00:00:01',
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  dstPort: 6666,
});

/** Ethernet/IPv4/GRE around `frame`, with `flags` in GRE's first word and `extra` bytes of optional fields. */
function gre(frame: Uint8Array, flags: number, extra: number, protocol = 0x6558, ipOptions = 0): Uint8Array {
  const header = 14 + 20 + ipOptions + 4 + extra;
  const bytes = new Uint8Array(header + frame.length);
  const ip = writeEthernet(bytes, 0, { dst: '02:00:c0:a8:64:c8', src: '02:00:c0:a8:64:01', etherType: 0x0800 });
  writeIpv4(bytes, ip, { src: '192.168.100.1', dst: '192.168.100.200', protocol: 47, totalLength: bytes.length - 14 });
  if (ipOptions > 0) bytes[ip] = 0x40 | ((20 + ipOptions) / 4);
  const view = new DataView(bytes.buffer);
  view.setUint16(ip + 20 + ipOptions, flags);
  view.setUint16(ip + 20 + ipOptions + 2, protocol);
  bytes.set(frame, header);
  return bytes;
}

const at = (bytes: Uint8Array, offset = 0, length = bytes.length - offset): number =>
  greInnerOffset(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset, length);

t.test('the inner frame follows the GRE header, its optional fields and IPv4 options', async (t) => {
  t.equal(at(gre(inner, 0, 0)), 38, 'no optional field');
  t.equal(at(gre(inner, 0x2000, 4)), 42, 'key (OVS, OVN mirrors)');
  t.equal(at(gre(inner, 0xb000, 12)), 50, 'checksum, key and sequence number');
  t.equal(at(gre(inner, 0x2000, 4, 0x6558, 8)), 50, 'IPv4 header with 8 bytes of options');
  const padded = new Uint8Array(10 + 42 + inner.length);
  padded.set(gre(inner, 0x2000, 4), 10);
  t.equal(at(padded, 10), 52, 'at an offset into the buffer');
});

t.test('a filter matches the inner packet at that offset', async (t) => {
  const bytes = gre(inner, 0x2000, 4);
  const view = new DataView(bytes.buffer);
  const filter = new PacketFilter(['udp,tp_dst=6666']);
  t.equal(filter.match(view, 0, bytes.length), -1, 'the outer packet is GRE, not UDP');
  const offset = at(bytes);
  t.equal(filter.match(view, offset, bytes.length - offset), 0);
});

t.test('what is not Ethernet/IPv4/GRE carrying Ethernet gives -1', async (t) => {
  t.equal(at(inner), -1, 'plain UDP');
  t.equal(at(gre(inner, 0x2000, 4, 0x0800)), -1, 'GRE carrying IPv4, not Ethernet');
  t.equal(at(gre(inner, 0x0001, 0)), -1, 'GRE version 1 (PPTP)');
  const fragment = gre(inner, 0, 0);
  new DataView(fragment.buffer).setUint16(14 + 6, 0x0010);
  t.equal(at(fragment), -1, 'a later IPv4 fragment');
  t.equal(at(gre(inner, 0, 0), 0, 38 + 13), -1, 'too short for the inner Ethernet header');
  t.equal(at(gre(inner, 0, 0), 0, 30), -1, 'too short for the GRE header');
});
