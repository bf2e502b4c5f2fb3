/**
 * Creating a device that waits for its peer (a virtio-user server's accept()) off the JS
 * thread, with a timeout and an AbortSignal: what {@link VirtioUser.createServer} and
 * {@link Eal.initAsync} share.
 */
import { DpdkError, invalidArgument } from './errors.js';
import { native } from './native.js';
import { checkInteger, describe } from './validate.js';

/** How long a peer wait may last and what stops it. */
export interface PeerWaitOptions {
  /** In milliseconds. Default: until the peer connects. */
  timeoutMs?: number;
  /** Stops waiting: the promise rejects with `ECANCELED`. */
  signal?: AbortSignal;
}

/** Validates a {@link PeerWaitOptions}' values (its keys are checked by the caller). */
export function checkPeerWait(op: string, options: PeerWaitOptions): void {
  if (options.timeoutMs !== undefined) checkInteger(op, 'timeoutMs', options.timeoutMs, 1, 2 ** 31 - 1);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    invalidArgument(op, `signal must be an AbortSignal, got ${describe(options.signal)}`);
  }
}

/**
 * Probes `devargs` (a virtio-user server's) on a thread of its own and resolves with the
 * port id once its vhost-user client connects. `ETIMEDOUT` or `ECANCELED` end DPDK's wait
 * and leave no port, socket file or fd.
 */
export async function probeWaitingForPeer(devargs: string, op: string, options: PeerWaitOptions): Promise<number> {
  const { timeoutMs, signal } = options;
  const name = devargs.slice(0, devargs.indexOf(','));
  const path = /(?:^|,)path=([^,]*)/.exec(devargs)?.[1] ?? '';
  const aborted = (): DpdkError =>
    new DpdkError(`Waiting for a vhost-user client to connect to ${path} was aborted: the port was not created`, {
      code: 'ECANCELED',
      operation: op,
      object: name,
      cause: signal?.reason,
    });
  if (signal?.aborted) throw aborted();
  let timedOut = false;
  let ticket = 0;
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  // Before the probe listens there is no accept() to end yet: try again shortly.
  const cancel = (): void => {
    if (!native.cancelProbe(ticket)) retry = setTimeout(cancel, 10);
  };
  const onTimeout = (): void => {
    timedOut = true;
    cancel();
  };
  return new Promise<number>((resolve, reject) => {
    ticket = native.probeWaiting(devargs, op, (error, portId, cancelled) => {
      clearTimeout(timer);
      clearTimeout(retry);
      signal?.removeEventListener('abort', cancel);
      if (error !== null) reject(error);
      else if (cancelled !== true) resolve(portId!);
      else if (timedOut) {
        reject(
          new DpdkError(
            `No vhost-user client connected to ${path} within ${timeoutMs} ms: the port was not created ` +
              '(start the vhost-user side: an OVS dpdkvhostuserclient port, a Vhost port with client: true)',
            { code: 'ETIMEDOUT', operation: op, object: name },
          ),
        );
      } else reject(aborted());
    });
    if (timeoutMs !== undefined) timer = setTimeout(onTimeout, timeoutMs);
    signal?.addEventListener('abort', cancel, { once: true });
  });
}
