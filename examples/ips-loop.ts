/**
 * The forwarding loop of examples/ips.ts, started by a Forwarder on a pinned worker thread: receive on the
 * input port, match each packet against the rules in place, then either forward the
 * packets no rule matched and free the others (inline), or count and free them all
 * (detect-only). Inline, it can rewrite the Ethernet addresses of what it forwards (an L3
 * hop returning packets to a router); detect-only, it can match the frame inside GRE (a
 * mirror's copies sent as GRE).
 */
import { isMainThread } from 'node:worker_threads';
import { Batch, ForwarderLoop, PacketFilter, greInnerOffset, macRewrite, setMacs } from '../lib/index.js';

/** What examples/ips.ts hands the loop. */
export interface IpsLoopData {
  /** `inline` drops matching packets and forwards the rest; `detect` only counts. */
  mode: 'inline' | 'detect';
  /** The rules, as texts for PacketFilter. */
  rules: string[];
  /** Inline: the destination and source MACs written into every packet forwarded. */
  macs?: { destination: string; source: string };
  /** Detect: match the Ethernet frame inside GRE; packets that are not GRE match no rule. */
  decap?: 'gre';
}

/**
 * The loop's counters besides its stream's (whose rx, tx and dropped are the packets
 * received, passed and refused by the output's tx queue): packets matched, then per rule.
 */
export function ipsCounterNames(ruleCount: number): string[] {
  return ['matched', ...Array.from({ length: ruleCount }, (_, i) => `rule${i}`)];
}

function run(): void {
  const loop = ForwarderLoop.attach();
  const { mode, rules, macs, decap } = loop.data as IpsLoopData;
  const rewrite = macs === undefined ? undefined : macRewrite(macs.destination, macs.source);
  // One stream: the input, and the output (the input itself in detect mode, which sends nothing).
  const [
    { rxPort: input, rxQueue, txPort: output, txQueue, rxCounter: rx, txCounter: passed, droppedCounter: txDropped },
  ] = loop.streams;
  const filter = new PacketFilter(rules);
  const counters = loop.counters;
  const matched = loop.counterIndex('matched');
  const firstRule = loop.counterIndex('rule0');
  const batch = new Batch(loop.burst);
  while (loop.running) {
    const n = input.rxBurst(rxQueue, batch);
    if (n === 0) {
      loop.idle();
      continue;
    }
    counters[rx] += n;
    if (rewrite !== undefined) setMacs(batch, n, rewrite);
    for (let i = 0; i < n; i++) {
      const view = batch.dataView(i);
      const offset = batch.offsets[i];
      const length = batch.lengths[i];
      let rule: number;
      if (decap === undefined) rule = filter.match(view, offset, length);
      else {
        const inner = greInnerOffset(view, offset, length);
        rule = inner < 0 ? -1 : filter.match(view, inner, length - (inner - offset));
      }
      if (rule < 0) continue;
      counters[firstRule + rule] += 1;
      counters[matched] += 1;
      if (mode === 'inline') batch.drop(i);
    }
    if (mode === 'detect') {
      batch.free();
      continue;
    }
    const sent = output.txBurst(txQueue, batch);
    counters[passed] += sent;
    if (batch.count > 0) {
      counters[txDropped] += batch.count;
      batch.free();
    }
  }
  batch.close();
}

// examples/ips.ts imports this module for its types and counter names; only the worker runs the loop.
if (!isMainThread) run();
