/**
 * Retrying a virtio-user server's device setup. When its vhost-user client refuses a setup
 * message (OVS failing `VHOST_USER_SET_MEM_TABLE` for want of memory), DPDK logs "Failed to
 * start device" and leaves the connection up with nothing set up: the link may even read up,
 * and neither side tries again. The watcher reads DPDK's log for that line (it names the
 * socket path), reports it on the port and ends the connection, so that the client (OVS's
 * `dpdkvhostuserclient` reconnects by itself) connects again and DPDK sets the device up anew.
 */
import { DpdkError } from './errors.js';
import { native } from './native.js';
import type { Port } from './port.js';
import { checkInteger, checkOptions, describe } from './validate.js';

/** Options of a virtio-user server's setup retries ({@link VirtioUserServerOptions.setupRetry}). */
export interface SetupRetryOptions {
  /** How many times in a row to retry a failed setup, 0 to 100. Default 5. 0: only report. */
  attempts?: number;
  /** Milliseconds before the first retry; each next one waits twice as long. Default 500. */
  delayMs?: number;
  /** How often to read the link and DPDK's log, in milliseconds. Default 100. */
  intervalMs?: number;
}

/** What a port's `setup-failed` event reports. */
export interface SetupFailure {
  /** The vhost-user socket path. */
  path: string;
  /** Failed setups in a row, this one included. */
  failures: number;
  /** Whether a retry follows (false once `attempts` retries were spent). */
  retrying: boolean;
  /** What DPDK logged about it. */
  logged: string;
  /** The error, for logs: `ERR_VHOST_SETUP` naming the path and what DPDK said. */
  error: DpdkError;
}

/** What a port's `setup-retry` and `setup-recovered` events report. */
export interface SetupRetry {
  /** The vhost-user socket path. */
  path: string;
  /** The retry's number (`setup-retry`), or how many it took (`setup-recovered`). */
  attempt: number;
}

const retryKeys = ['attempts', 'delayMs', 'intervalMs'] as const satisfies readonly (keyof SetupRetryOptions)[];

/** Validates setup retry options; `false` turns retries off. */
export function checkSetupRetry(op: string, value: unknown): Required<SetupRetryOptions> | undefined {
  if (value === false) return undefined;
  if (value === undefined || value === true) value = {};
  if (typeof value !== 'object' || value === null) {
    throw new DpdkError(`setupRetry must be an object or false, got ${describe(value)}`, {
      code: 'EINVAL',
      operation: op,
    });
  }
  checkOptions<SetupRetryOptions>(`${op} setupRetry`, value as SetupRetryOptions, retryKeys);
  const options = value as SetupRetryOptions;
  return {
    attempts: checkInteger(op, 'setupRetry.attempts', options.attempts ?? 5, 0, 100),
    delayMs: checkInteger(op, 'setupRetry.delayMs', options.delayMs ?? 500, 1, 600_000),
    intervalMs: checkInteger(op, 'setupRetry.intervalMs', options.intervalMs ?? 100, 1, 60_000),
  };
}

/**
 * @internal Watches a virtio-user server port on `path` from now on until it is closed: each
 * failed device start is emitted as `setup-failed`; up to `attempts` times in a row the
 * connection is then ended after a delay (`setup-retry`), and a setup that works after a retry
 * is emitted as `setup-recovered`. Its timer does not keep Node running.
 */
export function watchSetup(port: Port, path: string, options: Required<SetupRetryOptions>): void {
  const failedLine = `(${path}) Failed to start device`;
  let mark = native.logMark();
  let failures = 0;
  let retries = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  // After a retry: whether the link was seen down (the old connection gone) since.
  let awaitingRecovery = false;
  let sawDown = false;
  const stop = (): void => {
    clearInterval(timer);
    clearTimeout(retryTimer);
  };
  const tick = (): void => {
    let up: boolean;
    try {
      // Reading the link is also what makes DPDK notice a dropped peer and take the next one.
      up = port.native.link().up;
    } catch {
      stop(); // closed
      return;
    }
    const text = native.logText(mark);
    mark = native.logMark();
    const lines = text.split('\n').filter((line) => line.includes(failedLine));
    if (lines.length > 0) {
      failures++;
      sawDown = false;
      const retrying = retries < options.attempts && retryTimer === undefined;
      const logged = lines.join('\n');
      const error = new DpdkError(
        `The vhost-user peer on ${path} refused to set the device up (DPDK said: ${logged.trim()})` +
          (retrying ? `: retrying (${retries + 1} of ${options.attempts})` : ''),
        { code: 'ERR_VHOST_SETUP', operation: 'VirtioUser.createServer', object: port.name },
      );
      port.emit('setup-failed', { path, failures, retrying, logged, error });
      if (retrying) {
        const delay = options.delayMs * 2 ** retries;
        retries++;
        const attempt = retries;
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          if (native.dropVhostPeer(path) > 0) {
            awaitingRecovery = true;
            port.emit('setup-retry', { path, attempt });
          }
        }, delay);
        retryTimer.unref();
      }
      return;
    }
    if (!up) sawDown = true;
    else if (awaitingRecovery && sawDown) {
      port.emit('setup-recovered', { path, attempt: retries });
      awaitingRecovery = false;
      failures = 0;
      retries = 0;
    }
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
}
