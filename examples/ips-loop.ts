/**
 * The forwarding loop of examples/ips.ts, on a pinned lcore worker thread: receive on the
 * input port, match each packet against the rules in place, then either forward the
 * packets no rule matched and free the others (inline), or count and free them all
 * (detect-only).
 */
import { isMainThread } from 'node:worker_threads';
import { Batch, LcoreContext, PacketFilter } from '../lib/index.js';

/** What examples/ips.ts hands the loop. */
export interface IpsLoopData {
  /** `inline` drops matching packets and forwards the rest; `detect` only counts. */
  mode: 'inline' | 'detect';
  /** The rules, as texts for PacketFilter. */
  rules: string[];
}

/** Counter names, in order: the totals, then one per rule. */
export function ipsCounterNames(ruleCount: number): string[] {
  return ['rx', 'passed', 'matched', 'txDropped', ...Array.from({ length: ruleCount }, (_, i) => `rule${i}`)];
}

function run(): void {
  const context = LcoreContext.attach();
  const { mode, rules } = context.data as IpsLoopData;
  const [input, output] = context.ports;
  const filter = new PacketFilter(rules);
  const counters = context.counters;
  const [rx, passed, matched, txDropped] = ['rx', 'passed', 'matched', 'txDropped'].map((name) => context.counterIndex(name));
  const firstRule = context.counterIndex('rule0');
  const batch = new Batch(32);
  while (context.running) {
    const n = input.rxBurst(0, batch);
    if (n === 0) continue;
    counters[rx] += n;
    for (let i = 0; i < n; i++) {
      const rule = filter.match(batch.dataView(i), batch.offsets[i], batch.lengths[i]);
      if (rule < 0) continue;
      counters[firstRule + rule] += 1;
      counters[matched] += 1;
      if (mode === 'inline') batch.drop(i);
    }
    if (mode === 'detect') {
      batch.free();
      continue;
    }
    const sent = output.txBurst(0, batch);
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
