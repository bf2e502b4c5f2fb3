/**
 * Zero-loss throughput search in the style of RFC 2544 section 26.1: the highest offered
 * rate at which a trial loses no frame (or at most a tolerated fraction), found by binary
 * search between a lower bound and the line rate. The search is pure logic over a trial
 * function the caller provides (a traffic generator's run at a rate, or anything else that
 * counts frames sent and received), so it works with any generator and any device under test.
 */
import { invalidArgument } from './errors.js';
import { checkInteger, checkNumber, checkOptions, checkPositive, describe } from './validate.js';

/** What a trial must report: the frames it offered and the frames that came back. */
export interface TrialCounts {
  /** Frames offered to the device under test during the trial. */
  sent: number;
  /** Frames received back from it (counted after in-flight frames had time to arrive). */
  received: number;
}

/**
 * Runs one trial: offers `ratePps` packets per second for `trialMs` milliseconds and counts.
 * It may return more than the counts (latency, refused frames, ...): the search keeps the
 * whole result in its {@link ThroughputTrial}. `signal` is the search's, when it has one.
 */
export type TrialFunction<T extends TrialCounts = TrialCounts> = (
  ratePps: number,
  trialMs: number,
  signal: AbortSignal | undefined,
) => Promise<T>;

/** Options of {@link searchThroughput}. */
export interface ThroughputSearchOptions<T extends TrialCounts = TrialCounts> {
  /** The highest rate to try, in packets per second: usually the line rate. Required. */
  maxRatePps: number;
  /** The lowest rate to try. Default 0 (then the search may end below any tried rate). */
  minRatePps?: number;
  /** How long each trial offers traffic, in milliseconds. Default 1000. */
  trialMs?: number;
  /**
   * Stop when the bracket between the highest passing and the lowest failing rate is at
   * most this many packets per second wide.
   */
  resolutionPps?: number;
  /**
   * Stop when the bracket is at most this fraction of its failing end wide (0.01: the rate
   * found is within 1% of the limit). Default 0.01 when `resolutionPps` is not given;
   * with both, the search stops at whichever is reached first. Rates are whole packets per
   * second, so a bracket of 1 pps always ends it.
   */
  relativeResolution?: number;
  /** The fraction of frames a passing trial may lose, in [0, 1). Default 0: zero loss. */
  lossTolerance?: number;
  /** The most trials to run. Default 32. */
  maxTrials?: number;
  /**
   * How many times a failing trial is repeated before its rate counts as failed (it passes
   * when any repeat passes). Default 0, as RFC 2544 does; 1 or 2 on a machine whose CPUs
   * are shared, where a stall of the forwarder now and then loses frames below its limit.
   */
  retries?: number;
  /** Ends the search between trials (and is passed to the trial function). */
  signal?: AbortSignal;
  /** Called after each trial, e.g. to show progress. */
  onTrial?: (trial: ThroughputTrial<T>) => void;
}

/** One trial of a search. */
export interface ThroughputTrial<T extends TrialCounts = TrialCounts> {
  /** The offered rate, in packets per second. */
  ratePps: number;
  /** Frames offered. */
  sent: number;
  /** Frames received. */
  received: number;
  /** The fraction lost: (sent - received) / sent, 0 when more came back; 1 when nothing was sent. */
  loss: number;
  /** Whether `loss` was within the tolerance. */
  passed: boolean;
  /** Everything the trial function returned. */
  result: T;
}

/**
 * Why a search ended: the maximum rate passed; the minimum rate (above 0) lost frames;
 * the bracket reached the resolution; `maxTrials` ran; or the signal aborted it.
 */
export type ThroughputSearchStop = 'max-passed' | 'min-failed' | 'resolution' | 'max-trials' | 'aborted';

/** What {@link searchThroughput} found. */
export interface ThroughputSearchResult<T extends TrialCounts = TrialCounts> {
  /** The highest offered rate whose trial passed; null when no trial passed. */
  ratePps: number | null;
  /** The lowest offered rate whose trial failed; null when none failed. */
  failedPps: number | null;
  /** Why the search ended. */
  stop: ThroughputSearchStop;
  /** Every trial, in the order run. */
  trials: ThroughputTrial<T>[];
}

const operation = 'searchThroughput';
const optionKeys = [
  'maxRatePps',
  'minRatePps',
  'trialMs',
  'resolutionPps',
  'relativeResolution',
  'lossTolerance',
  'maxTrials',
  'retries',
  'signal',
  'onTrial',
] as const satisfies readonly (keyof ThroughputSearchOptions)[];

interface CheckedOptions<T extends TrialCounts> {
  maxRatePps: number;
  minRatePps: number;
  trialMs: number;
  resolutionPps: number;
  relativeResolution: number;
  lossTolerance: number;
  maxTrials: number;
  retries: number;
  signal: AbortSignal | undefined;
  onTrial: ((trial: ThroughputTrial<T>) => void) | undefined;
}

function checkSearchOptions<T extends TrialCounts>(options: ThroughputSearchOptions<T>): CheckedOptions<T> {
  checkOptions<ThroughputSearchOptions<T>>(operation, options, optionKeys);
  const maxRatePps = checkPositive(operation, 'maxRatePps', options.maxRatePps);
  const minRatePps =
    options.minRatePps === undefined ? 0 : checkNumber(operation, 'minRatePps', options.minRatePps, { min: 0 });
  if (minRatePps > maxRatePps) {
    invalidArgument(operation, `minRatePps must be at most maxRatePps (${maxRatePps}), got ${minRatePps}`);
  }
  const trialMs = options.trialMs === undefined ? 1000 : checkPositive(operation, 'trialMs', options.trialMs);
  const resolutionPps =
    options.resolutionPps === undefined ? 0 : checkPositive(operation, 'resolutionPps', options.resolutionPps);
  const relativeResolution =
    options.relativeResolution !== undefined
      ? checkNumber(operation, 'relativeResolution', options.relativeResolution, { above: 0, below: 1 })
      : options.resolutionPps === undefined
        ? 0.01
        : 0;
  const lossTolerance =
    options.lossTolerance === undefined
      ? 0
      : checkNumber(operation, 'lossTolerance', options.lossTolerance, { min: 0, below: 1 });
  const maxTrials =
    options.maxTrials === undefined ? 32 : checkInteger(operation, 'maxTrials', options.maxTrials, 1, 1000);
  const retries = options.retries === undefined ? 0 : checkInteger(operation, 'retries', options.retries, 0, 10);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    invalidArgument(operation, `signal must be an AbortSignal, got ${describe(options.signal)}`);
  }
  if (options.onTrial !== undefined && typeof options.onTrial !== 'function') {
    invalidArgument(operation, `onTrial must be a function, got ${describe(options.onTrial)}`);
  }
  return {
    maxRatePps,
    minRatePps,
    trialMs,
    resolutionPps,
    relativeResolution,
    lossTolerance,
    maxTrials,
    retries,
    signal: options.signal,
    onTrial: options.onTrial,
  };
}

function checkCount(name: string, value: unknown): number {
  return checkInteger(operation, `the trial's ${name}`, value, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Finds the highest offered rate at which a trial loses at most `lossTolerance` of its
 * frames (RFC 2544 section 26.1's throughput with the default tolerance 0). It tries
 * `maxRatePps` first (when that passes, it is the answer), then `minRatePps` when it is
 * above 0 (when that fails, no rate in the range passes), then halves the bracket between
 * the highest passing and the lowest failing rate until it is within the resolution.
 * Rates are whole packets per second. The result lists every trial and why the search
 * stopped; an aborted search returns what it found so far. Bad options, and trial results
 * whose counts are not non-negative integers, are `DpdkError`s with code `EINVAL`; a trial
 * function's own error rejects the search, unless the signal was aborted meanwhile.
 *
 * Trials are only as good as their length: RFC 2544 asks for at least 60 s, short trials
 * miss losses that a busy machine causes now and then; confirm a short search's result
 * with a long trial at the rate found.
 */
export async function searchThroughput<T extends TrialCounts>(
  trial: TrialFunction<T>,
  options: ThroughputSearchOptions<T>,
): Promise<ThroughputSearchResult<T>> {
  if (typeof trial !== 'function') invalidArgument(operation, `trial must be a function, got ${describe(trial)}`);
  const checked = checkSearchOptions(options);
  const { signal } = checked;
  const trials: ThroughputTrial<T>[] = [];
  // The bracket: the highest rate that passed and the lowest that failed.
  const bracket: { passed: number | null; failed: number | null } = { passed: null, failed: null };
  const finish = (stop: ThroughputSearchStop): ThroughputSearchResult<T> => ({
    ratePps: bracket.passed,
    failedPps: bracket.failed,
    stop,
    trials,
  });

  // Runs a trial at `ratePps`, repeated up to `retries` times while it fails; null when the
  // signal ended the search. Only the last trial's outcome moves the bracket.
  const run = async (ratePps: number): Promise<ThroughputTrial<T> | null> => {
    let record = await once(ratePps);
    for (let retry = 0; record !== null && !record.passed && retry < checked.retries; retry++) {
      if (trials.length >= checked.maxTrials) break;
      record = await once(ratePps);
    }
    if (record === null) return null;
    if (record.passed) bracket.passed = Math.max(bracket.passed ?? 0, ratePps);
    else bracket.failed = Math.min(bracket.failed ?? ratePps, ratePps);
    return record;
  };

  // One trial at `ratePps`, recorded; null when the signal ended the search.
  const once = async (ratePps: number): Promise<ThroughputTrial<T> | null> => {
    if (signal?.aborted) return null;
    let result: T;
    try {
      result = await trial(ratePps, checked.trialMs, signal);
    } catch (error) {
      if (signal?.aborted) return null;
      throw error;
    }
    if (signal?.aborted) return null;
    if (result === null || typeof result !== 'object')
      invalidArgument(operation, `the trial must resolve to { sent, received }, got ${describe(result)}`);
    const sent = checkCount('sent', result.sent);
    const received = checkCount('received', result.received);
    const loss = sent === 0 ? 1 : Math.max(0, sent - received) / sent;
    const record: ThroughputTrial<T> = {
      ratePps,
      sent,
      received,
      loss,
      passed: loss <= checked.lossTolerance,
      result,
    };
    trials.push(record);
    checked.onTrial?.(record);
    return record;
  };

  const maxRatePps = Math.floor(checked.maxRatePps);
  const minRatePps = Math.ceil(checked.minRatePps);
  const first = await run(Math.max(1, maxRatePps));
  if (first === null) return finish('aborted');
  if (first.passed) return finish('max-passed');
  if (minRatePps >= first.ratePps) return finish('min-failed');
  if (minRatePps > 0) {
    if (trials.length >= checked.maxTrials) return finish('max-trials');
    const lowest = await run(minRatePps);
    if (lowest === null) return finish('aborted');
    if (!lowest.passed) return finish('min-failed');
  }
  for (;;) {
    const low = bracket.passed ?? minRatePps;
    const high = bracket.failed ?? first.ratePps;
    if (high - low <= Math.max(1, checked.resolutionPps, checked.relativeResolution * high))
      return finish('resolution');
    if (trials.length >= checked.maxTrials) return finish('max-trials');
    if ((await run(Math.round((low + high) / 2))) === null) return finish('aborted');
  }
}
