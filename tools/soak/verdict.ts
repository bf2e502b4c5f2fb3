/**
 * The soak's verdict from its samples: memory flat (each process's resident memory does
 * not grow), every mbuf back (each app's pool in use after the traffic stopped is what it
 * was before it started) and every packet accounted for (forwarded, or lost within an OVS
 * restart's window). Pure functions of recorded samples, tested on them.
 */
import type { FaultAccounting } from '../lab/fault-figures.js';
import type { CollectedMemory } from './collected-memory.js';
import type { DropAccounting } from './drops.js';

/** One sample of the soak, taken every few seconds. */
export interface SoakSample {
  /** Milliseconds since the soak's traffic started. */
  atMs: number;
  /** Resident memory of each process, KiB, by `name pid` (a restarted daemon is a new series). */
  rssKiB: Record<string, number>;
  /**
   * Each Node app's memory right after a full garbage collection (collected-memory.ts), KiB,
   * by `name pid`: its RSS then, and its live JavaScript heap.
   */
  collected?: Record<string, CollectedMemory>;
  /** Mbufs in use in each app's pools, by app (`dpdk_mempool_in_use_mbufs`). */
  mbufsInUse: Record<string, number>;
  /** Packets each app's ports received and sent, by app, from its metrics. */
  packets: Record<string, { rx: number; tx: number }>;
  /** Every drop counter on the path, cumulative (drops.ts). */
  drops?: Record<string, number>;
  /** How long each process (`name pid`) waited for a CPU while runnable, ms, cumulative (drops.ts' cpuWaitMs). */
  cpuWaitMs?: Record<string, number>;
}

/** The memory a series may gain and still be flat: the larger of these. */
export const flatGrowthKiB = 4096;
/** ... and this fraction of its size at the start. */
export const flatGrowthFraction = 0.05;
/** Samples of a series' first this many ms are warm-up (allocations that happen once), not growth. */
export const warmUpMs = 30_000;
/** A series shorter than this (after warm-up) is too short to judge. */
export const minSeriesMs = 30_000;

/** How one process's memory went. */
export interface MemoryTrend {
  /** `name pid`. */
  process: string;
  /**
   * What was judged: its RSS, or, for a Node app, its RSS right after a full garbage
   * collection (V8 leaves garbage in its old space for many minutes, so a Node app's RSS
   * as it is grows with no leak).
   */
  measure: 'rss' | 'rss after a full GC';
  /** Median RSS of the first and last quarter of its samples after warm-up, KiB; null when too short. */
  startKiB: number | null;
  endKiB: number | null;
  /** endKiB - startKiB. */
  growthKiB: number | null;
  /** The most it may grow: max({@link flatGrowthKiB}, {@link flatGrowthFraction} of startKiB). */
  allowedKiB: number | null;
  /** True when flat, null when the series was too short to say. */
  flat: boolean | null;
}

/** Each app's mbufs in use before the traffic and after it stopped. */
export interface MbufBalance {
  app: string;
  before: number;
  after: number;
  /** The most seen while traffic flowed. */
  peak: number;
  /**
   * The most the app's tx queues may still hold after the traffic stopped: a virtio tx queue
   * frees the mbufs of sent packets only in a later send, once few descriptors are left, so
   * up to its size stay in use until the app sends again (0 when not given).
   */
  txHeld: number;
  back: boolean;
}

/** The soak's verdict. */
export interface SoakVerdict {
  memory: MemoryTrend[];
  mbufs: MbufBalance[];
  packets: FaultAccounting;
  /**
   * Where the packets lost outside the restarts' windows were dropped: the path's drop
   * counters (drops.ts) outside the windows. Absent when they were not read.
   */
  drops?: DropAccounting;
  /**
   * Packets lost outside the windows that no counter on the path saw dropped
   * (`packets.lostOutside - drops.outsideTotal`): what is truly unaccounted for.
   */
  unexplained: number;
  memoryFlat: boolean;
  everyMbufBack: boolean;
  everyPacketAccounted: boolean;
  pass: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The memory trend of each process from `samples`: a Node app's RSS after a full garbage
 * collection where the samples have it, any other process's RSS.
 */
export function memoryTrends(samples: readonly SoakSample[]): MemoryTrend[] {
  const collected = new Set(samples.flatMap((sample) => Object.keys(sample.collected ?? {})));
  const series = new Map<string, { atMs: number; kiB: number }[]>();
  for (const sample of samples) {
    const rss = Object.entries(sample.rssKiB).filter(([process]) => !collected.has(process));
    const afterGc = Object.entries(sample.collected ?? {}).map(
      ([process, memory]) => [process, memory.rssKiB] as const,
    );
    for (const [process, kiB] of [...rss, ...afterGc]) {
      const points = series.get(process) ?? [];
      points.push({ atMs: sample.atMs, kiB });
      series.set(process, points);
    }
  }
  return [...series].map(([process, points]) => {
    const measure = collected.has(process) ? 'rss after a full GC' : 'rss';
    const settled = points.filter((point) => point.atMs >= points[0].atMs + warmUpMs);
    if (settled.length < 4 || settled[settled.length - 1].atMs - settled[0].atMs < minSeriesMs) {
      return { process, measure, startKiB: null, endKiB: null, growthKiB: null, allowedKiB: null, flat: null };
    }
    const quarter = Math.max(1, Math.floor(settled.length / 4));
    const startKiB = median(settled.slice(0, quarter).map((point) => point.kiB));
    const endKiB = median(settled.slice(-quarter).map((point) => point.kiB));
    const allowedKiB = Math.max(flatGrowthKiB, Math.round(startKiB * flatGrowthFraction));
    return {
      process,
      measure,
      startKiB,
      endKiB,
      growthKiB: endKiB - startKiB,
      allowedKiB,
      flat: endKiB - startKiB <= allowedKiB,
    };
  });
}

/**
 * Each app's mbuf balance: in use in `before` (traffic not started, rings filled) against
 * `after` (traffic stopped, the rings drained), with the peak of `during`. Back when
 * `after` is no more than `before` plus what the app's tx queues may hold until their next
 * send (`txHeld`, by app: the sum of their sizes): whatever was in flight when traffic
 * stopped was freed, and no more is missing than the queues' descriptors can account for
 * (a leak grows with the packets; the queues' share does not).
 */
export function mbufBalances(
  before: SoakSample,
  during: readonly SoakSample[],
  after: SoakSample,
  txHeld: Readonly<Record<string, number>> = {},
): MbufBalance[] {
  return Object.keys(before.mbufsInUse).map((app) => {
    const beforeCount = before.mbufsInUse[app];
    const afterCount = after.mbufsInUse[app] ?? Number.NaN;
    const peak = Math.max(beforeCount, ...during.map((sample) => sample.mbufsInUse[app] ?? 0));
    const held = txHeld[app] ?? 0;
    return { app, before: beforeCount, after: afterCount, peak, txHeld: held, back: afterCount <= beforeCount + held };
  });
}

/**
 * The verdict from the memory trends, mbuf balances and packet accounting. A packet is
 * accounted for when it was forwarded or lost within a restart's window (give or take what
 * is in flight at a window's edges); a loss outside the windows fails the verdict even where
 * a counter on the path saw it dropped (`drops`: on a shared CPU, a poller that waits for
 * the CPU longer than its ring lasts has packets dropped at that ring). `drops` says where
 * and when such losses happened, and `unexplained` how many no counter saw.
 */
export function soakVerdict(
  memory: MemoryTrend[],
  mbufs: MbufBalance[],
  packets: FaultAccounting,
  drops?: DropAccounting,
): SoakVerdict {
  const memoryFlat = memory.every((trend) => trend.flat !== false) && memory.some((trend) => trend.flat === true);
  const everyMbufBack = mbufs.length > 0 && mbufs.every((balance) => balance.back);
  const unexplained = packets.lostOutside - (drops?.outsideTotal ?? 0);
  const everyPacketAccounted =
    packets.windows.every((window) => window.outageMs !== null) && Math.abs(packets.lostOutside) <= packets.tolerance;
  return {
    memory,
    mbufs,
    packets,
    ...(drops === undefined ? {} : { drops }),
    unexplained,
    memoryFlat,
    everyMbufBack,
    everyPacketAccounted,
    pass: memoryFlat && everyMbufBack && everyPacketAccounted,
  };
}
