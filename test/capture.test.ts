// Port.capture: pcapng files read back with the real tcpdump and tshark, compared byte for
// byte with what was sent, from TypeScript bursts and from a native engine; the filter, the
// snap length, the packet limit, and what happens to bad input.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Batch, Engine, Mempool, PacketFilter, buildUdpPacket, type Port } from '../lib/index.js';
import { initEal, ringPort, until } from './helpers/dpdk.js';

initEal('capture');
const pool = Mempool.create({ name: 'capture-pool', size: 4095 });
t.teardown(() => pool.close());
const dir = mkdtempSync(join(tmpdir(), 'dts-capture-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Distinct packets of distinct sizes: packet i carries i in its payload and its UDP port. */
function packets(count: number, dstPort = (i: number): number => 1000 + i): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    buildUdpPacket({
      dstMac: '02:00:00:00:00:02',
      srcMac: '02:00:00:00:00:01',
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      dstPort: dstPort(i),
      frameSize: 64 + ((i * 97) % 1400),
      payload: new Uint8Array(16).fill(i + 1),
    }),
  );
}

/** Sends `list` on a ring port (txBurst) and receives it back (rxBurst), all in one burst each. */
function sendAndReceive(port: Port, list: Uint8Array[]): void {
  const batch = new Batch(256);
  for (const packet of list) pool.alloc(batch, 1, packet);
  t.equal(port.txBurst(0, batch), list.length, 'the ring took every packet');
  t.equal(port.rxBurst(0, batch), list.length, 'and gave every packet back');
  batch.free();
  batch.close();
}

/** The packets of a capture file as tcpdump prints them (-xx: every byte captured), in hex. */
function tcpdumpBytes(path: string): string[] {
  const text = execFileSync('tcpdump', ['-r', path, '-n', '-xx'], { encoding: 'utf8', stdio: 'pipe' });
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const bytes = /^\s+0x[0-9a-f]+:\s+(.*)$/.exec(line);
    if (bytes !== null) out[out.length - 1] += bytes[1].replace(/\s+/g, '');
    else if (line.trim() !== '') out.push('');
  }
  return out;
}

/** Per packet, as tshark reads it: original length, captured length and direction (1: in, 2: out). */
function tsharkFrames(path: string): { length: number; captured: number; direction: number }[] {
  const text = execFileSync(
    'tshark',
    ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.packet_flags_direction'],
    { encoding: 'utf8', stdio: 'pipe' },
  );
  return text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [length, captured, direction] = line.split('\t').map((field) => Number(field));
      return { length, captured, direction };
    });
}

t.test('rx and tx of TypeScript bursts, byte for byte as sent, with their direction', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'both.pcapng');
  const capture = port.capture({ path });
  const list = packets(20);
  sendAndReceive(port, list);
  t.same(capture.stop(), { captured: 40, filteredOut: 0, dropped: 0, limitReached: false, capturing: false });
  const sent = list.map(hex);
  t.same(tcpdumpBytes(path), [...sent, ...sent], 'tcpdump reads the sent packets, then the received ones');
  t.same(
    tsharkFrames(path),
    [
      ...list.map((p) => ({ length: p.length, captured: p.length, direction: 2 })),
      ...list.map((p) => ({ length: p.length, captured: p.length, direction: 1 })),
    ],
    'tshark reads their lengths and directions',
  );
  port.close();
});

t.test('direction rx takes only what the port received', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'rx.pcapng');
  const capture = port.capture({ path, direction: 'rx' });
  const list = packets(5);
  sendAndReceive(port, list);
  t.equal(capture.stop().captured, 5);
  t.same(tcpdumpBytes(path), list.map(hex));
  t.same(
    tsharkFrames(path).map((frame) => frame.direction),
    [1, 1, 1, 1, 1],
  );
  port.close();
});

t.test('snapLength keeps the first bytes of each packet and the original length', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'snap.pcapng');
  const capture = port.capture({ path, direction: 'tx', snapLength: 42 });
  const list = packets(6);
  sendAndReceive(port, list);
  capture.stop();
  t.same(
    tcpdumpBytes(path),
    list.map((p) => hex(p.subarray(0, 42))),
  );
  t.same(
    tsharkFrames(path).map(({ length, captured }) => [length, captured]),
    list.map((p) => [p.length, 42]),
  );
  port.close();
});

t.test('packetLimit: the first packets only, then limitReached', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'limit.pcapng');
  const capture = port.capture({ path, direction: 'tx', packetLimit: 7 });
  const list = packets(12);
  sendAndReceive(port, list);
  sendAndReceive(port, list);
  t.match(capture.stop(), { captured: 7, limitReached: true, dropped: 0 });
  t.same(tcpdumpBytes(path), list.slice(0, 7).map(hex));
  port.close();
});

t.test('filter: only packets a rule matches, in PacketFilter syntax', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'filter.pcapng');
  const capture = port.capture({ path, direction: 'rx', filter: ['udp,tp_dst=53', 'udp,tp_dst=2000-2999'] });
  const list = packets(30, (i) => [53, 80, 2500][i % 3]);
  sendAndReceive(port, list);
  t.match(capture.stop(), { captured: 20, filteredOut: 10 });
  t.same(tcpdumpBytes(path), list.filter((_, i) => i % 3 !== 1).map(hex));
  port.close();
});

t.test('a PacketFilter works as the filter too', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'packet-filter.pcapng');
  const capture = port.capture({ path, direction: 'tx', filter: new PacketFilter(['udp,tp_dst=80']) });
  sendAndReceive(
    port,
    packets(9, (i) => [53, 80, 2500][i % 3]),
  );
  t.match(capture.stop(), { captured: 3, filteredOut: 6 });
  port.close();
});

t.test('a native engine forwarding on captured ports: its rx and its tx are captured', async (t) => {
  const a = ringPort(pool);
  const b = ringPort(pool);
  const rxPath = join(dir, 'engine-rx.pcapng');
  const txPath = join(dir, 'engine-tx.pcapng');
  const list = packets(50);
  const batch = new Batch(256);
  for (const packet of list) pool.alloc(batch, 1, packet);
  t.equal(a.txBurst(0, batch), list.length);
  // Captured from here: what the engine receives on a and sends on b, not the feeding above.
  const rx = a.capture({ path: rxPath, direction: 'rx' });
  const tx = b.capture({ path: txPath, direction: 'tx' });
  const engine = Engine.create({ lcore: 1, mode: 'io', streams: [{ rxPort: a, txPort: b }] });
  engine.start();
  t.ok(await until(() => engine.stats()[0].tx === list.length), 'the engine forwarded every packet');
  engine.stop();
  engine.close();
  t.match(rx.stop(), { captured: 50, dropped: 0 });
  t.match(tx.stop(), { captured: 50, dropped: 0 });
  t.same(tcpdumpBytes(rxPath), list.map(hex), 'what the engine received');
  t.same(tcpdumpBytes(txPath), list.map(hex), 'what the engine sent');
  t.equal(b.rxBurst(0, batch), list.length, 'and the packets went on');
  batch.free();
  batch.close();
  a.close();
  b.close();
});

t.test('an unwritable path is refused naming it and the fix; the port keeps working', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'missing-dir', 'x.pcapng');
  t.throws(() => port.capture({ path }), {
    name: 'DpdkError',
    code: 'ENOENT',
    operation: 'Port.capture',
    message: `Cannot open the capture file "${path}" for writing: No such file or directory: give a path in an existing directory this process may write to`,
  });
  t.notOk(existsSync(path));
  sendAndReceive(port, packets(3));
  // Nothing was left attached: the port can be captured now.
  const capture = port.capture({ path: join(dir, 'after.pcapng') });
  sendAndReceive(port, packets(2));
  t.equal(capture.stop().captured, 4);
  port.close();
});

t.test('one capture per port and direction: a second is EBUSY naming the first file', async (t) => {
  const port = ringPort(pool);
  const first = port.capture({ path: join(dir, 'first.pcapng'), direction: 'rx' });
  t.throws(() => port.capture({ path: join(dir, 'second.pcapng') }), {
    code: 'EBUSY',
    message: `Port's rx is already captured to "${join(dir, 'first.pcapng')}": stop that capture first`,
  });
  t.notOk(existsSync(join(dir, 'second.pcapng')), 'the refused capture created no file');
  const tx = port.capture({ path: join(dir, 'second.pcapng'), direction: 'tx' });
  tx.close();
  first.close();
  port.close();
});

t.test('bad options are refused before any file is made', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'bad.pcapng');
  t.throws(() => port.capture({ path, snapLength: 0 }), {
    code: 'EINVAL',
    message: 'snapLength must be an integer from 1 to 16384, got 0',
  });
  t.throws(() => port.capture({ path, direction: 'in' as 'rx' }), {
    code: 'EINVAL',
    message: 'direction must be "rx", "tx" or "both", got "in"',
  });
  t.throws(() => port.capture({ path, filter: ['udp,tp_dst=99999'] }), {
    code: 'EINVAL',
    message: /tp_dst in "udp,tp_dst=99999" must be a port or a range/,
  });
  t.throws(() => port.capture({ path, snaplen: 10 } as never), { code: 'EINVAL', message: /snaplen/ });
  t.notOk(existsSync(path));
  port.close();
});

t.test('stop and close twice; closing the port ends its capture with a complete file', async (t) => {
  const port = ringPort(pool);
  const path = join(dir, 'closed.pcapng');
  const capture = port.capture({ path });
  sendAndReceive(port, packets(4));
  port.close();
  t.equal(capture.stats().capturing, false, 'the port is gone: nothing is captured anymore');
  const stats = capture.stop();
  t.equal(stats.captured, 8);
  t.same(capture.stop(), stats);
  capture.close();
  t.equal(tcpdumpBytes(path).length, 8);
  t.throws(() => port.capture({ path }), { code: 'ERR_CLOSED' });
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});
