// The examples' --pcap (examples/app.ts startPcap), through examples/testpmd.ts: one file per
// port that tcpdump reads, and a path that cannot be written reported while forwarding goes on.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { socketDir, uniquePrefix } from './helpers/dpdk.js';
import { startTestpmdExample } from './helpers/testpmd-example.js';

/** Runs testpmd.ts on two net_null ports with `appArgs` for a moment; its exit code and output. */
async function testpmd(t: Test, tag: string, appArgs: string[]): Promise<{ code: number | null; output: string }> {
  const testpmd = await startTestpmdExample(t, uniquePrefix(tag), ['--stats-period=0', '--json', ...appArgs]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  testpmd.child.kill('SIGTERM');
  return { code: await testpmd.exited, output: testpmd.output() };
}

t.test('--pcap FILE --pcap-direction rx: a file per port, as many packets as it says', async (t) => {
  const dir = socketDir(t);
  const { code, output } = await testpmd(t, 'pcap-rx', ['--pcap', join(dir, 'run.pcapng'), '--pcap-direction', 'rx']);
  t.equal(code, 0, 'exits cleanly');
  for (const port of [0, 1]) {
    const path = join(dir, `run-port${port}.pcapng`);
    const said = new RegExp(`${path}: (\\d+) packet\\(s\\) captured`).exec(output);
    t.ok(said !== null, `it reports port ${port}'s capture`);
    // net_null receives at full rate: count tcpdump's lines rather than hold them.
    const count = Number(execFileSync('sh', ['-c', 'tcpdump -r "$0" -n -q | wc -l', path], { encoding: 'utf8' }));
    t.ok(count > 0, 'the port received packets');
    t.equal(count, Number(said?.[1]), `tcpdump reads the ${said?.[1]} packet(s) it captured`);
  }
});

t.test('--pcap in a missing directory: reported, and forwarding goes on', async (t) => {
  const path = join(socketDir(t), 'missing', 'run.pcapng');
  const { code, output } = await testpmd(t, 'pcap-bad', ['--pcap', path]);
  t.equal(code, 0, 'exits cleanly');
  t.match(
    output,
    `testpmd: Cannot open the capture file "${path.replace('.pcapng', '-port0.pcapng')}" for writing: No such file or directory`,
  );
  t.match(output, 'forwarding without capturing port 0');
  const summary = JSON.parse(output.split('\n').find((line) => line.startsWith('{"app":"testpmd"')) ?? 'null') as {
    forwarded: number;
  };
  t.ok(summary.forwarded > 0, `forwarded ${summary.forwarded}`);
  t.notOk(existsSync(path.replace('.pcapng', '-port0.pcapng')));
});
