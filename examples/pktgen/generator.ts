/**
 * The generator: the Pktgen class, which holds the ports and their settings and drives
 * the native engines that send and count.
 *
 * How it maps onto the SDK: each EAL worker lcore that serves ports (the one `-m` names for
 * a port, else worker i % workers for port i) runs one native `generator` engine, with one
 * stream per port it serves: the stream for port i sends port i's packet templates (its own
 * size, addresses, flows, count and rate) on port i and counts what port i receives, so
 * ports that share an lcore still send their own packets and keep their own counters. A
 * port's packets cycle through its flows (UDP source ports sport..sport+flows-1) times its
 * destination ports (`set PORTS dport 53,6666,80`), one template each, the source port
 * varying fastest: a count that is a multiple of flows x dports sends each combination
 * equally often. Ports are paired 0<->1, 2<->3 (a port without a partner is its own peer):
 * the default destination MAC is the peer's MAC, so that a MAC-learning switch delivers
 * port 0's packets to port 1, and port i's `received` counts what its peer sent. Every
 * packet carries a 12-byte timestamp at the start of its UDP payload (so the UDP checksum
 * is 0, "none", which IPv4 allows), from which the receiving port measures latency.
 * A port counts as sent what its tx queue accepted: when the queue is full (what is behind
 * it is slower), the engine keeps the packets and tries again (yielding the CPU with
 * `--shared-cpu`), counting them as `txBlocked`, so a count is sent exactly and nothing is
 * dropped at the generator.
 *
 * Limitations: a port sends at most 1024 packet templates (flows x destination ports), each
 * built before the run, so fields vary only through those lists. Engines on lcores that
 * share a CPU (0 and 4 in ../pktgen.ts's example, on a 2-CPU machine) take turns, and the
 * latency they measure includes the scheduler's time slices (milliseconds); ports that
 * share an lcore share its engine's time too. An engine's settings are fixed when it is
 * created, so `str` creates new engines: each run counts from zero, after discarding the
 * packets left in the rx queues by the previous one.
 */
import {
  Batch,
  Eal,
  Engine,
  ETHER_HEADER_LENGTH,
  IPV4_HEADER_LENGTH,
  Mempool,
  Port,
  type DpdkMetrics,
  UDP_HEADER_LENGTH,
  buildUdpPacket,
  type LatencyStats,
} from '../../lib/index.js';
import { UsageError, startPcap } from '../app.js';
import { maxTemplatesPerPort, type Command, type PortList, type Setting } from './commands.js';
import type { AppOptions, LcoreMapping } from './options.js';
import type { PortReport } from './report.js';

// Before a run, rx queues are drained until they stay empty this long: packets of the
// previous run still in flight (in a switch, a forwarder) must not count in the new one.
const settleMs = 20;
const maxSettleMs = 1000;
/** Bursts of 64 read from one port per drain: a full rx ring of 4096 descriptors. */
const maxDrainBursts = 64;

// Bytes on the wire beside the frame: preamble, start of frame delimiter, inter-frame gap.
const wireOverheadBytes = 20;
const timestampOffset = ETHER_HEADER_LENGTH + IPV4_HEADER_LENGTH + UDP_HEADER_LENGTH;
const udpChecksumOffset = ETHER_HEADER_LENGTH + IPV4_HEADER_LENGTH + 6;

/** What a port sends, as the `set` commands left it. */
export interface PortSettings {
  count: number;
  size: number;
  rate: { unit: 'percent' | 'pps'; value: number };
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  /** UDP source port of the first flow; flow f uses srcPort + f. */
  srcPort: number;
  /** Flows: UDP source ports srcPort .. srcPort + flows - 1, sent in turn. */
  flows: number;
  /** UDP destination ports, each combined with every flow. */
  dstPorts: number[];
}

/** An engine and the ports it serves (one stream each, in this order). */
interface EngineGroup {
  lcore: number;
  ports: number[];
  engine: Engine;
  /** Reused by counts(): the engine's [rx, tx, dropped] per stream. */
  counts: Float64Array;
}

// The counters at a moment, from which the next sample measures rates.
interface RateSample {
  atMs: number;
  sent: number[];
  received: number[];
}

/**
 * The generator: its ports (started, with their settings) and, once a run started, one
 * native engine per lcore that serves ports. Mistakes in commands are UsageErrors.
 */
export class Pktgen {
  /** The EAL ports, in port id order. */
  readonly ports: Port[];
  /** Each port's settings, changed by `set`; a run uses them as they were at its start. */
  readonly settings: PortSettings[];
  /** The lcore that serves each port. */
  readonly lcoreOf: number[];
  readonly #pool: Mempool;
  readonly #lineRateMbps: number;
  readonly #notice: (text: string) => void;
  #groups: EngineGroup[] = [];
  // The counts the current run's engines were created with (settings may change since).
  #runCounts: number[];
  #running = false;
  #sample: RateSample | null = null;
  #pps: { tx: number[]; rx: number[] };

  /** `--shared-cpu`: engines yield the CPU when idle. */
  readonly #sharedCpu: boolean;
  /** Ends `--pcap`'s captures. */
  readonly #stopPcap: () => void;
  /** `--metrics`: the pool and each run's engines are exported. */
  readonly #metrics: DpdkMetrics | undefined;

  /**
   * Starts every EAL port (promiscuous with `-P`) and assigns it its lcore; `notice`
   * prints what the user should know (a port that stays non-promiscuous, ...).
   */
  constructor(options: AppOptions, notice: (text: string) => void, metrics?: DpdkMetrics) {
    this.#notice = notice;
    this.#metrics = metrics;
    this.#lineRateMbps = options.lineRateMbps;
    this.#sharedCpu = options.sharedCpu;
    this.ports = Port.ids().map((id) => Port.get(id));
    if (this.ports.length === 0) {
      throw new UsageError(
        "no ports: give pktgen virtio-user ports, e.g. --vdev 'net_virtio_user0,mac=00:00:00:00:00:05,path=/var/run/openvswitch/vhost-user0'",
      );
    }
    this.lcoreOf = this.#assignLcores(options.lcoreMap);
    this.#pool = Mempool.create({ name: 'pktgen', size: 8191 });
    metrics?.add(this.#pool);
    for (const port of this.ports) {
      port.configure({ mempool: this.#pool });
      port.start();
      if (options.promiscuous) {
        try {
          port.promiscuous = true;
        } catch (error) {
          notice(`-P: port ${port.id} (${port.name}) stays non-promiscuous: ${(error as Error).message}`);
        }
      }
    }
    this.#stopPcap = startPcap('pktgen', options.pcap, this.ports);
    this.settings = this.ports.map((port, i) => ({
      count: 0,
      size: 64,
      rate: { unit: 'percent', value: 100 },
      srcMac: port.mac,
      dstMac: this.ports[this.peerOf(i)].mac,
      srcIp: `192.168.${i}.1`,
      dstIp: `192.168.${this.peerOf(i)}.1`,
      srcPort: 1234,
      flows: 1,
      dstPorts: [5678],
    }));
    this.#pps = { tx: this.ports.map(() => 0), rx: this.ports.map(() => 0) };
    this.#runCounts = this.settings.map((settings) => settings.count);
  }

  /** The port whose traffic port `i` receives: its partner in 0<->1, 2<->3, or itself. */
  peerOf(i: number): number {
    const partner = i ^ 1;
    return partner < this.ports.length ? partner : i;
  }

  #assignLcores(lcoreMap: LcoreMapping[]): number[] {
    const lcores = Eal.lcores();
    const workers = lcores.filter((lcore) => lcore.role === 'worker').map((lcore) => lcore.id);
    if (workers.length === 0) {
      throw new UsageError(
        `EAL enabled no worker lcore (only lcore ${lcores.map((l) => l.id).join(', ')}): the engines need one, e.g. --lcores 0@0,1@1`,
      );
    }
    for (const mapping of lcoreMap) {
      if (mapping.port >= this.ports.length) {
        throw new UsageError(
          `-m entry "${mapping.entry}" names port ${mapping.port}, but there are ${this.ports.length} ports (0..${this.ports.length - 1})`,
        );
      }
    }
    return this.ports.map((_, i) => {
      const fallback = workers[i % workers.length];
      const mapping = lcoreMap.filter((m) => m.port === i).pop();
      if (mapping === undefined || workers.includes(mapping.lcore)) return mapping?.lcore ?? fallback;
      this.#notice(
        `-m "${mapping.entry}": lcore ${mapping.lcore} is not an EAL worker lcore (workers: ${workers.join(', ')}): port ${i} runs on lcore ${fallback}`,
      );
      return fallback;
    });
  }

  /** Whether a run's engines are running (between str and stp). */
  get running(): boolean {
    return this.#running;
  }

  /** Whether a run was started (by str) since the program began. */
  get started(): boolean {
    return this.#groups.length > 0;
  }

  /** Port `port`'s line rate in packets per second, at its frame size (`set PORTS size`). */
  lineRatePps(port: number): number {
    return this.#ppsOf({ ...this.settings[port], rate: { unit: 'percent', value: 100 } });
  }

  #ppsOf(settings: PortSettings): number {
    if (settings.rate.unit === 'pps') return settings.rate.value;
    return ((settings.rate.value / 100) * this.#lineRateMbps * 1e6) / ((settings.size + wireOverheadBytes) * 8);
  }

  #portsOf(list: PortList, command: string): number[] {
    if (list === 'all') return this.ports.map((_, i) => i);
    for (const port of list) {
      if (port >= this.ports.length)
        throw new UsageError(`${command}: port ${port} does not exist: ports are 0..${this.ports.length - 1}`);
    }
    return list;
  }

  /** Port `port`'s settings with `setting` applied; fails when its flows would not fit. */
  #applied(port: number, setting: Setting, command: string): PortSettings {
    const settings: PortSettings = { ...this.settings[port] };
    switch (setting.field) {
      case 'rate':
        settings.rate = { unit: 'percent', value: setting.percent };
        break;
      case 'pps':
        settings.rate = { unit: 'pps', value: setting.pps };
        break;
      case 'count':
        settings.count = setting.count;
        break;
      case 'size':
        settings.size = setting.size;
        break;
      case 'srcMac':
      case 'dstMac':
        settings[setting.field] = setting.mac;
        break;
      case 'srcIp':
      case 'dstIp':
        settings[setting.field] = setting.ip;
        break;
      case 'srcPort':
        settings.srcPort = setting.udpPort;
        break;
      case 'dstPorts':
        settings.dstPorts = setting.udpPorts;
        break;
      case 'flows':
        settings.flows = setting.flows;
        break;
    }
    const lastSrcPort = settings.srcPort + settings.flows - 1;
    if (lastSrcPort > 65535) {
      throw new UsageError(
        `${command}: port ${port}'s ${settings.flows} flows from sport ${settings.srcPort} would use source ports up to ${lastSrcPort}, ` +
          'past 65535: lower sport or flows',
      );
    }
    const templates = settings.flows * settings.dstPorts.length;
    if (templates > maxTemplatesPerPort) {
      throw new UsageError(
        `${command}: port ${port}'s ${settings.flows} flows x ${settings.dstPorts.length} dports make ${templates} packet templates; ` +
          `a port sends at most ${maxTemplatesPerPort}`,
      );
    }
    return settings;
  }

  /** The packets a port sends in turn: every flow for each destination port, source port fastest. */
  #templates(settings: PortSettings): Uint8Array[] {
    return settings.dstPorts.flatMap((dstPort) =>
      Array.from({ length: settings.flows }, (_, flow) => {
        const packet = buildUdpPacket({
          dstMac: settings.dstMac,
          srcMac: settings.srcMac,
          srcIp: settings.srcIp,
          dstIp: settings.dstIp,
          srcPort: settings.srcPort + flow,
          dstPort,
          frameSize: settings.size,
        });
        // The engine writes a timestamp into every packet's payload after the checksum was
        // computed; 0 says "no checksum", which IPv4 allows, rather than a wrong one.
        packet[udpChecksumOffset] = 0;
        packet[udpChecksumOffset + 1] = 0;
        return packet;
      }),
    );
  }

  // Frees what the rx queues hold (engines stopped); returns how many packets.
  #drainRx(): number {
    const batch = new Batch(64);
    let drained = 0;
    for (const port of this.ports) {
      // Bounded: a port that never runs dry (net_null) would otherwise hold the main thread here.
      for (let bursts = 0, n = port.rxBurst(0, batch); n > 0; n = port.rxBurst(0, batch)) {
        drained += n;
        batch.free();
        if (++bursts === maxDrainBursts) break;
      }
    }
    batch.close();
    return drained;
  }

  /** `str` (every port) or `start PORTS`: a new run in which `sending` ports send, all receive. */
  async start(sending: PortList = 'all'): Promise<void> {
    this.stop();
    let stale = this.#drainRx();
    const settleEnd = Date.now() + maxSettleMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const more = this.#drainRx();
      stale += more;
      if (more === 0) break;
      if (Date.now() > settleEnd) {
        this.#notice(
          `str: packets keep arriving while stopped (${stale} discarded in ${maxSettleMs} ms): they will count in this run`,
        );
        break;
      }
    }
    if (stale > 0) this.#notice(`str: discarded ${stale} packets left in the rx queues by the previous run`);
    // The last run's engines give way (and their hold on the pool) to the new run's.
    for (const group of this.#groups) group.engine.close();
    const byLcore = new Map<number, number[]>();
    this.lcoreOf.forEach((lcore, port) => byLcore.set(lcore, [...(byLcore.get(lcore) ?? []), port]));
    const groups: EngineGroup[] = [];
    for (const [lcore, ports] of byLcore) {
      const engine = Engine.create({
        lcore,
        mode: 'generator',
        mempool: this.#pool,
        timestampOffset,
        yieldWhenIdle: this.#sharedCpu,
        yieldEachPass: this.#sharedCpu,
        // Lcores folded onto one CPU (the reference's 0 and 4 on a 2-CPU machine) take turns, as said above.
        shareCpu: true,
        streams: ports.map((port) => ({
          rxPort: this.ports[port],
          txPort: this.ports[port],
          templates: this.#templates(this.settings[port]),
          txLimit: this.settings[port].count,
          ratePps: this.#ppsOf(this.settings[port]),
          send: sending === 'all' || sending.includes(port),
        })),
      });
      groups.push({ lcore, ports, engine, counts: new Float64Array(engine.streamCount * 3) });
      // Named lcore<N>: it takes the place of the last run's engine there.
      this.#metrics?.add(engine);
    }
    this.#groups = groups;
    this.#runCounts = this.settings.map((settings, port) =>
      sending === 'all' || sending.includes(port) ? settings.count : 0,
    );
    this.#running = true;
    try {
      for (const group of groups) group.engine.start();
    } catch (error) {
      this.stop();
      throw error;
    }
    this.#sample = { atMs: Date.now(), sent: this.ports.map(() => 0), received: this.ports.map(() => 0) };
  }

  /** `stp`: stops every engine; their counters stay readable. */
  stop(): void {
    for (const group of this.#groups) group.engine.stop();
    this.#running = false;
    this.#pps = { tx: this.ports.map(() => 0), rx: this.ports.map(() => 0) };
  }

  /** `clear`: zeroes the counters; the ports must be stopped. */
  clear(): void {
    if (this.#running)
      throw new UsageError(
        'clear: the ports are running; stop them first with stp (engine counters can only be reset while stopped)',
      );
    for (const group of this.#groups) group.engine.resetStats();
    this.#sample = null;
  }

  /** Carries out a command other than delay, help and quit, which the caller handles. */
  async execute(command: Command, text: string): Promise<void> {
    switch (command.verb) {
      case 'set': {
        // Every port's new settings are checked before any changes, so a failed set changes nothing.
        const ports = this.#portsOf(command.ports, `"${text}"`);
        const updated = ports.map((port) => this.#applied(port, command.setting, `"${text}"`));
        ports.forEach((port, k) => {
          this.settings[port] = updated[k];
        });
        if (this.#running) this.#notice(`"${text}" applies from the next str`);
        break;
      }
      case 'str':
        await this.start();
        break;
      case 'start':
        await this.start(command.ports);
        break;
      case 'stp':
        this.stop();
        break;
      case 'clear':
        this.clear();
        break;
      default:
        throw new Error(`Pktgen.execute cannot handle ${command.verb}`);
    }
  }

  /** Measures tx and rx rates since the last call (called once a second). */
  sampleRates(): void {
    // The counters alone (counts()), not reports(): no latency statistics a second.
    const now = Date.now();
    const sample: RateSample = { atMs: now, sent: this.ports.map(() => 0), received: this.ports.map(() => 0) };
    this.counts(sample.sent, sample.received);
    const previous = this.#sample;
    if (previous !== null && this.#running && now > previous.atMs) {
      const seconds = (now - previous.atMs) / 1000;
      this.#pps = {
        tx: sample.sent.map((sent, i) => Math.round((sent - previous.sent[i]) / seconds)),
        rx: sample.received.map((received, i) => Math.round((received - previous.received[i]) / seconds)),
      };
    }
    this.#sample = sample;
  }

  /**
   * Each port's packets sent and received in the current run (the `sent` and `received` of
   * reports()), written into `sent` and `received` (one number a port): what `--timeline`
   * samples every few ms, read without the reports' latency and settings, allocating nothing.
   */
  counts(sent: number[], received: number[]): void {
    sent.fill(0);
    received.fill(0);
    for (const group of this.#groups) {
      const counts = group.engine.counts(group.counts);
      group.ports.forEach((port, k) => {
        received[port] = counts[k * 3];
        sent[port] = counts[k * 3 + 1];
      });
    }
  }

  /** Each port's settings and counters in the current run, as tables and JSON report them. */
  reports(): PortReport[] {
    const counters = this.ports.map(() => ({
      sent: 0,
      dropped: 0,
      txBlocked: 0,
      txSkipped: 0,
      received: 0,
      latency: null as LatencyStats | null,
    }));
    for (const group of this.#groups) {
      group.engine.stats().forEach((stream, k) => {
        counters[group.ports[k]] = {
          sent: stream.tx,
          dropped: stream.dropped,
          txBlocked: stream.txBlocked ?? 0,
          txSkipped: stream.txSkipped ?? 0,
          received: stream.rx,
          latency: stream.latency ?? null,
        };
      });
    }
    return this.ports.map((port, i) => {
      const settings = this.settings[i];
      const { sent, dropped, txBlocked, txSkipped, received, latency } = counters[i];
      const limitReached = this.#runCounts[i] > 0 && sent >= this.#runCounts[i];
      const peer = this.peerOf(i);
      return {
        port: i,
        name: port.name,
        mac: port.mac,
        lcore: this.lcoreOf[i],
        linkUp: port.link().up,
        state: this.#groups.length === 0 ? 'idle' : !this.#running ? 'stopped' : limitReached ? 'done' : 'sending',
        sent,
        dropped,
        txBlocked,
        txSkipped,
        received,
        peer,
        flows: settings.flows,
        dports: [...settings.dstPorts],
        missing: Math.max(0, counters[peer].sent - received),
        txPps: this.#pps.tx[i],
        rxPps: this.#pps.rx[i],
        ratePps: Math.round(this.#ppsOf(settings)),
        latency,
      };
    });
  }

  /**
   * Whether, in the current run, every port with a count has sent it and every port whose peer has a count received all the peer sent. Null when no port
   * has a count.
   */
  done(): boolean | null {
    const limited = this.#runCounts.map((count) => count > 0);
    if (!limited.includes(true)) return null;
    const reports = this.reports();
    return reports.every(
      (report, i) =>
        (!limited[i] || report.sent >= this.#runCounts[i]) &&
        (!limited[report.peer] || report.received >= reports[report.peer].sent),
    );
  }

  /** Closes the engines and the captures, the ports and the mempool. */
  close(): void {
    for (const group of this.#groups) group.engine.close();
    this.#stopPcap();
    for (const port of this.ports) port.close();
    this.#pool.close();
  }
}
