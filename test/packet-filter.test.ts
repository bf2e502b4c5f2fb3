import t from 'tap';
import { PacketFilter, buildUdpPacket, parseRule } from '../lib/index.js';

const udp = (srcIp: string, srcPort: number, dstPort: number): DataView =>
  new DataView(
    buildUdpPacket({
      dstMac: '00:00:00:00:00:02',
      srcMac: '00:00:00:00:00:01',
      srcIp,
      dstIp: '10.0.0.2',
      srcPort,
      dstPort,
    }).buffer,
  );

t.test('rules match protocol, networks and port ranges', async (t) => {
  const filter = new PacketFilter(['udp,tp_dst=6666', 'udp,nw_src=192.168.0.0/16,tp_src=1000-1999', 'tcp']);
  t.equal(filter.match(udp('10.0.0.1', 5, 6666), 0, 60), 0);
  t.equal(filter.match(udp('192.168.7.1', 1500, 53), 0, 60), 1);
  t.equal(filter.match(udp('192.168.7.1', 2000, 53), 0, 60), -1);
  t.equal(filter.match(udp('10.0.0.1', 1500, 53), 0, 60), -1);
  const arp = udp('10.0.0.1', 1, 1);
  arp.setUint16(12, 0x0806);
  t.equal(filter.match(arp, 0, 60), -1, 'non-IPv4 matches nothing');
  t.equal(new PacketFilter(['ip']).match(udp('1.2.3.4', 1, 1), 0, 60), 0);
});

t.test('bad rules', async (t) => {
  t.throws(() => parseRule('udp,tp_dst=70000'), {
    code: 'EINVAL',
    message: /tp_dst in "udp,tp_dst=70000" must be a port or a range LOW-HIGH within 0..65535, got "70000"/,
  });
  t.throws(() => parseRule('tp_dst=53'), { code: 'EINVAL', message: /matches ports, so it needs udp or tcp/ });
  t.throws(() => parseRule('udp,dport=53'), {
    code: 'EINVAL',
    message: /unknown field "dport=53" in rule "udp,dport=53"/,
  });
  t.throws(() => parseRule('nw_src=10.0.0.0/33'), {
    code: 'EINVAL',
    message: /must be ADDRESS or ADDRESS\/PREFIX \(0..32\)/,
  });
});
