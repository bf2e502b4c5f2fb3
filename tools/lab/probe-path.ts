/**
 * The start of a run once the path delivers. OVS reports a vhost-user port connected once
 * its peer has set its queues up, but enables them for its PMD thread a moment later and
 * drops what it would send there before (its link_state is no sign of that: with OVS
 * serving the sockets it stays "down" while packets flow); a fixed delay after "connected"
 * lost packets in a run's first second on a loaded machine. pktgen's `probe` sends rounds
 * of a few packets until one arrives whole at every port, and none of them counts in the
 * run that follows.
 */
import { DpdkError } from '../../lib/errors.js';
import type { StartedApp } from './lab.js';

/** How long the generator's probe may wait for the path to deliver, seconds. */
export const probeTimeoutS = 20;

/**
 * Asks the interactive generator `generator` to probe the path and waits for its answer:
 * resolves with its line (`probe: the path delivered after N ms (R rounds, L probes
 * lost)`), throws `ERR_LAB` with the generator's line when the path did not deliver.
 */
export async function probePath(generator: StartedApp): Promise<string> {
  const from = generator.lines.length;
  generator.runner.write(`probe ${probeTimeoutS}\n`);
  const deadline = Date.now() + (probeTimeoutS + 10) * 1000;
  while (Date.now() < deadline) {
    const line = generator.lines.slice(from).find((each) => /^(error: )?probe: /.test(each));
    if (line?.startsWith('probe: ')) return line;
    if (line !== undefined)
      throw new DpdkError(`the generator's probe failed: ${line}`, { code: 'ERR_LAB', operation: 'lab' });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new DpdkError(`the generator did not answer its probe within ${probeTimeoutS + 10} s`, {
    code: 'ETIMEDOUT',
    operation: 'lab',
  });
}
