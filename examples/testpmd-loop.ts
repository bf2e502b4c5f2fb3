/**
 * The TypeScript forwarding loop of examples/testpmd.ts (`--engine ts`), run by an
 * LcoreWorker: testpmd's io, mac, macswap, rxonly and txonly modes over the streams it is
 * given, with reusable Batches and no allocation per packet or burst. The forwarding modes
 * make one native call per burst: Port.txRxBurst sends what the last call received (after
 * the rewrite) and receives the next burst.
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

function macWords(bytes: Uint8Array): MacWords {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
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
  /** For the forwarding modes: what the stream received last, to rewrite and send next. */
  batch: Batch;
}

const context = LcoreContext.attach();
const data = context.data as TestpmdLoopData;
const counters = context.counters;
const streams: Stream[] = data.streams.map((stream, i) => {
  const txPort = context.ports[stream.tx];
  const sourceBytes = parseMac(txPort.mac);
  const destinationBytes = parseMac(stream.peerMac);
  let packet: Uint8Array | undefined;
  if (data.template !== undefined) {
    packet = Uint8Array.from(data.template);
    packet.set(destinationBytes, 0);
    packet.set(sourceBytes, 6);
  }
  return {
    rxPort: context.ports[stream.rx], txPort, source: macWords(sourceBytes), destination: macWords(destinationBytes), packet,
    rxCounter: context.counterIndex(`rx:${i}`), txCounter: context.counterIndex(`tx:${i}`),
    droppedCounter: context.counterIndex(`dropped:${i}`), batch: new Batch(data.burst),
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

/**
 * One forwarding step: rewrites the packets the stream received last time, sends them and
 * receives the next burst, in one native call; what the tx queue refused is counted as dropped.
 */
function forward(stream: Stream, rewrite: ((stream: Stream, count: number) => void) | undefined): void {
  const pending = stream.batch.count;
  if (pending > 0 && rewrite !== undefined) rewrite(stream, pending);
  const received = stream.txPort.txRxBurst(0, stream.batch, stream.rxPort, 0);
  if (pending > 0) {
    const unsent = stream.batch.unsent;
    counters[stream.txCounter] += pending - unsent;
    counters[stream.droppedCounter] += unsent;
  }
  counters[stream.rxCounter] += received;
}

function swapMacs(stream: Stream, count: number): void {
  const { batch } = stream;
  const { offsets, chunks } = batch;
  // Packets of one pool almost always share a chunk: look its view up only when it changes.
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

function setMacs(stream: Stream, count: number): void {
  const { batch, source, destination } = stream;
  const { offsets, chunks } = batch;
  let chunk = chunks[0];
  let view = batch.dataView(0);
  for (let i = 0; i < count; i++) {
    if (chunks[i] !== chunk) {
      chunk = chunks[i];
      view = batch.dataView(i);
    }
    const at = offsets[i];
    view.setUint32(at, destination.high, true);
    view.setUint16(at + 4, destination.low, true);
    view.setUint32(at + 6, source.high, true);
    view.setUint16(at + 10, source.low, true);
  }
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

const step = {
  io: (stream: Stream) => forward(stream, undefined),
  mac: (stream: Stream) => forward(stream, setMacs),
  macswap: (stream: Stream) => forward(stream, swapMacs),
  rxonly: receiveOnly,
  txonly: transmitOnly,
}[data.mode];
// `running` is an atomic load: read it every few rounds, not every burst.
const roundsPerCheck = 16;
while (context.running) {
  for (let round = 0; round < roundsPerCheck; round++) {
    for (let s = 0; s < streams.length; s++) step(streams[s]);
  }
}
batch.close();
for (const stream of streams) {
  // Send what the last step received, so that every packet received is sent or dropped.
  const pending = stream.batch.count;
  if (pending > 0) {
    const sent = stream.txPort.txBurst(0, stream.batch);
    counters[stream.txCounter] += sent;
    counters[stream.droppedCounter] += pending - sent;
  }
  stream.batch.close();
}
