/**
 * The TypeScript forwarding loop of examples/testpmd.ts (`--engine ts`), started by a
 * Forwarder: testpmd's io, mac, macswap, rxonly and txonly modes over the streams it is
 * given, with reusable Batches and no allocation per packet or burst. The forwarding modes
 * make one native call per burst: Port.txRxBurst sends what the last call received (after
 * the rewrite) and receives the next burst.
 */
import {
  Batch,
  ForwarderLoop,
  macRewrite,
  setMacs,
  swapMacs,
  type ForwarderLoopStream,
  type MacRewrite,
  type Mempool,
} from '../lib/index.js';

/** The forward modes the TypeScript loop implements. */
export type TsForwardMode = 'io' | 'mac' | 'macswap' | 'rxonly' | 'txonly';

/**
 * What examples/testpmd.ts hands the loop (`LoopForwarderOptions.data`). Each stream's
 * `txDestination` is testpmd's peer address of its tx port (for `mac`); for `txonly` each
 * has its packet in `templates` and the forwarder a mempool.
 */
export interface TestpmdLoopData {
  /** What to do with packets. */
  mode: TsForwardMode;
}

interface Stream extends ForwarderLoopStream {
  /** For mac: the tx port's address as source, the peer's as destination. */
  rewrite: MacRewrite | undefined;
  /** For txonly: the packet to send. */
  packet: Uint8Array | undefined;
  /** For the forwarding modes: what the stream received last, to rewrite and send next. */
  batch: Batch;
}

const loop = ForwarderLoop.attach();
const { mode } = loop.data as TestpmdLoopData;
const counters = loop.counters;
const streams: Stream[] = loop.streams.map((stream) => ({
  ...stream,
  rewrite: stream.txDestination === undefined ? undefined : macRewrite(stream.txDestination, stream.txPort.mac),
  packet: stream.templates?.[0],
  batch: new Batch(loop.burst),
}));
const batch = new Batch(loop.burst);
const pool = loop.mempool;
if (mode === 'txonly' && (pool === undefined || streams.some((stream) => stream.packet === undefined))) {
  throw new Error('The txonly loop needs a mempool and a template per stream');
}

/**
 * Sends the batch on the stream's tx port; what the queue refuses is freed and counted as
 * dropped. Returns the packets sent.
 */
function send(stream: Stream): number {
  const sent = stream.txPort.txBurst(stream.txQueue, batch);
  counters[stream.txCounter] += sent;
  const unsent = batch.count;
  if (unsent > 0) {
    counters[stream.droppedCounter] += unsent;
    batch.free();
  }
  return sent;
}

/**
 * One forwarding step: rewrites the packets the stream received last time, sends them and
 * receives the next burst, in one native call; what the tx queue refused is counted as
 * dropped. Returns the packets received and sent.
 */
function forward(stream: Stream, rewrite: ((stream: Stream, count: number) => void) | undefined): number {
  const pending = stream.batch.count;
  if (pending > 0 && rewrite !== undefined) rewrite(stream, pending);
  const received = stream.txPort.txRxBurst(stream.txQueue, stream.batch, stream.rxPort, stream.rxQueue);
  let sent = 0;
  if (pending > 0) {
    const unsent = stream.batch.unsent;
    sent = pending - unsent;
    counters[stream.txCounter] += sent;
    counters[stream.droppedCounter] += unsent;
  }
  counters[stream.rxCounter] += received;
  return received + sent;
}

function setStreamMacs(stream: Stream, count: number): void {
  setMacs(stream.batch, count, stream.rewrite as MacRewrite);
}

function swapStreamMacs(stream: Stream, count: number): void {
  swapMacs(stream.batch, count);
}

function receiveOnly(stream: Stream): number {
  const received = stream.rxPort.rxBurst(stream.rxQueue, batch);
  if (received === 0) return 0;
  counters[stream.rxCounter] += received;
  batch.free();
  return received;
}

function transmitOnly(stream: Stream): number {
  if ((pool as Mempool).alloc(batch, loop.burst, stream.packet as Uint8Array) === 0) return 0;
  return send(stream);
}

const step = {
  io: (stream: Stream) => forward(stream, undefined),
  mac: (stream: Stream) => forward(stream, setStreamMacs),
  macswap: (stream: Stream) => forward(stream, swapStreamMacs),
  rxonly: receiveOnly,
  txonly: transmitOnly,
}[mode];
// `running` is an atomic load: read it every few rounds, not every burst.
const roundsPerCheck = 16;
while (loop.running) {
  for (let round = 0; round < roundsPerCheck; round++) {
    let moved = 0;
    for (let s = 0; s < streams.length; s++) moved += step(streams[s]);
    // Nothing received or sent: with --yield-when-idle, give the CPU away.
    if (moved === 0) loop.idle();
  }
}
batch.close();
for (const stream of streams) {
  // Send what the last step received, so that every packet received is sent or dropped.
  const pending = stream.batch.count;
  if (pending > 0) {
    const sent = stream.txPort.txBurst(stream.txQueue, stream.batch);
    counters[stream.txCounter] += sent;
    counters[stream.droppedCounter] += pending - sent;
  }
  stream.batch.close();
}
