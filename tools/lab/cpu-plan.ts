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
 * Plans the CPUs: with three CPUs or more, one each; with two, the generator shares the
 * first with the OVS PMD thread and the forwarder has the second (two busy pollers on one
 * CPU slow each other down, and the generator is idle between runs); with one, all share.
 */
export function planCpus(cpus: readonly number[] = Eal.threadAffinity()): CpuPlan {
  const sorted = [...cpus].sort((a, b) => a - b);
  const ovs = sorted[0];
  const generator = sorted.length >= 3 ? sorted[1] : ovs;
  const forwarder = sorted.length >= 3 ? sorted[2] : sorted[sorted.length - 1];
  return { ovs, generator, forwarder, generatorSharesOvsCpu: generator === ovs };
}

/** The hexadecimal core mask of one CPU, as OVS's `dpdk-lcore-mask` and `pmd-cpu-mask` take it. */
export function cpuMask(cpu: number): string {
  return `0x${(1n << BigInt(cpu)).toString(16)}`;
}
