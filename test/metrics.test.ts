// Metrics: DpdkMetrics scraped over HTTP from serveMetrics while a forwarder runs on ring
// ports, compared with the objects' own counters; a real Prometheus server scraping it;
// the server's failures.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Gauge, Registry } from 'prom-client';
import {
  Batch,
  DpdkMetrics,
  Engine,
  Forwarder,
  Mempool,
  latencyBucketsSeconds,
  serveMetrics,
  type Port,
} from '../lib/index.js';
import { histogramCounts } from '../lib/metrics/latency-histogram.js';
import { initEal, ringPort, testPacket, uniquePrefix, until } from './helpers/dpdk.js';
import { missingProgram } from './helpers/programs.js';

// Lcore 1 (CPU 1) runs the engines, yielding when idle: the test thread feeds and scrapes.
initEal('metrics');
const pool = Mempool.create({ name: 'metrics-pool', size: 4095 });
t.teardown(() => pool.close());

function feed(port: Port, count: number): void {
  const batch = new Batch(count);
  pool.alloc(batch, count, testPacket);
  port.txBurst(0, batch);
  batch.close();
}

/** Sample values by series (`name{labels}`) from Prometheus's text format. */
function parse(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}: ${await response.text()}`);
  return parse(await response.text());
}

/** 500 packets forwarded a -> b by a native io engine that keeps running, and its metrics served. */
async function forwarding(t: Test): Promise<{ a: Port; b: Port; forwarder: Forwarder; url: string }> {
  const a = ringPort(pool);
  const b = ringPort(pool);
  const forwarder = await Forwarder.start({
    lcore: 1,
    mode: 'io',
    streams: [{ rxPort: a, txPort: b }],
    yieldWhenIdle: true,
  });
  const registry = new Registry();
  const metrics = new DpdkMetrics({ registry }).add(forwarder, 'fwd').add(pool);
  const server = await serveMetrics({ host: '127.0.0.1', port: 0, registry });
  t.teardown(async () => {
    await server.close();
    metrics.close();
    await forwarder.close();
    // What the io engine sent to b loops back into b's rx ring: free it before closing.
    const batch = new Batch(64);
    while (b.rxBurst(0, batch) > 0) batch.free();
    batch.close();
    a.close();
    b.close();
  });
  feed(a, 500);
  t.ok(await until(() => forwarder.stats()[0].tx === 500, 10000), 'the forwarder sent 500');
  return { a, b, forwarder, url: server.url };
}

t.test("a port's counters are its own stats", async (t) => {
  const { a, b, url } = await forwarding(t);
  const values = await scrape(url);
  for (const port of [a, b]) {
    const stats = port.stats();
    const labels = `{port="${port.name}",port_id="${port.id}"}`;
    t.equal(values.get(`dpdk_port_rx_packets_total${labels}`), stats.rxPackets, `${port.name} rx packets`);
    t.equal(values.get(`dpdk_port_tx_packets_total${labels}`), stats.txPackets, `${port.name} tx packets`);
    t.equal(values.get(`dpdk_port_rx_bytes_total${labels}`), stats.rxBytes, `${port.name} rx bytes`);
    t.equal(values.get(`dpdk_port_tx_bytes_total${labels}`), stats.txBytes, `${port.name} tx bytes`);
    t.equal(values.get(`dpdk_port_rx_nombuf_total${labels}`), stats.rxNoMbuf, `${port.name} rx_nombuf`);
    t.equal(values.get(`dpdk_port_link_up${labels}`), port.link().up ? 1 : 0, `${port.name} link`);
    for (const [name, value] of Object.entries(port.xstats())) {
      t.equal(values.get(`dpdk_port_xstats_total{port="${port.name}",port_id="${port.id}",xstat="${name}"}`), value);
    }
  }
  t.equal(a.stats().txPackets, 500, 'a sent what the test fed it');
  t.equal(b.stats().txPackets, 500, 'b sent what the forwarder forwarded');
});

t.test("a forwarder's streams and a mempool are their own counters", async (t) => {
  const { a, b, forwarder, url } = await forwarding(t);
  const values = await scrape(url);
  const labels = `{forwarder="fwd",stream="0",rx_port="${a.name}",tx_port="${b.name}"}`;
  const [stats] = forwarder.stats();
  t.equal(values.get(`dpdk_forwarder_rx_packets_total${labels}`), stats.rx);
  t.equal(values.get(`dpdk_forwarder_tx_packets_total${labels}`), 500);
  t.equal(values.get(`dpdk_forwarder_dropped_packets_total${labels}`), stats.dropped);
  const pooled = pool.stats();
  t.equal(values.get('dpdk_mempool_size_mbufs{mempool="metrics-pool"}'), pooled.size);
  t.equal(values.get('dpdk_mempool_in_use_mbufs{mempool="metrics-pool"}'), pooled.inUse);
  t.equal(values.get('dpdk_mempool_available_mbufs{mempool="metrics-pool"}'), pooled.available);
});

t.test('a closed forwarder leaves the metrics', async (t) => {
  const { forwarder, url } = await forwarding(t);
  await forwarder.close();
  const values = await scrape(url);
  t.notOk(
    [...values.keys()].some((series) => series.startsWith('dpdk_forwarder_')),
    'no forwarder series once it is closed',
  );
  t.ok(
    [...values.keys()].some((series) => series.startsWith('dpdk_port_rx_packets_total')),
    'ports are still there',
  );
});

t.test("an engine's latency is a Prometheus histogram", async (t) => {
  const loop = ringPort(pool);
  const engine = Engine.create({
    lcore: 1,
    mode: 'generator',
    mempool: pool,
    template: testPacket,
    timestampOffset: 42,
    streams: [{ rxPort: loop, txPort: loop, txLimit: 200, ratePps: 100_000 }],
    yieldWhenIdle: true,
  });
  const registry = new Registry();
  const metrics = new DpdkMetrics({ registry, ports: false }).add(engine, 'gen');
  const server = await serveMetrics({ host: '127.0.0.1', port: 0, registry });
  t.teardown(async () => {
    await server.close();
    metrics.close();
    engine.close();
    loop.close();
  });
  engine.start();
  t.ok(await until(() => engine.stats()[0].rx === 200, 10000), 'everything sent came back');
  engine.stop();
  const values = await scrape(server.url);
  const labels = `forwarder="gen",stream="0",rx_port="${loop.name}",tx_port="${loop.name}"`;
  const latency = engine.stats()[0].latency!;
  t.equal(values.get(`dpdk_forwarder_latency_seconds_count{${labels}}`), 200);
  t.equal(values.get(`dpdk_forwarder_latency_seconds_bucket{${labels},le="+Inf"}`), 200);
  const sum = values.get(`dpdk_forwarder_latency_seconds_sum{${labels}}`)!;
  t.ok(Math.abs(sum - (latency.avgNs * 200) / 1e9) < 1e-9, 'the sum is the samples times their mean');
  const buckets = latencyBucketsSeconds.map((le) =>
    values.get(`dpdk_forwarder_latency_seconds_bucket{${labels},le="${le}"}`)!,
  );
  t.ok(
    buckets.every((count, i) => i === 0 || count >= buckets[i - 1]),
    'cumulative',
  );
  const p50Bucket = latencyBucketsSeconds.findIndex((le) => le * 1e9 >= latency.percentilesNs.p50);
  t.ok(buckets[p50Bucket] >= 100, 'half the samples are at or below the bucket of the median');
  t.equal(values.get(`dpdk_forwarder_tx_blocked_packets_total{${labels}}`), engine.stats()[0].txBlocked);
  t.equal(values.get(`dpdk_forwarder_tx_skipped_packets_total{${labels}}`), engine.stats()[0].txSkipped);
});

t.test("an engine's own histogram counts each of its buckets under the first bound at or above its top", (t) => {
  const counts = histogramCounts({
    samples: 10,
    minNs: 700,
    avgNs: 1000,
    maxNs: 3000,
    histogram: [
      [640, 720, 4],
      [1900, 2100, 5],
      [2900, 3100, 1],
    ],
  });
  t.same(counts.cumulative.slice(0, 4), [0, 4, 4, 10], 'le 500ns, 1us, 2us (the bucket across 2us is not there), 5us');
  t.equal(counts.count, 10);
  t.equal(counts.sumSeconds, 1e-5);
  t.end();
});

t.test('a metrics port already in use is refused, naming host:port and the fix', async (t) => {
  const first = await serveMetrics({ host: '127.0.0.1', port: 0, registry: new Registry() });
  t.teardown(() => first.close());
  await t.rejects(serveMetrics({ host: '127.0.0.1', port: first.port, registry: new Registry() }), {
    name: 'DpdkError',
    code: 'EADDRINUSE',
    operation: 'serveMetrics',
    object: `127.0.0.1:${first.port}`,
    message: `Cannot serve metrics on 127.0.0.1:${first.port}: the address is already in use (another exporter, or another instance of this application): choose another port, or stop the process listening there`,
  });
});

t.test('a scrape that fails answers 500, reports it and the server keeps serving', async (t) => {
  const registry = new Registry();
  let failing = true;
  registry.registerMetric(
    new Gauge({
      name: 'flaky',
      help: 'fails once',
      registers: [],
      collect() {
        if (failing) throw new Error('sensor unplugged');
        this.set(1);
      },
    }),
  );
  const errors: Error[] = [];
  const server = await serveMetrics({ host: '127.0.0.1', port: 0, registry, onError: (error) => errors.push(error) });
  t.teardown(() => server.close());
  const response = await fetch(server.url);
  t.equal(response.status, 500);
  t.match(errors, [
    { code: 'ERR_METRICS', message: /Collecting metrics for a scrape on 127\.0\.0\.1:\d+ failed: sensor unplugged/ },
  ]);
  failing = false;
  t.equal((await scrape(server.url)).get('flaky'), 1, 'the next scrape works');
});

t.test('bad options are refused with what was given', async (t) => {
  t.throws(() => new DpdkMetrics({ registry: new Registry(), port: true } as never), {
    code: 'EINVAL',
    message: 'Unknown option "port" for DpdkMetrics (did you mean "ports"?)',
  });
  await t.rejects(serveMetrics({ host: '127.0.0.1', port: 70000 }), {
    code: 'EINVAL',
    operation: 'serveMetrics',
    message: 'port must be an integer from 0 to 65535, got 70000',
  });
  const registry = new Registry();
  const metrics = new DpdkMetrics({ registry });
  t.throws(() => new DpdkMetrics({ registry }), {
    code: 'EEXIST',
    message: /^The registry already has a metric named dpdk_port_rx_packets_total: close the other DpdkMetrics/,
  });
  t.throws(() => metrics.add({} as never), {
    code: 'EINVAL',
    message: 'source must be a Forwarder, Engine, LcoreWorker or Mempool, got {}',
  });
  metrics.close();
  metrics.close();
  t.throws(() => metrics.add(pool), { code: 'ERR_CLOSED', message: 'DpdkMetrics is closed' });
  t.doesNotThrow(() => new DpdkMetrics({ registry }).close(), 'closing gave the names back');
});

/** A TCP port free now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

t.test('a program the tests need and miss is named with its fix (no DPDK)', async (t) => {
  t.equal(missingProgram('sh'), undefined, 'a program on PATH');
  t.equal(
    missingProgram('dpdk-ts-no-such-program', 'dpdk-ts-pkg'),
    'dpdk-ts-no-such-program is not installed (not on PATH): apt-get install dpdk-ts-pkg, or npm run setup',
  );
});

t.test('Prometheus scrapes the forwarded packet count the forwarder reports', async (t) => {
  // Without it, spawn's ENOENT would end the whole file with no word of the fix.
  const missing = missingProgram('prometheus');
  if (missing !== undefined) {
    t.fail(missing);
    return;
  }
  const { forwarder, url } = await forwarding(t);
  const target = new URL(url).host;
  const dir = mkdtempSync(join(tmpdir(), 'dts-prometheus-'));
  const webPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: dpdk\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise((resolve) => prometheus.once('exit', resolve));
  t.teardown(async () => {
    prometheus.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const query = `dpdk_forwarder_tx_packets_total{forwarder="fwd"}`;
  // Prometheus answers once it has started and scraped the target at least once.
  let scraped: number | undefined;
  for (const deadline = Date.now() + 60000; scraped === undefined && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      const response = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(query)}`);
      const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
      const value = body.data?.result?.[0]?.value[1];
      if (value !== undefined) scraped = Number(value);
    } catch {
      // Not listening yet.
    }
  }
  t.equal(scraped, forwarder.stats()[0].tx, `Prometheus has what the forwarder counted (log: ${log.slice(-500)})`);
  t.equal(scraped, 500);
});

/** examples/testpmd.ts on two net_null ports, forwarding on lcore 1, with `--metrics ADDRESS`. */
function testpmd(
  t: Test,
  tag: string,
  address: string,
): { output: () => string; exited: Promise<number | null>; stop(): void } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(__dirname, '..', 'examples', 'testpmd.ts'),
      ...['--lcores', '0@0,1@1', '--no-huge', '-m', '256', '--no-pci', '--file-prefix', uniquePrefix(tag)],
      ...['--vdev', 'net_null0', '--vdev', 'net_null1', '--', '--stats-period=0', '--metrics', address],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  return { output: () => output, exited, stop: () => void child.kill('SIGTERM') };
}

t.test('testpmd.ts --metrics serves its ports, forwarders and pool', async (t) => {
  const app = testpmd(t, 'metrics-testpmd', '127.0.0.1:0');
  t.ok(await until(() => /Forwarding until SIGINT/.test(app.output()), 20000), 'forwarding');
  const url = /serving Prometheus metrics at (\S+)/.exec(app.output())?.[1];
  t.ok(url !== undefined, 'it says where');
  const values = await scrape(url!);
  const forwarded = [...values].filter(([series]) =>
    series.startsWith('dpdk_forwarder_tx_packets_total{forwarder="lcore1"'),
  );
  t.equal(forwarded.length, 2, 'the two streams of the forwarder on lcore 1');
  t.ok(
    forwarded.every(([, value]) => value > 0),
    'forwarding',
  );
  t.ok(values.has('dpdk_port_rx_packets_total{port="net_null0",port_id="0"}'), 'port 0');
  t.ok(values.has('dpdk_mempool_in_use_mbufs{mempool="mb_pool_0"}'), 'the pool');
  app.stop();
  t.equal(await app.exited, 0, 'exits cleanly on SIGTERM, metrics server closed');
});

t.test('testpmd.ts --metrics on a port in use says so and does not forward', async (t) => {
  const taken = await serveMetrics({ host: '127.0.0.1', port: 0, registry: new Registry() });
  t.teardown(() => taken.close());
  const app = testpmd(t, 'metrics-taken', `127.0.0.1:${taken.port}`);
  t.equal(await app.exited, 1);
  t.match(
    app.output(),
    `testpmd: Cannot serve metrics on 127.0.0.1:${taken.port}: the address is already in use (another exporter, or another instance of this application): choose another port, or stop the process listening there`,
  );
  t.notMatch(app.output(), /packet forwarding/, 'nothing forwarded');
});
