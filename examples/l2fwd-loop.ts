/**
 * The TypeScript forwarding loop of examples/l2fwd.ts (`--engine ts`), run by an
 * LcoreWorker: receives bursts on each rx port it owns and sends them to the port's
 * l2fwd peer, rewriting MAC addresses as DPDK's l2fwd does (source: the tx port's MAC,
 * destination: 02:00:00:00:00:<tx port id>). One reusable Batch, no allocation per packet
 * or burst.
 */
import { Batch, LcoreContext, parseMac } from '../lib/index.js';

/** One rx port and its peer, by index in the worker's `ports`. */
export interface L2fwdLoopStream {
  /** Index of the rx port in `LcoreWorkerOptions.ports`. */
  rx: number;
  /** Index of the tx port in `LcoreWorkerOptions.ports`. */
  tx: number;
}

/** What examples/l2fwd.ts hands the loop (`LcoreWorkerOptions.data`). */
export interface L2fwdLoopData {
  /** The streams, polled round robin; counters are `rx:<i>`, `tx:<i>`, `dropped:<i>` for stream i. */
  streams: L2fwdLoopStream[];
  /** Rewrite the MAC addresses (l2fwd's default), or forward packets untouched. */
  macUpdating: boolean;
  /** Packets per burst. */
  burst: number;
}

const context = LcoreContext.attach();
const data = context.data as L2fwdLoopData;
const counters = context.counters;

const streams = data.streams.map((stream, i) => {
  const txPort = context.ports[stream.tx];
  const source = new DataView(parseMac(txPort.mac).buffer);
  // Written as a 32-bit and a 16-bit little-endian word: bytes 02 00 00 00, then 00 <port id>.
  return {
    rxPort: context.ports[stream.rx],
    txPort,
    destinationHigh: 0x00000002,
    destinationLow: (txPort.id & 0xff) << 8,
    sourceHigh: source.getUint32(0, true),
    sourceLow: source.getUint16(4, true),
    rxCounter: context.counterIndex(`rx:${i}`),
    txCounter: context.counterIndex(`tx:${i}`),
    droppedCounter: context.counterIndex(`dropped:${i}`),
  };
});
const batch = new Batch(data.burst);
const offsets = batch.offsets;
const macUpdating = data.macUpdating;

while (context.running) {
  for (let s = 0; s < streams.length; s++) {
    const stream = streams[s];
    const received = stream.rxPort.rxBurst(0, batch);
    if (received === 0) continue;
    counters[stream.rxCounter] += received;
    if (macUpdating) {
      for (let i = 0; i < received; i++) {
        const view = batch.dataView(i);
        const at = offsets[i];
        view.setUint32(at, stream.destinationHigh, true);
        view.setUint16(at + 4, stream.destinationLow, true);
        view.setUint32(at + 6, stream.sourceHigh, true);
        view.setUint16(at + 10, stream.sourceLow, true);
      }
    }
    counters[stream.txCounter] += stream.txPort.txBurst(0, batch);
    const unsent = batch.count;
    if (unsent > 0) {
      counters[stream.droppedCounter] += unsent;
      batch.free();
    }
  }
}
batch.close();
