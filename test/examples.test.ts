// examples/testpmd.ts end to end, both engines, in the forwarding modes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { uniquePrefix, until } from './helpers/dpdk.js';

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
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(__dirname, '..', 'examples', 'testpmd.ts'),
          '--lcores',
          '0@0,1@1',
          '--no-huge',
          '-m',
          '256',
          '--no-pci',
          '--file-prefix',
          uniquePrefix(`ex-${engine}-${mode}`),
          '--vdev',
          'net_null0',
          '--vdev',
          'net_null1',
          '--',
          `--engine=${engine}`,
          `--forward-mode=${mode}`,
          '--stats-period=0',
          '--json',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      t.teardown(() => {
        child.kill('SIGKILL');
      });
      t.ok(await until(() => /Forwarding until SIGINT/.test(output), 20000), 'forwarding');
      await new Promise((resolve) => setTimeout(resolve, 500));
      child.kill('SIGTERM');
      t.equal(await exited, 0, 'exits cleanly on SIGTERM');
      const summary = JSON.parse(
        output.split('\n').find((line) => line.startsWith('{"app":"testpmd"')) ?? 'null',
      ) as TestpmdSummary;
      const [p0, p1] = summary.ports;
      t.ok(summary.forwarded > 0, `forwarded ${summary.forwarded}`);
      t.equal(p0.rx, p1.tx + p1.txDropped, 'port 0 received what port 1 sent or dropped');
      t.equal(p1.rx, p0.tx + p0.txDropped, 'port 1 received what port 0 sent or dropped');
    });
  }
}
