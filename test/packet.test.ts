// Address parsing and formatting, the Internet checksum, and UDP packets built with valid headers.
import t from 'tap';
import {
  buildUdpPacket,
  formatIpv4,
  formatMac,
  internetChecksum,
  parseIpv4,
  parseMac,
  readEthernet,
  readIpv4,
  udpChecksum,
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
