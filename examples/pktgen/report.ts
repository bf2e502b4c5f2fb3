/**
 * What pktgen.ts reports: per port in its tables, and as JSON (`--json PATH|-`) for
 * programs such as the lab and the tests, which read it through these types.
 */
import type { LatencyStats, ThroughputSearchStop } from '../../lib/index.js';

/** What the JSON output and the tables report for a port. */
export interface PortReport {
  port: number;
  name: string;
  mac: string;
  lcore: number;
  linkUp: boolean;
  state: 'idle' | 'sending' | 'done' | 'stopped';
  /** Packets sent: what the port accepted. */
  sent: number;
  /**
   * Packets the generator built and gave up on: 0, since a full tx queue is waited for
   * (see `txBlocked`); kept so that reports read the same as before.
   */
  dropped: number;
  /**
   * Packets a full tx queue refused at first and the generator sent later (backpressure
   * from the port's peer, not loss; each packet counts once).
   */
  txBlocked: number;
  /**
   * Packets a paced port gave up rather than sent late, having fallen behind its rate by more
   * than a burst or 1 ms (its lcore descheduled, its queue full): a catch-up at full speed would
   * overflow the rings downstream. 0 without a rate.
   */
  txSkipped: number;
  /** Packets received on this port. */
  received: number;
  /** The port whose packets this port receives. */
  peer: number;
  /** Flows: UDP source ports sent in turn. */
  flows: number;
  /** UDP destination ports, each combined with every flow. */
  dports: number[];
  /** What the peer sent and this port did not receive (in flight while running). */
  missing: number;
  /** Rates over the last second while running. */
  txPps: number;
  rxPps: number;
  /** The configured send rate. */
  ratePps: number;
  /** Latency of the packets received here, from their timestamps. */
  latency: LatencyStats | null;
}

/** The JSON report pktgen.ts writes at the end of a run (`--json`). */
export interface PktgenReport {
  /**
   * True when every port that was sending finished its count, false when `--timeout` ended
   * the run first, null when the run had no count to reach (interactive `quit`, no `--wait-done`).
   */
  complete: boolean | null;
  /** Milliseconds from the first start to the report. */
  elapsedMs: number;
  /** The line rate that percent rates are taken of, in Mbit/s. */
  lineRateMbps: number;
  /** One entry per port, in port order. */
  ports: PortReport[];
  /** The last `search`'s result, when the run searched. */
  search?: SearchReport;
  /**
   * `--timeline MS`: the ports' counters sampled every MS ms, and their link changes
   * (with `--timeline-file`, only `intervalMs`, `startedAtMs` and `file`: the samples are
   * in the file; {@link readTimelineFile} reads them).
   */
  timeline?: Timeline;
  /** Each `probe` of the run, in order. */
  probes?: ProbeReport[];
}

/** What a `probe` found: how long until the path delivered a whole round of probe packets. */
export interface ProbeReport {
  /** Milliseconds from the probe's start until a round arrived whole. */
  ms: number;
  /** Rounds sent, the last one whole. */
  rounds: number;
  /** Probe packets of the earlier rounds that did not arrive. */
  lost: number;
}

/** One sample of `--timeline`: each port's counters at a moment of the run. */
export interface TimelineSample {
  /** Milliseconds since pktgen started (as `elapsedMs`). */
  atMs: number;
  /** Each port's `sent`, in port order (0 before the first `str`; each `str` counts from zero). */
  sent: number[];
  /** Each port's `received`, in port order. */
  received: number[];
}

/** A port's link going down or up, as the port's `'link'` event said. */
export interface LinkChange {
  atMs: number;
  port: number;
  up: boolean;
}

/** What `--timeline MS` records. */
export interface Timeline {
  /** The sampling interval asked for (the samples' own times say when they were taken). */
  intervalMs: number;
  /** When pktgen started, in ms since the epoch: the samples' times count from it. */
  startedAtMs: number;
  samples: TimelineSample[];
  links: LinkChange[];
  /** `--timeline-file PATH`: where the samples and link changes went, as they were taken. */
  file?: string;
}

/**
 * The timeline `--timeline-file` wrote to `text` (the file's contents): its first line is
 * `{"intervalMs":..,"startedAtMs":..}`, then one line per sample (`{"atMs":..,"sent":[..],
 * "received":[..]}`) or link change (`{"atMs":..,"port":..,"up":..}`). A last line cut
 * short (the generator killed while writing it) is left out.
 */
export function readTimelineFile(text: string): Timeline {
  const lines = text.split('\n').filter((line) => line !== '');
  const header = JSON.parse(lines[0] ?? '{}') as { intervalMs?: number; startedAtMs?: number };
  if (typeof header.intervalMs !== 'number' || typeof header.startedAtMs !== 'number')
    throw new Error(`not a --timeline-file: its first line is ${JSON.stringify(lines[0] ?? '')}`);
  const timeline: Timeline = { intervalMs: header.intervalMs, startedAtMs: header.startedAtMs, samples: [], links: [] };
  for (const [k, line] of lines.slice(1).entries()) {
    let entry: TimelineSample | LinkChange;
    try {
      entry = JSON.parse(line) as TimelineSample | LinkChange;
    } catch (error) {
      if (k === lines.length - 2) break;
      throw error;
    }
    if ('sent' in entry) timeline.samples.push(entry);
    else timeline.links.push(entry);
  }
  return timeline;
}

/** One trial of a `search`. */
export interface SearchTrialReport {
  /** The offered rate of each sending port, in packets per second. */
  ratePps: number;
  /** Packets offered: the count each sending port was given for the trial, summed. */
  offered: number;
  /** Packets the sending ports' tx queues accepted. */
  sent: number;
  /** Packets their tx queues refused. */
  dropped: number;
  /** Packets the sending ports' peers received. */
  received: number;
  /** (offered - received) / offered: refused and unsent packets are lost too. */
  loss: number;
  /** Whether the loss was within the tolerance. */
  passed: boolean;
  /** Milliseconds from the start until every count was sent (or the trial's deadline). */
  sendMs: number;
}

/** What `search` found: the zero-loss throughput (RFC 2544 26.1 style) and latency at it. */
export interface SearchReport {
  /** The sending ports. */
  ports: number[];
  /** Each trial's length. */
  trialMs: number;
  /** The fraction of packets a passing trial could lose. */
  lossTolerance: number;
  /** The range searched, per port. */
  minRatePps: number;
  maxRatePps: number;
  /** The resolution asked for: in pps, or as a fraction of the rate (the other null). */
  resolutionPps: number | null;
  relativeResolution: number | null;
  /** The highest rate per port whose trial passed; null when none did. */
  ratePps: number | null;
  /** The lowest rate per port whose trial failed; null when none did. */
  failedPps: number | null;
  /** Why the search ended. */
  stop: ThroughputSearchStop;
  /** Every trial, in order. */
  trials: SearchTrialReport[];
  /** A trial at `ratePps`, for its latency; null when no rate passed. */
  latency: (SearchTrialReport & { ports: { port: number; latency: LatencyStats | null }[] }) | null;
}
