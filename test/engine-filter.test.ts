// Engine filter: PacketFilter rules applied natively, checked against the TypeScript
// PacketFilter on the same packets (the odd ones included), its counters, and bad filters.
import t from 'tap';
import {
  Batch,
  Engine,
  Mempool,
  PacketFilter,
  buildUdpPacket,
  maxFilterRules,
  parseRule,
  type EngineFilter,
  type Port,
} from '../lib/index.js';
import { initEal, ringPort, testPacket, until } from './helpers/dpdk.js';

// Lcore 1 (CPU 1) runs the engines; the test thread feeds and drains ring ports.
initEal('engine-filter');
const pool = Mempool.create({ name: 'filter-pool', size: 4095 });
t.teardown(() => pool.close());

/** Every combination of a few addresses, ports and protocols, each also in odd shapes. */
function packetSet(): Uint8Array[] {
  const packets: Uint8Array[] = [];
  for (const srcIp of ['10.0.0.1', '192.168.3.4', '172.20.0.1', '172.32.0.1'])
    for (const dstIp of ['10.0.0.2', '10.1.2.3'])
      for (const dstPort of [53, 80, 89, 90, 6666])
        for (const srcPort of [999, 1000, 2000])
          for (const protocol of [17, 6, 1]) {
            const base = buildUdpPacket({
              dstMac: '02:00:00:00:00:02',
              srcMac: '02:00:00:00:00:01',
              srcIp,
              dstIp,
              srcPort,
              dstPort,
            });
            base[23] = protocol;
            const vlan = new Uint8Array(base.length + 4);
            vlan.set(base.subarray(0, 12));
            vlan.set([0x81, 0x00, 0x00, 0x05], 12);
            vlan.set(base.subarray(12), 16);
            const arp = base.slice();
            arp.set([0x08, 0x06], 12);
            const fragment = base.slice();
            fragment.set([0x00, 0xb9], 20); // a later fragment: its "ports" are payload
            const options = base.slice();
            options[14] = 0x46; // a 24-byte header: the ports are read 4 bytes further
            const noLength = base.slice();
            noLength[14] = 0x40; // a header length of 0: the "ports" are the IPv4 header's first bytes
            packets.push(
              base,
              vlan,
              arp,
              fragment,
              options,
              noLength,
              base.slice(0, 36), // an IPv4 header, but no room for ports
              vlan.slice(0, 40), // tagged, the same
              vlan.slice(0, 16), // a tag and nothing else
              base.slice(0, 33), // one byte short of an IPv4 header
            );
          }
  return packets;
}

const filter: EngineFilter = {
  rules: [
    'udp,tp_dst=6666',
    { match: 'udp,nw_src=192.168.0.0/16,tp_src=1000-1999', action: 'pass' },
    'tcp,nw_dst=10.1.0.0/16,tp_dst=80-89',
    { match: 'icmp', action: 'pass' },
    'ip,nw_src=172.16.0.0/12',
    { match: 'udp,tp_src=0-65535', action: 'pass' },
    'udp',
  ],
};
const texts = (filter.rules as (string | { match: string })[]).map((rule) =>
  typeof rule === 'string' ? rule : rule.match,
);
const drops = (filter.rules as (string | { action: string })[]).map((rule) => typeof rule === 'string');

const hex = (packet: Uint8Array): string => Buffer.from(packet).toString('hex');

/** Sends `packets` into `port` in bursts the ring takes, calling `afterEach` after each. */
async function feedAll(port: Port, packets: Uint8Array[], afterEach: (sent: number) => Promise<void>): Promise<void> {
  const batch = new Batch(256);
  for (let start = 0; start < packets.length; start += 256) {
    const chunk = packets.slice(start, start + 256);
    for (const packet of chunk) pool.alloc(batch, 1, packet);
    t.equal(port.txBurst(0, batch), chunk.length);
    await afterEach(start + chunk.length);
  }
  batch.close();
}

function drain(port: Port, into: string[]): void {
  const batch = new Batch(64);
  while (port.rxBurst(0, batch) > 0) {
    for (let i = 0; i < batch.count; i++) into.push(hex(batch.packet(i).copy()));
    batch.free();
  }
  batch.close();
}

t.test('the native filter matches, counts and drops as PacketFilter does on the same packets', async (t) => {
  const packets = packetSet();
  const a = ringPort(pool);
  const b = ringPort(pool);

  // The TypeScript filter, as examples/ips-loop.ts runs it: on received packets, in place.
  const reference = new PacketFilter(texts);
  const expected = { packets: texts.map(() => 0), bytes: texts.map(() => 0), unmatched: 0, unmatchedBytes: 0 };
  const passed: string[] = [];
  const rx = new Batch(256);
  await feedAll(a, packets, async () => {
    a.rxBurst(0, rx);
    for (let i = 0; i < rx.count; i++) {
      const rule = reference.match(rx.dataView(i), rx.offsets[i], rx.lengths[i]);
      if (rule < 0) {
        expected.unmatched++;
        expected.unmatchedBytes += rx.lengths[i];
      } else {
        expected.packets[rule]++;
        expected.bytes[rule] += rx.lengths[i];
      }
      if (rule < 0 || !drops[rule]) passed.push(hex(rx.packet(i).copy()));
    }
    rx.free();
  });
  rx.close();
  t.ok(
    expected.packets.every((count) => count > 0) && expected.unmatched > 0,
    'every rule, and no rule, matched some packets',
  );

  const engine = Engine.create({ lcore: 1, mode: 'io', streams: [{ rxPort: a, txPort: b }], filter });
  engine.start();
  const out: string[] = [];
  await feedAll(a, packets, async (sent) => {
    t.ok(await until(() => engine.stats()[0].rx === sent), `the engine received ${sent}`);
    drain(b, out);
  });
  t.ok(await until(() => engine.stats()[0].tx === passed.length), 'it forwarded every packet it passed');
  const live = engine.filterStats()!;
  engine.stop();
  drain(b, out);
  t.same(
    live.rules.map((rule) => rule.packets),
    expected.packets,
    'per-rule packets, read while it runs',
  );
  t.same(engine.filterStats(), {
    rules: texts.map((rule, i) => ({
      rule,
      action: drops[i] ? 'drop' : 'pass',
      packets: expected.packets[i],
      bytes: expected.bytes[i],
    })),
    unmatched: { packets: expected.unmatched, bytes: expected.unmatchedBytes },
  });
  t.match(engine.stats()[0], {
    rx: packets.length,
    tx: passed.length,
    dropped: 0,
    filtered: packets.length - passed.length,
  });
  t.equal(out.length, passed.length);
  t.ok(
    out.every((packet, i) => packet === passed[i]),
    'the packets it passed came out whole and in order',
  );
  engine.resetStats();
  t.match(engine.filterStats(), { rules: [{ packets: 0, bytes: 0 }], unmatched: { packets: 0, bytes: 0 } });
  engine.close();
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('defaultAction drops what no rule passes; rxonly only counts', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  const other = buildUdpPacket({
    dstMac: '02:00:00:00:00:02',
    srcMac: '02:00:00:00:00:01',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    dstPort: 53,
  });
  const batch = new Batch(20);
  for (let i = 0; i < 20; i++) pool.alloc(batch, 1, i % 2 === 0 ? testPacket : other);
  a.txBurst(0, batch);
  const allowList = Engine.create({
    lcore: 1,
    mode: 'macswap',
    streams: [{ rxPort: a, txPort: b }],
    filter: { rules: [{ match: 'udp,tp_dst=5678', action: 'pass' }], defaultAction: 'drop' },
  });
  allowList.start();
  t.ok(await until(() => allowList.stats()[0].rx === 20));
  allowList.stop();
  t.match(allowList.stats()[0], { rx: 20, tx: 10, filtered: 10 });
  t.match(allowList.filterStats(), { rules: [{ packets: 10, bytes: 600 }], unmatched: { packets: 10, bytes: 600 } });
  const counter = Engine.create({
    lcore: 1,
    mode: 'rxonly',
    streams: [{ rxPort: b, txPort: b }],
    filter: { rules: new PacketFilter(['udp,tp_dst=5678']) },
  });
  counter.start();
  t.ok(await until(() => counter.stats()[0].rx === 10));
  counter.stop();
  t.match(counter.filterStats(), { rules: [{ rule: 'udp,tp_dst=5678', action: 'drop', packets: 10 }] });
  const plain = Engine.create({ lcore: 1, mode: 'io', streams: [{ rxPort: a, txPort: b }] });
  t.equal(plain.filterStats(), undefined, 'an engine without a filter has no filter counters');
  plain.close();
  allowList.close();
  counter.close();
  batch.close();
  a.close();
  b.close();
});

t.test('the mirror gets a copy of what the rules matched, as received', async (t) => {
  const [a, b, tap] = [ringPort(pool), ringPort(pool), ringPort(pool)];
  const caught = buildUdpPacket({
    dstMac: '02:00:00:00:00:02',
    srcMac: '02:00:00:00:00:01',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    dstPort: 6666,
  });
  const batch = new Batch(20);
  for (let i = 0; i < 20; i++) pool.alloc(batch, 1, i % 2 === 0 ? testPacket : caught);
  a.txBurst(0, batch);
  batch.close();
  const engine = Engine.create({
    lcore: 1,
    mode: 'macswap',
    streams: [{ rxPort: a, txPort: b }],
    filter: { rules: ['udp,tp_dst=6666', { match: 'udp,tp_dst=5678', action: 'pass' }], mirror: { port: tap } },
  });
  engine.start();
  t.ok(await until(() => engine.stats()[0].rx === 20));
  t.throws(() => tap.stop(), { code: 'EBUSY' }, 'the mirror port is busy while the engine runs');
  engine.stop();
  t.match(engine.stats()[0], { tx: 10, filtered: 10 });
  t.match(engine.filterStats(), { mirror: { sent: 20, dropped: 0 } });
  const mirrored: string[] = [];
  drain(tap, mirrored);
  t.same(
    mirrored,
    Array.from({ length: 20 }, (_, i) => hex(i % 2 === 0 ? testPacket : caught)),
    'copies as received, in order, before macswap',
  );
  drain(b, []);
  engine.close();
  a.close();
  b.close();
  tap.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('bad filters', async (t) => {
  const p = ringPort(pool);
  const stream = { rxPort: p, txPort: p };
  const create = (filter: unknown, mode: 'io' | 'txonly' = 'io'): Engine =>
    Engine.create({
      lcore: 1,
      mode,
      mempool: pool,
      template: testPacket,
      streams: [stream],
      filter: filter as EngineFilter,
    });
  let parserError = { code: '', message: '', operation: '' };
  try {
    parseRule('udp,tp_dst=70000');
  } catch (error) {
    parserError = error as typeof parserError;
  }
  const { code, message, operation } = parserError;
  t.equal(code, 'EINVAL');
  t.throws(
    () => create({ rules: ['tcp', 'udp,tp_dst=70000'] }),
    { code, message, operation },
    "the parser's own error",
  );
  t.throws(() => create({ rules: [{ match: 'udp,dport=53', action: 'drop' }] }), {
    code: 'EINVAL',
    message: /unknown field "dport=53" in rule "udp,dport=53"/,
  });
  t.throws(() => create({ rules: ['udp'], defaultActoin: 'drop' }), {
    code: 'EINVAL',
    message: /did you mean "defaultAction"/,
  });
  t.throws(() => create({ rules: [{ match: 'udp', action: 'count' }] }), {
    code: 'EINVAL',
    message: 'filter.rules[0].action must be "pass" or "drop", got "count"',
  });
  t.throws(() => create({ rules: [{ text: 'odd', protocol: 300 }] }), {
    code: 'EINVAL',
    message: 'filter.rules[0].protocol must be an integer from 0 to 255, got 300',
  });
  t.throws(() => create({ rules: Array.from({ length: maxFilterRules + 1 }, () => 'udp') }), {
    code: 'EINVAL',
    message: `filter.rules must be a PacketFilter or a list of at most ${maxFilterRules} rules, got ${maxFilterRules + 1} rules`,
  });
  t.throws(() => create({ rules: ['udp'], mirror: { port: 1 } }), {
    code: 'EINVAL',
    message: 'filter.mirror.port must be a Port, got 1',
  });
  t.throws(() => create({ rules: ['udp'] }, 'txonly'), {
    code: 'EINVAL',
    message: 'filter applies to received packets: mode txonly receives none to forward',
  });
  p.close();
});
