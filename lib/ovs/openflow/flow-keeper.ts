/**
 * {@link FlowKeeper}: a bridge's flows owned as desired state, reinstalled whenever the
 * OpenFlow connection is (re-)established, as an OpenFlow controller does. ovs-vswitchd
 * keeps no flows across a restart (a bridge comes back with its NORMAL flow only).
 */
import { EventEmitter } from 'node:events';
import { DpdkError } from '../../errors.js';
import { checkInteger, checkOptions, checkTimeout, describe } from '../../validate.js';
import { OpenFlowClient } from './client.js';
import type { CallOptions } from './client-options.js';
import { parseFlowMod } from './flow-syntax.js';
import type { ReplaceFlowsResult } from './flow-table.js';
import { parseTarget } from './target.js';

/** Options of {@link FlowKeeper}. */
export interface FlowKeeperOptions {
  /** Timeout of each connection attempt and of each install, in ms (default 10000). */
  timeoutMs?: number;
  /**
   * Echo the switch after this many ms without traffic, and treat a missing reply as a
   * drop (default 5000; 0 disables it). A restarted ovs-vswitchd closes its sockets, so
   * this matters for a hung switch or a lost TCP path.
   */
  keepaliveMs?: number;
  /** Backoff between connection attempts: doubles from `initialDelayMs` (default 100) up to `maxDelayMs` (default 8000). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * Re-assert the desired flows every this many ms while connected, undoing changes made
   * behind the keeper's back (`ovs-ofctl del-flows`); 0 (default) checks only on connect
   * and on {@link FlowKeeper.setFlows}. Each check reads the whole flow table.
   */
  checkIntervalMs?: number;
  /** Aborting closes the keeper, as {@link FlowKeeper.close}. */
  signal?: AbortSignal;
}

/** The events of a {@link FlowKeeper}. */
export interface FlowKeeperEvents {
  /**
   * The switch's flows were made the desired ones: after each connection, each
   * {@link FlowKeeper.setFlows}, and each periodic check that found a difference.
   */
  installed: [result: ReplaceFlowsResult];
  /** The connection dropped (the switch restarted, a keepalive went unanswered); reconnecting. */
  disconnected: [error: DpdkError];
  /** A connection attempt failed; the next one comes after `nextDelayMs`. */
  connectFailed: [error: DpdkError, nextDelayMs: number];
  /**
   * The switch refused the desired flows (e.g. a port name it does not have) or the install
   * timed out; it is retried after `nextDelayMs`. Not named `error`, which would throw without a listener.
   */
  installFailed: [error: DpdkError, nextDelayMs: number];
}

const optionKeys = [
  'timeoutMs',
  'keepaliveMs',
  'reconnect',
  'checkIntervalMs',
  'signal',
] as const satisfies readonly (keyof FlowKeeperOptions)[];
const reconnectKeys = ['initialDelayMs', 'maxDelayMs'] as const;
const callKeys = ['timeoutMs', 'signal'] as const satisfies readonly (keyof CallOptions)[];

/**
 * Resolves every port name to a placeholder, to check a flow's syntax alone: port names are
 * checked against the bridge's ports where they are known.
 */
class AnyPortName extends Map<string, number> {
  override get(): number {
    return 1;
  }
}

/** The flow texts: an array of non-empty strings (empty: no flows at all). */
function checkFlowList(operation: string, flows: unknown): string[] {
  if (!Array.isArray(flows) || !flows.every((flow) => typeof flow === 'string' && flow !== '')) {
    throw new DpdkError(`flows must be an array of flow strings (possibly empty), got ${describe(flows)}`, {
      code: 'EINVAL',
      operation,
    });
  }
  return [...(flows as string[])];
}

/**
 * Owns the flows of one bridge: connects to `target` (`unix:RUNDIR/BRIDGE.mgmt` or
 * `tcp:HOST:PORT`), retrying with backoff while the switch is down, makes the switch's
 * flows (all tables) the desired ones with an atomic `replaceFlows`, and does so again
 * after every reconnection (a restarted ovs-vswitchd recreates its `.mgmt` socket: each
 * attempt opens the path anew). Flows the switch already has as desired are left alone,
 * counters included. {@link FlowKeeper.close} stops it and leaves the flows installed.
 */
export class FlowKeeper extends EventEmitter<FlowKeeperEvents> {
  /** The switch's OpenFlow target, as given. */
  readonly target: string;
  readonly #timeoutMs: number;
  readonly #keepaliveMs: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #checkIntervalMs: number;
  readonly #abort = new AbortController();
  #flows: string[];
  #client: OpenFlowClient | undefined;
  #portMap: ReadonlyMap<string, number> | undefined;
  #delayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Installs run one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Validates the target, flows and options, then starts connecting in the background.
   * @throws DpdkError `EINVAL` for a bad target, option, or a flow that does not parse
   * (nothing is sent).
   */
  constructor(target: string, flows: readonly string[], options: FlowKeeperOptions = {}) {
    super();
    const operation = 'FlowKeeper';
    checkOptions<FlowKeeperOptions>(operation, options, optionKeys);
    parseTarget(target);
    this.target = target;
    this.#timeoutMs = checkTimeout(operation, options.timeoutMs) ?? 10_000;
    this.#keepaliveMs = checkInteger(operation, 'keepaliveMs', options.keepaliveMs ?? 5000, 0, 2 ** 31 - 1);
    const reconnect = options.reconnect ?? {};
    checkOptions(`${operation} reconnect`, reconnect, reconnectKeys);
    this.#initialDelayMs = checkInteger(
      operation,
      'reconnect.initialDelayMs',
      reconnect.initialDelayMs ?? 100,
      1,
      2 ** 31 - 1,
    );
    this.#maxDelayMs = checkInteger(
      operation,
      'reconnect.maxDelayMs',
      reconnect.maxDelayMs ?? 8000,
      this.#initialDelayMs,
      2 ** 31 - 1,
    );
    this.#checkIntervalMs = checkInteger(operation, 'checkIntervalMs', options.checkIntervalMs ?? 0, 0, 2 ** 31 - 1);
    this.#flows = this.#validate(operation, flows, new AnyPortName());
    this.#delayMs = this.#initialDelayMs;
    if (options.signal?.aborted) {
      this.#closed = true;
      return;
    }
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
    this.#schedule(0);
  }

  /** The desired flows, as last given. */
  get flows(): readonly string[] {
    return this.#flows;
  }

  /** Whether a connection to the switch is up (the desired flows may still be being installed). */
  get connected(): boolean {
    return this.#client !== undefined && !this.#client.closed;
  }

  /**
   * Resolves on the next `installed` event: the desired flows are on the switch.
   * @throws DpdkError `ERR_CLOSED` when closed first, `ETIMEDOUT`, `ECANCELED`.
   */
  waitInstalled(options: CallOptions = {}): Promise<ReplaceFlowsResult> {
    const operation = 'FlowKeeper.waitInstalled';
    checkOptions<CallOptions>(operation, options, callKeys);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      const fail = (code: string, message: string): void => {
        finish();
        reject(new DpdkError(message, { code, operation, object: this.target }));
      };
      const onInstalled = (result: ReplaceFlowsResult): void => {
        finish();
        resolve(result);
      };
      const onAbort = (): void => fail('ECANCELED', 'waiting for the flows to be installed was aborted');
      const onClose = (): void => fail('ERR_CLOSED', 'the flow keeper was closed');
      const timer = setTimeout(
        () => fail('ETIMEDOUT', `the flows were not installed on ${this.target} within ${timeoutMs} ms`),
        timeoutMs,
      );
      const finish = (): void => {
        clearTimeout(timer);
        this.off('installed', onInstalled);
        this.#abort.signal.removeEventListener('abort', onClose);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.on('installed', onInstalled);
      this.#abort.signal.addEventListener('abort', onClose, { once: true });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.#closed) onClose();
      else if (options.signal?.aborted) onAbort();
    });
  }

  /**
   * Makes `flows` the desired state. Every flow is parsed first (port names against the
   * bridge's ports: read now while connected, as last seen while not); a bad one is refused and the previous state stays. While
   * connected they are installed at once, atomically, and the result returned; a refusal
   * by the switch (`ERR_OPENFLOW`) likewise keeps the previous state. While disconnected,
   * resolves with undefined: they are installed on reconnection.
   * @throws DpdkError `EINVAL` (the flow's index and text in `flowIndex`, `flow`),
   * `ERR_OPENFLOW`, `ERR_CLOSED` after {@link FlowKeeper.close}, `ETIMEDOUT`, `ECANCELED` (then the
   * desired state is unchanged, though the switch may have applied the flows).
   */
  setFlows(flows: readonly string[], options: CallOptions = {}): Promise<ReplaceFlowsResult | undefined> {
    const operation = 'FlowKeeper.setFlows';
    try {
      checkOptions<CallOptions>(operation, options, callKeys);
      checkTimeout(operation, options.timeoutMs);
      if (this.#closed) {
        throw new DpdkError('the flow keeper is closed', { code: 'ERR_CLOSED', operation, object: this.target });
      }
      // Syntax now; port names against the switch's current ports (replaceFlows reads them
      // before sending), or, while disconnected, against its ports as last seen.
      const list = this.#validate(operation, flows, new AnyPortName());
      return this.#enqueue(async () => {
        const client = this.#client;
        if (client === undefined || client.closed) {
          if (this.#portMap !== undefined) this.#validate(operation, list, this.#portMap);
          this.#flows = list;
          return undefined;
        }
        try {
          const result = await client.replaceFlows(list, { timeoutMs: this.#timeoutMs, ...options });
          this.#flows = list;
          this.emit('installed', result);
          return result;
        } catch (error) {
          if (!client.closed) throw error;
          // The switch went away mid-install: the new flows are installed on reconnection.
          this.#flows = list;
          return undefined;
        }
      });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Stops connecting and checking and closes the connection; the flows stay on the switch. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed && this.#client === undefined) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }

  #validate(operation: string, flows: unknown, portMap: ReadonlyMap<string, number>): string[] {
    const list = checkFlowList(operation, flows);
    list.forEach((flow, flowIndex) => {
      try {
        parseFlowMod(flow, { command: 'add', portMap });
      } catch (error) {
        const which = list.length === 1 ? '' : `flow ${flowIndex + 1} of ${list.length}: `;
        throw Object.assign(
          new DpdkError(`${which}${(error as Error).message}`, {
            code: 'EINVAL',
            operation,
            object: flow,
            cause: error,
          }),
          { flowIndex, flow },
        );
      }
    });
    return list;
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#connect(), delayMs);
  }

  #backoff(): number {
    const delay = this.#delayMs;
    this.#delayMs = Math.min(delay * 2, this.#maxDelayMs);
    return delay;
  }

  async #connect(): Promise<void> {
    let client: OpenFlowClient;
    try {
      client = await OpenFlowClient.connect(this.target, {
        timeoutMs: this.#timeoutMs,
        signal: this.#abort.signal,
        ...(this.#keepaliveMs > 0 ? { keepaliveMs: this.#keepaliveMs } : {}),
      });
    } catch (error) {
      if (this.#closed) return;
      const delay = this.#backoff();
      this.emit('connectFailed', error as DpdkError, delay);
      this.#schedule(delay);
      return;
    }
    if (this.#closed) {
      await client.close();
      return;
    }
    this.#client = client;
    void client.whenClosed().then((error) => this.#onDrop(client, error));
    await this.#install(client, true);
  }

  /** Makes the switch's flows the desired ones; on failure retries after a backoff. */
  async #install(client: OpenFlowClient, always: boolean): Promise<void> {
    await this.#enqueue(async () => {
      if (client !== this.#client || client.closed) return;
      try {
        const ports = await client.portDescriptions({ timeoutMs: this.#timeoutMs });
        this.#portMap = new Map(ports.map((port) => [port.name, port.portNo]));
        const result = await client.replaceFlows(this.#flows, { timeoutMs: this.#timeoutMs });
        this.#delayMs = this.#initialDelayMs;
        if (always || result.added + result.modified + result.deleted > 0) this.emit('installed', result);
        if (this.#checkIntervalMs > 0)
          this.#timer = setTimeout(() => void this.#install(client, false), this.#checkIntervalMs);
      } catch (error) {
        // A drop is handled by #onDrop; anything else is retried on this connection.
        if (client.closed || this.#closed) return;
        const delay = this.#backoff();
        this.emit('installFailed', error as DpdkError, delay);
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => void this.#install(client, true), delay);
      }
    });
  }

  #onDrop(client: OpenFlowClient, error: DpdkError): void {
    if (client !== this.#client || this.#closed) return;
    this.#client = undefined;
    this.emit('disconnected', error);
    this.#schedule(this.#backoff());
  }
}
