import t from 'tap';
import { Batch, Mempool, NullPort, Port, RingPort, buildUdpPacket } from '../lib/index.js';
import { initEal } from './helpers/dpdk.js';

initEal('port', { vdevs: ['net_null9,size=64'] });
const pool = Mempool.create({ name: 'port-pool', size: 4095 });
t.teardown(() => pool.close());

const packet = buildUdpPacket({
  dstMac: '00:00:00:00:00:02',
  srcMac: '00:00:00:00:00:01',
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
});

t.test('Port.list and Port.get find ports created at init', async (t) => {
  const port = Port.get('net_null9');
  t.equal(Port.get(port.id), port, 'one Port object per id');
  t.match(
    Port.list().find((info) => info.name === 'net_null9'),
    { driver: 'net_null', hotplugged: false, started: false },
  );
  t.throws(() => Port.get('net_nothing'), { code: 'EINVAL', message: 'No port named "net_nothing"' });
  t.throws(() => Port.get(999), { code: 'EINVAL', message: /port id must be an integer from 0 to 31, got 999/ });
  t.throws(() => Port.get(20), { code: 'ENODEV', message: 'No port with id 20' });
});

t.test('a ring port returns what it sends, byte for byte', async (t) => {
  const port = RingPort.create();
  t.match(port.info(), { driver: 'net_ring', hotplugged: true });
  t.same(port.configure({ mempool: pool, rxDescriptors: 512, txDescriptors: 512 }), {
    rxDescriptors: 512,
    txDescriptors: 512,
  });
  port.start();
  t.ok(port.started);
  const batch = new Batch(32);
  t.equal(pool.alloc(batch, 32, packet), 32);
  const view = batch.dataView(5);
  view.setUint32(batch.offsets[5] + 42, 0xdeadbeef);
  t.equal(port.txBurst(0, batch), 32);
  t.equal(batch.count, 0);
  t.equal(port.rxBurst(0, batch), 32);
  t.equal(batch.count, 32);
  for (let i = 0; i < 32; i++) {
    const bytes = batch.packet(i).copy();
    if (i === 5) t.equal(Buffer.from(bytes).readUInt32BE(42), 0xdeadbeef, 'bytes written in place were sent');
    else t.same(bytes, packet);
  }
  t.match(port.stats(), { txPackets: 32, rxPackets: 32 });
  t.type(port.xstats().rx_good_packets, 'number');
  port.resetStats();
  t.equal(port.stats().rxPackets, 0);
  port.resetXstats();
  batch.free();
  batch.close();
  port.close();
  port.close();
  t.throws(() => port.start(), { code: 'ERR_CLOSED', message: 'Port is closed' });
  t.throws(() => port.stats(), { code: 'ERR_CLOSED', message: 'Port is closed' });
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('burst errors', async (t) => {
  const port = RingPort.create();
  const batch = new Batch(8);
  t.throws(() => port.start(), { code: 'EINVAL', message: 'Port is not configured: call configure() before start()' });
  port.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
  const notStarted = { code: 'ERR_PORT_STOPPED', message: 'Port is not started: call port.start() first' };
  t.throws(() => port.rxBurst(0, batch), { ...notStarted, operation: 'Port.rxBurst' });
  t.throws(() => port.txBurst(0, batch), { ...notStarted, operation: 'Port.txBurst' });
  port.start();
  t.throws(() => port.rxBurst(1, batch), {
    code: 'EINVAL',
    message: 'rx queue 1 does not exist: the port has 1 rx queue(s)',
  });
  t.throws(() => port.txBurst(3, batch), {
    code: 'EINVAL',
    message: 'tx queue 3 does not exist: the port has 1 tx queue(s)',
  });
  for (const queue of [-1, 1.5, 65536, NaN, '0']) {
    t.throws(() => port.rxBurst(queue as number, batch), {
      code: 'EINVAL',
      message: /^queue must be an integer from 0 to 65535, got /,
    });
    t.throws(() => port.txRxBurst(0, batch, port, queue as number), {
      code: 'EINVAL',
      message: /^queue must be an integer from 0 to 65535/,
    });
  }
  t.throws(
    () => port.txBurst(65536, batch),
    { code: 'EINVAL', message: 'queue must be an integer from 0 to 65535, got 65536' },
    'a queue that would spill into the port id bits of the handle',
  );
  t.throws(() => port.rxBurst(0, {} as Batch), { code: 'EINVAL', message: 'Expected a Batch' });
  t.throws(() => port.txBurst(0, {} as Batch), { code: 'EINVAL', message: 'Expected a Batch' });
  t.throws(() => port.configure({ mempool: pool }), { code: 'EBUSY', message: /stop it before configuring it/ });
  t.throws(() => port.configure({ mempool: pool, rxQueue: 1 } as never), { message: /did you mean "rxQueues"/ });
  pool.alloc(batch, 2, packet);
  t.throws(() => port.rxBurst(0, batch), { code: 'EBUSY', message: /Batch still holds 2 packet\(s\)/ });
  batch.lengths[1] = 5000;
  t.throws(() => port.txBurst(0, batch), {
    code: 'EINVAL',
    message: /packet 1 has length 5000 but its buffer holds at most 2048 bytes/,
  });
  t.equal(batch.count, 2, 'nothing sent or lost after a refused tx');
  batch.lengths[1] = 60;
  batch.close();
  t.throws(() => port.txBurst(0, batch), { code: 'ERR_CLOSED', message: 'Batch is closed' });
  const newer = new Batch(8);
  pool.alloc(newer, 3, packet);
  t.throws(
    () => port.txBurst(0, batch),
    { code: 'ERR_CLOSED', message: 'Batch is closed' },
    'even when a newer batch took its native slot',
  );
  t.equal(newer.count, 3, 'the newer batch is untouched');
  newer.close();
  t.throws(() => port.configure({ mempool: port } as never), { code: 'EINVAL', message: /mempool must be a Mempool/ });
  t.equal(batch.lengths.length, 0, 'a closed batch has no views left');
  port.close();
  t.equal(pool.stats().inUse, 0);
});

t.test('unsent packets stay in the batch, dropped ones are freed, stale handles throw', async (t) => {
  const port = RingPort.create();
  port.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
  port.start();
  const batch = new Batch(256);
  let sent = 0;
  for (let round = 0; round < 8; round++) {
    const room = 256 - batch.count;
    t.equal(pool.alloc(batch, room, packet), room);
    sent += port.txBurst(0, batch);
  }
  const ringSize = sent;
  t.ok(ringSize > 0 && ringSize < 8 * 256, `the ring took ${ringSize} packets`);
  t.equal(batch.count, 256, 'unsent packets stay');
  const handle = batch.packet(0);
  t.equal(handle.length, 60);
  batch.free();
  t.throws(() => handle.data, {
    code: 'ERR_STALE_PACKET',
    message: 'Packet handle is stale: the packet was sent or freed',
  });
  t.throws(() => handle.length, { code: 'ERR_STALE_PACKET' });

  let received = 0;
  while (port.rxBurst(0, batch) > 0) {
    received += batch.count;
    batch.free();
  }
  t.equal(received, ringSize, 'what the ring took comes back, once');

  pool.alloc(batch, 4, packet);
  batch.drop(1);
  batch.drop(3);
  t.throws(() => batch.drop(4), { code: 'EINVAL', message: 'packet index must be from 0 to 3, got 4' });
  t.equal(port.txBurst(0, batch), 2, 'dropped packets are freed, not sent');
  t.equal(port.rxBurst(0, batch), 2);
  batch.free();
  batch.close();
  port.close();
  t.equal(pool.stats().inUse, 0, 'every packet accounted for: no leak');
});

t.test('bursts on a closed port throw, even when a new device took its id', async (t) => {
  const old = RingPort.create();
  old.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
  old.start();
  const batch = new Batch(8);
  old.close();
  t.throws(() => old.rxBurst(0, batch), { code: 'ERR_CLOSED', message: 'Port is closed' });
  const reused = RingPort.create();
  t.equal(reused.id, old.id, 'the new ring port got the freed id');
  reused.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
  reused.start();
  pool.alloc(batch, 2, packet);
  t.throws(() => old.txBurst(0, batch), { code: 'ERR_CLOSED', message: 'Port is closed' });
  t.throws(() => reused.txRxBurst(0, batch, old, 0), { code: 'ERR_CLOSED', message: 'Port is closed' });
  t.equal(batch.count, 2, 'nothing sent through the stale port');
  t.equal(reused.txRxBurst(0, batch, reused, 0), 2, 'the new port works');
  batch.close();
  reused.close();
  t.equal(pool.stats().inUse, 0);
});

t.test('lengths JS changes after a receive are sent', async (t) => {
  const port = RingPort.create();
  port.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
  port.start();
  const batch = new Batch(8);
  pool.alloc(batch, 4, packet);
  t.equal(port.txRxBurst(0, batch, port, 0), 4);
  t.same([...batch.lengths.subarray(0, 4)], [60, 60, 60, 60], 'received as sent');
  batch.lengths[2] = 100;
  t.equal(port.txRxBurst(0, batch, port, 0), 4);
  t.same([...batch.lengths.subarray(0, 4)], [60, 60, 100, 60], 'the new length went out');
  t.equal(port.txRxBurst(0, batch, port, 0), 4, 'and unchanged lengths go out as they are');
  t.same([...batch.lengths.subarray(0, 4)], [60, 60, 100, 60]);
  batch.close();
  port.close();
  t.equal(pool.stats().inUse, 0);
});

t.test('a packet allocated empty and never given a length is refused by a send, naming it', async (t) => {
  const port = RingPort.create();
  port.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
  port.start();
  const batch = new Batch(8);
  t.equal(pool.alloc(batch, 2, packet), 2);
  t.equal(pool.alloc(batch, 2), 2, 'two empty packets after two full ones');
  batch.packet(2).write(0, packet);
  const refused = {
    name: 'DpdkError',
    code: 'EINVAL',
    message:
      'packet 3 has length 0: it was allocated without a template and its length never set. Write its bytes and set batch.lengths[3] (PacketHandle.write does both), or call batch.drop(3) to free it; nothing was sent',
  };
  t.throws(() => port.txBurst(0, batch), { ...refused, operation: 'Port.txBurst' });
  t.throws(() => port.txRxBurst(0, batch, port, 0), { ...refused, operation: 'Port.txRxBurst' });
  t.equal(batch.count, 4, 'the batch is as it was');
  t.same([...batch.lengths.subarray(0, 4)], [60, 60, 60, 0]);
  t.equal(port.stats().txPackets, 0, 'nothing was sent');
  batch.lengths[3] = 60;
  t.equal(port.txBurst(0, batch), 4, 'once given a length, it is sent');
  t.equal(port.rxBurst(0, batch), 4);
  batch.free();

  pool.alloc(batch, 3, new Uint8Array(0));
  batch.drop(1);
  t.throws(() => port.txBurst(0, batch), { code: 'EINVAL', message: /^packet 0 has length 0/ });
  batch.drop(0);
  batch.drop(2);
  t.equal(port.txBurst(0, batch), 0, 'dropped on purpose, they are freed');
  t.equal(batch.count, 0);
  t.equal(port.rxBurst(0, batch), 0, 'nothing reached the ring');
  batch.close();
  port.close();
  t.equal(pool.stats().inUse, 0, 'the dropped packets were freed');
});

t.test('a received packet set to length 0 is dropped at the send', async (t) => {
  const port = RingPort.create();
  port.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
  port.start();
  const batch = new Batch(8);
  pool.alloc(batch, 3, packet);
  t.equal(port.txRxBurst(0, batch, port, 0), 3);
  batch.lengths[1] = 0;
  t.equal(port.txBurst(0, batch), 2);
  t.equal(port.rxBurst(0, batch), 2, 'the other two went out');
  batch.close();
  port.close();
  t.equal(pool.stats().inUse, 0);
});

t.test('txRxBurst sends, frees what was refused, and receives in one call', async (t) => {
  const a = RingPort.create();
  const b = RingPort.create();
  for (const port of [a, b]) {
    port.configure({ mempool: pool, rxDescriptors: 64, txDescriptors: 64 });
    port.start();
  }
  const batch = new Batch(32);
  pool.alloc(batch, 32, packet);
  const firstByte = batch.bytes(0)[batch.offsets[0]];
  t.equal(a.txRxBurst(0, batch, a, 0), 32, 'what a sent, a received back (a ring loops)');
  t.equal(batch.unsent, 0);
  t.equal(batch.bytes(0)[batch.offsets[0]], firstByte);
  let refused = 0;
  for (let round = 0; round < 200 && refused === 0; round++) {
    pool.alloc(batch, 32 - batch.count, packet);
    t.equal(b.txRxBurst(0, batch, a, 0), 0, 'nothing to receive from a');
    refused += batch.unsent;
  }
  t.ok(refused > 0, `b's full ring refused ${refused} packets, which were freed`);
  t.throws(() => a.txRxBurst(0, batch, {} as Port, 0), { code: 'EINVAL', message: 'Expected a Port to receive from' });
  t.throws(() => a.txRxBurst(0, batch, b, 5), { code: 'EINVAL', message: /rx queue 5 does not exist/ });
  while (b.rxBurst(0, batch) > 0) batch.free();
  batch.close();
  a.close();
  b.close();
  t.equal(pool.stats().inUse, 0, 'no mbuf leaked');
});

t.test('port settings: promiscuous, MAC, MTU, link', async (t) => {
  const port = NullPort.create({ packetSize: 128 });
  port.configure({ mempool: pool });
  port.start();
  port.promiscuous = true;
  t.equal(port.promiscuous, true);
  port.mac = '02:00:00:00:00:aa';
  t.equal(port.mac, '02:00:00:00:00:aa');
  t.throws(
    () => {
      port.mac = '02:00:00:00:00';
    },
    { code: 'EINVAL', message: /mac must be a MAC address like 00:00:00:00:00:01, got "02:00:00:00:00"/ },
  );
  t.type(port.mtu, 'number');
  t.throws(
    () => {
      port.mtu = 10;
    },
    { code: 'EINVAL', message: /mtu must be an integer from 68 to 65535, got 10/ },
  );
  t.match(port.link(), { up: true });
  const batch = new Batch(32);
  t.equal(port.rxBurst(0, batch), 32);
  t.equal(batch.lengths[0], 128);
  t.equal(port.txBurst(0, batch), 32);
  port.stop();
  port.stop();
  t.throws(() => port.rxBurst(0, batch), { code: 'ERR_PORT_STOPPED' });
  batch.close();
  port.close();
});

// net_ring makes 16 rings per device and its close frees only the configured queues' ones: 15
// memzones stayed per RingPort, and after about 170 DPDK's RTE_MAX_MEMZONE refused the next.
t.test('ring ports created and closed 300 times leave no rings behind', async (t) => {
  for (let i = 0; i < 300; i++) {
    const port = RingPort.create();
    port.configure({ mempool: pool });
    port.close();
  }
  const last = RingPort.create();
  t.teardown(() => last.close());
  last.configure({ mempool: pool });
  t.pass('the 301st ring port was created');
});
