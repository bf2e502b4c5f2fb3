// Address parsing and formatting, the Internet checksum, UDP packets built with valid
// headers, and UDP and TCP headers written and read back.
import t from 'tap';
import {
  ETHER_TYPE_IPV4,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  TCP_ACK,
  TCP_SYN,
  buildUdpPacket,
  formatIpv4,
  formatMac,
  internetChecksum,
  parseIpv4,
  parseMac,
  readEthernet,
  readIpv4,
  readTcp,
  readUdp,
  udpChecksum,
  writeEthernet,
  writeIpv4,
  writeTcp,
  writeUdp,
  type TcpHeader,
  type UdpHeader,
} from '../lib/index.js';

t.test('addresses', async (t) => {
  t.same(Array.from(parseMac('00:1b:21:aA:ff:01')), [0, 0x1b, 0x21, 0xaa, 0xff, 1]);
  t.equal(formatMac(parseMac('02:00:00:00:00:0a')), '02:00:00:00:00:0a');
  t.equal(parseIpv4('192.168.1.10'), 0xc0a8010a);
  t.equal(formatIpv4(0xc0a8010a), '192.168.1.10');
  t.throws(() => parseIpv4('10.0.0.256'), {
    code: 'EINVAL',
    message: /expected a dotted IPv4 address such as 10.0.0.1, got "10.0.0.256"/,
  });
  t.throws(() => parseMac('00:00:00:00:00'), { code: 'EINVAL', message: /mac must be a MAC address/ });
});

t.test('the RFC 1071 example checksum', async (t) => {
  const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  t.equal(internetChecksum(bytes, 0, bytes.length), ~0xddf2 & 0xffff);
});

t.test('a UDP packet with valid headers and checksums', async (t) => {
  const payload = new TextEncoder().encode('hello');
  const packet = buildUdpPacket({
    dstMac: '00:00:00:00:00:02',
    srcMac: '00:00:00:00:00:01',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 1000,
    dstPort: 53,
    frameSize: 128,
    payload,
  });
  t.equal(packet.length, 124, 'frame size includes the 4-byte FCS');
  t.same(readEthernet(packet), { dst: '00:00:00:00:00:02', src: '00:00:00:00:00:01', etherType: 0x0800 });
  t.match(readIpv4(packet, 14), {
    src: '10.0.0.1',
    dst: '10.0.0.2',
    protocol: 17,
    totalLength: 110,
    ttl: 64,
    checksumOk: true,
  });
  const view = new DataView(packet.buffer);
  t.equal(view.getUint16(34), 1000);
  t.equal(view.getUint16(36), 53);
  t.equal(view.getUint16(38), 90);
  const stored = view.getUint16(40);
  view.setUint16(40, 0);
  t.equal(udpChecksum(packet, 14, 34, 90), stored, 'the UDP checksum covers the pseudo-header');
  t.same(packet.subarray(42, 47), payload);
  // By hand: 4500 + 006e + 4000 + 4011 + 0a00 + 0001 + 0a00 + 0002 = d982, complemented 267d.
  t.equal(view.getUint16(24), 0x267d);
});

t.test('bad packet options', async (t) => {
  const base = { dstMac: '00:00:00:00:00:02', srcMac: '00:00:00:00:00:01', srcIp: '10.0.0.1', dstIp: '10.0.0.2' };
  t.throws(() => buildUdpPacket({ ...base, frameSize: 63 }), {
    code: 'EINVAL',
    message: /frameSize must be an integer from 64 to 1518, got 63/,
  });
  t.throws(() => buildUdpPacket({ ...base, size: 64 } as never), {
    code: 'EINVAL',
    message: /Unknown option "size" for buildUdpPacket/,
  });
  t.throws(() => buildUdpPacket({ ...base, payload: new Uint8Array(100) }), {
    code: 'EINVAL',
    message: /payload must be a Uint8Array of at most 18 bytes for frameSize 64/,
  });
});

// A seeded generator (xorshift32), so that the round trips below try many headers and a
// failure names the seed that reproduces it.
function generator(seed: number): (max: number) => number {
  let state = seed >>> 0 || 1;
  return (max) => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return max === 0xffffffff ? state : state % (max + 1);
  };
}

/** An Ethernet/IPv4 frame of `payload` bytes after an IPv4 header for `protocol`, random addresses. */
function ipv4Frame(random: (max: number) => number, protocol: number, payload: number): Uint8Array {
  const bytes = new Uint8Array(14 + 20 + payload);
  for (let i = 34; i < bytes.length; i++) bytes[i] = random(255);
  const ip = () => [random(255), random(255), random(255), random(255)].join('.');
  writeEthernet(bytes, 0, { dst: '00:00:00:00:00:02', src: '00:00:00:00:00:01', etherType: ETHER_TYPE_IPV4 });
  writeIpv4(bytes, 14, { src: ip(), dst: ip(), protocol, totalLength: 20 + payload });
  return bytes;
}

t.test('readUdp reads back what writeUdp wrote, checksum verified', async (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = generator(seed);
    const length = 8 + random(200);
    const bytes = ipv4Frame(random, IP_PROTO_UDP, length);
    const header: UdpHeader = { srcPort: random(0xffff), dstPort: random(0xffff), length };
    t.equal(writeUdp(bytes, 14, 34, header), 42);
    const read = readUdp(bytes, 14, 34);
    const stored = new DataView(bytes.buffer).getUint16(40);
    if (!t.same(read, { ...header, checksum: stored, checksumOk: true }, `seed ${seed}`)) break;
    bytes[34 + length - 1] ^= 0x10;
    if (!t.equal(readUdp(bytes, 14, 34).checksumOk, false, `seed ${seed}: a changed byte fails the checksum`)) break;
  }
  const packet = buildUdpPacket({
    dstMac: '00:00:00:00:00:02',
    srcMac: '00:00:00:00:00:01',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
  });
  t.match(readUdp(packet, 14, 34), { srcPort: 1234, dstPort: 5678, length: 26, checksumOk: true });
  new DataView(packet.buffer).setUint16(40, 0);
  t.equal(readUdp(packet, 14, 34).checksumOk, true, 'no checksum (0) is allowed over IPv4');
});

t.test('readTcp reads back what writeTcp wrote, checksum verified', async (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = generator(seed);
    const dataOffset = 5 + random(10);
    const length = dataOffset * 4 + random(100);
    const bytes = ipv4Frame(random, IP_PROTO_TCP, length);
    const header: Required<TcpHeader> = {
      srcPort: random(0xffff),
      dstPort: random(0xffff),
      seq: random(0xffffffff),
      ack: random(0xffffffff),
      flags: random(0x1ff),
      window: random(0xffff),
      dataOffset,
      urgentPointer: random(0xffff),
    };
    t.equal(writeTcp(bytes, 14, 34, header), 34 + dataOffset * 4);
    const read = readTcp(bytes, 14, 34);
    const stored = new DataView(bytes.buffer).getUint16(50);
    const expected = { ...header, headerLength: dataOffset * 4, checksum: stored, checksumOk: true };
    if (!t.same(read, expected, `seed ${seed}`)) break;
    bytes[34 + length - 1] ^= 0x01;
    if (!t.equal(readTcp(bytes, 14, 34).checksumOk, false, `seed ${seed}: a changed byte fails the checksum`)) break;
  }
});

t.test('a TCP SYN by hand', async (t) => {
  const bytes = new Uint8Array(14 + 20 + 22);
  bytes.set([0x68, 0x69], 54);
  writeIpv4(bytes, 14, { src: '10.0.0.1', dst: '10.0.0.2', protocol: IP_PROTO_TCP, totalLength: 42 });
  writeTcp(bytes, 14, 34, { srcPort: 40000, dstPort: 80, seq: 0x01020304, ack: 0, flags: TCP_SYN, window: 65535 });
  // Checked with an independent implementation of RFC 1071 over the pseudo-header.
  t.equal(new DataView(bytes.buffer).getUint16(50), 0x92de);
  t.same(readTcp(bytes, 14, 34), {
    srcPort: 40000,
    dstPort: 80,
    seq: 0x01020304,
    ack: 0,
    dataOffset: 5,
    headerLength: 20,
    flags: TCP_SYN,
    window: 65535,
    checksum: 0x92de,
    urgentPointer: 0,
    checksumOk: true,
  });
  t.equal(readTcp(bytes, 14, 34).flags & TCP_ACK, 0);
});

t.test('bad TCP headers', async (t) => {
  const bytes = new Uint8Array(14 + 20 + 20);
  writeIpv4(bytes, 14, { src: '10.0.0.1', dst: '10.0.0.2', protocol: IP_PROTO_TCP, totalLength: 40 });
  const header = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 0, window: 0 };
  t.throws(() => writeTcp(bytes, 14, 34, { ...header, seq: 2 ** 32 }), {
    code: 'EINVAL',
    message: /seq must be an integer from 0 to 4294967295, got 4294967296/,
  });
  t.throws(() => writeTcp(bytes, 14, 34, { ...header, flags: 0x200 }), {
    code: 'EINVAL',
    message: /flags must be an integer from 0 to 511, got 512/,
  });
  t.throws(() => writeTcp(bytes, 14, 34, { ...header, dataOffset: 6 }), {
    code: 'EINVAL',
    message:
      "the IPv4 header's total length leaves 20 bytes for the TCP segment, expected from 24 to the 20 bytes after the IPv4 header",
  });
});

// Found by test/fuzz-args.test.ts (shrunk: an empty packet at offset 0): the readers threw a
// RangeError from DataView, and readEthernet read missing bytes as an empty MAC.
t.test('reading a header past the end of a packet is EINVAL', async (t) => {
  const short = new Uint8Array(13);
  t.throws(() => readEthernet(short), {
    code: 'EINVAL',
    message: 'the Ethernet header at offset 0 does not fit: it needs 14 bytes, the packet has 13',
  });
  t.throws(() => readIpv4(new Uint8Array(0), 0), { code: 'EINVAL', message: /IPv4 header at offset 0 does not fit/ });
  t.throws(() => readUdp(new Uint8Array(30), 0, 24), { code: 'EINVAL', message: /UDP header at offset 24/ });
  t.throws(() => readTcp(new Uint8Array(30), 0, 20), { code: 'EINVAL', message: /TCP header at offset 20/ });
  const options = new Uint8Array(20);
  options[0] = 0x4f; // IHL 15: a 60-byte header in a 20-byte packet
  t.equal(readIpv4(options, 0).checksumOk, false);
});
