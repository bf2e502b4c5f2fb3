import t from 'tap';
import { DpdkError, searchThroughput, type TrialCounts, type TrialFunction } from '../lib/index.js';

// The search algorithm against deterministic devices with a known limit: no DPDK here.

/** A device that forwards at most `limitPps` and drops the rest, over a trial of `trialMs`. */
function limitedDevice(limitPps: number): TrialFunction<TrialCounts & { trialMs: number }> {
  return async (ratePps, trialMs) => {
    const sent = Math.round((ratePps * trialMs) / 1000);
    const received = Math.min(sent, Math.round((limitPps * trialMs) / 1000));
    return { sent, received, trialMs };
  };
}

t.test('converges to within the resolution below a known limit', async (t) => {
  for (const [limitPps, resolutionPps] of [
    [1_000_000, 10_000],
    [123_457, 1_000],
    [14_880_000 - 1, 1],
  ]) {
    const result = await searchThroughput(limitedDevice(limitPps), {
      maxRatePps: 14_880_952,
      trialMs: 1000,
      resolutionPps,
    });
    t.equal(result.stop, 'resolution', `limit ${limitPps}: stops at the resolution`);
    t.ok(result.ratePps !== null && result.ratePps <= limitPps, `limit ${limitPps}: the rate found passes`);
    t.ok(limitPps - result.ratePps! < resolutionPps, `limit ${limitPps}: ${result.ratePps} is within ${resolutionPps}`);
    t.ok(result.failedPps! - result.ratePps! <= resolutionPps, 'the bracket is within the resolution');
    t.equal(result.trials[0].ratePps, 14_880_952, 'the first trial is at the maximum rate');
    t.ok(result.trials.length <= 26, `${result.trials.length} trials`);
    for (const trial of result.trials) {
      t.equal(trial.passed, trial.ratePps <= limitPps, `${trial.ratePps} pps passes iff it is within the limit`);
      t.equal(trial.result.trialMs, 1000, 'the trial function gets the trial length and its result is kept');
    }
  }
});

t.test('a relative resolution: the bracket ends within that fraction of its failing end', async (t) => {
  const result = await searchThroughput(limitedDevice(2_500_000), { maxRatePps: 10_000_000, relativeResolution: 0.02 });
  t.equal(result.stop, 'resolution');
  t.ok(result.ratePps! <= 2_500_000 && result.failedPps! > 2_500_000);
  t.ok(result.failedPps! - result.ratePps! <= 0.02 * result.failedPps!);
  // The default is 1%.
  const byDefault = await searchThroughput(limitedDevice(2_500_000), { maxRatePps: 10_000_000 });
  t.ok(byDefault.failedPps! - byDefault.ratePps! <= 0.01 * byDefault.failedPps!);
  t.ok(byDefault.trials.length > result.trials.length, 'a finer resolution takes more trials');
});

t.test('the maximum passes: one trial, and that is the rate', async (t) => {
  const result = await searchThroughput(limitedDevice(20_000_000), { maxRatePps: 14_880_952, trialMs: 200 });
  t.match(result, { ratePps: 14_880_952, failedPps: null, stop: 'max-passed' });
  t.equal(result.trials.length, 1);
  t.match(result.trials[0], { ratePps: 14_880_952, sent: 2_976_190, received: 2_976_190, loss: 0, passed: true });
});

t.test('even the minimum loses: two trials and no rate', async (t) => {
  const result = await searchThroughput(limitedDevice(1000), { maxRatePps: 1_000_000, minRatePps: 10_000 });
  t.match(result, { ratePps: null, failedPps: 10_000, stop: 'min-failed' });
  t.same(
    result.trials.map((trial) => trial.ratePps),
    [1_000_000, 10_000],
  );
  t.equal(result.trials[1].loss, 0.9);
  // Without a minimum, a device that forwards nothing is searched down to 1 pps.
  const nothing = await searchThroughput(limitedDevice(0), { maxRatePps: 1_000_000, resolutionPps: 1 });
  t.match(nothing, { ratePps: null, failedPps: 1, stop: 'resolution' });
  t.ok(nothing.trials.every((trial) => !trial.passed));
  // A minimum equal to the failed maximum leaves nothing to try.
  const pinned = await searchThroughput(limitedDevice(10), { maxRatePps: 500, minRatePps: 500 });
  t.match(pinned, { ratePps: null, stop: 'min-failed' });
  t.equal(pinned.trials.length, 1);
});

t.test('a loss tolerance passes trials that lose at most that fraction', async (t) => {
  // At 1.05 Mpps a 1 Mpps device loses 4.8%: within 5%.
  const tolerant = await searchThroughput(limitedDevice(1_000_000), {
    maxRatePps: 2_000_000,
    lossTolerance: 0.05,
    resolutionPps: 1000,
  });
  t.equal(tolerant.stop, 'resolution');
  // Loss (r - L) / r <= 0.05 up to r = L / 0.95.
  const edge = 1_000_000 / 0.95;
  t.ok(tolerant.ratePps! <= edge && edge - tolerant.ratePps! < 1000, `${tolerant.ratePps} is just below ${edge}`);
  t.ok(
    tolerant.trials.some((trial) => trial.passed && trial.loss > 0),
    'some passing trials lost a little',
  );
});

t.test('maxTrials and the signal end a search with what it found so far', async (t) => {
  const limited = await searchThroughput(limitedDevice(300_000), {
    maxRatePps: 1_000_000,
    resolutionPps: 1,
    maxTrials: 4,
  });
  t.equal(limited.stop, 'max-trials');
  t.equal(limited.trials.length, 4);
  t.same(
    limited.trials.map((trial) => trial.ratePps),
    [1_000_000, 500_000, 250_000, 375_000],
  );
  t.match(limited, { ratePps: 250_000, failedPps: 375_000 });

  const controller = new AbortController();
  const seen: number[] = [];
  const aborted = await searchThroughput(limitedDevice(300_000), {
    maxRatePps: 1_000_000,
    signal: controller.signal,
    onTrial: (trial) => {
      seen.push(trial.ratePps);
      if (seen.length === 3) controller.abort();
    },
  });
  t.equal(aborted.stop, 'aborted');
  t.same(seen, [1_000_000, 500_000, 250_000], 'onTrial sees each trial');
  t.equal(aborted.trials.length, 3);
  t.equal(aborted.ratePps, 250_000);

  // A trial that fails because of the abort is not an error of the search.
  const second = new AbortController();
  const stopped = await searchThroughput(
    async (ratePps, _trialMs, signal) => {
      if (ratePps < 1_000_000) {
        second.abort();
        signal?.throwIfAborted();
      }
      return { sent: ratePps, received: 0 };
    },
    { maxRatePps: 1_000_000, signal: second.signal },
  );
  t.match(stopped, { stop: 'aborted', ratePps: null, failedPps: 1_000_000 });
  t.equal(stopped.trials.length, 1);

  // Any other error of the trial function rejects the search.
  await t.rejects(
    searchThroughput(
      async () => {
        throw new Error('generator gone');
      },
      { maxRatePps: 1000 },
    ),
    { message: 'generator gone' },
  );
});

t.test('a trial that offers nothing, or receives more than it sent', async (t) => {
  const result = await searchThroughput(async (ratePps) => ({ sent: ratePps >= 100 ? 0 : 10, received: 12 }), {
    maxRatePps: 1000,
    resolutionPps: 50,
  });
  t.match(result.trials[0], { sent: 0, loss: 1, passed: false }, 'sending nothing proves nothing: a failure');
  t.ok(
    result.trials.some((trial) => trial.sent === 10 && trial.loss === 0 && trial.passed),
    'extra frames are not negative loss',
  );
});

t.test('bad options and bad trial results are EINVAL errors that say what is wrong', async (t) => {
  const trial = limitedDevice(1000);
  const cases: [unknown, RegExp][] = [
    [undefined, /searchThroughput options must be an object, got undefined/],
    [{}, /maxRatePps must be a positive number, got undefined/],
    [{ maxRatePps: -5 }, /maxRatePps must be a positive number, got -5/],
    [{ maxRatePps: 1000, minRatePps: -1 }, /minRatePps must be a number >= 0, got -1/],
    [{ maxRatePps: 1000, minRatePps: 2000 }, /minRatePps must be at most maxRatePps \(1000\), got 2000/],
    [{ maxRatePps: 1000, trialMs: 0 }, /trialMs must be a positive number, got 0/],
    [{ maxRatePps: 1000, resolutionPps: 0 }, /resolutionPps must be a positive number, got 0/],
    [{ maxRatePps: 1000, relativeResolution: 1 }, /relativeResolution must be a number > 0 and < 1, got 1/],
    [{ maxRatePps: 1000, lossTolerance: 1 }, /lossTolerance must be a number >= 0 and < 1, got 1/],
    [{ maxRatePps: 1000, lossTolerance: -0.1 }, /lossTolerance must be a number >= 0 and < 1, got -0.1/],
    [{ maxRatePps: 1000, lossTolerance: '1%' }, /lossTolerance must be a number >= 0 and < 1, got "1%"/],
    [{ maxRatePps: 1000, maxTrials: 0 }, /maxTrials must be an integer from 1 to 1000, got 0/],
    [{ maxRatePps: 1000, signal: {} }, /signal must be an AbortSignal, got \{\}/],
    [{ maxRatePps: 1000, onTrial: 5 }, /onTrial must be a function, got 5/],
    [{ maxRatePps: 1000, trialMS: 100 }, /Unknown option "trialMS" for searchThroughput \(did you mean "trialMs"\?\)/],
    [{ maxRatePps: 1000, tolerance: 0.1 }, /Unknown option "tolerance" for searchThroughput/],
  ];
  for (const [options, message] of cases) {
    await t.rejects(
      searchThroughput(trial, options as never),
      { name: 'DpdkError', code: 'EINVAL', operation: 'searchThroughput', message },
      message.source,
    );
  }
  await t.rejects(searchThroughput(5 as never, { maxRatePps: 1000 }), {
    code: 'EINVAL',
    message: /trial must be a function, got 5/,
  });
  await t.rejects(
    searchThroughput(async () => ({ sent: 10, received: -1 }), { maxRatePps: 1000 }),
    { code: 'EINVAL', message: /the trial's received must be an integer from 0 to \d+, got -1/ },
  );
  await t.rejects(
    searchThroughput(async () => null as never, { maxRatePps: 1000 }),
    { code: 'EINVAL', message: /the trial must resolve to \{ sent, received \}, got null/ },
  );
  const error = await searchThroughput(trial, { maxRatePps: 0 }).catch((e: unknown) => e);
  t.ok(error instanceof DpdkError, 'a DpdkError');
});

t.test(
  'retries: a trial that lost frames to a passing stall is repeated before its rate counts as failed',
  async (t) => {
    // A device limited to 100 000 pps whose first trial at each rate below the limit loses one frame.
    const stalled = new Set<number>();
    const stallingDevice: TrialFunction = async (ratePps, trialMs) => {
      const sent = Math.round((ratePps * trialMs) / 1000);
      const received = Math.min(sent, Math.round((100_000 * trialMs) / 1000));
      if (ratePps <= 100_000 && !stalled.has(ratePps)) {
        stalled.add(ratePps);
        return { sent, received: received - 1 };
      }
      return { sent, received };
    };
    const options = { maxRatePps: 1_000_000, trialMs: 100, resolutionPps: 1_000 };
    const withRetry = await searchThroughput(stallingDevice, { ...options, retries: 1 });
    t.ok(withRetry.ratePps !== null && 100_000 - withRetry.ratePps < 1_000, `with a retry: ${withRetry.ratePps} pps`);
    stalled.clear();
    const without = await searchThroughput(stallingDevice, options);
    t.equal(without.ratePps, null, 'without one, every rate below the limit failed its only trial');
    await t.rejects(searchThroughput(stallingDevice, { ...options, retries: -1 }), {
      code: 'EINVAL',
      message: 'retries must be an integer from 0 to 10, got -1',
    });
  },
);
