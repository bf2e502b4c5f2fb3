/**
 * pktgen.ts's `search` verb: the SDK's zero-loss throughput search (RFC 2544 section 26.1
 * style) run with the generator against whatever forwards between its ports (OVS-DPDK and
 * a container, examples/vhost-loopback.ts, a forwarder run by hand), then a trial at the
 * rate found for its latency; and the lines that report it.
 *
 * A trial is a run as `str` makes one, in RFC 2544's way: each sending port is given a
 * count (rate x trial length) and the rate, the run starts (counters from zero, after the
 * previous run's packets are drained), and once the counts are sent the receivers get time
 * for the packets still in flight before the counters are read. Packets offered but not
 * received are lost, whether the device under test dropped them or refused them at the tx
 * queue, or the generator could not send them at that rate before the trial's deadline.
 */
import { searchThroughput, type TrialCounts } from '../../lib/index.js';
import { UsageError } from '../app.js';
import type { PortList, SearchRate, SearchSettings } from './commands.js';
import type { Pktgen } from './generator.js';
import type { SearchReport, SearchTrialReport } from './report.js';

// Once a trial's counts are sent, packets in flight get this long without a new arrival
// (and at most maxSettleMs) before the counters are read: RFC 2544 waits 2 s, but a
// software path drains in microseconds, and what has not arrived by then is lost.
const settleMs = 100;
const maxSettleMs = 2000;
const pollMs = 5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one trial: `ports` each send `ratePps` for `trialMs`; their peers count. */
async function trial(
  app: Pktgen,
  ports: number[],
  ratePps: number,
  trialMs: number,
): Promise<TrialCounts & { report: SearchTrialReport }> {
  const count = Math.max(1, Math.round((ratePps * trialMs) / 1000));
  for (const port of ports)
    app.settings[port] = { ...app.settings[port], count, rate: { unit: 'pps', value: ratePps } };
  const receivers = [...new Set(ports.map((port) => app.peerOf(port)))];
  await app.start(ports);
  const startedAt = Date.now();
  // The generator may fall behind the rate (or be held back by a full tx ring): the
  // trial ends at its deadline all the same, and what was not sent by then is lost.
  const deadline = startedAt + trialMs * 1.1 + 100;
  const allSent = (): boolean => {
    const reports = app.reports();
    return ports.every((port) => reports[port].sent + reports[port].dropped >= count);
  };
  while (!allSent() && Date.now() < deadline) await sleep(pollMs);
  const sendMs = Date.now() - startedAt;
  const received = (): number => {
    const reports = app.reports();
    return receivers.reduce((sum, port) => sum + reports[port].received, 0);
  };
  const accepted = (): number => {
    const reports = app.reports();
    return ports.reduce((sum, port) => sum + reports[port].sent, 0);
  };
  const settleEnd = Date.now() + maxSettleMs;
  let last = received();
  let lastChange = Date.now();
  while (last < accepted() && Date.now() - lastChange < settleMs && Date.now() < settleEnd) {
    await sleep(pollMs);
    const now = received();
    if (now !== last) lastChange = Date.now();
    last = now;
  }
  app.stop();
  const reports = app.reports();
  const offered = count * ports.length;
  const total = receivers.reduce((sum, port) => sum + reports[port].received, 0);
  return {
    sent: offered,
    received: total,
    report: {
      ratePps,
      offered,
      sent: ports.reduce((sum, port) => sum + reports[port].sent, 0),
      dropped: ports.reduce((sum, port) => sum + reports[port].dropped, 0),
      received: total,
      loss: Math.max(0, offered - total) / offered,
      passed: false,
      sendMs,
    },
  };
}

function ratePps(rate: SearchRate, lineRatePps: number): number {
  return rate.unit === 'pps' ? rate.value : (rate.value / 100) * lineRatePps;
}

function ppsText(pps: number): string {
  return pps >= 1e6 ? `${(pps / 1e6).toFixed(3)} Mpps` : `${Math.round(pps)} pps`;
}

function percentText(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(4))}%`;
}

/** One line for a trial, as the search prints it. */
export function trialLine(trial: SearchTrialReport, index: number): string {
  return (
    `search: trial ${index + 1}: ${trial.ratePps} pps per port: offered ${trial.offered} sent ${trial.sent}` +
    (trial.dropped > 0 ? ` (refused ${trial.dropped})` : '') +
    ` received ${trial.received} loss ${percentText(trial.loss)} in ${trial.sendMs} ms: ${trial.passed ? 'pass' : 'fail'}`
  );
}

const stopText: Record<SearchReport['stop'], string> = {
  'max-passed': 'the maximum rate passed',
  'min-failed': 'even the minimum rate lost packets',
  resolution: 'the resolution was reached',
  'max-trials': 'the most trials ran',
  aborted: 'it was interrupted',
};

/** The search's result, as lines under the stats table. */
export function searchSummary(search: SearchReport): string {
  const lines = [
    `Zero-loss search  ports ${search.ports.join(',')}, ${search.trialMs / 1000} s trials, ` +
      `loss tolerance ${percentText(search.lossTolerance)}, ${ppsText(search.minRatePps)} .. ${ppsText(search.maxRatePps)} per port`,
    `  Throughput      ${
      search.ratePps === null
        ? 'none: no rate passed'
        : `${search.ratePps} pps per port (${ppsText(search.ratePps * search.ports.length)} in all)`
    }${search.failedPps === null ? '' : `; ${search.failedPps} pps failed`}`,
    `  Stopped         ${stopText[search.stop]} after ${search.trials.length} trials`,
  ];
  const latency = search.latency;
  if (latency !== null) {
    lines.push(
      `  At that rate    offered ${latency.offered} received ${latency.received} loss ${percentText(latency.loss)}`,
    );
    for (const { port, latency: stats } of latency.ports) {
      lines.push(
        `  Latency port ${port}  ${
          stats === null
            ? '-'
            : `min/avg/max ${(stats.minNs / 1000).toFixed(1)}/${(stats.avgNs / 1000).toFixed(1)}/${(stats.maxNs / 1000).toFixed(1)} us, ` +
              `p50/p99 ${(stats.percentilesNs.p50 / 1000).toFixed(1)}/${(stats.percentilesNs.p99 / 1000).toFixed(1)} us (${stats.samples} samples)`
        }`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * Carries out `search PORTS ...` (`text` is the command, for messages): the search, then a
 * trial at the rate found for latency; prints each trial with `say`; restores the sending
 * ports' counts and rates. `signal` ends it early (with what it found so far).
 */
export async function runSearch(
  app: Pktgen,
  list: PortList,
  settings: SearchSettings,
  text: string,
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<SearchReport> {
  const ports = list === 'all' ? app.ports.map((_, i) => i) : [...new Set(list)];
  for (const port of ports) {
    if (port >= app.ports.length)
      throw new UsageError(`"${text}": port ${port} does not exist: ports are 0..${app.ports.length - 1}`);
  }
  const lineRatePps = Math.min(...ports.map((port) => app.lineRatePps(port)));
  // Whole packets per second, as the search tries them.
  const maxRatePps = Math.floor(ratePps(settings.max, lineRatePps));
  const minRatePps = Math.ceil(ratePps(settings.min, lineRatePps));
  if (minRatePps > maxRatePps) {
    throw new UsageError(
      `"${text}": min (${ppsText(minRatePps)}) is above max (${ppsText(maxRatePps)}, line rate ${ppsText(lineRatePps)})`,
    );
  }
  const resolutionPps = settings.resolution.unit === 'pps' ? settings.resolution.value : null;
  const relativeResolution = settings.resolution.unit === 'percent' ? settings.resolution.value / 100 : null;
  const saved = ports.map((port) => app.settings[port]);
  const trials: SearchTrialReport[] = [];
  try {
    const result = await searchThroughput((rate, trialMs) => trial(app, ports, rate, trialMs), {
      maxRatePps,
      minRatePps,
      trialMs: settings.trialMs,
      lossTolerance: settings.lossTolerance,
      retries: settings.retries,
      ...(resolutionPps === null ? {} : { resolutionPps }),
      ...(relativeResolution === null ? {} : { relativeResolution }),
      signal,
      onTrial: (record) => {
        const report = { ...record.result.report, passed: record.passed };
        trials.push(report);
        say(trialLine(report, trials.length - 1));
      },
    });
    let latency: SearchReport['latency'] = null;
    if (result.ratePps !== null && !signal?.aborted) {
      const atRate = await trial(app, ports, result.ratePps, settings.trialMs);
      const reports = app.reports();
      latency = {
        ...atRate.report,
        passed: atRate.report.loss <= settings.lossTolerance,
        ports: [...new Set(ports.map((port) => app.peerOf(port)))].map((port) => ({
          port,
          latency: reports[port].latency,
        })),
      };
    }
    return {
      ports,
      trialMs: settings.trialMs,
      lossTolerance: settings.lossTolerance,
      minRatePps,
      maxRatePps,
      resolutionPps,
      relativeResolution,
      ratePps: result.ratePps,
      failedPps: result.failedPps,
      stop: result.stop,
      trials,
      latency,
    };
  } finally {
    app.stop();
    ports.forEach((port, k) => {
      app.settings[port] = saved[k];
    });
  }
}
