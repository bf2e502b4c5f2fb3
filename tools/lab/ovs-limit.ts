/**
 * What OVS-DPDK forwards with its PMD thread alone on a CPU: the bound the placement puts
 * on experiment 1. One C dpdk-testpmd in flowgen mode (it sends on both its ports and
 * frees what comes back: one busy poller) on the other CPU, OVS forwarding between its two
 * vhost-user ports (1 -> 2, 2 -> 1); the rate is what OVS's port counters say it delivered
 * over a timed window. Every packet of experiment 1 crosses OVS twice (generator ->
 * forwarder -> generator), so its received rate cannot pass half of this with OVS on one CPU.
 */
import { cApps } from './c-apps.js';
import { flowgenArgs } from './app-args.js';
import type { ExperimentResult } from './experiments.js';
import { log, packageRoot, type Lab } from './lab.js';
import { countersSince, type OvsCounters } from './ovs-counters.js';

/** What {@link ovsLimitExperiment} measured. */
export interface OvsLimit {
  /** The measured window, in seconds. */
  seconds: number;
  /** The CPU OVS's PMD thread had, and the CPU of the C testpmd. */
  ovsCpu: number;
  testpmdCpu: number;
  /** Packets OVS took in from testpmd per second, in Mpps (both ports). */
  ovsRxMpps: number;
  /** Packets OVS delivered to testpmd per second, in Mpps (both ports). */
  ovsTxMpps: number;
  /** Packets OVS dropped on the way out per second (a full virtio ring), in Mpps. */
  ovsTxDroppedMpps: number;
  /** Half of {@link ovsTxMpps}: the most experiment 1 can receive with OVS on one CPU. */
  experiment1BoundMpps: number;
}

const ports = ['vhost-user0', 'vhost-user1'];

/** The two ports' counter `key` summed, per second of `seconds`, in Mpps. */
function rate(counters: OvsCounters, key: 'rx' | 'tx' | 'txDropped', seconds: number): number {
  return counters.ports.reduce((sum, port) => sum + (port[key] ?? 0), 0) / seconds / 1e6;
}

/** Measures OVS alone on a CPU between the two ports of a C dpdk-testpmd (flowgen) on another. */
export async function ovsLimitExperiment(lab: Lab): Promise<ExperimentResult> {
  const result: ExperimentResult = {
    name: 'OVS limit: OVS alone on a CPU between two ports of a C dpdk-testpmd (flowgen)',
    apps: {},
    pass: false,
  };
  await lab.topology(ports, ['in_port=1,actions=output:2', 'in_port=2,actions=output:1']);
  const ovsCpu = lab.cpus.ovs;
  const cpu = lab.cpus.forwarder !== ovsCpu ? lab.cpus.forwarder : lab.cpus.generator;
  const app = await lab.start({
    name: 'testpmd-flowgen',
    program: { c: cApps(packageRoot).testpmd },
    cpu,
    args: (paths) =>
      flowgenArgs(
        lab.appEal(paths, cpu, 'testpmd', [
          { index: 0, socket: ports[0], mac: '00:00:00:00:00:05' },
          { index: 1, socket: ports[1], mac: '00:00:00:00:00:01' },
        ]),
      ),
  });
  try {
    await lab.waitConnected(ports, [app]);
    // A second for OVS to enable the queues and the rates to settle.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const seconds = lab.options.durationS;
    log(`lab: ${result.name}: measuring ${seconds} s (OVS on CPU ${ovsCpu}, testpmd on CPU ${cpu})`);
    const before = await lab.ovsCounters(ports);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = await lab.ovsCounters(ports);
    const window = (Date.now() - started) / 1000;
    const delta = countersSince(after, before);
    const ovsTxMpps = rate(delta, 'tx', window);
    result.ovsLimit = {
      seconds: window,
      ovsCpu,
      testpmdCpu: cpu,
      ovsRxMpps: rate(delta, 'rx', window),
      ovsTxMpps,
      ovsTxDroppedMpps: rate(delta, 'txDropped', window),
      experiment1BoundMpps: ovsTxMpps / 2,
    };
    result.pass = ovsTxMpps > 0;
  } finally {
    result.apps.testpmd = await lab.stop(app);
  }
  return result;
}
