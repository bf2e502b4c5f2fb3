/**
 * Facts about the machine that DPDK's memory and core options depend on, read from the
 * kernel: hugepages and NUMA nodes. Read when asked, never cached (other processes take
 * and give back hugepages).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Hugepages of the default size, from `/proc/meminfo`. */
export interface HugepageInfo {
  /** Pages reserved (`HugePages_Total`). */
  total: number;
  /** Pages not in use by any process (`HugePages_Free`). */
  free: number;
  /** The default hugepage size in KiB (`Hugepagesize`). */
  pageKb: number;
}

/** The default-size hugepages reserved and free; all zero when the kernel reports none. */
export function hugepages(): HugepageInfo {
  let meminfo = '';
  try {
    meminfo = readFileSync('/proc/meminfo', 'utf8');
  } catch {
    // Not Linux: no hugepages.
  }
  const field = (name: string, fallback: number): number =>
    Number(new RegExp(`${name}:\\s+(\\d+)`).exec(meminfo)?.[1] ?? fallback);
  return { total: field('HugePages_Total', 0), free: field('HugePages_Free', 0), pageKb: field('Hugepagesize', 2048) };
}

/** MiB of free hugepage memory of the default size. */
export function freeHugepageMb(): number {
  const { free, pageKb } = hugepages();
  return (free * pageKb) / 1024;
}

/** Ids of the NUMA nodes the kernel reports (at least node 0). */
export function numaNodes(): number[] {
  try {
    const nodes = readdirSync('/sys/devices/system/node')
      .flatMap((name) => /^node(\d+)$/.exec(name)?.[1] ?? [])
      .map(Number)
      .sort((a, b) => a - b);
    return nodes.length > 0 ? nodes : [0];
  } catch {
    return [0];
  }
}
