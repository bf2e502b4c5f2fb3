/**
 * Facts about the machine that DPDK's memory and core options depend on, read from the
 * kernel: hugepages, NUMA nodes and online CPUs. Read when asked, never cached (other processes take
 * and give back hugepages).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

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

/** Hugepages of one size, from `/sys/kernel/mm/hugepages/hugepages-SIZEkB/`. */
export interface HugepagePool {
  /** The page size in KiB. */
  pageKb: number;
  /** Pages reserved (`nr_hugepages`). */
  total: number;
  /** Pages not in use by any process (`free_hugepages`). */
  free: number;
  /** The file that reserves pages of this size: `echo N > path` makes N pages reserved. */
  path: string;
}

/** Hugepages of every size the kernel has, smallest first; none when the kernel reports none. */
export function hugepagePools(): HugepagePool[] {
  const base = '/sys/kernel/mm/hugepages';
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  return names
    .flatMap((name) => {
      const size = /^hugepages-(\d+)kB$/.exec(name);
      if (size === null) return [];
      const read = (file: string): number => {
        try {
          return Number(readFileSync(`${base}/${name}/${file}`, 'utf8').trim());
        } catch {
          return 0;
        }
      };
      return [
        {
          pageKb: Number(size[1]),
          total: read('nr_hugepages'),
          free: read('free_hugepages'),
          path: `${base}/${name}/nr_hugepages`,
        },
      ];
    })
    .sort((a, b) => a.pageKb - b.pageKb);
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

/** Ids of the CPUs the kernel has online (`/sys/devices/system/cpu/online`). */
export function onlineCpus(): number[] {
  try {
    const list = parseCorelist(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
    if (list !== undefined && list.length > 0) return list;
  } catch {
    // Not Linux: count them instead.
  }
  return cpus().map((_, i) => i);
}

/**
 * The largest CPU id accepted in a CPU list or mask: Linux's largest `NR_CPUS` is 8192. It
 * bounds what a list such as `0-4000000000` would otherwise allocate.
 */
export const maxCpuId = 8191;

/**
 * Parses a CPU list such as `0-2,5` (the kernel's list format, and EAL's `-l` syntax) into
 * CPU ids; undefined when it is not one, or names a CPU above {@link maxCpuId}.
 */
export function parseCorelist(list: string): number[] | undefined {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null) return undefined;
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (first > maxCpuId || last > maxCpuId) return undefined;
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** CPU ids as a list in the same format, ranges folded: `[0, 1, 2, 5]` is `0-2,5`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j;
  }
  return parts.join(',');
}
