/**
 * Retrying a virtio-user server's device setup. When its vhost-user client refuses a setup
 * message (OVS failing `VHOST_USER_SET_MEM_TABLE` for want of memory: "failed to allocate memory
 * for dev->guest_pages"), it answers with a negative acknowledgement and keeps the connection;
 * DPDK's virtio-user logs "(PATH) Failed to start device" and sets nothing up; neither side tries
 * again and the port stays down. The watcher reads DPDK's log for that line (it names the socket
 * path), reports it on the port and ends the connection, so that the client (OVS's
 * `dpdkvhostuserclient` reconnects by itself, about once a second) connects again and DPDK sets
 * the device up anew. It runs on the JS thread from a timer: nothing on the packet path.
 */
import { DpdkError, invalidArgument } from './errors.js';
import { native } from './native.js';
import { probeWaitingForPeer, type PeerWaitOptions } from './peer-wait.js';
import { Port } from './port.js';
import { checkInteger, checkOptions, describe } from './validate.js';

/** Options of a virtio-user server's setup retries (`VirtioUserServerOptions.setupRetry`). */
export interface SetupRetryOptions {
  /** How many times in a row to retry a failed setup, 0 to 100. Default 5. 0: only report. */
  attempts?: number;
  /** Milliseconds before the first retry, 1 to 600000; each next one waits twice as long (at most 60 s). Default 500. */
  delayMs?: number;
  /** How often to read the link and DPDK's log, in milliseconds, 10 to 60000. Default 100. */
  intervalMs?: number;
  /** Stops the watching (and a retry not yet made) when aborted; closing the port does too. */
  signal?: AbortSignal;
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
  /** The retry's number (`setup-retry`), or how many were made (`setup-recovered`; 0: the peer reconnected by itself). */
  attempt: number;
  /** `setup-recovered`: milliseconds from the first failure to the link up. */
  elapsedMs?: number;
}

/** Setup retry options, checked and with their defaults. */
export interface CheckedSetupRetry {
  /** See {@link SetupRetryOptions}. */
  attempts: number;
  /** See {@link SetupRetryOptions}. */
  delayMs: number;
  /** See {@link SetupRetryOptions}. */
  intervalMs: number;
  /** See {@link SetupRetryOptions}. */
  signal: AbortSignal | undefined;
}

const retryKeys = [
  'attempts',
  'delayMs',
  'intervalMs',
  'signal',
] as const satisfies readonly (keyof SetupRetryOptions)[];

const maxDelayMs = 60_000;

/** @internal Validates setup retry options; `false` turns retries off (undefined). */
export function checkSetupRetry(op: string, value: unknown): CheckedSetupRetry | undefined {
  if (value === false) return undefined;
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalidArgument(op, `setupRetry must be an object or false, got ${describe(value)}`);
  }
  const options = value as SetupRetryOptions;
  checkOptions<SetupRetryOptions>(`${op} setupRetry`, options, retryKeys);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    invalidArgument(op, `setupRetry.signal must be an AbortSignal, got ${describe(options.signal)}`);
  }
  return {
    attempts: checkInteger(op, 'setupRetry.attempts', options.attempts ?? 5, 0, 100),
    delayMs: checkInteger(op, 'setupRetry.delayMs', options.delayMs ?? 500, 1, 600_000),
    intervalMs: checkInteger(op, 'setupRetry.intervalMs', options.intervalMs ?? 100, 10, 60_000),
    signal: options.signal,
  };
}

/**
 * @internal Watches a virtio-user server port on `path` from `logMark` (taken before its
 * creation: the device is first started as its client connects) until it is closed or
 * `signal` aborts: each failed device start is emitted as `setup-failed`; up to `attempts` times
 * in a row the connection is then ended after a delay (`setup-retry`), unless the peer
 * reconnected meanwhile; a setup that works after a failure (the link read down, then up two
 * reads in a row with no failure) is emitted as `setup-recovered`. Its timers do not keep Node running.
 */
export function watchSetup(port: Port, path: string, options: CheckedSetupRetry, logMark: number): void {
  const { signal } = options;
  if (signal?.aborted) return;
  const failedLine = `(${path}) Failed to start device`;
  let mark = logMark;
  let failures = 0;
  let retries = 0;
  let firstFailure = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  // Since the last failure: whether the link was read down (that connection gone: dropped by a
  // retry, or by either side on its own), and the reads in a row since then that found it up
  // with no failure logged. Down, then up twice, is a recovery, whoever reconnected.
  let failing = false;
  let sawDown = false;
  let upReads = 0;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(retryTimer);
    port.off('closed', stop);
    signal?.removeEventListener('abort', stop);
  };
  const retry = (attempt: number): void => {
    retryTimer = undefined;
    if (stopped || !failing) return;
    // Already reconnected by itself (the link down, then up): ending that connection would undo it.
    if (sawDown && upReads > 0) return;
    if (native.dropVhostPeer(path) > 0) {
      // That connection is gone, which counts as the link down: the peer may connect again and
      // DPDK set the device up before the next read (OVS does it within milliseconds).
      sawDown = true;
      upReads = 0;
      port.emit('setup-retry', { path, attempt });
    }
  };
  const tick = (): void => {
    let up: boolean;
    try {
      // Reading the link is also what makes DPDK notice a dropped peer and take the next one.
      up = port.native.link().up;
    } catch {
      stop(); // closed through another handle
      return;
    }
    const end = native.logMark();
    const text = native.logText(mark, end);
    mark = end;
    const lines = text.split('\n').filter((line) => line.includes(failedLine));
    if (lines.length > 0) {
      failures++;
      if (failures === 1) firstFailure = Date.now();
      failing = true;
      sawDown = false;
      upReads = 0;
      const retrying = retries < options.attempts && retryTimer === undefined;
      const logged = lines.join('\n');
      const error = new DpdkError(
        `the vhost-user peer on ${path} refused to set the device up (DPDK said: ${logged.trim()})` +
          (retrying ? `: retrying (${retries + 1} of ${options.attempts})` : ''),
        { code: 'ERR_VHOST_SETUP', operation: 'VirtioUser.createServer', object: port.name },
      );
      port.emit('setup-failed', { path, failures, retrying, logged, error });
      if (retrying) {
        const delay = Math.min(options.delayMs * 2 ** retries, maxDelayMs);
        retries++;
        retryTimer = setTimeout(retry, delay, retries);
        retryTimer.unref();
      }
      return;
    }
    if (!up) sawDown = true;
    upReads = up ? upReads + 1 : 0;
    if (failing && sawDown && upReads >= 2) {
      clearTimeout(retryTimer);
      retryTimer = undefined;
      port.emit('setup-recovered', { path, attempt: retries, elapsedMs: Date.now() - firstFailure });
      failing = false;
      failures = 0;
      retries = 0;
    }
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  port.on('closed', stop);
  signal?.addEventListener('abort', stop, { once: true });
}

/**
 * @internal Creates a virtio-user server from `devargs`, waiting for its client (see
 * `probeWaitingForPeer`), and watches its device setup as `retry` says (not at all when
 * undefined): what {@link VirtioUser.createServer} and {@link Eal.initAsync} share.
 */
export async function createWatchedServer(
  devargs: string,
  op: string,
  wait: PeerWaitOptions,
  retry: CheckedSetupRetry | undefined,
): Promise<Port> {
  // From before the probe: DPDK starts the device (SET_MEM_TABLE) as soon as the client connects.
  const logMark = native.logMark();
  const port = Port.adopt(await probeWaitingForPeer(devargs, op, wait));
  const path = /(?:^|,)path=([^,]*)/.exec(devargs)?.[1] ?? '';
  if (retry !== undefined) watchSetup(port, path, retry, logMark);
  return port;
}
