// examples/testpmd.ts end to end, both engines, in the forwarding modes.
import t from 'tap';
import { uniquePrefix } from './helpers/dpdk.js';
import { startTestpmdExample } from './helpers/testpmd-example.js';

interface TestpmdSummary {
  ports: { port: number; rx: number; tx: number; txDropped: number }[];
  forwarded: number;
}

// examples/testpmd.ts on two net_null ports (rx makes packets, tx frees them), forwarding
// on lcore 1 (CPU 1) for a moment, in each mode and with both engines: what each port
// received, the other sent or dropped.
for (const engine of ['native', 'ts'] as const) {
  for (const mode of ['io', 'mac', 'macswap']) {
    t.test(`testpmd.ts --engine=${engine} --forward-mode=${mode}`, async (t) => {
      const testpmd = await startTestpmdExample(t, uniquePrefix(`ex-${engine}-${mode}`), [
        `--engine=${engine}`,
        `--forward-mode=${mode}`,
        '--stats-period=0',
        '--json',
      ]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      testpmd.child.kill('SIGTERM');
      t.equal(await testpmd.exited, 0, 'exits cleanly on SIGTERM');
      const summary = JSON.parse(
        testpmd
          .output()
          .split('\n')
          .find((line) => line.startsWith('{"app":"testpmd"')) ?? 'null',
      ) as TestpmdSummary;
      const [p0, p1] = summary.ports;
      t.ok(summary.forwarded > 0, `forwarded ${summary.forwarded}`);
      t.equal(p0.rx, p1.tx + p1.txDropped, 'port 0 received what port 1 sent or dropped');
      t.equal(p1.rx, p0.tx + p0.txDropped, 'port 1 received what port 0 sent or dropped');
    });
  }
}
