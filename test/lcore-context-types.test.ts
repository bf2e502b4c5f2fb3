// LcoreContext<Data>: a loop module types its data with LcoreContext.attach<Data>(). The
// type checks are compiled by tsc (npm run typecheck); at run time, attach() refuses the
// main thread before any of them matters.
import t from 'tap';
import { LcoreContext } from '../lib/index.js';

/** What a loop module would write; run here, attach() throws before the second line. */
function typedData(): void {
  const d: { n: number } = LcoreContext.attach<{ n: number }>().data;
  const context: LcoreContext<{ n: number }> = LcoreContext.attach<{ n: number }>();
  const n: number = context.data.n;
  // @ts-expect-error the data is typed: n is a number, not a string
  const s: string = LcoreContext.attach<{ n: number }>().data.n;
  // @ts-expect-error without a type argument the data is unknown, as before
  const m: number = LcoreContext.attach().data;
  const u: unknown = LcoreContext.attach().data;
  void [d, n, s, m, u];
}

t.test('LcoreContext.attach<Data>() types data, and refuses the main thread', async (t) => {
  t.throws(typedData, {
    name: 'DpdkError',
    code: 'ERR_LCORE_WORKER',
    operation: 'LcoreContext.attach',
    message: 'LcoreContext.attach() must run in a thread started by LcoreWorker.start()',
  });
});
