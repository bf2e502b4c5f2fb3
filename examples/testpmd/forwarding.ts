/**
 * testpmd.ts's forwarding ({@link Testpmd}): the ports and their pool, the forwarding lcores
 * and their streams, forwarders started and stopped on them (the native Engine or the
 * TypeScript loop of ../testpmd-loop.ts), and testpmd's port and forward statistics.
 */
import { join } from 'node:path';
import {
  Eal,
  Forwarder,
  Mempool,
  Port,
  buildUdpPacket,
  type DpdkMetrics,
  type EngineStream,
  type ForwarderPortTotals,
  type PortStats,
} from '../../lib/index.js';
import { UsageError, startPcap } from '../app.js';
import type { TestpmdLoopData, TsForwardMode } from '../testpmd-loop.js';
import { parseForwardMode, type TestpmdOptions } from './options.js';

/** One rx -> tx path, as testpmd's paired port topology makes them: 0 <-> 1, 2 <-> 3. */
interface Stream {
  rxPort: Port;
  txPort: Port;
  /** testpmd's default peer address of the tx port. */
  peerMac: string;
}

/** A forwarding lcore and its forwarder while forwarding is started. */
interface ForwardingLcore {
  lcore: number;
  cpu: number;
  streams: Stream[];
  forwarder: Forwarder | undefined;
}

/**
 * testpmd's txonly packet for a stream: 64 bytes of Ethernet/IPv4/UDP from 198.18.0.1:9 to
 * 198.18.0.2:9, from the tx port's MAC to its peer's.
 */
function txonlyPacket(stream: Stream): Uint8Array {
  return buildUdpPacket({
    dstMac: stream.peerMac,
    srcMac: stream.txPort.mac,
    srcIp: '198.18.0.1',
    dstIp: '198.18.0.2',
    srcPort: 9,
    dstPort: 9,
    frameSize: 68,
  });
}

const statsBorder = '########################';

/** Counters of one port, as testpmd's NIC statistics show them. */
function portStatsBlock(
  port: Port,
  stats: PortStats,
  rates: { rxPps: number; rxBps: number; txPps: number; txBps: number },
): string {
  const pad = (value: number, width: number): string => String(value).padEnd(width);
  const right = (value: number): string => String(Math.round(value)).padStart(12);
  return [
    `\n  ${statsBorder} NIC statistics for port ${String(port.id).padEnd(2)} ${statsBorder}`,
    `  RX-packets: ${pad(stats.rxPackets, 10)} RX-missed: ${pad(stats.rxMissed, 10)} RX-bytes:  ${stats.rxBytes}`,
    `  RX-errors: ${stats.rxErrors}`,
    `  RX-nombuf:  ${pad(stats.rxNoMbuf, 10)}`,
    `  TX-packets: ${pad(stats.txPackets, 10)} TX-errors: ${pad(stats.txErrors, 10)} TX-bytes:  ${stats.txBytes}`,
    '',
    '  Throughput (since last show)',
    `  Rx-pps: ${right(rates.rxPps)}          Rx-bps: ${right(rates.rxBps)}`,
    `  Tx-pps: ${right(rates.txPps)}          Tx-bps: ${right(rates.txBps)}`,
    `  ${statsBorder}############################${statsBorder}`,
  ].join('\n');
}

/** The testpmd application: ports, pool, forwarding lcores, and the commands on them. */
export class Testpmd {
  /** Per port, the forward statistics `stop` printed last. */
  lastForwardStats: { port: number; rx: number; rxDropped: number; tx: number; txDropped: number }[] = [];
  readonly #options: TestpmdOptions;
  readonly #ports: Port[];
  readonly #pool: Mempool;
  readonly #lcores: ForwardingLcore[];
  #mode: TsForwardMode;
  #forwarding = false;
  /** Port counters when forwarding started, for the forward statistics of `stop`. */
  #startStats = new Map<number, PortStats>();
  /** Port counters and time of the last `show port stats`, for its throughput. */
  #lastShow = new Map<number, { stats: PortStats; at: bigint }>();
  readonly #stopPcap: () => void;

  readonly #metrics: DpdkMetrics | undefined;

  /** Sets up the ports and the pool; with `metrics`, the pool and each forwarder started are exported. */
  constructor(options: TestpmdOptions, metrics?: DpdkMetrics) {
    this.#options = options;
    this.#metrics = metrics;
    this.#mode = options.forwardMode;
    this.#ports = Port.ids().map((id) => Port.get(id));
    if (this.#ports.length === 0)
      throw new UsageError('no ports: give EAL some, e.g. --vdev net_null0 --vdev net_null1');
    this.#lcores = this.#forwardingLcores();
    const mbufs =
      options.totalMbufs ??
      Math.max(
        8191,
        this.#ports.length *
          (options.rxDescriptors + options.txDescriptors + options.burst + 256 * this.#lcores.length),
      );
    this.#pool = Mempool.create({ name: 'mb_pool_0', size: mbufs, cacheSize: 250 });
    metrics?.add(this.#pool);
    for (const port of this.#ports) {
      console.log(`Configuring Port ${port.id} (${port.name}, socket ${port.info().socket})`);
      port.configure({
        mempool: this.#pool,
        rxDescriptors: options.rxDescriptors,
        txDescriptors: options.txDescriptors,
      });
      port.start();
      try {
        port.promiscuous = true;
      } catch (error) {
        // As testpmd does: some devices (virtio-user) have no promiscuous mode to enable.
        console.log(`Error during enabling promiscuous mode for port ${port.id}: ${(error as Error).message} - ignore`);
      }
      console.log(`Port ${port.id}: ${port.mac.toUpperCase()}`);
    }
    this.#stopPcap = startPcap('testpmd', options.pcap, this.#ports);
  }

  /** Picks the forwarding lcores (`--coremask`, `--nb-cores`) and spreads the streams over them. */
  #forwardingLcores(): ForwardingLcore[] {
    const workers = Eal.lcores().filter((lcore) => lcore.role === 'worker');
    if (workers.length === 0)
      throw new UsageError('EAL has no worker lcore to forward on: give it two lcores or more, e.g. --lcores 0@0,1@1');
    const wanted = this.#options.forwardLcores ?? workers.map((lcore) => lcore.id);
    const chosen = wanted.map((id) => {
      const lcore = workers.find((candidate) => candidate.id === id);
      if (lcore === undefined) {
        throw new UsageError(
          `--coremask names lcore ${id}, which is not an EAL worker lcore (the workers are ${workers.map((w) => w.id).join(', ')})`,
        );
      }
      return lcore;
    });
    if (this.#options.nbCores > chosen.length) {
      throw new UsageError(
        `--nb-cores=${this.#options.nbCores} but only ${chosen.length} forwarding lcore(s) are available (${chosen.map((l) => l.id).join(', ')})`,
      );
    }
    const used = chosen.slice(0, this.#options.nbCores).map((lcore): ForwardingLcore => ({
      lcore: lcore.id,
      cpu: lcore.cpus[0],
      streams: [],
      forwarder: undefined,
    }));
    this.#ports.forEach((rxPort, i) => {
      const txPort = this.#ports[i ^ 1] ?? rxPort;
      const peerMac = `02:00:00:00:00:${txPort.id.toString(16).padStart(2, '0')}`;
      used[i % used.length].streams.push({ rxPort, txPort, peerMac });
    });
    return used.filter((lcore) => lcore.streams.length > 0);
  }

  get forwarding(): boolean {
    return this.#forwarding;
  }

  /** `start`: launches the forwarding loops. */
  async start(): Promise<void> {
    if (this.#forwarding) {
      console.log('Packet forwarding already started');
      return;
    }
    this.#startStats = new Map(this.#ports.map((port) => [port.id, port.stats()]));
    const txonly = this.#mode === 'txonly';
    const { burst, yieldWhenIdle, filterRules } = this.#options;
    const filter = filterRules.length > 0 ? { rules: filterRules } : undefined;
    try {
      for (const lcore of this.#lcores) {
        const streams: EngineStream[] = lcore.streams.map((stream) => ({
          rxPort: stream.rxPort,
          txPort: stream.txPort,
          txDestination: stream.peerMac,
          templates: txonly ? [txonlyPacket(stream)] : undefined,
        }));
        const data: TestpmdLoopData = { mode: this.#mode };
        lcore.forwarder = await Forwarder.start(
          this.#options.engine === 'native'
            ? { lcore: lcore.lcore, mode: this.#mode, burst, mempool: this.#pool, streams, yieldWhenIdle, filter }
            : {
                loop: join(__dirname, '..', 'testpmd-loop'),
                cpu: lcore.cpu,
                burst,
                mempool: txonly ? this.#pool : undefined,
                streams,
                data,
                yieldWhenIdle,
              },
        );
        // Named lcore<N>: a later start's forwarder takes its place.
        this.#metrics?.add(lcore.forwarder);
      }
    } catch (error) {
      await this.#stopForwarders();
      throw error;
    }
    this.#forwarding = true;
    console.log(
      `${this.#mode} packet forwarding - ports=${this.#ports.length} - cores=${this.#lcores.length} - ` +
        `streams=${this.#lcores.reduce((n, l) => n + l.streams.length, 0)} - engine=${this.#options.engine} - burst=${this.#options.burst}`,
    );
  }

  /**
   * Stops and closes every forwarder; a TypeScript loop that failed is reported, and the
   * others still stopped. Resolves with their counters by port.
   */
  async #stopForwarders(): Promise<Map<number, ForwarderPortTotals>> {
    const running = this.#lcores.flatMap((lcore) => lcore.forwarder ?? []);
    for (const { forwarder, error } of await Forwarder.stopAll(running)) {
      const cpu = this.#lcores.find((lcore) => lcore.forwarder === forwarder)?.cpu;
      console.error(
        `testpmd: the TypeScript loop on CPU ${cpu} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const totals = Forwarder.portTotals(running);
    for (const lcore of this.#lcores) {
      await lcore.forwarder?.close();
      lcore.forwarder = undefined;
    }
    return totals;
  }

  /** `stop`: stops the loops and prints testpmd's forward statistics since `start`. */
  async stop(): Promise<void> {
    if (!this.#forwarding) {
      console.log('Packet forwarding not started');
      return;
    }
    console.log('Telling cores to stop...\nWaiting for lcores to finish...');
    const totals = await this.#stopForwarders();
    this.#forwarding = false;
    const total = { rx: 0, rxDropped: 0, tx: 0, txDropped: 0 };
    const line = (rx: number, rxDropped: number, tx: number, txDropped: number): string =>
      [
        `  RX-packets: ${String(rx).padEnd(14)} RX-dropped: ${String(rxDropped).padEnd(14)} RX-total: ${rx + rxDropped}`,
        `  TX-packets: ${String(tx).padEnd(14)} TX-dropped: ${String(txDropped).padEnd(14)} TX-total: ${tx + txDropped}`,
      ].join('\n');
    this.lastForwardStats = [];
    for (const port of this.#ports) {
      const now = port.stats();
      const before = this.#startStats.get(port.id) as PortStats;
      const rx = now.rxPackets - before.rxPackets;
      const rxDropped = now.rxMissed - before.rxMissed;
      const tx = now.txPackets - before.txPackets;
      // Packets the forwarding loops freed because the port's tx queue refused them.
      const txDropped = totals.get(port.id)?.dropped ?? 0;
      this.lastForwardStats.push({ port: port.id, rx, rxDropped, tx, txDropped });
      total.rx += rx;
      total.rxDropped += rxDropped;
      total.tx += tx;
      total.txDropped += txDropped;
      console.log(
        `\n  ---------------------- Forward statistics for port ${String(port.id).padEnd(2)} ----------------------`,
      );
      console.log(line(rx, rxDropped, tx, txDropped));
      console.log('  ----------------------------------------------------------------------------');
    }
    console.log('\n  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++');
    console.log(line(total.rx, total.rxDropped, total.tx, total.txDropped));
    console.log('  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++\n\nDone.');
  }

  /** `set fwd <mode>`. */
  setForwardMode(text: string): void {
    if (this.#forwarding) {
      console.log('Please stop forwarding first');
      return;
    }
    this.#mode = parseForwardMode(text);
    console.log(`Set ${this.#mode} packet forwarding mode`);
  }

  /** `show port stats all|<id>`, with the throughput since the last show. */
  showPortStats(which: string): void {
    const ports = which === 'all' ? this.#ports : this.#ports.filter((port) => String(port.id) === which);
    if (ports.length === 0) {
      console.log(`Invalid port ${which}: the ports are ${this.#ports.map((port) => port.id).join(', ')}`);
      return;
    }
    for (const port of ports) {
      const stats = port.stats();
      const at = process.hrtime.bigint();
      const last = this.#lastShow.get(port.id);
      this.#lastShow.set(port.id, { stats, at });
      const seconds = last === undefined ? 0 : Number(at - last.at) / 1e9;
      const rate = (now: number, before: number | undefined): number =>
        seconds > 0 && before !== undefined ? (now - before) / seconds : 0;
      console.log(
        portStatsBlock(port, stats, {
          rxPps: rate(stats.rxPackets, last?.stats.rxPackets),
          rxBps: rate(stats.rxBytes * 8, last && last.stats.rxBytes * 8),
          txPps: rate(stats.txPackets, last?.stats.txPackets),
          txBps: rate(stats.txBytes * 8, last && last.stats.txBytes * 8),
        }),
      );
    }
  }

  /** `clear port stats all`. */
  clearPortStats(): void {
    for (const port of this.#ports) {
      port.resetStats();
      this.#lastShow.delete(port.id);
      console.log(`\n  NIC statistics for port ${port.id} cleared`);
    }
    this.#startStats = new Map(this.#ports.map((port) => [port.id, port.stats()]));
  }

  /** The periodic statistics of `--stats-period`, as testpmd prints them. */
  printPeriodicStats(): void {
    if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[1;1H');
    console.log('\nPort statistics ====================================');
    this.showPortStats('all');
  }

  /** Stops forwarding if started, ends the captures, then stops and closes the ports and frees the pool. */
  async close(): Promise<void> {
    if (this.#forwarding) await this.stop();
    this.#stopPcap();
    for (const port of this.#ports) {
      console.log(`Stopping port ${port.id}...`);
      port.stop();
    }
    for (const port of this.#ports) {
      console.log(`Closing port ${port.id}...`);
      port.close();
    }
    this.#pool.close();
  }
}
