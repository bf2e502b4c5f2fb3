/**
 * The lab's fabric with `--hosts N`: an {@link OvnSandbox} of N DPDK chassis (simulated
 * hosts, each a network namespace with its own OVS-DPDK and ovn-controller, Geneve in OVS
 * userspace) instead of the one OVS, the northbound database through {@link OvnNorthbound},
 * the apps' vhost-user ports attached to chassis as logical switch ports, and the counters
 * of every chassis's ports, tunnel ports included.
 */
import { join } from 'node:path';
import { DpdkError } from '../../lib/errors.js';
import { OpenFlowClient } from '../../lib/ovs/openflow/client.js';
import type { OvnChassis } from '../../lib/ovn/chassis.js';
import { OvnNorthbound } from '../../lib/ovn/northbound.js';
import { OvnSandbox } from '../../lib/ovn/sandbox.js';
import { cpuMask, type CpuPlan } from './cpu-plan.js';
import type { OvsCounters, OvsPortCounters } from './ovs-counters.js';

/** How {@link OvnFabric.start} makes the chassis. */
export interface OvnFabricOptions {
  /** How many chassis (simulated hosts), 2 or more. */
  hosts: number;
  /** The CPU plan: every chassis's DPDK lcore and PMD thread run on `cpus.ovs`. */
  cpus: CpuPlan;
  /** DPDK memory from memfd instead of hugepages. */
  noHuge: boolean;
  /** OVS `other_config:pmd-maxsleep` of every chassis, microseconds. */
  pmdMaxSleepUs: number;
  /** The directory of the apps' vhost-user sockets (the apps serve them: `dpdkvhostuserclient`). */
  socketDir: string;
}

/** Where {@link OvnFabric.attach} puts a network function's port. */
export interface FabricPort {
  /** The logical switch port, the OVS port and the socket's name in the socket directory. */
  name: string;
  /** The chassis, from 1. */
  chassis: number;
  /** The logical switch (made if missing). */
  switch: string;
  /** `Logical_Switch_Port.addresses`: the MACs OVN delivers to this port. */
  addresses: string[];
}

/**
 * N OVN chassis with DPDK, their central and the northbound client. The apps' sockets
 * stay in the lab's socket directory: every chassis's ovs-vswitchd reaches them by path,
 * whatever its network namespace.
 */
export class OvnFabric {
  /** The OVN deployment: central, chassis, southbound replica. */
  readonly sandbox: OvnSandbox;
  /** The northbound database. */
  readonly northbound: OvnNorthbound;
  /** The directory of the apps' vhost-user sockets. */
  readonly socketDir: string;
  #closed = false;

  private constructor(sandbox: OvnSandbox, northbound: OvnNorthbound, socketDir: string) {
    this.sandbox = sandbox;
    this.northbound = northbound;
    this.socketDir = socketDir;
  }

  /** Starts the chassis (each its PMD on `cpus.ovs`, sleeping when idle) and connects to the northbound database. */
  static async start(options: OvnFabricOptions): Promise<OvnFabric> {
    const mask = cpuMask(options.cpus.ovs);
    const otherConfig = {
      'dpdk-lcore-mask': mask,
      'pmd-cpu-mask': mask,
      'pmd-maxsleep': String(options.pmdMaxSleepUs),
      // As the single OVS's: a mempool per port (forwarders reconnect between rounds).
      'per-port-memory': 'true',
      // Without hugepages: 512 MiB from memfd (-m, OVS's dpdk-alloc-mem). EAL refuses
      // --socket-mem beside -m, and the chassis's default of dpdk-socket-mem=128 is set
      // unless given: OVS passes no option it finds empty.
      ...(options.noHuge
        ? { 'dpdk-socket-mem': '', 'dpdk-alloc-mem': '512', 'dpdk-extra': '--no-pci --no-huge' }
        : { 'dpdk-socket-mem': '128', 'dpdk-socket-limit': '256', 'dpdk-extra': '--no-pci --single-file-segments' }),
    };
    const sandbox = await OvnSandbox.start({
      chassis: Array.from({ length: options.hosts }, () => ({ dpdk: true, otherConfig })),
      timeoutMs: 120_000,
    });
    try {
      const northbound = await OvnNorthbound.connect(sandbox.central.nbTarget, { timeoutMs: 30_000 });
      return new OvnFabric(sandbox, northbound, options.socketDir);
    } catch (error) {
      await sandbox.close();
      throw error;
    }
  }

  /** Chassis `index`, from 1. */
  chassis(index: number): OvnChassis {
    const chassis = this.sandbox.chassis[index - 1];
    if (chassis === undefined) {
      throw new DpdkError(`no chassis ${index}: the lab runs ${this.sandbox.chassis.length} (--hosts)`, {
        code: 'ENOENT',
        operation: 'lab',
      });
    }
    return chassis;
  }

  /**
   * Makes the logical switch ports `ports` (and their switches) and attaches each on its
   * chassis, a `dpdkvhostuserclient` port to `<socketDir>/<name>`. A port already attached
   * where asked is left as it is, or with `anew` detached and attached again (a new OVS
   * port: its counters from zero, as the single OVS's bridge made anew for each
   * experiment; OVS keeps a vhost port's drop counters across its peer's reconnections,
   * so a full-rate run's drops would show in the next experiment's counted run). Then waits until every chassis has installed the
   * result (`ovn-nbctl --wait=hv sync`): a chassis sends to a port on another only once it
   * knows where that port is bound.
   */
  async attach(ports: readonly FabricPort[], options: { anew?: boolean } = {}): Promise<void> {
    for (const port of ports) {
      const chassis = this.chassis(port.chassis);
      if (chassis.portState(port.name) !== undefined) {
        if (options.anew !== true) continue;
        await chassis.detach(port.name);
      }
      if (this.northbound.list('switch').every((ls) => ls.name !== port.switch))
        await this.northbound.create('switch', { name: port.switch });
      if (this.northbound.list('switch-port').every((lsp) => lsp.name !== port.name))
        await this.northbound.create('switch-port', {
          name: port.name,
          switch: port.switch,
          addresses: port.addresses,
        });
      await chassis.attach(port.name, { socketPath: join(this.socketDir, port.name), port: port.name });
    }
    await this.northbound.sync({ wait: 'hv' });
  }

  /** The chassis that has port `name` on its `br-int`, or undefined. */
  chassisOf(name: string): OvnChassis | undefined {
    return this.sandbox.chassis.find((chassis) => chassis.portState(name) !== undefined);
  }

  /** Whether the app's virtio side is connected to port `name` (on whichever chassis has it). */
  connected(name: string): boolean {
    return this.chassisOf(name)?.portState(name)?.connected === true;
  }

  /**
   * The counters of ports `names` (on whichever chassis has each) and of every chassis's
   * Geneve tunnel ports, read through OpenFlow on each `br-int` (the Interface `statistics`
   * column lags up to 5 s). Each entry is named `CHASSIS NAME`, a tunnel `CHASSIS tunnel
   * to PEER`; `flows` is empty (OVN's flows are its own).
   */
  async counters(names: readonly string[]): Promise<OvsCounters> {
    const ports: OvsPortCounters[] = [];
    for (const chassis of this.sandbox.chassis) {
      const client = await OpenFlowClient.connect(`unix:${chassis.mgmtSocket('br-int')}`, { timeoutMs: 10_000 });
      try {
        const descriptions = await client.portDescriptions();
        const stats = await client.portStats();
        const wanted = new Map<number, string>();
        for (const description of descriptions) {
          if (names.includes(description.name)) wanted.set(description.portNo, `${chassis.name} ${description.name}`);
          const peer = this.#tunnelPeer(chassis, description.name);
          if (peer !== undefined) wanted.set(description.portNo, `${chassis.name} tunnel to ${peer}`);
        }
        for (const stat of stats) {
          const name = wanted.get(stat.portNo);
          if (name === undefined) continue;
          ports.push({
            port: stat.portNo,
            name,
            rx: counter(stat.rxPackets),
            tx: counter(stat.txPackets),
            rxDropped: counter(stat.rxDropped),
            txDropped: counter(stat.txDropped),
          });
        }
      } finally {
        await client.close();
      }
    }
    ports.sort((a, b) => a.name.localeCompare(b.name));
    return { flows: [], ports };
  }

  /** The chassis a Geneve interface of `chassis` leads to, or undefined when `name` is no tunnel. */
  #tunnelPeer(chassis: OvnChassis, name: string): string | undefined {
    const row = chassis.vswitch.replica.find('Interface', (candidate) => candidate['name'] === name);
    if (row === undefined || row['type'] !== 'geneve') return undefined;
    const remoteIp = chassis.vswitch.interface(name).options['remote_ip'];
    return this.sandbox.chassis.find((peer) => peer.encapIp === remoteIp)?.name ?? remoteIp;
  }

  /** Stops every chassis and the central, deletes the namespaces. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.northbound.close();
    await this.sandbox.close();
  }
}

// OpenFlow reports a counter the switch does not keep (a vhost port without its peer) as all ones.
function counter(value: bigint): number | null {
  return value === 0xffffffffffffffffn ? null : Number(value);
}
