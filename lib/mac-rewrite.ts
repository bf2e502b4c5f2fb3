/**
 * In-place Ethernet address rewrites of the packets in a Batch, for forwarding loops
 * written in TypeScript (testpmd's mac and macswap modes, l2fwd's MAC update): no
 * allocation per packet or burst, a few DataView writes per packet.
 */
import type { Batch } from './batch.js';
import { parseMac } from './packet.js';

/**
 * Destination and source addresses prepared for {@link setMacs}: each as a 32-bit and a
 * 16-bit little-endian word, so that a packet takes four writes.
 */
export interface MacRewrite {
  /** Destination bytes 0-3. */
  readonly destinationHigh: number;
  /** Destination bytes 4-5. */
  readonly destinationLow: number;
  /** Source bytes 0-3. */
  readonly sourceHigh: number;
  /** Source bytes 4-5. */
  readonly sourceLow: number;
}

/** Prepares `destination` and `source` (`xx:xx:xx:xx:xx:xx`) for {@link setMacs}. */
export function macRewrite(destination: string, source: string): MacRewrite {
  const words = (mac: string): [number, number] => {
    const view = new DataView(parseMac(mac).buffer);
    return [view.getUint32(0, true), view.getUint16(4, true)];
  };
  const [destinationHigh, destinationLow] = words(destination);
  const [sourceHigh, sourceLow] = words(source);
  return { destinationHigh, destinationLow, sourceHigh, sourceLow };
}

/** Writes the addresses of `rewrite` into the first `count` packets of `batch`. */
export function setMacs(batch: Batch, count: number, rewrite: MacRewrite): void {
  if (count === 0) return;
  const { offsets, chunks } = batch;
  // Packets of one pool almost always share a chunk: look its view up only when it changes.
  let chunk = chunks[0];
  let view = batch.dataView(0);
  for (let i = 0; i < count; i++) {
    if (chunks[i] !== chunk) {
      chunk = chunks[i];
      view = batch.dataView(i);
    }
    const at = offsets[i];
    view.setUint32(at, rewrite.destinationHigh, true);
    view.setUint16(at + 4, rewrite.destinationLow, true);
    view.setUint32(at + 6, rewrite.sourceHigh, true);
    view.setUint16(at + 10, rewrite.sourceLow, true);
  }
}

/** Swaps the destination and source addresses of the first `count` packets of `batch`. */
export function swapMacs(batch: Batch, count: number): void {
  if (count === 0) return;
  const { offsets, chunks } = batch;
  let chunk = chunks[0];
  let view = batch.dataView(0);
  for (let i = 0; i < count; i++) {
    if (chunks[i] !== chunk) {
      chunk = chunks[i];
      view = batch.dataView(i);
    }
    // The 12 address bytes as three little-endian words: [d0..d3] [d4 d5 s0 s1] [s2..s5].
    const at = offsets[i];
    const first = view.getUint32(at, true);
    const middle = view.getUint32(at + 4, true);
    const last = view.getUint32(at + 8, true);
    view.setUint32(at, (middle >>> 16) | (last << 16), true);
    view.setUint32(at + 4, (last >>> 16) | (first << 16), true);
    view.setUint32(at + 8, (first >>> 16) | (middle << 16), true);
  }
}
