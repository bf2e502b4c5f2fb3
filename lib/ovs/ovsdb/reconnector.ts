/**
 * The connection of an {@link OvsdbClient} and its upkeep: the inactivity probe, the drop,
 * the reconnection with exponential backoff, and callers waiting for a ready connection.
 */
import { DpdkError } from '../../errors.js';
import type { OvsdbClient, OvsdbClientOptions } from './client.js';
import { JsonRpcConnection, type ConnectionOptions } from './connection.js';

/** @internal Where the client's connection stands. */
export type ConnectionState = 'ready' | 'reconnecting' | 'closed';

/** @internal What a {@link Reconnector} needs from its client, beyond its public side. */
export interface ReconnectorHooks {
  /** Wires the events of a new connection to the client. */
  attach(connection: JsonRpcConnection): void;
  /** Restores on a new connection what the old one had; a failure fails the attempt. */
  restore(connection: JsonRpcConnection): Promise<void>;
}

/**
 * @internal Holds the current connection of an {@link OvsdbClient}: probes it, and after a
 * drop opens a new one, has the client restore its state on it, and wakes the callers
 * waiting for it (the client's `disconnected`, `reconnected` and `reconnectFailed` events).
 */
export class Reconnector {
  readonly #client: OvsdbClient;
  readonly #options: OvsdbClientOptions;
  readonly #connectionOptions: ConnectionOptions;
  readonly #hooks: ReconnectorHooks;
  #connection: JsonRpcConnection;
  #state: ConnectionState = 'ready';
  #probeTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #readyWaiters = new Set<() => void>();

  constructor(
    client: OvsdbClient,
    connection: JsonRpcConnection,
    options: OvsdbClientOptions,
    connectionOptions: ConnectionOptions,
    hooks: ReconnectorHooks,
  ) {
    this.#client = client;
    this.#options = options;
    this.#connectionOptions = connectionOptions;
    this.#hooks = hooks;
    this.#connection = connection;
    this.#adopt(connection);
    this.#startProbe();
  }

  /** The current connection (closed while reconnecting). */
  get connection(): JsonRpcConnection {
    return this.#connection;
  }

  /** Where the connection stands. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Closes for good: no more probes or reconnections; waiters fail with `ERR_CLOSED`. */
  close(): void {
    this.#state = 'closed';
    clearInterval(this.#probeTimer);
    clearTimeout(this.#reconnectTimer);
    this.#connection.close();
    for (const wake of this.#readyWaiters) wake();
  }

  /**
   * Resolves once the connection is ready; rejects with `ERR_CLOSED` once closed,
   * `ECANCELED` on abort, `ETIMEDOUT` at `deadline`.
   */
  waitReady(method: string, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    const target = this.#client.target;
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.#readyWaiters.delete(finish);
        if (this.#state === 'ready') resolve();
        else if (this.#state === 'closed')
          reject(new DpdkError('the client is closed', { code: 'ERR_CLOSED', operation: method, object: target }));
        else if (signal?.aborted === true)
          reject(new DpdkError(`${method} was aborted`, { code: 'ECANCELED', operation: method, object: target }));
        else
          reject(
            new DpdkError(`not reconnected to ${target} in time`, {
              code: 'ETIMEDOUT',
              operation: method,
              object: target,
            }),
          );
      };
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      this.#readyWaiters.add(finish);
      signal?.addEventListener('abort', finish, { once: true });
      if (signal?.aborted === true || this.#state === 'closed') finish();
    });
  }

  /** Makes `connection` the current one: the client's listeners, then the drop watch. */
  #adopt(connection: JsonRpcConnection): void {
    this.#connection = connection;
    this.#hooks.attach(connection);
    connection.on('close', (error) => {
      if (error !== undefined && connection === this.#connection) this.#onDrop(error);
    });
  }

  #startProbe(): void {
    const interval = this.#options.probeIntervalMs ?? 5000;
    if (interval === 0) return;
    let probing = false;
    this.#probeTimer = setInterval(
      () => {
        const connection = this.#connection;
        if (
          this.#state !== 'ready' ||
          probing ||
          connection.isClosed ||
          Date.now() - connection.lastReceiveMs < interval
        )
          return;
        probing = true;
        connection
          .request('echo', ['probe'], { timeoutMs: interval })
          .catch((error: DpdkError) => {
            if (error.code === 'ETIMEDOUT') {
              connection.fail(
                new DpdkError(`no reply to the inactivity probe from ${this.#client.target} within ${interval} ms`, {
                  code: 'ETIMEDOUT',
                  operation: 'echo',
                  object: this.#client.target,
                }),
              );
            }
          })
          .finally(() => {
            probing = false;
          });
      },
      Math.max(50, Math.floor(interval / 2)),
    );
    this.#probeTimer.unref();
  }

  #onDrop(error: DpdkError): void {
    // While reconnecting, a failure of the new connection fails reconnect(), which retries.
    if (this.#state !== 'ready') return;
    this.#client.emit('disconnected', error);
    if (this.#options.reconnect === false) {
      this.#client.close();
      return;
    }
    this.#state = 'reconnecting';
    const backoff = typeof this.#options.reconnect === 'object' ? this.#options.reconnect : {};
    this.#scheduleReconnect(backoff.initialDelayMs ?? 100, backoff.maxDelayMs ?? 8000);
  }

  #scheduleReconnect(delayMs: number, maxDelayMs: number): void {
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnect().then(
        () => {
          if (this.#state === 'closed') return;
          if (this.#connection.isClosed) {
            // Dropped again after the resync but before becoming ready: onDrop ignored it.
            this.#scheduleReconnect(delayMs, maxDelayMs);
            return;
          }
          this.#state = 'ready';
          for (const wake of this.#readyWaiters) wake();
          this.#client.emit('reconnected');
        },
        (error: DpdkError) => {
          if (this.#state === 'closed') return;
          const next = Math.min(delayMs * 2, maxDelayMs);
          this.#client.emit('reconnectFailed', error, next);
          this.#scheduleReconnect(next, maxDelayMs);
        },
      );
    }, delayMs);
  }

  /** Opens a new connection and has the client restore on it what the old one had. */
  async #reconnect(): Promise<void> {
    const connection = await JsonRpcConnection.open(this.#client.target, this.#connectionOptions);
    if (this.#state === 'closed') {
      connection.close();
      return;
    }
    this.#adopt(connection);
    try {
      await this.#hooks.restore(connection);
    } catch (error) {
      connection.close();
      throw error;
    }
  }
}
