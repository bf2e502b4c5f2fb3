/** Mempools: the packet buffer pools ports receive into and loops allocate from. */
import { Batch, forgetChunks } from './batch.js';
import { withPoolMemoryAdvice } from './eal-memory.js';
import { invalidArgument } from './errors.js';
import { native, type NativeMempool } from './native.js';
import { checkInteger, checkOptions, checkString, describe } from './validate.js';

/** Options of {@link Mempool.create}. */
export interface MempoolOptions {
  /** A unique name, 1 to 25 characters (DPDK's limit). */
  name: string;
  /** Number of mbufs. DPDK is most memory-efficient with 2^n - 1. */
  size: number;
  /** Per-lcore cache size, 0 to 512 and at most size / 1.5. Default 256 (or less for small pools). */
  cacheSize?: number;
  /** Bytes of data room per mbuf, headroom (128) included. Default 2176 (2048 + 128). */
  dataRoomSize?: number;
  /** NUMA socket, or -1 for any. Default -1. */
  socket?: number;
}

/** Counters of a mempool. */
export interface MempoolStats {
  /** mbufs in the pool. */
  size: number;
  /** mbufs free (in the pool or in lcore caches). */
  available: number;
  /** mbufs in use: in port rings, batches or engines. */
  inUse: number;
}

const optionKeys = [
  'name',
  'size',
  'cacheSize',
  'dataRoomSize',
  'socket',
] as const satisfies readonly (keyof MempoolOptions)[];

/** A pool of packet buffers (mbufs) in DPDK memory. */
export class Mempool {
  /** @internal */
  readonly native: NativeMempool;

  private constructor(handle: NativeMempool) {
    this.native = handle;
  }

  /**
   * Creates a packet mempool (rte_pktmbuf_pool_create).
   *
   * @throws DpdkError `ENOMEM` when DPDK has not the memory for it, with about how much it needs
   * and what to raise or reserve; `ENOSPC` past the 64 mempools one process can hold.
   */
  static create(options: MempoolOptions): Mempool {
    const op = 'Mempool.create';
    checkOptions<MempoolOptions>(op, options, optionKeys);
    const name = checkString(op, 'name', options.name);
    if (name.length > 25)
      invalidArgument(op, `name must be at most 25 characters, got ${describe(name)} (${name.length})`);
    const size = checkInteger(op, 'size', options.size, 1, 2 ** 31 - 1);
    const cacheSize = checkInteger(op, 'cacheSize', options.cacheSize ?? Math.min(256, Math.floor(size / 1.5)), 0, 512);
    if (cacheSize > size / 1.5) {
      invalidArgument(
        op,
        `cacheSize ${cacheSize} is too large for size ${size}: it must be at most size / 1.5 (${Math.floor(size / 1.5)})`,
      );
    }
    const dataRoomSize = checkInteger(op, 'dataRoomSize', options.dataRoomSize ?? 2176, 128, 65535);
    const socket = checkInteger(op, 'socket', options.socket ?? -1, -1, 63);
    try {
      return new Mempool(new native.Mempool(name, size, cacheSize, dataRoomSize, socket));
    } catch (error) {
      withPoolMemoryAdvice(error, size, dataRoomSize);
    }
  }

  /** Attaches to an existing mempool by name, e.g. in an lcore worker thread. */
  static lookup(name: string): Mempool {
    return new Mempool(new native.Mempool(checkString('Mempool.lookup', 'name', name)));
  }

  /** The pool's name. */
  get name(): string {
    return this.native.name;
  }

  /** Bytes of data room per mbuf, headroom included. */
  get dataRoomSize(): number {
    return this.native.dataRoomSize;
  }

  /** Size, available and in-use counts. */
  stats(): MempoolStats {
    return this.native.stats();
  }

  /**
   * Appends `count` new packets to `batch`, each a copy of `template` (or empty). All or
   * nothing: returns `count`, or 0 when the pool has too few free mbufs. An empty packet
   * must be given a length (`batch.lengths[i]`, or `PacketHandle.write`) or dropped
   * (`batch.drop(i)`) before it is sent: `txBurst` refuses it otherwise (`EINVAL`).
   */
  alloc(batch: Batch, count: number, template?: Uint8Array): number {
    return this.native.alloc(batch.native, count, template);
  }

  /**
   * Frees the pool. Throws `EBUSY` while ports' queues use it or mbufs are in use. Safe to
   * call twice.
   */
  close(): void {
    let chunks: number[] = [];
    try {
      chunks = this.native.chunks();
    } catch {
      // Already closed: nothing to forget.
    }
    this.native.close();
    forgetChunks(chunks);
  }
}
