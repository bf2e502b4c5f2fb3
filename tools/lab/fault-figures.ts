/**
 * What a fault did to traffic, from the receiver's own samples (pktgen's `--timeline`):
 * when and how long packets stopped arriving, how many were lost while they did, and how
 * many before and after. Pure functions of recorded samples, shared by `npm run lab --
 * --fault` and `npm run soak`, and tested on recorded samples.
 */
import type { Timeline, TimelineSample } from '../../examples/pktgen/report.js';

/** A stretch of time in which a port received nothing, as the samples bound it. */
export interface Stall {
  /** The receiving port. */
  port: number;
  /** The last sample (ms, pktgen's clock) that still saw packets arrive before the stall. */
  fromMs: number;
  /** The first sample that saw packets arrive again; null when none did before the run ended. */
  toMs: number | null;
  /**
   * How long nothing arrived: the span of the samples that saw no growth (a lower bound;
   * the truth is within one sampling interval above it).
   */
  outageMs: number;
}

/** A fault's figures. Times are pktgen's (ms since it started). */
export interface FaultFigures {
  /** The sampling interval, hence the resolution of the times. */
  intervalMs: number;
  /** When the fault was injected. */
  faultAtMs: number;
  /** The stall of each port that began with the fault (none: that port never stopped). */
  stalls: Stall[];
  /**
   * How long traffic stopped: from the first port's stop to the last port's recovery; 0
   * when no port stopped; null when a port never recovered.
   */
  outageMs: number | null;
  /** The window the loss is split by: from the first stall's start to the last's end (null: no stall). */
  window: { fromMs: number; toMs: number } | null;
  /** Packets the generator's ports sent (what their tx queues accepted) and received, in all. */
  sent: number;
  received: number;
  /** sent - received. */
  lost: number;
  /**
   * Of `lost`: counted at the sample before the window's start, within the window, and after
   * it (each ± what was in flight at its edges).
   */
  lostBefore: number;
  lostDuring: number;
  lostAfter: number;
  /** How many packets may be in flight at a window edge: what arrives in one sampling interval at the steady rate. */
  inFlightTolerance: number;
}

const total = (values: number[]): number => values.reduce((sum, value) => sum + value, 0);

/**
 * The samples of the run that the final counts are of: those from the last `str`, whose
 * counters start from zero (a `probe` before it made runs of its own). A run starts where
 * a port's sent count falls.
 */
export function lastRun(samples: readonly TimelineSample[]): readonly TimelineSample[] {
  for (let i = samples.length - 1; i > 0; i--) {
    if (samples[i].sent.some((sent, port) => sent < (samples[i - 1].sent[port] ?? 0))) return samples.slice(i);
  }
  return samples;
}

/**
 * The first stall of `port` at or after `fromMs`: samples in which its received count did
 * not grow, between two that did, at least `minSamples` samples long. Samples before the
 * port first received anything are ignored (the run had not reached it yet).
 */
export function firstStall(
  samples: readonly TimelineSample[],
  port: number,
  fromMs: number,
  minSamples = 2,
): Stall | null {
  const received = samples.map((sample) => sample.received[port] ?? 0);
  const first = received.findIndex((count) => count > 0);
  if (first < 0) return null;
  // Stop looking where the generator stopped sending: the end of the run is no stall.
  const sent = samples.map((sample) => total(sample.sent));
  let last = sent.length - 1;
  while (last > 0 && sent[last] === sent[last - 1]) last--;
  for (let i = Math.max(first, 1); i <= last; i++) {
    if (samples[i].atMs < fromMs || received[i] !== received[i - 1]) continue;
    // Sample i saw nothing new since i - 1: the stall runs from i - 1 to the next growth.
    let j = i;
    while (j < received.length && received[j] === received[i - 1]) j++;
    const ended = j < received.length && j <= last;
    if (j - i < minSamples && ended) {
      i = j;
      continue;
    }
    const fromAt = samples[i - 1].atMs;
    const toAt = ended ? samples[j].atMs : null;
    return { port, fromMs: fromAt, toMs: toAt, outageMs: samples[j - 1].atMs - fromAt };
  }
  return null;
}

/**
 * The figures of a fault injected at `faultAtMs` (pktgen's clock) from `timeline`, with
 * `sent` and `received` the run's final totals. A stall must start no earlier than one
 * interval before the fault (a sample may have been taken between the fault and its first
 * effect), and last at least two samples (a shared CPU can delay one).
 */
export function faultFigures(timeline: Timeline, faultAtMs: number, sent: number, received: number): FaultFigures {
  const { intervalMs } = timeline;
  const samples = lastRun(timeline.samples);
  const ports = samples[0]?.received.length ?? 0;
  const stalls: Stall[] = [];
  for (let port = 0; port < ports; port++) {
    const stall = firstStall(samples, port, faultAtMs - intervalMs);
    if (stall !== null) stalls.push(stall);
  }
  const lost = sent - received;
  const lostAt = (atMs: number): number => {
    const sample = samples.find((each) => each.atMs >= atMs) ?? samples[samples.length - 1];
    return total(sample.sent) - total(sample.received);
  };
  // Steady rate: packets received per interval over the samples before the fault.
  const before = samples.filter((sample) => sample.atMs <= faultAtMs && total(sample.received) > 0);
  const perInterval =
    before.length >= 2
      ? ((total(before[before.length - 1].received) - total(before[0].received)) /
          Math.max(1, before[before.length - 1].atMs - before[0].atMs)) *
        intervalMs
      : 0;
  const base = {
    intervalMs,
    faultAtMs,
    stalls,
    sent,
    received,
    lost,
    inFlightTolerance: Math.ceil(perInterval),
  };
  if (stalls.length === 0) {
    const atFault = lostAt(faultAtMs);
    return { ...base, outageMs: 0, window: null, lostBefore: atFault, lostDuring: 0, lostAfter: lost - atFault };
  }
  const fromMs = Math.min(...stalls.map((stall) => stall.fromMs));
  const recovered = stalls.every((stall) => stall.toMs !== null);
  const toMs = recovered ? Math.max(...stalls.map((stall) => stall.toMs as number)) : samples[samples.length - 1].atMs;
  // What the sample before the window's start had not received: the packets sent since then
  // and not received by the window's start (its last sample to see any arrive) were in flight
  // when the stall began, and are the fault's (seen: 622 after a catch-up burst of the
  // generator's, against one interval's 395 at the steady rate, when a container was killed).
  const edge = samples.findIndex((sample) => sample.atMs >= fromMs);
  const lostBefore = lostAt(samples[Math.max(0, edge - 1)].atMs);
  const lostDuring = recovered ? lostAt(toMs) - lostBefore : lost - lostBefore;
  // The outage: from the first port's last arrival to the last port's first arrival again,
  // less the one sample of each edge that did see packets.
  const outageMs = recovered ? Math.max(...stalls.map((stall) => stall.fromMs + stall.outageMs)) - fromMs : null;
  return {
    ...base,
    outageMs,
    window: { fromMs, toMs },
    lostBefore,
    lostDuring,
    lostAfter: lost - lostBefore - lostDuring,
  };
}

/** Whether no packet was lost outside the fault's window, within what can be in flight at its edges. */
export function nothingLostOutside(figures: FaultFigures): boolean {
  const tolerance = figures.inFlightTolerance;
  return Math.abs(figures.lostBefore) <= tolerance && Math.abs(figures.lostAfter) <= tolerance;
}

/** One fault of a run with several (`npm run soak`): its outage and the packets lost in its window. */
export interface FaultWindow {
  faultAtMs: number;
  /** As {@link FaultFigures.outageMs}. */
  outageMs: number | null;
  window: { fromMs: number; toMs: number } | null;
  lostDuring: number;
}

/** Where the packets of a run with several faults went. */
export interface FaultAccounting {
  windows: FaultWindow[];
  sent: number;
  received: number;
  lost: number;
  /** Lost within the faults' windows, and outside them (lost - inWindows). */
  lostInWindows: number;
  lostOutside: number;
  /** What may be in flight at the windows' edges, two per window (see {@link FaultFigures.inFlightTolerance}). */
  tolerance: number;
}

/**
 * The figures of each fault at `faultTimesMs` (pktgen's clock, ascending) of one run,
 * each looked for in the samples up to the next fault, and the run's loss split into what
 * the faults' windows lost and what was lost outside them.
 */
export function accountFaults(
  timeline: Timeline,
  faultTimesMs: readonly number[],
  sent: number,
  received: number,
): FaultAccounting {
  const windows: FaultWindow[] = [];
  let tolerance = 0;
  for (const [k, faultAtMs] of faultTimesMs.entries()) {
    const next = faultTimesMs[k + 1];
    const samples = next === undefined ? timeline.samples : timeline.samples.filter((sample) => sample.atMs < next);
    const last = samples[samples.length - 1];
    const figures = faultFigures({ ...timeline, samples }, faultAtMs, total(last.sent), total(last.received));
    windows.push({ faultAtMs, outageMs: figures.outageMs, window: figures.window, lostDuring: figures.lostDuring });
    tolerance += 2 * figures.inFlightTolerance;
  }
  const lost = sent - received;
  const lostInWindows = windows.reduce((sum, window) => sum + window.lostDuring, 0);
  return { windows, sent, received, lost, lostInWindows, lostOutside: lost - lostInWindows, tolerance };
}
