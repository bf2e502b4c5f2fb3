/**
 * The full-rate figures of one round (offered and received rates, loss, latency) from the
 * generator's report, and the comparison of forwarders over interleaved rounds: medians,
 * spread (smallest and largest round), and the ratio of each to the C forwarder measured
 * in the same round.
 */
import type { PktgenReport, SearchReport } from '../../examples/pktgen/report.js';
import type { ForwarderKind } from './options.js';

/** One forwarder's full-rate run in one round. */
export interface RoundFigures {
  /** The round, from 1. */
  round: number;
  /** Packets per second the generator's ports accepted, in Mpps (both ports). */
  offeredMpps: number;
  /** Packets per second the generator received back, in Mpps (both ports). */
  receivedMpps: number;
  /** Of what was offered, the fraction not received (0 to 1). */
  loss: number;
  /** Packets the generator's tx queues refused at first and sent later (backpressure, not loss), both ports. */
  txBlocked: number;
  /** Latency of the packets received: the mean over both ports, in ns. */
  latencyAvgNs: number | null;
  /** The larger of the two ports' 99th percentiles (pktgen's histogram estimate), in ns. */
  latencyP99Ns: number | null;
  /** The largest latency seen, in ns. */
  latencyMaxNs: number | null;
  /** The zero-loss search after the full-rate run (`--zero-loss`); null without one. */
  zeroLoss: ZeroLossFigures | null;
}

/** What a zero-loss search found (RFC 2544 26.1 style), both generator ports together. */
export interface ZeroLossFigures {
  /** The highest offered rate that lost nothing, in Mpps (both ports); 0 when none passed. */
  mpps: number;
  /** The lowest rate that lost packets, in Mpps (both ports); null when every trial passed. */
  failedMpps: number | null;
  /** Trials the search ran. */
  trials: number;
  /** Mean latency in the trial at `mpps`, over both ports, in ns. */
  latencyAvgNs: number | null;
  /** The larger port's 99th percentile in that trial, in ns. */
  latencyP99Ns: number | null;
}

/** A median and the smallest and largest value it is the median of. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** A forwarder's figures over the rounds. */
export interface ForwarderSummary {
  /** Rounds that produced figures. */
  rounds: number;
  offeredMpps: Spread;
  receivedMpps: Spread;
  loss: Spread;
  latencyAvgNs: Spread | null;
  latencyP99Ns: Spread | null;
  latencyMaxNs: Spread | null;
  /**
   * Received Mpps over the C forwarder's in the same round (rounds where both ran and C
   * received something); null without a C forwarder in the run.
   */
  ratioToC: Spread | null;
  /** Zero-loss throughput over the rounds (`--zero-loss`), in Mpps; null without searches. */
  zeroLossMpps: Spread | null;
  /** Mean latency at the zero-loss rate, in ns. */
  zeroLossLatencyAvgNs: Spread | null;
  /** Zero-loss Mpps over the C forwarder's in the same round; null without both. */
  zeroLossRatioToC: Spread | null;
}

/** A zero-loss search's figures, both sending ports together. */
export function zeroLossFigures(search: SearchReport): ZeroLossFigures {
  const ports = search.ports.length;
  const latencies = (search.latency?.ports ?? []).flatMap((port) =>
    port.latency !== null && port.latency.samples > 0 ? [port.latency] : [],
  );
  const samples = latencies.reduce((total, latency) => total + latency.samples, 0);
  return {
    mpps: ((search.ratePps ?? 0) * ports) / 1e6,
    failedMpps: search.failedPps === null ? null : (search.failedPps * ports) / 1e6,
    trials: search.trials.length,
    latencyAvgNs:
      samples === 0 ? null : latencies.reduce((total, latency) => total + latency.avgNs * latency.samples, 0) / samples,
    latencyP99Ns: samples === 0 ? null : Math.max(...latencies.map((latency) => latency.percentilesNs.p99)),
  };
}

/**
 * The figures of a full-rate run of `seconds` from the generator's report, with the
 * zero-loss search that followed it, if any.
 */
export function roundFigures(
  round: number,
  report: PktgenReport,
  seconds: number,
  search?: SearchReport,
): RoundFigures {
  const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
  const sent = sum(report.ports.map((port) => port.sent));
  const received = sum(report.ports.map((port) => port.received));
  const latencies = report.ports.flatMap((port) =>
    port.latency !== null && port.latency.samples > 0 ? [port.latency] : [],
  );
  const samples = sum(latencies.map((latency) => latency.samples));
  return {
    round,
    offeredMpps: sent / seconds / 1e6,
    receivedMpps: received / seconds / 1e6,
    loss: sent === 0 ? 0 : Math.max(0, sent - received) / sent,
    txBlocked: sum(report.ports.map((port) => port.txBlocked)),
    latencyAvgNs: samples === 0 ? null : sum(latencies.map((latency) => latency.avgNs * latency.samples)) / samples,
    latencyP99Ns: samples === 0 ? null : Math.max(...latencies.map((latency) => latency.percentilesNs.p99)),
    latencyMaxNs: samples === 0 ? null : Math.max(...latencies.map((latency) => latency.maxNs)),
    zeroLoss: search === undefined ? null : zeroLossFigures(search),
  };
}

/** The median, smallest and largest of `values`; null when there are none. */
export function spread(values: readonly number[]): Spread | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Each forwarder's figures over its rounds, and its ratio to the C forwarder's in the same rounds. */
export function summarize(
  forwarders: readonly { kind: ForwarderKind; rounds: readonly RoundFigures[] }[],
): (ForwarderSummary | null)[] {
  const c = forwarders.find((forwarder) => forwarder.kind === 'c');
  const zero: Spread = { median: 0, min: 0, max: 0 };
  return forwarders.map(({ rounds }) => {
    if (rounds.length === 0) return null;
    const of = (pick: (figures: RoundFigures) => number | null): number[] =>
      rounds.flatMap((figures) => {
        const value = pick(figures);
        return value === null ? [] : [value];
      });
    // This forwarder's figure over C's in the same round, where both have one and C's is not 0.
    const ratios = (pick: (figures: RoundFigures) => number | null | undefined): number[] =>
      rounds.flatMap((figures) => {
        const reference = c?.rounds.find((other) => other.round === figures.round);
        const mine = pick(figures);
        const theirs = reference === undefined ? undefined : pick(reference);
        return mine === null || mine === undefined || theirs === null || theirs === undefined || theirs === 0
          ? []
          : [mine / theirs];
      });
    return {
      rounds: rounds.length,
      offeredMpps: spread(of((figures) => figures.offeredMpps)) ?? zero,
      receivedMpps: spread(of((figures) => figures.receivedMpps)) ?? zero,
      loss: spread(of((figures) => figures.loss)) ?? zero,
      latencyAvgNs: spread(of((figures) => figures.latencyAvgNs)),
      latencyP99Ns: spread(of((figures) => figures.latencyP99Ns)),
      latencyMaxNs: spread(of((figures) => figures.latencyMaxNs)),
      ratioToC: c === undefined ? null : spread(ratios((figures) => figures.receivedMpps)),
      zeroLossMpps: spread(of((figures) => figures.zeroLoss?.mpps ?? null)),
      zeroLossLatencyAvgNs: spread(of((figures) => figures.zeroLoss?.latencyAvgNs ?? null)),
      zeroLossRatioToC: c === undefined ? null : spread(ratios((figures) => figures.zeroLoss?.mpps)),
    };
  });
}
