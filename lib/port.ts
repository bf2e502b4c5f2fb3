/** Ethernet ports (rte_ethdev): configure, start, bursts, link, statistics, stop, close. */
import { EventEmitter } from 'node:events';
import { Batch } from './batch.js';
import { Capture, type CaptureOptions } from './capture.js';
import { Mempool } from './mempool.js';
import { native, type NativePort, type PortInfo } from './native.js';
import { checkBoolean, checkInteger, checkMac, checkOptions, describe } from './validate.js';
import { DpdkError, invalidArgument } from './errors.js';
import type { SetupFailure, SetupRetry } from './vhost-retry.js';

export type { PortInfo } from './native.js';

/** Options of {@link Port.configure}. */
export interface PortConfig {
  /** The pool rx queues take mbufs from. */
  mempool: Mempool;
  /** Rx queues. Default 1. */
  rxQueues?: number;
  /** Tx queues. Default 1. */
  txQueues?: number;
  /** Descriptors per rx queue (DPDK adjusts to the device's limits). Default 1024. */
  rxDescriptors?: number;
  /** Descriptors per tx queue. Default 1024. */
  txDescriptors?: number;
}

/** Link status. */
export interface LinkStatus {
  /** Whether the link is up. */
  up: boolean;
  /** Speed in Mbit/s, 0 when unknown. */
  speedMbps: number;
  /** Full duplex. */
  fullDuplex: boolean;
  /** Autonegotiated. */
  autoneg: boolean;
}

/** Options of {@link Port.waitForLink}. */
export interface WaitForLinkOptions {
  /** How long to wait, in milliseconds. Default 10000. */
  timeoutMs?: number;
  /** Wait for the link to be up (the default) or down. */
  up?: boolean;
  /** How often to read the link status, in milliseconds. Default 10. */
  intervalMs?: number;
  /** Stops waiting: the promise rejects with `ECANCELED`. */
  signal?: AbortSignal;
}

const waitForLinkKeys = [
  'timeoutMs',
  'up',
  'intervalMs',
  'signal',
] as const satisfies readonly (keyof WaitForLinkOptions)[];

/** Per-queue counters. */
export interface QueueStats {
  /** Packets received on the queue. */
  rxPackets: number;
  /** Packets sent on the queue. */
  txPackets: number;
  /** Bytes received. */
  rxBytes: number;
  /** Bytes sent. */
  txBytes: number;
  /** Receive errors. */
  rxErrors: number;
}

/** Basic port counters (rte_eth_stats). */
export interface PortStats {
  /** Packets received. */
  rxPackets: number;
  /** Packets sent. */
  txPackets: number;
  /** Bytes received. */
  rxBytes: number;
  /** Bytes sent. */
  txBytes: number;
  /** Packets the hardware dropped for lack of descriptors. */
  rxMissed: number;
  /** Receive errors. */
  rxErrors: number;
  /** Transmit errors. */
  txErrors: number;
  /** Receive failures for lack of mbufs. */
  rxNoMbuf: number;
  /** Per-queue counters, when the driver keeps them. */
  queues: QueueStats[];
}

// Resolves after `ms`, or as soon as `signal` aborts (the caller then sees `aborted`).
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Events of a {@link Port}. */
export interface PortEvents {
  /** The link went up or down. */
  link: [status: LinkStatus];
  /** A virtio-user server's vhost-user peer refused to set the device up (see `setupRetry`). */
  'setup-failed': [failure: SetupFailure];
  /** The connection was ended so that the vhost-user peer reconnects and sets the device up again. */
  'setup-retry': [retry: SetupRetry];
  /** The device was set up after a retry. */
  'setup-recovered': [retry: SetupRetry];
  /** The port was closed (once). */
  closed: [];
}

const configKeys = [
  'mempool',
  'rxQueues',
  'txQueues',
  'rxDescriptors',
  'txDescriptors',
] as const satisfies readonly (keyof PortConfig)[];

const { rxBurst, txBurst, txRxBurst } = native;
// Read once: under a CommonJS loader such as tsx, every `Batch.x` goes through an export getter.
const { isBatch } = Batch;

/** @internal Every port's id by device name. */
export function portIdsByName(): Map<string, number> {
  return new Map(native.Port.list().map((id) => [new native.Port(id).info().name, id]));
}

// One Port object per port id and environment, so that events and state are not split.
const openPorts = new Map<number, Port>();

/**
 * An Ethernet port (rte_ethdev). Get one from {@link Port.get}, or create a virtual one
 * with `VirtioUser.create`, `Vhost.create`, `RingPort.create` or `NullPort.create`.
 * Configure, start, burst, stop, close.
 */
export class Port extends EventEmitter<PortEvents> {
  /** @internal */
  readonly native: NativePort;
  /** The ethdev port id. */
  readonly id: number;
  /** The device name. */
  readonly name: string;
  #closed = false;
  // Bursts name a queue as queueBase + queue: one number for the port's incarnation (a closed
  // port's id may be reused by a new device), its id and the queue.
  readonly #queueBase: number;

  // Private rather than internal: stripping the constructor would leave `new Port()` open in the .d.ts.
  private constructor(handle: NativePort) {
    super();
    this.native = handle;
    this.id = handle.id;
    this.#queueBase = handle.queueBase;
    this.name = handle.info().name;
    // Node's own events are not in PortEvents: watch link listeners through the untyped emitter.
    const emitter = this as EventEmitter;
    emitter.on('newListener', (event: string) => {
      if (event === 'link' && this.listenerCount('link') === 0) {
        this.native.watchLink(() => {
          if (this.#closed) return;
          let status: LinkStatus;
          try {
            status = this.native.link();
          } catch {
            // An event queued before the port was closed (through another handle, or by
            // Eal.cleanup) arrives after it: there is no link to report anymore.
            return;
          }
          this.emit('link', status);
        });
      }
    });
    emitter.on('removeListener', (event: string) => {
      if (event === 'link' && this.listenerCount('link') === 0) this.native.watchLink(null);
    });
  }

  /** Ids of every port DPDK knows. */
  static ids(): number[] {
    return native.Port.list();
  }

  /** What every port is. */
  static list(): PortInfo[] {
    return native.Port.list().map((id) => Port.get(id).info());
  }

  /** The port with this id or device name (e.g. one created by `Eal.init({ vdevs })`). */
  static get(idOrName: number | string): Port {
    let id: number;
    if (typeof idOrName === 'string') {
      const found = portIdsByName().get(idOrName);
      if (found === undefined) invalidArgument('Port.get', `No port named ${describe(idOrName)}`);
      id = found;
    } else {
      id = idOrName;
    }
    const existing = openPorts.get(id);
    if (existing !== undefined && existing.#isCurrent()) return existing;
    return Port.adopt(id);
  }

  /** @internal Registers a port just created by hotplug. */
  static adopt(id: number): Port {
    const port = new Port(new native.Port(id));
    openPorts.set(id, port);
    return port;
  }

  #isCurrent(): boolean {
    try {
      this.native.info();
      return true;
    } catch {
      return false;
    }
  }

  /** What the port is and how it is configured. */
  info(): PortInfo {
    return this.native.info();
  }

  /**
   * Sets up queues (rte_eth_dev_configure and queue setup). The port must be stopped.
   * Returns the descriptor counts the device accepted.
   */
  configure(config: PortConfig): { rxDescriptors: number; txDescriptors: number } {
    const op = 'Port.configure';
    checkOptions<PortConfig>(op, config, configKeys);
    if (!(config.mempool instanceof Mempool)) {
      invalidArgument(op, `mempool must be a Mempool, got ${describe(config.mempool)}`);
    }
    const rxQueues = checkInteger(op, 'rxQueues', config.rxQueues ?? 1, 0, 1024);
    const txQueues = checkInteger(op, 'txQueues', config.txQueues ?? 1, 0, 1024);
    if (rxQueues === 0 && txQueues === 0) invalidArgument(op, 'a port needs at least one rx or tx queue');
    const rxDescriptors = checkInteger(op, 'rxDescriptors', config.rxDescriptors ?? 1024, 1, 65535);
    const txDescriptors = checkInteger(op, 'txDescriptors', config.txDescriptors ?? 1024, 1, 65535);
    return this.native.configure(rxQueues, txQueues, rxDescriptors, txDescriptors, config.mempool.native);
  }

  /** Starts the port. */
  start(): void {
    this.native.start();
  }

  /** Stops the port. Throws `EBUSY` while an engine or lcore worker polls it. */
  stop(): void {
    this.native.stop();
  }

  /** Whether the port is started. */
  get started(): boolean {
    return this.native.started;
  }

  /**
   * Stops and closes the port, unplugging it when the SDK created it. Its rx queues give
   * their mbufs back to the mempool. Safe to call twice; any later use throws `ERR_CLOSED`.
   */
  close(): void {
    this.removeAllListeners('link');
    this.native.close();
    const wasOpen = !this.#closed;
    this.#closed = true;
    if (openPorts.get(this.id) === this) openPorts.delete(this.id);
    if (wasOpen) this.emit('closed');
  }

  /** Promiscuous mode. */
  get promiscuous(): boolean {
    return this.native.getPromiscuous();
  }

  /** Turns promiscuous mode on or off. */
  set promiscuous(on: boolean) {
    this.native.setPromiscuous(checkBoolean('Port.promiscuous', 'promiscuous', on));
  }

  /** The port's MAC address; assign to change it. */
  get mac(): string {
    return this.native.getMac();
  }

  /** Sets the port's MAC address (`xx:xx:xx:xx:xx:xx`). */
  set mac(mac: string) {
    this.native.setMac(checkMac('Port.mac', 'mac', mac));
  }

  /** The MTU; assign to change it. */
  get mtu(): number {
    return this.native.getMtu();
  }

  /** Sets the MTU, an integer from 68 to 65535. */
  set mtu(mtu: number) {
    this.native.setMtu(checkInteger('Port.mtu', 'mtu', mtu, 68, 65535));
  }

  /** The link status now (does not wait). Listen to `'link'` for changes. */
  link(): LinkStatus {
    return this.native.link();
  }

  /**
   * Waits until the link is up (or down, with `up: false`), reading its status on a timer
   * so that the event loop keeps running meanwhile; resolves with the status then. A
   * vhost-user or virtio-user link comes up once the peer on the other side of the socket
   * has connected; a port must be started for its link to come up.
   *
   * @throws DpdkError `ETIMEDOUT` naming the port and the state waited for when `timeoutMs`
   * passes first; `ECANCELED` when `signal` aborts (its reason is the `cause`);
   * `ERR_CLOSED` when the port is closed meanwhile; `EINVAL` for bad options.
   */
  async waitForLink(options: WaitForLinkOptions = {}): Promise<LinkStatus> {
    const op = 'Port.waitForLink';
    checkOptions<WaitForLinkOptions>(op, options, waitForLinkKeys);
    const timeoutMs = checkInteger(op, 'timeoutMs', options.timeoutMs ?? 10000, 0, 2 ** 31 - 1);
    const intervalMs = checkInteger(op, 'intervalMs', options.intervalMs ?? 10, 1, 60000);
    const up = checkBoolean(op, 'up', options.up ?? true);
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      invalidArgument(op, `signal must be an AbortSignal, got ${describe(signal)}`);
    }
    const object = `port ${this.id} (${this.name})`;
    const state = up ? 'up' : 'down';
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) {
        throw new DpdkError(`Waiting for the link of ${object} to be ${state} was aborted`, {
          code: 'ECANCELED',
          operation: op,
          object,
          cause: signal.reason,
        });
      }
      const status = this.link();
      if (status.up === up) return status;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DpdkError(
          `The link of ${object} is still ${up ? 'down' : 'up'} after ${timeoutMs} ms: waited for it to be ${state}` +
            (up && !this.started ? ' (the port is not started)' : ''),
          { code: 'ETIMEDOUT', operation: op, object },
        );
      }
      await sleep(Math.min(intervalMs, left), signal);
    }
  }

  /** Basic counters. */
  stats(): PortStats {
    return this.native.stats() as unknown as PortStats;
  }

  /** Resets the basic counters. */
  resetStats(): void {
    this.native.resetStats();
  }

  /** Extended counters by name, as the driver reports them. */
  xstats(): Record<string, number> {
    return this.native.xstats();
  }

  /** Resets the extended counters. */
  resetXstats(): void {
    this.native.resetXstats();
  }

  /**
   * Receives up to `batch.capacity` packets from rx queue `queue` into the empty `batch`;
   * returns how many. One native call, no allocation.
   *
   * @throws DpdkError `ERR_PORT_STOPPED` before {@link Port.start}, `ERR_CLOSED` after
   * {@link Port.close}, `EBUSY` when the batch still holds packets.
   */
  rxBurst(queue: number, batch: Batch): number {
    if (!isBatch(batch)) invalidArgument('Port.rxBurst', 'Expected a Batch', this.name);
    if ((queue & 0xffff) !== queue) this.#invalidQueue('Port.rxBurst', queue);
    return rxBurst(this.#queueBase + queue, batch.id);
  }

  /**
   * Sends the batch's packets on tx queue `queue` (freeing those marked dropped); returns
   * how many were sent. Unsent packets stay in the batch, first: send them again or free
   * them, they are never sent twice nor leaked.
   *
   * @throws DpdkError `ERR_PORT_STOPPED` before {@link Port.start}; `EINVAL`, sending
   * nothing, when a packet allocated without a template was never given a length (or
   * a length exceeds its buffer).
   */
  txBurst(queue: number, batch: Batch): number {
    if (!isBatch(batch)) invalidArgument('Port.txBurst', 'Expected a Batch', this.name);
    if ((queue & 0xffff) !== queue) this.#invalidQueue('Port.txBurst', queue);
    return txBurst(this.#queueBase + queue, batch.id);
  }

  /**
   * One forwarding step in one native call: sends the batch on this port's tx queue
   * `txQueue`, frees what the queue refused (their number is then `batch.unsent`), and
   * receives from `rxPort`'s rx queue `rxQueue` into the emptied batch. Returns how many
   * packets were received. Half the calls of `txBurst` followed by `rxBurst`.
   */
  txRxBurst(txQueue: number, batch: Batch, rxPort: Port, rxQueue: number): number {
    if (!isBatch(batch)) invalidArgument('Port.txRxBurst', 'Expected a Batch', this.name);
    if (!Port.#isPort(rxPort)) invalidArgument('Port.txRxBurst', 'Expected a Port to receive from', this.name);
    if ((txQueue & 0xffff) !== txQueue) this.#invalidQueue('Port.txRxBurst', txQueue);
    if ((rxQueue & 0xffff) !== rxQueue) rxPort.#invalidQueue('Port.txRxBurst', rxQueue);
    return txRxBurst(this.#queueBase + txQueue, batch.id, rxPort.#queueBase + rxQueue);
  }

  /**
   * Starts capturing what the port receives and/or sends into a pcapng file (tcpdump,
   * Wireshark and tshark read it), whoever bursts on it: TypeScript bursts, lcore workers and
   * native engines alike. Ports not captured pay nothing. Returns the capture: `stop()` it to
   * complete the file. The capture covers the queues the port has now (configure it first).
   *
   * @throws DpdkError `EACCES`, `ENOENT`, ... naming the path when the file cannot be
   * created; `EBUSY` when this direction of the port is already captured; `EINVAL` for bad
   * options or a port without queues in that direction; `ERR_CLOSED` after {@link Port.close}.
   */
  capture(options: CaptureOptions): Capture {
    this.native.info(); // ERR_CLOSED with this port's own message
    return Capture.start(this.id, options);
  }

  /** Whether `value` is a Port: a brand check, cheaper than `instanceof` on the hot path. */
  static #isPort(value: unknown): value is Port {
    return typeof value === 'object' && value !== null && #queueBase in value;
  }

  #invalidQueue(operation: string, queue: unknown): never {
    invalidArgument(operation, `queue must be an integer from 0 to 65535, got ${describe(queue)}`, this.name);
  }

  /** @internal Marks the port as polled by an lcore worker, so it is not stopped under it. */
  acquire(): void {
    this.native.acquire();
  }

  /** @internal */
  release(): void {
    this.native.release();
  }
}
