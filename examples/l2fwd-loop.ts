/**
 * The TypeScript forwarding loop of examples/l2fwd.ts (`--engine ts`), started by a
 * Forwarder: receives bursts on each rx port it owns and sends them to the port's l2fwd
 * peer, rewriting MAC addresses as DPDK's l2fwd does (source: the tx port's MAC,
 * destination: 02:00:00:00:00:<tx port id>). One reusable Batch, no allocation per packet
 * or burst.
 */
import { Batch, ForwarderLoop, macRewrite, setMacs } from '../lib/index.js';

/** What examples/l2fwd.ts hands the loop (`LoopForwarderOptions.data`). */
export interface L2fwdLoopData {
  /** Rewrite the MAC addresses (l2fwd's default), or forward packets untouched. */
  macUpdating: boolean;
}

const loop = ForwarderLoop.attach();
const { macUpdating } = loop.data as L2fwdLoopData;
const counters = loop.counters;
const streams = loop.streams.map((stream) => ({
  ...stream,
  rewrite: macRewrite(`02:00:00:00:00:${(stream.txPort.id & 0xff).toString(16).padStart(2, '0')}`, stream.txPort.mac),
}));
const batch = new Batch(loop.burst);

while (loop.running) {
  let moved = 0;
  for (let s = 0; s < streams.length; s++) {
    const stream = streams[s];
    const received = stream.rxPort.rxBurst(stream.rxQueue, batch);
    if (received === 0) continue;
    moved += received;
    counters[stream.rxCounter] += received;
    if (macUpdating) setMacs(batch, received, stream.rewrite);
    counters[stream.txCounter] += stream.txPort.txBurst(stream.txQueue, batch);
    const unsent = batch.count;
    if (unsent > 0) {
      counters[stream.droppedCounter] += unsent;
      moved -= unsent;
      batch.free();
    }
  }
  // Nothing moved (or a full tx queue refused it): with --yield-when-idle, give the CPU away.
  if (moved <= 0) loop.idle();
}
batch.close();
