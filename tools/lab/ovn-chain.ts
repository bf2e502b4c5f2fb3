/**
 * The service chain across three OVN chassis, with OVN 23.03's own mechanisms (it has no
 * service-chain table): the generator's two ports on chassis 1, an inline IPS on chassis 2,
 * a detector on chassis 3.
 *
 *   gen0 (10.0.1.10) --ls-gen0-- lr0 --ls-gen1-- gen1 (10.0.2.10)
 *                                 |  \
 *                       ls-nf-in  |   ls-nf-out
 *                     nf-in (10.0.3.10)  nf-out (10.0.4.10): the IPS, an L3 hop
 *
 * - Inline IPS: a `Logical_Router_Policy` on lr0 reroutes what enters from gen0's switch for
 *   10.0.2.0/24 to 10.0.3.10 (nf-in). The IPS forwards what it passes out of nf-out with
 *   the router's nf-out port as destination MAC (`--eth-dst`), and lr0 routes it on to gen1.
 *   The policy matches only on `inport == "lr0-gen0"`, so what comes back is not rerouted again.
 * - Detector: an OVN `Mirror` (type gre) on gen0, `from-lport`: ovn-controller on chassis 1
 *   sends a GRE copy of each packet gen0 sends to the sink IP. The sink is an address of the
 *   underlay that no chassis owns; chassis 1's userspace tunnel is told its MAC (the
 *   detector's), and on chassis 3 an OpenFlow flow on `br-phy` hands GRE for the sink to the
 *   detector's vhost-user port there (in a VLAN of its own, so that br-phy's NORMAL flooding
 *   of the underlay's other traffic never reaches it). The detector matches inside GRE (`--decap gre`).
 *
 * Used by test/ovn-chain.test.ts and the lab's `--hosts 3 --experiment chain` (tools/lab/hosts-chain.ts).
 */
import { DpdkError } from '../../lib/errors.js';
import { OpenFlowClient } from '../../lib/ovs/openflow/client.js';
import { OvnNorthbound } from '../../lib/ovn/northbound.js';
import type { OvnChassis } from '../../lib/ovn/chassis.js';
import type { OvnSandbox, OvnSandboxChassisOptions } from '../../lib/ovn/sandbox.js';

/** Addresses of the chain: each app port's MAC and IP, the router's port MACs, the mirror sink. */
export const ovnChain = {
  router: 'lr0',
  /**
   * The apps' ports by role: the logical switch port (named as the lab's sockets, so that
   * the lab's waits find them), its MAC and IP, and the router port's MAC and network. The
   * generator's MACs are the lab's pktgen ports'.
   */
  ports: {
    gen0: {
      lsp: 'vhost-user0',
      mac: '00:00:00:00:00:05',
      ip: '10.0.1.10',
      routerMac: '00:00:00:00:ff:01',
      network: '10.0.1.1/24',
    },
    gen1: {
      lsp: 'vhost-user1',
      mac: '00:00:00:00:00:01',
      ip: '10.0.2.10',
      routerMac: '00:00:00:00:ff:02',
      network: '10.0.2.1/24',
    },
    nfIn: {
      lsp: 'nf-in',
      mac: '00:00:00:00:01:00',
      ip: '10.0.3.10',
      routerMac: '00:00:00:00:ff:03',
      network: '10.0.3.1/24',
    },
    nfOut: {
      lsp: 'nf-out',
      mac: '00:00:00:00:01:01',
      ip: '10.0.4.10',
      routerMac: '00:00:00:00:ff:04',
      network: '10.0.4.1/24',
    },
  },
  /** The policy: what enters lr0 from gen0's switch for gen1's network goes to the IPS. */
  policy: { priority: 100, match: 'inport == "lr0-gen0" && ip4.dst == 10.0.2.0/24', nexthop: '10.0.3.10' },
  /** The mirror of gen0's traffic: GRE with key `index` to `sink`, an underlay address (see the module comment). */
  mirror: { name: 'chain-detector', sink: '192.168.100.200', index: 6666 },
  /** The detector's port on chassis 3's `br-phy`: its MAC (the sink's, for chassis 1's tunnel) and its VLAN. */
  detector: { port: 'ids', mac: '02:00:c0:a8:64:c8', vlan: 4000 },
} as const;

/** The roles of the chain's apps' ports on br-int. */
export type ChainRole = keyof typeof ovnChain.ports;

/** The apps' vhost-user server sockets (virtio-user `server=1`), by role. */
export type ChainSockets = Record<ChainRole | 'detector', string>;

/**
 * The chassis options of a sandbox for the chain: three DPDK chassis, the PMDs of chassis 1
 * and 3 on CPU 0 and of chassis 2 on CPU 1 (idle PMDs sleep: `pmd-maxsleep`).
 */
export function chainChassisOptions(): OvnSandboxChassisOptions[] {
  return [0x1, 0x2, 0x1].map((mask) => ({
    dpdk: true,
    otherConfig: { 'dpdk-lcore-mask': `0x${mask}`, 'pmd-cpu-mask': `0x${mask}` },
  }));
}

/**
 * Builds the chain on the first three chassis of `sandbox`: the northbound objects (router,
 * four switches, the reroute policy, the mirror), the app ports (gen0 and gen1 on chassis 1,
 * nf-in and nf-out on chassis 2, each installed by OVN), the detector's port and flows on
 * chassis 3's `br-phy`, and chassis 1's tunnel neighbour for the sink; then waits until every
 * chassis has installed it all (`--wait=hv`). The apps may connect before or after.
 */
export async function buildOvnChain(sandbox: OvnSandbox, sockets: ChainSockets): Promise<void> {
  const [chassis1, chassis2, chassis3] = sandbox.chassis;
  if (chassis1 === undefined || chassis2 === undefined || chassis3 === undefined)
    throw new DpdkError(`the chain needs three chassis, the sandbox has ${sandbox.chassis.length}`, {
      code: 'ERR_LAB',
      operation: 'ovn-chain',
    });
  const nb = await OvnNorthbound.connect(sandbox.central.nbTarget, { timeoutMs: 30_000 });
  try {
    const { router, ports, policy, mirror } = ovnChain;
    await nb.create('router', { name: router });
    await nb.create('mirror', {
      name: mirror.name,
      filter: 'from-lport',
      sink: mirror.sink,
      type: 'gre',
      index: mirror.index,
    });
    for (const [role, port] of Object.entries(ports)) {
      const routerPort = `${router}-${role}`;
      await nb.create('router-port', { name: routerPort, router, mac: port.routerMac, networks: [port.network] });
      await nb.create('switch', { name: `ls-${role}` });
      await nb.create('switch-port', {
        name: `rp-${role}`,
        switch: `ls-${role}`,
        type: 'router',
        addresses: ['router'],
        options: { 'router-port': routerPort },
      });
      await nb.create('switch-port', {
        name: port.lsp,
        switch: `ls-${role}`,
        addresses: [`${port.mac} ${port.ip}`],
        ...(role === 'gen0' ? { mirrors: [mirror.name] } : {}),
      });
    }
    await nb.create('router-policy', {
      router,
      priority: policy.priority,
      match: policy.match,
      action: 'reroute',
      nexthops: [policy.nexthop],
    });
    for (const [chassis, role] of [
      [chassis1, 'gen0'],
      [chassis1, 'gen1'],
      [chassis2, 'nfIn'],
      [chassis2, 'nfOut'],
    ] as const)
      await chassis.attach(ports[role].lsp, { socketPath: sockets[role] });
    await attachDetector(chassis3, sockets.detector);
    await chassis1.appctl('tnl/neigh/set', 'br-phy', mirror.sink, ovnChain.detector.mac);
    await nb.sync({ wait: 'hv', timeoutMs: 30_000 });
  } finally {
    nb.close();
  }
}

/** The detector's vhost-user port on `chassis`'s br-phy, alone in its VLAN, and the flows that feed it the sink's GRE. */
async function attachDetector(chassis: OvnChassis, socketPath: string): Promise<void> {
  const { port, vlan } = ovnChain.detector;
  await chassis.vswitch.addPort('br-phy', port, {
    type: 'dpdkvhostuserclient',
    options: { 'vhost-server-path': socketPath },
  });
  await chassis.vswitch.setColumns('Port', port, { tag: vlan });
  const client = await OpenFlowClient.connect(`unix:${chassis.mgmtSocket('br-phy')}`, { timeoutMs: 10_000 });
  try {
    await client.addFlows([
      `priority=100,ip,nw_proto=47,nw_dst=${ovnChain.mirror.sink},actions=output:${port}`,
      `priority=100,in_port=${port},actions=drop`,
    ]);
  } finally {
    await client.close();
  }
}

/** rx and tx packets of one OpenFlow port. */
export interface PortPackets {
  rx: number;
  tx: number;
}

/** OVS's counts along the chain, from OpenFlow port and flow stats (current, not the 5 s Interface statistics). */
export interface ChainOvsCounters {
  /** Chassis 1: the generator's ports, its Geneve port to chassis 2 and the mirror's GRE port. */
  chassis1: { gen0: PortPackets; gen1: PortPackets; geneveToChassis2: PortPackets; mirrorGre: PortPackets };
  /** Chassis 2: the IPS's ports and its Geneve port to chassis 1. */
  chassis2: { nfIn: PortPackets; nfOut: PortPackets; geneveToChassis1: PortPackets };
  /** Chassis 3: the detector's port on br-phy, and the packets of the flow that feeds it. */
  chassis3: { detector: PortPackets; sinkFlow: number };
}

/** OpenFlow port number of the interface `find` picks on `chassis`. */
function ofportOf(chassis: OvnChassis, what: string, find: (row: Record<string, unknown>) => boolean): number {
  const row = chassis.vswitch.replica.find('Interface', find);
  const ofport = row === undefined ? undefined : chassis.vswitch.interface(row['name'] as string).ofport;
  if (ofport === undefined || ofport <= 0)
    throw new DpdkError(`chassis ${chassis.name} has no ${what} port`, { code: 'ERR_LAB', operation: 'ovn-chain' });
  return ofport;
}

function tunnelTo(chassis: OvnChassis, type: string, remoteIp: string): number {
  return ofportOf(
    chassis,
    `${type} tunnel to ${remoteIp}`,
    (row) => row['type'] === type && chassis.vswitch.interface(row['name'] as string).options['remote_ip'] === remoteIp,
  );
}

async function portPackets(chassis: OvnChassis, bridge: string, ofports: number[]): Promise<PortPackets[]> {
  const client = await OpenFlowClient.connect(`unix:${chassis.mgmtSocket(bridge)}`, { timeoutMs: 10_000 });
  try {
    const counts: PortPackets[] = [];
    for (const ofport of ofports) {
      const [found] = await client.portStats(ofport);
      if (found === undefined)
        throw new DpdkError(`chassis ${chassis.name} ${bridge} has no port ${ofport}`, {
          code: 'ERR_LAB',
          operation: 'ovn-chain',
        });
      counts.push({ rx: Number(found.rxPackets), tx: Number(found.txPackets) });
    }
    return counts;
  } finally {
    await client.close();
  }
}

/** Reads {@link ChainOvsCounters} from the three chassis of a sandbox that {@link buildOvnChain} built. */
export async function chainOvsCounters(sandbox: OvnSandbox): Promise<ChainOvsCounters> {
  const [chassis1, chassis2, chassis3] = sandbox.chassis as [OvnChassis, OvnChassis, OvnChassis];
  const lspPort = (chassis: OvnChassis, role: ChainRole): number => {
    const lsp = ovnChain.ports[role].lsp;
    const ofport = chassis.portState(lsp)?.ofport;
    if (ofport === undefined)
      throw new DpdkError(`chassis ${chassis.name} has no port for ${lsp}`, {
        code: 'ERR_LAB',
        operation: 'ovn-chain',
      });
    return ofport;
  };
  const [gen0, gen1, geneveToChassis2, mirrorGre] = await portPackets(chassis1, 'br-int', [
    lspPort(chassis1, 'gen0'),
    lspPort(chassis1, 'gen1'),
    tunnelTo(chassis1, 'geneve', chassis2.encapIp),
    tunnelTo(chassis1, 'gre', ovnChain.mirror.sink),
  ]);
  const [nfIn, nfOut, geneveToChassis1] = await portPackets(chassis2, 'br-int', [
    lspPort(chassis2, 'nfIn'),
    lspPort(chassis2, 'nfOut'),
    tunnelTo(chassis2, 'geneve', chassis1.encapIp),
  ]);
  const detectorPort = chassis3.vswitch.interface(ovnChain.detector.port).ofport ?? -1;
  const [detector] = await portPackets(chassis3, 'br-phy', [detectorPort]);
  const client = await OpenFlowClient.connect(`unix:${chassis3.mgmtSocket('br-phy')}`, { timeoutMs: 10_000 });
  let sinkFlow: number;
  try {
    const dump = await client.dumpFlows(`ip,nw_proto=47,nw_dst=${ovnChain.mirror.sink}`);
    sinkFlow = dump.flows.reduce((sum, flow) => sum + Number(flow.packetCount), 0);
  } finally {
    await client.close();
  }
  return {
    chassis1: { gen0: gen0!, gen1: gen1!, geneveToChassis2: geneveToChassis2!, mirrorGre: mirrorGre! },
    chassis2: { nfIn: nfIn!, nfOut: nfOut!, geneveToChassis1: geneveToChassis1! },
    chassis3: { detector: detector!, sinkFlow },
  };
}

/** `after - before`, port by port (counters only grow). */
export function chainCountersSince(after: ChainOvsCounters, before: ChainOvsCounters): ChainOvsCounters {
  const since = <T extends Record<string, PortPackets | number>>(a: T, b: T): T =>
    Object.fromEntries(
      Object.entries(a).map(([key, value]) => {
        const old = b[key]!;
        return [
          key,
          typeof value === 'number'
            ? value - (old as number)
            : { rx: value.rx - (old as PortPackets).rx, tx: value.tx - (old as PortPackets).tx },
        ];
      }),
    ) as T;
  return {
    chassis1: since(after.chassis1, before.chassis1),
    chassis2: since(after.chassis2, before.chassis2),
    chassis3: since(after.chassis3, before.chassis3),
  };
}

/**
 * What OVS does with the chain's packets, for a run that did not deliver: `ofproto/trace`
 * of a gen0 packet on chassis 1 (the router policy, the tunnel, the mirror's GRE) and of
 * an IPS return on chassis 2, the tunnel neighbours and routes of chassis 1, the flows and
 * port stats of chassis 3's br-phy.
 */
export async function chainTrace(sandbox: OvnSandbox): Promise<string> {
  const [chassis1, chassis2, chassis3] = sandbox.chassis as [OvnChassis, OvnChassis, OvnChassis];
  const { gen0, gen1, nfOut } = ovnChain.ports;
  const out: string[] = [];
  const step = async (what: string, run: () => Promise<string>): Promise<void> => {
    try {
      out.push(`== ${what}\n${await run()}`);
    } catch (error) {
      out.push(`== ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const udp = (inPort: string, src: string, dst: string): string =>
    `in_port=${inPort},udp,dl_src=${src},dl_dst=${dst},nw_src=${gen0.ip},nw_dst=${gen1.ip},nw_ttl=64,tp_src=1234,tp_dst=53`;
  await step(`${chassis1.name} trace gen0`, () =>
    chassis1.appctl('ofproto/trace', 'br-int', udp(gen0.lsp, gen0.mac, gen0.routerMac)),
  );
  await step(`${chassis2.name} trace nf-out`, () =>
    chassis2.appctl('ofproto/trace', 'br-int', udp(nfOut.lsp, nfOut.mac, nfOut.routerMac)),
  );
  await step(`${chassis1.name} tnl/neigh/show`, () => chassis1.appctl('tnl/neigh/show'));
  await step(`${chassis1.name} ovs/route/show`, () => chassis1.appctl('ovs/route/show'));
  await step(`${chassis1.name} interfaces`, async () =>
    chassis1.vswitch.replica
      .rows('Interface')
      .map((row) => `${String(row['name'])} ${String(row['type'])} ofport ${String(row['ofport'])}`)
      .join('\n'),
  );
  await step(`${chassis3.name} interfaces`, async () =>
    chassis3.vswitch.replica
      .rows('Interface')
      .map(
        (row) =>
          `${String(row['name'])} ${String(row['type'])} ofport ${String(row['ofport'])} link ${String(row['link_state'])}` +
          (row['error'] === undefined ? '' : ` error ${String(row['error'])}`),
      )
      .join('\n'),
  );
  await step(`${chassis3.name} br-phy`, async () => {
    const client = await OpenFlowClient.connect(`unix:${chassis3.mgmtSocket('br-phy')}`, { timeoutMs: 10_000 });
    try {
      const flows = await client.dumpFlows();
      const ports = await client.portDescriptions();
      const stats = await client.portStats();
      return [
        ...flows.lines,
        ...ports.map((port) => `port ${port.portNo} ${port.name}`),
        ...stats.map((entry) => `stats ${entry.portNo} rx ${entry.rxPackets} tx ${entry.txPackets}`),
      ].join('\n');
    } finally {
      await client.close();
    }
  });
  return out.join('\n');
}
