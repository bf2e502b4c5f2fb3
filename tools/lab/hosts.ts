/**
 * The lab across simulated hosts (`--hosts N`): experiments 1 and 2 with the generator's
 * ports on chassis 1 and the forwarder's on chassis 2 of an OVN deployment ({@link OvnFabric}),
 * every packet counted at the generator, at the apps' ports on both chassis and at the
 * Geneve tunnel ports; and the table of experiments `--hosts` runs, which other
 * experiments across hosts join.
 */
import { DpdkError } from '../../lib/errors.js';
import {
  forwarderPorts,
  forwardingExperiment,
  generate,
  generatorPorts,
  referencePorts,
  settle,
  type Check,
  type CountedRun,
  type ExperimentResult,
  type ForwardingFabric,
} from './experiments.js';
import { hostsChainExperiment } from './hosts-chain.js';
import { hostsMoveExperiment } from './hosts-move.js';
import { log, type Lab } from './lab.js';
import type { FabricPort } from './ovn-fabric.js';
import type { ExperimentName } from './options.js';
import { countersSince, type OvsCounters } from './ovs-counters.js';

/**
 * An experiment across hosts: it runs on `lab.ovn` (the chassis, the northbound database,
 * attaching ports, counters), starts apps with `lab.start` and checks with `lab.ovsCounters`.
 */
export type HostsExperiment = (lab: Lab) => Promise<ExperimentResult>;

/**
 * The experiments `--hosts` runs, by `--experiment` name (options.ts's
 * `hostsExperimentMinimum` says how many chassis each needs). The service chain across
 * three chassis (hosts-chain.ts) and the live move (hosts-move.ts) join here.
 */
export const hostsExperiments: Partial<Record<ExperimentName, HostsExperiment>> = {
  '1': (lab) => forwardingExperiment(lab, '1', acrossHosts),
  '2': (lab) => forwardingExperiment(lab, '2', acrossHosts),
  chain: hostsChainExperiment,
  move: (lab) => hostsMoveExperiment(lab),
};

/**
 * Runs experiment `name` across hosts.
 * @throws DpdkError `ERR_LAB` when no experiment across hosts has that name.
 */
export async function hostsExperiment(lab: Lab, name: ExperimentName): Promise<ExperimentResult> {
  const run = hostsExperiments[name];
  if (run === undefined)
    throw new DpdkError(`experiment ${name} has no run across hosts`, { code: 'ERR_LAB', operation: 'lab' });
  return run(lab);
}

/** The logical switches of experiments 1 and 2 (see {@link forwardingPorts}). */
const forwardingSwitches = ['lab-ls-a', 'lab-ls-b'] as const;

/** The MAC DPDK's l2fwd (and examples/l2fwd.ts) writes as the destination of what it sends out of its port `id`. */
function l2fwdDestination(id: number): string {
  return `02:00:00:00:00:${id.toString(16).padStart(2, '0')}`;
}

/**
 * Experiments 1 and 2 across chassis: the generator's ports on chassis 1, the forwarder's
 * on chassis 2, paired as the single OVS's flows pair them (generator port 0 with the
 * forwarder's second port, generator port 1 with its first) on two logical switches of
 * two ports each. OVN forwards by destination MAC, so each port carries, beside its own
 * MAC, those of the frames that must reach it: the generator addresses its peer port
 * (pktgen's default destination), which the forwarder's port on the same switch stands
 * for (testpmd's io mode forwards frames unchanged); the generator's port also takes the
 * destination l2fwd writes when it sends out of the forwarder's port on that switch
 * (02:00:00:00:00:<port id>). Static addresses, not `unknown`: ports with `unknown` take
 * the flood, and OVN learns the source MACs seen on them through ovn-controller (a
 * packet-in per new MAC), so the first packets of each run would take the slow path.
 */
export function forwardingPorts(): FabricPort[] {
  const [gen0, gen1] = generatorPorts;
  const [fwd0, fwd1] = forwarderPorts;
  const [a, b] = forwardingSwitches;
  return [
    { name: gen0.socket, chassis: 1, switch: a, addresses: [gen0.mac, l2fwdDestination(fwd1.index - 2)] },
    { name: fwd1.socket, chassis: 2, switch: a, addresses: [fwd1.mac, gen1.mac] },
    { name: gen1.socket, chassis: 1, switch: b, addresses: [gen1.mac, l2fwdDestination(fwd0.index - 2)] },
    { name: fwd0.socket, chassis: 2, switch: b, addresses: [fwd0.mac, gen0.mac] },
  ];
}

/** Experiments 1 and 2 on the OVN fabric. */
const acrossHosts: ForwardingFabric = {
  topology: async (lab) => {
    const ports = forwardingPorts();
    // Anew for each experiment: experiment 1's full-rate drops stayed in the generator's
    // ports' counters and failed experiment 2's counted run (193 and 206 tx dropped).
    await lab.ovn.attach(ports, { anew: true });
    for (const port of ports) {
      log(`lab: ${port.switch}: ${port.name} on ${lab.ovn.chassis(port.chassis).name} (${port.addresses.join(', ')})`);
    }
  },
  countedRun: (lab) => hostsCountedRun(lab),
};

/** How many frames each port sends in a probe. */
const probeCount = 4;

/**
 * Sends a few frames each way until they all come back, at most `tries` times: OVN says a
 * port is installed before OVS has enabled the queues of its app, and a chassis learns
 * where another's ports are bound a moment after that chassis does.
 */
export async function probePath(lab: Lab, tries = 5): Promise<number> {
  for (let attempt = 1; attempt <= tries; attempt++) {
    const { report } = await generate(lab, 'pktgen-probe', null, {
      setup: `set all rate 1; set all count ${probeCount}`,
      run: `${settle}; str; wait 5; quit`,
    });
    const [p0, p1] = report.ports;
    if (p0?.received === probeCount && p1?.received === probeCount) return attempt;
    log(`lab: probe ${attempt}: port 0 got ${p0?.received ?? 0} and port 1 got ${p1?.received ?? 0} of ${probeCount}`);
  }
  throw new DpdkError(`the path across chassis did not deliver ${probeCount} frames each way in ${tries} probes`, {
    code: 'ERR_LAB',
    operation: 'lab',
  });
}

/** The counter entry named `name` (`CHASSIS PORT`, `CHASSIS tunnel to PEER`). */
function entry(ovs: OvsCounters, name: string) {
  return ovs.ports.find((port) => port.name === name);
}

/** Whether entry `name` took in `rx` and sent `tx` packets and dropped none; null when OVS keeps no counters for it. */
function exactly(ovs: OvsCounters, name: string, rx: number, tx: number): boolean | null {
  const port = entry(ovs, name);
  if (port === undefined || port.rx === null || port.tx === null) return null;
  return port.rx === rx && port.tx === tx && (port.rxDropped ?? 0) === 0 && (port.txDropped ?? 0) === 0;
}

/**
 * Each generator port's rate in the counted run across chassis, packets per second. At the
 * single OVS's 10% of the line rate (1.49 Mpps a port, 300 packets within ~0.2 ms) chassis
 * 2's tunnel received 257 of 300: the underlay is a kernel veth, which each chassis's OVS
 * reads through a socket on its main thread (not a PMD), and a burst past the socket's
 * receive buffer is lost there.
 */
export const hostsCountedPps = 10_000;

/**
 * The counted run across chassis: after a probe, port 0 sends 100 packets and port 1 sends
 * 200 at {@link hostsCountedPps} each, through chassis 1's OVS, the tunnel, chassis 2's OVS, the forwarder and
 * back; checked at the generator, at the four vhost-user ports on their chassis and at
 * the tunnel ports of every chassis (300 each way between chassis 1 and 2, none to others).
 */
export async function hostsCountedRun(lab: Lab): Promise<CountedRun> {
  const probes = await probePath(lab);
  log(`lab: the path across chassis delivers (probe ${probes})`);
  const before = await lab.ovsCounters(referencePorts);
  const counted = await generate(lab, 'pktgen', referencePorts, {
    setup: `set all pps ${hostsCountedPps}; set 0 count 100; set 1 count 200`,
    run: `${settle}; str; wait 30; quit`,
  });
  const generator = counted.report;
  const ovs = countersSince(counted.ovs, before);
  const [p0, p1] = generator.ports;
  const [c1, c2] = [lab.ovn.chassis(1).name, lab.ovn.chassis(2).name];
  const tunnels = ovs.ports.filter((port) => port.name.includes(' tunnel to '));
  const between = (from: string, to: string) => tunnels.find((port) => port.name === `${from} tunnel to ${to}`);
  const others = tunnels.filter((port) => port !== between(c1, c2) && port !== between(c2, c1));
  const checks: Check[] = [
    { what: 'generator port 0 sent 100', ok: p0?.sent === 100 },
    { what: 'generator port 1 sent 200', ok: p1?.sent === 200 },
    { what: 'port 1 received exactly 100 (from port 0)', ok: p1?.received === 100 },
    { what: 'port 0 received exactly 200 (from port 1)', ok: p0?.received === 200 },
    {
      what: `${c1}: vhost-user0 took in 100 and sent 200, vhost-user1 took in 200 and sent 100, none dropped`,
      ok: and(exactly(ovs, `${c1} vhost-user0`, 100, 200), exactly(ovs, `${c1} vhost-user1`, 200, 100)),
    },
    {
      what: `${c2}: vhost-user2 took in 100 and sent 200, vhost-user3 took in 200 and sent 100, none dropped`,
      ok: and(exactly(ovs, `${c2} vhost-user2`, 100, 200), exactly(ovs, `${c2} vhost-user3`, 200, 100)),
    },
    ...tunnelChecks(ovs, c1, c2),
    {
      what: `tunnels to other chassis carried nothing${others.length === 0 ? ' (there are none)' : ''}`,
      ok: others.every((port) => port.rx === 0 && port.tx === 0),
    },
  ];
  return { generator, ovs, checks };
}

/**
 * The tunnel checks: each of chassis 1 and 2 received 300 on its tunnel from the other
 * (100 of port 0's and 200 of port 1's, one way or the other) and dropped none; its tx
 * says 600, as OVS 3.1's userspace tunnel counts every packet it pushes twice in the
 * port's tx (600 for 300 and 514 for 257 in the same run; test/ovn-traffic.test.ts saw 256
 * for 128).
 */
function tunnelChecks(ovs: OvsCounters, c1: string, c2: string): Check[] {
  return [
    [c1, c2],
    [c2, c1],
  ].map(([to, from]) => {
    const port = entry(ovs, `${to} tunnel to ${from}`);
    return {
      what: `${to}: its tunnel to ${from} received 300, counted 600 sent (2 x 300, see above), dropped none`,
      ok:
        port === undefined || port.rx === null || port.tx === null
          ? null
          : port.rx === 300 && port.tx === 600 && (port.rxDropped ?? 0) === 0 && (port.txDropped ?? 0) === 0,
    };
  });
}

/** Both checks: false if one failed, null if one could not be made, else true. */
function and(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}
