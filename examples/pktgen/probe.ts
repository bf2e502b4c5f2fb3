/**
 * pktgen.ts's `probe` verb: waits until the path between the ports delivers, instead of
 * for a fixed time. A vhost-user switch (OVS) reports a port connected once its peer has
 * set the queues up, but enables them for its forwarding threads a moment later and drops
 * what it would send there before; how long that moment lasts depends on the machine's
 * load. A probe is a round of a few packets from every port at a low rate, as a run of
 * `str` sends them (counters from zero); the path delivers once one round arrives whole
 * at every port. The rounds' packets count in no later run (`str` starts from zero and
 * discards what arrives late), and the settings are restored afterwards.
 */
import { DpdkError } from '../../lib/index.js';
import type { Pktgen } from './generator.js';
import type { ProbeReport } from './report.js';

/** Packets each port sends in a round, and their rate: a trickle that no ring overflows. */
const probeCount = 8;
const probePps = 1000;
// How long a round waits for its packets (a round takes 8 ms to send at 1000 pps).
const roundMs = 200;
const pollMs = 5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends rounds of probes from every port until one arrives whole at every port, for at
 * most `timeoutS` seconds. Resolves with how long it took and how many rounds it needed;
 * rejects with `ETIMEDOUT` when no round arrived whole by then.
 */
export async function runProbe(app: Pktgen, timeoutS: number): Promise<ProbeReport> {
  const saved = app.settings.map((settings) => ({ ...settings }));
  const started = Date.now();
  const deadline = started + timeoutS * 1000;
  let rounds = 0;
  let lost = 0;
  let last: number[];
  for (const [port, settings] of saved.entries())
    app.settings[port] = { ...settings, count: probeCount, rate: { unit: 'pps', value: probePps } };
  try {
    for (;;) {
      rounds++;
      await app.start();
      const roundEnd = Math.min(deadline, Date.now() + roundMs);
      while (app.done() !== true && Date.now() < roundEnd) await sleep(pollMs);
      const reports = app.reports();
      last = reports.map((report) => report.received);
      const whole = app.done() === true;
      app.stop();
      if (whole) return { ms: Date.now() - started, rounds, lost };
      lost += reports.reduce((sum, report) => sum + report.sent - report.received, 0);
      if (Date.now() >= deadline) break;
    }
  } finally {
    app.stop();
    saved.forEach((settings, port) => {
      app.settings[port] = settings;
    });
  }
  throw new DpdkError(
    `probe: the path did not deliver a round of ${probeCount} packets per port within ${timeoutS} s ` +
      `(${rounds} rounds; the last one's ports received ${last.join(', ')})`,
    { code: 'ETIMEDOUT', operation: 'probe' },
  );
}
