// The fault tests' rig: a private OVS-DPDK with one netdev bridge (fail_mode=secure, so
// only the FlowKeeper's flows forward), two dpdkvhostuserclient ports connected to this
// process's two server-mode VirtioUser ports, and a native generator sending on one port
// at a fixed rate and counting what the bridge delivers on the other.
import { existsSync } from 'node:fs';
import {
  Batch,
  Engine,
  Mempool,
  VirtioUser,
  buildUdpPacket,
  hugepages,
  type EngineStreamStats,
  type LinkStatus,
  type Port,
} from '../../lib/index.js';
import { FlowKeeper } from '../../lib/ovs/openflow/flow-keeper.js';
import { dpdkVswitchd, OvsSandbox } from '../../lib/ovs/sandbox.js';
import { Vswitch } from '../../lib/ovs/vswitch.js';

/** Why the fault tests cannot run here, or false. */
export function ovsDpdkSkip(): string | false {
  if (!existsSync(dpdkVswitchd)) return `${dpdkVswitchd} is missing (apt-get install openvswitch-switch-dpdk)`;
  const free = hugepages().free;
  if (free < 128) {
    return `only ${free} free hugepages (needs 128): echo 512 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs none /dev/hugepages`;
  }
  return false;
}

/**
 * The generator's rate: modest, so that two pollers share CPU 1 (the OVS PMD and the engine).
 * At 100 kpps a 256-descriptor ring holds 2.6 ms, less than a scheduler slice: a loaded
 * machine lost packets outside the fault.
 */
export const ratePps = 20_000;
/** The bridge and its ports' names and OpenFlow port numbers. */
export const bridge = 'br-fault';
export const portNames = ['fault0', 'fault1'] as const;
/** The flows the keeper owns: whatever enters one port leaves by the other. */
export const flows = ['in_port=1,actions=output:2', 'in_port=2,actions=output:1'];

/** One link event as TypeScript saw it. */
export interface LinkEvent {
  port: string;
  up: boolean;
  at: number;
}

/** One reading of the generator's counters. */
export interface Sample {
  at: number;
  sent: number;
  received: number;
}

/** The rig; {@link Rig.start} builds it, the teardowns it registers take it down. */
export class Rig {
  readonly sandbox: OvsSandbox;
  readonly vswitch: Vswitch;
  readonly keeper: FlowKeeper;
  readonly pool: Mempool;
  readonly ports: Port[];
  readonly engine: Engine;
  readonly links: LinkEvent[] = [];

  private constructor(
    sandbox: OvsSandbox,
    vswitch: Vswitch,
    keeper: FlowKeeper,
    pool: Mempool,
    ports: Port[],
    engine: Engine,
  ) {
    this.sandbox = sandbox;
    this.vswitch = vswitch;
    this.keeper = keeper;
    this.pool = pool;
    this.ports = ports;
    this.engine = engine;
    for (const port of ports) {
      port.on('link', (status: LinkStatus) => this.links.push({ port: port.name, up: status.up, at: Date.now() }));
    }
  }

  /** Starts OVS and the app side (EAL must be initialized, with a worker lcore 1). */
  static async start(t: { teardown(fn: () => unknown): void }, otherConfig: Record<string, string> = {}): Promise<Rig> {
    const sandbox = await OvsSandbox.start({
      vswitchd: 'dpdk',
      otherConfig: {
        'dpdk-socket-mem': '128',
        'dpdk-lcore-mask': '0x1',
        // The PMD on CPU 1 beside the generator's lcore: two pollers, each yielding when idle.
        'pmd-cpu-mask': '0x2',
        'pmd-maxsleep': '50',
        ...otherConfig,
      },
      timeoutMs: 60_000,
    });
    t.teardown(() => sandbox.stop());
    const vswitch = await Vswitch.connect(sandbox.dbTarget, { timeoutMs: 30_000 });
    t.teardown(() => vswitch.close());
    await vswitch.addBridge(bridge, { datapathType: 'netdev', failMode: 'secure' });
    const pool = Mempool.create({ name: `fault${process.pid}`, size: 4095 });
    const servers = portNames.map((name, i) =>
      VirtioUser.createServer({
        path: `${sandbox.runDir}/${name}.sock`,
        mac: `00:00:00:00:00:0${i + 1}`,
        timeoutMs: 30_000,
      }),
    );
    for (const [i, name] of portNames.entries()) {
      await vswitch.addPort(bridge, name, {
        type: 'dpdkvhostuserclient',
        options: { 'vhost-server-path': `${sandbox.runDir}/${name}.sock` },
        ofportRequest: i + 1,
      });
    }
    const ports = await Promise.all(servers);
    const packet = buildUdpPacket({
      dstMac: '00:00:00:00:00:02',
      srcMac: '00:00:00:00:00:01',
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
    });
    const engine = Engine.create({
      lcore: 1,
      mode: 'generator',
      mempool: pool,
      template: packet,
      yieldWhenIdle: true,
      streams: [
        { rxPort: ports[0], txPort: ports[0], ratePps },
        { rxPort: ports[1], txPort: ports[1], send: false },
      ],
    });
    // Last registered, first run: the engine stops before the ports close, the pool goes last.
    t.teardown(() => pool.close());
    for (const port of ports) t.teardown(() => port.close());
    t.teardown(() => engine.close());
    for (const port of ports) {
      port.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
      port.start();
    }
    for (const port of ports) await port.waitForLink({ timeoutMs: 10_000 });
    const keeper = new FlowKeeper(`unix:${sandbox.mgmtSocket(bridge)}`, flows, {
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    t.teardown(() => keeper.close());
    await keeper.waitInstalled({ timeoutMs: 20_000 });
    return new Rig(sandbox, vswitch, keeper, pool, ports, engine);
  }

  /** What the generator sent on port 0 and counted on port 1 so far. */
  sample(): Sample {
    const [tx, rx] = this.engine.stats() as [EngineStreamStats, EngineStreamStats];
    return { at: performance.now(), sent: tx.tx, received: rx.rx };
  }

  /**
   * Stops the engine and counts the packets still in flight, which reach port 1 after it
   * stopped polling: they are read here (and freed) once the bridge had time to deliver them.
   */
  async stopAndDrain(): Promise<number> {
    this.engine.stop();
    await sleep(200);
    const batch = new Batch(64);
    let drained = 0;
    while (this.ports[1].rxBurst(0, batch) > 0) {
      drained += batch.count;
      batch.free();
    }
    batch.close();
    return drained;
  }

  /** Runs the generator for `ms` with no fault: what it sent, and what arrived. */
  async quietRun(ms: number): Promise<{ sent: number; received: number }> {
    const before = this.sample();
    this.engine.start();
    await sleep(ms);
    const drained = await this.stopAndDrain();
    const after = this.sample();
    return { sent: after.sent - before.sent, received: after.received - before.received + drained };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The outage in samples taken every few ms around a fault at `faultAt`: the received count
 * stalls (stays put for 20 ms or more) after the fault; the outage runs from the sample where
 * it first had that count (the last packet before) to the first where it grew again.
 */
export function outage(samples: Sample[], faultAt: number): { lastBefore: Sample; firstAfter: Sample } | undefined {
  for (let i = 0; i < samples.length; i++) {
    if (samples[i].at < faultAt) continue;
    const count = samples[i].received;
    const end = samples.findIndex((s, j) => j > i && s.received !== count);
    if (end === -1) return undefined;
    if (samples[end - 1].at - samples[i].at < 20) continue;
    const lastBefore = samples.find((s) => s.received === count)!;
    return { lastBefore, firstAfter: samples[end] };
  }
  return undefined;
}
