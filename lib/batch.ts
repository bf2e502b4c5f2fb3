/** Batches of packets (mbufs) as TypeScript sees them: one native array of packet handles, views of their bytes, and the mempool chunk registry behind those views. */
import { DpdkError, invalidArgument } from './errors.js';
import { native, type NativeBatch } from './native.js';
import { checkInteger } from './validate.js';

// Views over mempool memory chunks, by global chunk id, shared by every batch of this
// environment. Mempool.close() forgets (and the addon detaches) the chunks it frees.
const chunkViews: (Uint8Array | undefined)[] = [];
const chunkDataViews: (DataView | undefined)[] = [];
const noChunk = 0xffff;

function loadChunk(id: number): Uint8Array {
  if (id === noChunk) {
    throw new DpdkError('This packet lies in memory the SDK cannot map (an external buffer)', {
      code: 'ENOTSUP',
      operation: 'Batch.bytes',
    });
  }
  const view = new Uint8Array(native.chunkBuffer(id));
  chunkViews[id] = view;
  chunkDataViews[id] = new DataView(view.buffer);
  return view;
}

function loadChunkDataView(id: number): DataView {
  loadChunk(id);
  return chunkDataViews[id] as DataView;
}

/** @internal Called by Eal.cleanup: every chunk is gone. */
export function forgetAllChunks(): void {
  chunkViews.length = 0;
  chunkDataViews.length = 0;
}

/** @internal Called by Mempool.close for the chunks it frees. */
export function forgetChunks(ids: number[]): void {
  for (const id of ids) {
    chunkViews[id] = undefined;
    chunkDataViews[id] = undefined;
  }
}

const headerWords = 4;

/**
 * A reusable burst of packets, filled by {@link Port.rxBurst} or {@link Mempool.alloc}
 * and emptied by {@link Port.txBurst} or {@link Batch.free}.
 *
 * Packet bytes are read and written in place: packet `i` is
 * `batch.bytes(i)[batch.offsets[i] .. batch.offsets[i] + batch.lengths[i])`, a window on
 * the mempool's memory. The arrays are typed arrays the addon fills, so a burst costs one
 * native call and allocates nothing. Set `lengths[i]` to resize packet `i` before sending
 * (within its buffer), or call {@link Batch.drop} to free it at the next send.
 *
 * Views are valid until packets leave the batch (send, free, close); a
 * {@link PacketHandle} checks this for you.
 */
export class Batch {
  /** How many packets the batch can hold. */
  readonly capacity: number;
  /** Offset of each packet's first byte in its chunk (`bytes(i)`). Read-only for users. */
  readonly offsets: Uint32Array;
  /** Length of each packet's data, in bytes. Writable: the new length is sent. */
  readonly lengths: Uint16Array;
  /** Global id of the memory chunk each packet lies in. Read-only for users. */
  readonly chunks: Uint16Array;
  /** @internal */
  readonly native: NativeBatch;
  readonly #id: number;
  #closed = false;
  // Replaced by zeros at close (the shared buffer is detached then): a closed batch holds nothing.
  #header: Uint32Array;

  /** Creates a batch of up to `capacity` packets (1..4096, default 32). */
  constructor(capacity = 32) {
    checkInteger('new Batch', 'capacity', capacity, 1, 4096);
    this.native = new native.Batch(capacity);
    this.#id = this.native.id;
    const shared = this.native.shared as ArrayBuffer;
    this.capacity = capacity;
    this.#header = new Uint32Array(shared, 0, headerWords);
    const base = headerWords * 4;
    this.offsets = new Uint32Array(shared, base, capacity);
    this.lengths = new Uint16Array(shared, base + 4 * capacity, capacity);
    this.chunks = new Uint16Array(shared, base + 6 * capacity, capacity);
  }

  /**
   * @internal Whether `value` is a Batch: a brand check, which bursts can afford where
   * `instanceof` costs more than the rest of the argument checks.
   */
  static isBatch(value: unknown): value is Batch {
    return typeof value === 'object' && value !== null && #id in value;
  }

  /**
   * @internal The id bursts name this batch by; -1 once closed, as the native id may then
   * name a newer batch.
   */
  get id(): number {
    return this.#closed ? -1 : this.#id;
  }

  /** Packets held now, at indexes `0 .. count - 1`. */
  get count(): number {
    return this.#header[0];
  }

  /** How many packets the last {@link Port.txRxBurst} freed instead of sending. */
  get unsent(): number {
    return this.#header[3];
  }

  /** Changes whenever packets leave the batch; handles taken before a change are stale. */
  get generation(): number {
    return this.#header[2];
  }

  /** The chunk of mempool memory packet `i` lies in; its bytes start at `offsets[i]`. */
  bytes(i: number): Uint8Array {
    return chunkViews[this.chunks[i]] ?? loadChunk(this.chunks[i]);
  }

  /** Like {@link bytes}, as a DataView, for reading and writing multi-byte fields. */
  dataView(i: number): DataView {
    return chunkDataViews[this.chunks[i]] ?? loadChunkDataView(this.chunks[i]);
  }

  /** Marks packet `i` to be freed instead of sent at the next {@link Port.txBurst}. */
  drop(i: number): void {
    this.#checkIndex('Batch.drop', i);
    // Length 0 already: perhaps a packet allocated without a template and never given a
    // length, which a send refuses unless it was dropped on purpose (the addon must hear of it).
    if (this.lengths[i] === 0) this.native.dropUnset(i);
    else this.lengths[i] = 0;
  }

  /** A checked handle on packet `i`, for code off the hot path. */
  packet(i: number): PacketHandle {
    this.#checkIndex('Batch.packet', i);
    return PacketHandle.of(this, i, this.generation);
  }

  #checkIndex(operation: string, i: number): void {
    if (this.#closed) throw new DpdkError('Batch is closed', { code: 'ERR_CLOSED', operation });
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      invalidArgument(operation, `packet index must be from 0 to ${this.count - 1}, got ${i}`);
    }
  }

  /** Frees every packet the batch holds (returns them to their mempools). */
  free(): void {
    this.native.free();
  }

  /** Frees the packets and the batch; the typed arrays become empty. Safe to call twice. */
  close(): void {
    this.native.close();
    this.#closed = true;
    this.#header = new Uint32Array(headerWords);
  }
}

/**
 * A handle on one packet of a batch. Every access checks that the packet is still in the
 * batch, so a stale handle throws `ERR_STALE_PACKET` instead of touching an mbuf that was
 * sent, freed or reused.
 */
export class PacketHandle {
  readonly #batch: Batch;
  readonly #index: number;
  readonly #generation: number;

  // Private rather than internal: stripping the constructor would leave `new PacketHandle()` open in the .d.ts.
  private constructor(batch: Batch, index: number, generation: number) {
    this.#batch = batch;
    this.#index = index;
    this.#generation = generation;
  }

  /** @internal The handle of packet `index` of `batch` in its current `generation`: use {@link Batch.packet}. */
  static of(batch: Batch, index: number, generation: number): PacketHandle {
    return new PacketHandle(batch, index, generation);
  }

  #check(operation: string): void {
    if (this.#batch.generation !== this.#generation || this.#index >= this.#batch.count) {
      throw new DpdkError('Packet handle is stale: the packet was sent or freed', {
        code: 'ERR_STALE_PACKET',
        operation,
      });
    }
  }

  /** The packet's length in bytes. */
  get length(): number {
    this.#check('PacketHandle.length');
    return this.#batch.lengths[this.#index];
  }

  /** Sets the packet's length in bytes, an integer from 1 to 65535. */
  set length(value: number) {
    this.#check('PacketHandle.length');
    checkInteger('PacketHandle.length', 'length', value, 1, 0xffff);
    this.#batch.lengths[this.#index] = value;
  }

  /** A view of the packet's bytes, valid until the packet leaves the batch. */
  get data(): Uint8Array {
    this.#check('PacketHandle.data');
    const i = this.#index;
    const offset = this.#batch.offsets[i];
    return this.#batch.bytes(i).subarray(offset, offset + this.#batch.lengths[i]);
  }

  /** A copy of the packet's bytes. */
  copy(): Uint8Array {
    return Uint8Array.from(this.data);
  }

  /** Writes `bytes` at `offset` in the packet, growing its length if needed (within its buffer). */
  write(offset: number, bytes: Uint8Array): void {
    this.#check('PacketHandle.write');
    const i = this.#index;
    const end = offset + bytes.length;
    checkInteger('PacketHandle.write', 'offset + bytes.length', end, 0, 0xffff);
    const start = this.#batch.offsets[i];
    this.#batch.bytes(i).set(bytes, start + offset);
    if (end > this.#batch.lengths[i]) this.#batch.lengths[i] = end;
  }
}
