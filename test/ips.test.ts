// examples/ips.ts end to end, fed through virtio-user from this process.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Batch, Eal, Mempool, VirtioUser, buildUdpPacket, readEthernet } from '../lib/index.js';
import { socketDir, uniquePrefix, until } from './helpers/dpdk.js';

// This process feeds both runs: EAL initializes once per process.
Eal.init({ lcores: '1@1', noHuge: true, memoryMb: 128, filePrefix: uniquePrefix('ips-feed'), printLog: false });
const pool = Mempool.create({ name: 'feed', size: 2047 });
t.teardown(() => {
  pool.close();
  Eal.cleanup();
});

// examples/ips.ts in its own process (two net_vhost ports, loop or native engine pinned to
// CPU 0), fed by this process through virtio-user: 300 packets of three flows, one of which
// a rule drops. Both engines give the same counters.
// With --eth-dst/--eth-src (an L3 hop handing packets back to a router), the loop also
// writes those addresses into each packet it forwards.
const rewrite = { dst: '00:00:00:00:ff:04', src: '00:00:00:00:01:04' };
for (const [engine, macs] of [
  ['loop', false],
  ['native', false],
  ['loop', true],
] as const)
  t.test(
    `the IPS example (--engine ${engine}${macs ? ', --eth-dst/--eth-src' : ''}) drops what its rule matches and forwards the rest`,
    async (t) => {
      const dir = socketDir(t);
      const [inSock, outSock] = [join(dir, 'in.sock'), join(dir, 'out.sock')];
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(__dirname, '..', 'examples', 'ips.ts'),
          '--lcores',
          // The native engine needs an EAL worker lcore; both poll on CPU 0.
          engine === 'native' ? '0@0,1@0' : '0@0',
          '--no-huge',
          '-m',
          '256',
          '--no-pci',
          '--file-prefix',
          uniquePrefix(`ips-nf-${engine}`),
          '--vdev',
          `net_vhost0,iface=${inSock}`,
          '--vdev',
          `net_vhost1,iface=${outSock}`,
          '--',
          '--mode',
          'inline',
          '--rule',
          'udp,tp_dst=6666',
          '--cpu',
          '0',
          '--stats-period',
          '0',
          '--json',
          '--engine',
          engine,
          ...(macs ? ['--eth-dst', rewrite.dst, '--eth-src', rewrite.src] : []),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      t.teardown(() => {
        child.kill('SIGKILL');
      });
      t.ok(
        await until(
          () =>
            new RegExp(
              `ips: inline on ports 0 -> 1, ${engine === 'native' ? 'native engine on lcore 1' : 'loop on CPU 0'}`,
            ).test(output) &&
            existsSync(inSock) &&
            existsSync(outSock),
          20000,
        ),
        'the IPS started',
      );

      const source = VirtioUser.create({ path: inSock });
      const sink = VirtioUser.create({ path: outSock });
      for (const port of [source, sink]) {
        port.configure({ mempool: pool, rxDescriptors: 512, txDescriptors: 512 });
        port.start();
      }
      t.ok(await until(() => source.link().up && sink.link().up), 'links up');
      // The IPS's vhost ports take packets only once it has seen them set up, which can come
      // after the virtio-user side reads its link up: forwarded before, they are dropped.
      t.ok(
        await until(() => /port 0 \(net_vhost0\) link up/.test(output) && /port 1 \(net_vhost1\) link up/.test(output)),
        'the IPS reads both links up',
      );
      const flows = [53, 6666, 80].map((dstPort) =>
        buildUdpPacket({
          dstMac: '00:00:00:00:00:02',
          srcMac: '00:00:00:00:00:01',
          srcIp: '10.0.0.1',
          dstIp: '10.0.0.2',
          dstPort,
        }),
      );
      const txBatch = new Batch(30);
      const rxBatch = new Batch(32);
      const received = new Map<number, number>();
      let queued = 0;
      let sent = 0;
      let wrongMacs = 0;
      const deadline = Date.now() + 10000;
      while ((sent < 300 || [...received.values()].reduce((a, b) => a + b, 0) < 200) && Date.now() < deadline) {
        // Unsent packets stay in txBatch and go out first next time: the flow order holds.
        while (queued < 300 && txBatch.count < txBatch.capacity) pool.alloc(txBatch, 1, flows[queued++ % 3]);
        if (txBatch.count > 0) sent += source.txBurst(0, txBatch);
        sink.rxBurst(0, rxBatch);
        for (let i = 0; i < rxBatch.count; i++) {
          const port = rxBatch.dataView(i).getUint16(rxBatch.offsets[i] + 36);
          received.set(port, (received.get(port) ?? 0) + 1);
          const { dst, src } = readEthernet(rxBatch.packet(i).copy());
          const expected = macs ? rewrite : { dst: '00:00:00:00:00:02', src: '00:00:00:00:00:01' };
          if (dst !== expected.dst || src !== expected.src) wrongMacs++;
        }
        rxBatch.free();
        await new Promise((resolve) => setImmediate(resolve));
      }
      t.equal(sent, 300);
      t.same(Object.fromEntries(received), { 53: 100, 80: 100 }, 'the two allowed flows passed, whole');
      t.equal(wrongMacs, 0, macs ? `each with ${rewrite.dst} <- ${rewrite.src}` : 'each with its MACs as sent');
      txBatch.close();
      rxBatch.close();
      source.close();
      sink.close();

      child.kill('SIGTERM');
      t.equal(await exited, 0);
      const summary = JSON.parse(output.split('\n').find((line) => line.startsWith('{"app":"ips"')) ?? 'null');
      t.match(summary, {
        mode: 'inline',
        engine,
        rx: 300,
        passed: 200,
        matched: 100,
        txDropped: 0,
        rules: { 'udp,tp_dst=6666': 100 },
      });
    },
  );
