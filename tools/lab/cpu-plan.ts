/**
 * Which CPU each of the lab's busy pollers runs on: the OVS PMD thread, the generator and
 * the forwarder (or the service chain's functions), chosen from the CPUs this process may
 * use. The reference setup spreads them over eight CPUs; the project's machines have two.
 */
import { Eal } from '../../lib/eal.js';

/** The CPU of each busy poller. */
export interface CpuPlan {
  /** OVS's DPDK lcore and PMD thread. */
  ovs: number;
  /** The generator (pktgen). */
  generator: number;
  /** The forwarder (testpmd, l2fwd) or the service chain's network functions. */
  forwarder: number;
  /** True when the generator shares its CPU with the OVS PMD thread (it then yields when idle). */
  generatorSharesOvsCpu: boolean;
}

/**
 * Which two busy pollers share a CPU when there are only two: the generator and the
 * forwarder (the default: both are dpdk-ts's, and both yield when idle or blocked, so they
 * hand the CPU to each other within microseconds; README, "Sharing two CPUs"), the
 * generator and OVS's PMD, or the forwarder and OVS's PMD. The third poller has the other
 * CPU.
 */
export type Placement = 'generator+ovs' | 'generator+forwarder' | 'forwarder+ovs';

/** The placements {@link planCpus} knows, for the command line. */
export const placements: readonly Placement[] = ['generator+forwarder', 'generator+ovs', 'forwarder+ovs'];

/**
 * Plans the CPUs: with three CPUs or more, one each; with two, the pair that `placement`
 * names shares the first CPU and the third poller has the second; with one, all share.
 */
export function planCpus(
  cpus: readonly number[] = Eal.threadAffinity(),
  placement: Placement = placements[0],
): CpuPlan {
  const sorted = [...cpus].sort((a, b) => a - b);
  const [first, second] = [sorted[0], sorted[sorted.length - 1]];
  let plan: Omit<CpuPlan, 'generatorSharesOvsCpu'>;
  if (sorted.length >= 3) plan = { ovs: sorted[0], generator: sorted[1], forwarder: sorted[2] };
  else if (placement === 'generator+ovs') plan = { ovs: first, generator: first, forwarder: second };
  else if (placement === 'generator+forwarder') plan = { ovs: first, generator: second, forwarder: second };
  else plan = { ovs: first, generator: second, forwarder: first };
  return { ...plan, generatorSharesOvsCpu: plan.generator === plan.ovs };
}

/** The hexadecimal core mask of one CPU, as OVS's `dpdk-lcore-mask` and `pmd-cpu-mask` take it. */
export function cpuMask(cpu: number): string {
  return `0x${(1n << BigInt(cpu)).toString(16)}`;
}
