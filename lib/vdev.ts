/** Virtual devices created at run time: virtio-user, vhost-user, ring and null ports. */
import { invalidArgument } from './errors.js';
import { native } from './native.js';
import { checkPeerWait, type PeerWaitOptions } from './peer-wait.js';
import { Port, portIdsByName } from './port.js';
import { checkSetupRetry, createWatchedServer, type SetupRetryOptions } from './vhost-retry.js';
import {
  checkBoolean,
  checkInteger,
  checkMac,
  checkOptions,
  checkSocketPath,
  checkString,
  describe,
} from './validate.js';

let nextSuffix = 0;

function deviceName(op: string, driver: string, name: string | undefined): string {
  if (name === undefined) {
    // Hotplugged names must be unique in the process; pick the next free one.
    const taken = portIdsByName();
    let candidate: string;
    do candidate = `${driver}${nextSuffix++}`;
    while (taken.has(candidate));
    return candidate;
  }
  checkString(op, 'name', name);
  if (!name.startsWith(driver) || !/^[A-Za-z0-9_]+$/.test(name) || name.length > 63) {
    invalidArgument(
      op,
      `name must start with "${driver}" and use letters, digits and '_' (at most 63), got ${describe(name)}`,
    );
  }
  return name;
}

function flag(value: boolean): string {
  return value ? '1' : '0';
}

function probe(devargs: string, operation: string): Port {
  return Port.adopt(native.Port.probe(devargs, operation));
}

/** Options of {@link VirtioUser.create}: the devargs of DPDK's `net_virtio_user`. */
export interface VirtioUserOptions {
  /** The vhost-user socket (e.g. an OVS `dpdkvhostuser` port's), at most 107 bytes. */
  path: string;
  /** The port's MAC address. */
  mac?: string;
  /** Queue pairs, 1..8. Default 1. */
  queues?: number;
  /** Descriptors per virtqueue, a power of two from 64 to 32768. Default 256. */
  queueSize?: number;
  /**
   * Create the socket and wait for the vhost side to connect (vhost in client mode): only
   * `false` here; a server is made by {@link VirtioUser.createServer}, which waits without
   * blocking the event loop.
   */
  server?: boolean;
  /** Use packed virtqueues. */
  packedRing?: boolean;
  /** Mergeable rx buffers. */
  mergeableRxBuffers?: boolean;
  /** In-order descriptor use. */
  inOrder?: boolean;
  /** Link speed to report, in Mbit/s. */
  speedMbps?: number;
  /** Device name; default `net_virtio_userN` with the first free N. */
  name?: string;
}

const virtioKeys = [
  'path',
  'mac',
  'queues',
  'queueSize',
  'server',
  'packedRing',
  'mergeableRxBuffers',
  'inOrder',
  'speedMbps',
  'name',
] as const satisfies readonly (keyof VirtioUserOptions)[];

/** Options of {@link VirtioUser.createServer}: a virtio-user server's devargs and how long to wait. */
export interface VirtioUserServerOptions extends Omit<VirtioUserOptions, 'server'>, PeerWaitOptions {
  /**
   * Retries of a device setup the vhost-user peer refuses (OVS failing `SET_MEM_TABLE` for want
   * of memory, at the first start or at a reconnection; DPDK logs "Failed to start device" and
   * the link stays down): the port emits `setup-failed`, ends the connection so that the peer
   * reconnects (`setup-retry`, at most `attempts` in a row, the delay doubling from `delayMs`),
   * and `setup-recovered` once the link is up again. Watching stops at `close()` or when
   * `setupRetry.signal` aborts. `false`: no watching. Default `{ attempts: 5, delayMs: 500,
   * intervalMs: 100 }`.
   */
  setupRetry?: SetupRetryOptions | false;
}

const virtioServerKeys = [
  ...virtioKeys.filter((key) => key !== 'server'),
  'timeoutMs',
  'signal',
  'setupRetry',
] as const satisfies readonly (keyof VirtioUserServerOptions)[];

/** A virtio-user port: how a container's DPDK app reaches a vhost-user switch port. */
export class VirtioUser {
  private constructor() {}

  /** Builds the devargs for these options (validated). */
  static devargs(options: VirtioUserOptions): string {
    const op = 'VirtioUser.create';
    checkOptions<VirtioUserOptions>(op, options, virtioKeys);
    return virtioDevargs(op, options);
  }

  /**
   * Creates the port at runtime (hotplug); `port.close()` unplugs it. A client connects
   * now: with no server at `path` it throws `ENOENT` (no such file) or `ECONNREFUSED` (the
   * socket file is there, its server has ended), saying so. A server waits for its peer:
   * create it with {@link VirtioUser.createServer}.
   *
   * @throws DpdkError `EINVAL` for `server: true`, naming `createServer`; `EADDRINUSE` when
   * another port already uses `path` the same way (the message names it).
   */
  static create(options: VirtioUserOptions): Port {
    const op = 'VirtioUser.create';
    if (options?.server === true) {
      invalidArgument(
        op,
        'server must be false or absent, got true: a server waits for its vhost-user client to connect, ' +
          'which create() cannot do without blocking the event loop; use await VirtioUser.createServer(options)',
      );
    }
    return probe(VirtioUser.devargs(options), op);
  }

  /**
   * Creates a virtio-user port that serves `path` (DPDK's `server=1`) and resolves once a
   * vhost-user client (an OVS `dpdkvhostuserclient` port, a `Vhost` port with `client: true`)
   * has connected. DPDK waits in an accept() inside the device's creation; that wait runs off
   * the JS thread, so timers and I/O go on meanwhile, and other ports can be created and
   * closed. A socket file nothing listens on at `path` (left by a process that died) is
   * removed first; a live one is never touched. When the wait ends without a client, the
   * port is not created and its socket file is removed. An unfinished wait does not keep the
   * process from exiting through `process.exit()`.
   *
   * @throws DpdkError `ETIMEDOUT` naming the path when `timeoutMs` passes first; `ECANCELED`
   * when `signal` aborts (its reason is the `cause`), at once if it already has;
   * `EADDRINUSE` when another port or process already uses `path` (the message names it);
   * `EEXIST` when a file that is not a socket is at `path`; `EINVAL` for bad options.
   */
  static async createServer(options: VirtioUserServerOptions): Promise<Port> {
    const op = 'VirtioUser.createServer';
    checkOptions<VirtioUserServerOptions>(op, options, virtioServerKeys);
    const { timeoutMs, signal, setupRetry, ...device } = options;
    checkPeerWait(op, { timeoutMs, signal });
    const retry = checkSetupRetry(op, setupRetry);
    const devargs = virtioDevargs(op, { ...device, server: true });
    return createWatchedServer(devargs, op, { timeoutMs, signal }, retry);
  }
}

// The devargs of a virtio-user port; `op` names the SDK call in errors.
function virtioDevargs(op: string, options: VirtioUserOptions): string {
  const parts = [deviceName(op, 'net_virtio_user', options.name), `path=${checkSocketPath(op, 'path', options.path)}`];
  if (options.mac !== undefined) parts.push(`mac=${checkMac(op, 'mac', options.mac)}`);
  if (options.queues !== undefined) parts.push(`queues=${checkInteger(op, 'queues', options.queues, 1, 8)}`);
  if (options.queueSize !== undefined) {
    const size = checkInteger(op, 'queueSize', options.queueSize, 64, 32768);
    if ((size & (size - 1)) !== 0)
      invalidArgument(op, `queueSize must be a power of two from 64 to 32768, got ${size}`);
    parts.push(`queue_size=${size}`);
  }
  if (options.server !== undefined) parts.push(`server=${flag(checkBoolean(op, 'server', options.server))}`);
  if (options.packedRing !== undefined)
    parts.push(`packed_vq=${flag(checkBoolean(op, 'packedRing', options.packedRing))}`);
  if (options.mergeableRxBuffers !== undefined) {
    parts.push(`mrg_rxbuf=${flag(checkBoolean(op, 'mergeableRxBuffers', options.mergeableRxBuffers))}`);
  }
  if (options.inOrder !== undefined) parts.push(`in_order=${flag(checkBoolean(op, 'inOrder', options.inOrder))}`);
  if (options.speedMbps !== undefined)
    parts.push(`speed=${checkInteger(op, 'speedMbps', options.speedMbps, 1, 400000)}`);
  return parts.join(',');
}

/** Options of {@link Vhost.create}: the devargs of DPDK's `net_vhost`. */
export interface VhostOptions {
  /** The vhost-user socket path, at most 107 bytes. */
  iface: string;
  /** Queue pairs, 1..8. Default 1. */
  queues?: number;
  /** Connect to a socket the virtio side serves, instead of serving it. */
  client?: boolean;
  /** IOMMU support. */
  iommuSupport?: boolean;
  /** Postcopy live-migration support. */
  postcopySupport?: boolean;
  /** TCP segmentation offload. */
  tso?: boolean;
  /** Linear (non-chained) mbufs for large packets. */
  linearBuffer?: boolean;
  /** External buffers for large packets. */
  externalBuffer?: boolean;
  /** Device name; default `net_vhostN` with the first free N. */
  name?: string;
}

const vhostKeys = [
  'iface',
  'queues',
  'client',
  'iommuSupport',
  'postcopySupport',
  'tso',
  'linearBuffer',
  'externalBuffer',
  'name',
] as const satisfies readonly (keyof VhostOptions)[];

/** A vhost-user port: the switch side of a virtio-user link (what OVS-DPDK is). */
export class Vhost {
  private constructor() {}

  /** Builds the devargs for these options (validated). */
  static devargs(options: VhostOptions): string {
    const op = 'Vhost.create';
    checkOptions<VhostOptions>(op, options, vhostKeys);
    const parts = [deviceName(op, 'net_vhost', options.name), `iface=${checkSocketPath(op, 'iface', options.iface)}`];
    if (options.queues !== undefined) parts.push(`queues=${checkInteger(op, 'queues', options.queues, 1, 8)}`);
    const flags: [keyof VhostOptions, string][] = [
      ['client', 'client'],
      ['iommuSupport', 'iommu-support'],
      ['postcopySupport', 'postcopy-support'],
      ['tso', 'tso'],
      ['linearBuffer', 'linear-buffer'],
      ['externalBuffer', 'ext-buffer'],
    ];
    for (const [key, arg] of flags) {
      if (options[key] !== undefined) parts.push(`${arg}=${flag(checkBoolean(op, key, options[key]))}`);
    }
    return parts.join(',');
  }

  /**
   * Creates the port at runtime. In server mode (the default) the socket appears once
   * the port is configured; the link comes up when a virtio-user side connects. A socket
   * file nothing listens on at `iface` (left by a process that died) is removed first; a
   * live one is never touched.
   *
   * @throws DpdkError `EADDRINUSE` when another port already has `iface` (the message names
   * it: one socket path per Vhost port) or, in server mode, another process serves it;
   * `EEXIST` when a file that is not a socket is at `iface`.
   */
  static create(options: VhostOptions): Port {
    return probe(Vhost.devargs(options), 'Vhost.create');
  }
}

/** Options of {@link RingPort.create}. */
export interface RingPortOptions {
  /** Device name; default `net_ringN` with the first free N. */
  name?: string;
}

/** A `net_ring` port: what is sent on tx queue i comes back on rx queue i. For tests. */
export class RingPort {
  private constructor() {}

  /** Creates the port at runtime. */
  static create(options: RingPortOptions = {}): Port {
    checkOptions<RingPortOptions>('RingPort.create', options, ['name']);
    return probe(deviceName('RingPort.create', 'net_ring', options.name), 'RingPort.create');
  }
}

/** Options of {@link NullPort.create}. */
export interface NullPortOptions {
  /** Size of the packets rx returns, in bytes. Default 64. */
  packetSize?: number;
  /** Copy packet data on rx and tx, like a real device would touch memory. */
  copy?: boolean;
  /** Rx returns nothing. */
  noRx?: boolean;
  /** Device name; default `net_nullN` with the first free N. */
  name?: string;
}

const nullKeys = ['packetSize', 'copy', 'noRx', 'name'] as const satisfies readonly (keyof NullPortOptions)[];

/** A `net_null` port: rx makes packets out of nothing, tx frees them. For benchmarks. */
export class NullPort {
  private constructor() {}

  /** Creates the port at runtime. */
  static create(options: NullPortOptions = {}): Port {
    const op = 'NullPort.create';
    checkOptions<NullPortOptions>(op, options, nullKeys);
    const parts = [deviceName(op, 'net_null', options.name)];
    if (options.packetSize !== undefined)
      parts.push(`size=${checkInteger(op, 'packetSize', options.packetSize, 14, 9000)}`);
    if (options.copy !== undefined) parts.push(`copy=${flag(checkBoolean(op, 'copy', options.copy))}`);
    if (options.noRx !== undefined) parts.push(`no-rx=${flag(checkBoolean(op, 'noRx', options.noRx))}`);
    return probe(parts.join(','), op);
  }
}
