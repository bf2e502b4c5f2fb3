/**
 * The TypeScript forwarding loop of examples/testpmd.ts (`--engine ts`), run by an
 * LcoreWorker: testpmd's io, mac, macswap, rxonly and txonly modes over the streams it is
 * given, with one reusable Batch and no allocation per packet or burst.
 */
import { Batch, LcoreContext, Mempool, parseMac, type Port } from '../lib/index.js';

/** The forward modes the TypeScript loop implements. */
export type TsForwardMode = 'io' | 'mac' | 'macswap' | 'rxonly' | 'txonly';

/** One rx -> tx path, by index in the worker's `ports`. */
export interface TestpmdLoopStream {
  /** Index of the rx port in `LcoreWorkerOptions.ports`. */
  rx: number;
  /** Index of the tx port in `LcoreWorkerOptions.ports`. */
  tx: number;
  /** Destination MAC for `mac` and `txonly` (testpmd's peer address of the tx port). */
  peerMac: string;
}

/** What examples/testpmd.ts hands the loop (`LcoreWorkerOptions.data`). */
export interface TestpmdLoopData {
  /** What to do with packets. */
  mode: TsForwardMode;
  /** Packets per burst. */
  burst: number;
  /** The streams, polled round robin; counters are `rx:<i>`, `tx:<i>`, `dropped:<i>` for stream i. */
  streams: TestpmdLoopStream[];
  /** For txonly: the mempool to allocate packets from, by name. */
  mempool?: string;
  /** For txonly: the packet to send (its MACs are rewritten per stream). */
  template?: Uint8Array;
}

/** A MAC address as a 32-bit and a 16-bit little-endian word, for two DataView writes. */
interface MacWords {
  high: number;
  low: number;
}

function macWords(mac: string): MacWords {
  const bytes = parseMac(mac);
  const view = new DataView(bytes.buffer);
  return { high: view.getUint32(0, true), low: view.getUint16(4, true) };
}

interface Stream {
  rxPort: Port;
  txPort: Port;
  source: MacWords;
  destination: MacWords;
  rxCounter: number;
  txCounter: number;
  droppedCounter: number;
  /** For txonly: the template with this stream's MACs. */
  packet: Uint8Array | undefined;
}

const context = LcoreContext.attach();
const data = context.data as TestpmdLoopData;
const counters = context.counters;
const streams: Stream[] = data.streams.map((stream, i) => {
  const txPort = context.ports[stream.tx];
  const source = macWords(txPort.mac);
  const destination = macWords(stream.peerMac);
  let packet: Uint8Array | undefined;
  if (data.template !== undefined) {
    packet = Uint8Array.from(data.template);
    packet.set(parseMac(stream.peerMac), 0);
    packet.set(parseMac(txPort.mac), 6);
  }
  return {
    rxPort: context.ports[stream.rx], txPort, source, destination, packet,
    rxCounter: context.counterIndex(`rx:${i}`), txCounter: context.counterIndex(`tx:${i}`),
    droppedCounter: context.counterIndex(`dropped:${i}`),
  };
});
const batch = new Batch(data.burst);
const pool = data.mempool === undefined ? undefined : Mempool.lookup(data.mempool);
if (data.mode === 'txonly' && (pool === undefined || streams.some((stream) => stream.packet === undefined))) {
  throw new Error('The txonly loop needs data.mempool and data.template');
}

/** Sends the batch on the stream's tx port; what the queue refuses is freed and counted as dropped. */
function send(stream: Stream): void {
  counters[stream.txCounter] += stream.txPort.txBurst(0, batch);
  const unsent = batch.count;
  if (unsent > 0) {
    counters[stream.droppedCounter] += unsent;
    batch.free();
  }
}

function forwardIo(stream: Stream): void {
  const received = stream.rxPort.rxBurst(0, batch);
  if (received === 0) return;
  counters[stream.rxCounter] += received;
  send(stream);
}

function forwardMacSwap(stream: Stream): void {
  const received = stream.rxPort.rxBurst(0, batch);
  if (received === 0) return;
  counters[stream.rxCounter] += received;
  const offsets = batch.offsets;
  for (let i = 0; i < received; i++) {
    const view = batch.dataView(i);
    const at = offsets[i];
    const dstHigh = view.getUint32(at, true);
    const dstLow = view.getUint16(at + 4, true);
    view.setUint32(at, view.getUint32(at + 6, true), true);
    view.setUint16(at + 4, view.getUint16(at + 10, true), true);
    view.setUint32(at + 6, dstHigh, true);
    view.setUint16(at + 10, dstLow, true);
  }
  send(stream);
}

function forwardMac(stream: Stream): void {
  const received = stream.rxPort.rxBurst(0, batch);
  if (received === 0) return;
  counters[stream.rxCounter] += received;
  const offsets = batch.offsets;
  const { source, destination } = stream;
  for (let i = 0; i < received; i++) {
    const view = batch.dataView(i);
    const at = offsets[i];
    view.setUint32(at, destination.high, true);
    view.setUint16(at + 4, destination.low, true);
    view.setUint32(at + 6, source.high, true);
    view.setUint16(at + 10, source.low, true);
  }
  send(stream);
}

function receiveOnly(stream: Stream): void {
  const received = stream.rxPort.rxBurst(0, batch);
  if (received === 0) return;
  counters[stream.rxCounter] += received;
  batch.free();
}

function transmitOnly(stream: Stream): void {
  if ((pool as Mempool).alloc(batch, data.burst, stream.packet as Uint8Array) === 0) return;
  send(stream);
}

const step = { io: forwardIo, mac: forwardMac, macswap: forwardMacSwap, rxonly: receiveOnly, txonly: transmitOnly }[data.mode];
while (context.running) {
  for (let s = 0; s < streams.length; s++) step(streams[s]);
}
batch.close();
