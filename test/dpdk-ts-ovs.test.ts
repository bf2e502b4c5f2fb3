// dpdk-ts-ovs, the CLI: the reference setup's ovs-vsctl and ovs-ofctl lines run with it
// against a sandbox, and bad command lines.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { startOvsDummy } from './helpers/ovs-dummy.js';

const run = promisify(execFile);
const bin = join(__dirname, '..', 'bin', 'dpdk-ts-ovs.ts');

// The reference setup's shell script, line by line, with dpdk-ts-ovs in place of
// ovs-vsctl and ovs-ofctl; the real tools read back what it did.
t.test('the reference setup, replaced line by line', async (t) => {
  const sandbox = await OvsSandbox.start({ vswitchd: 'dummy' });
  t.teardown(() => sandbox.stop());
  const ovs = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, ['--import', 'tsx', bin, '--rundir', sandbox.runDir, ...args], { env: sandbox.env }))
      .stdout;
  const vsctl = async (...args: string[]): Promise<string> =>
    (await run('ovs-vsctl', [`--db=unix:${sandbox.dbSocketPath}`, ...args], { env: sandbox.env })).stdout;

  await ovs('add-br', 'ovs-br0', 'datapath_type=dummy');
  for (let n = 0; n < 4; n++) {
    await ovs('add-port', 'ovs-br0', `vhost-user${n}`, 'type=dummy', `ofport_request=${n + 1}`);
  }
  t.equal(await vsctl('list-ports', 'ovs-br0'), 'vhost-user0\nvhost-user1\nvhost-user2\nvhost-user3\n');
  t.equal(await ovs('show'), await vsctl('show'), 'show prints what ovs-vsctl show prints');
  t.equal((await ovs('get', 'Interface', 'vhost-user2', 'ofport')).trim(), '3');

  for (const flow of [
    'in_port=2,dl_type=0x800,idle_timeout=0,action=output:3',
    'in_port=3,dl_type=0x800,idle_timeout=0,action=output:2',
    'in_port=1,dl_type=0x800,idle_timeout=0,action=output:4',
    'in_port=4,dl_type=0x800,idle_timeout=0,action=output:1',
  ]) {
    await ovs('add-flow', 'ovs-br0', flow);
  }
  const ofctl = (
    await run('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', `unix:${join(sandbox.runDir, 'ovs-br0.mgmt')}`], {
      env: sandbox.env,
    })
  ).stdout;
  const strip = (text: string): string[] =>
    text
      .split('\n')
      .filter((line) => line.includes('cookie='))
      .map((line) => line.replace(/duration=[\d.]+s, /, ''))
      .sort();
  t.same(strip(await ovs('dump-flows', 'ovs-br0')), strip(ofctl), 'dump-flows reads like ovs-ofctl');
  t.match(ofctl, /ip,in_port=2 actions=output:3/);
  const ofctlNames = (
    await run(
      'ovs-ofctl',
      ['-O', 'OpenFlow13', '--names', 'dump-flows', `unix:${join(sandbox.runDir, 'ovs-br0.mgmt')}`],
      {
        env: sandbox.env,
      },
    )
  ).stdout;
  t.same(strip(await ovs('--names', 'dump-flows', 'ovs-br0')), strip(ofctlNames), 'dump-flows --names too');
  t.match(
    ofctlNames,
    /ip,in_port="vhost-user1" actions=output:"vhost-user2"|ip,in_port=vhost-user1 actions=output:vhost-user2/,
  );
  await ovs('--strict', 'del-flows', 'ovs-br0', 'in_port=2,dl_type=0x800');
  const left = strip(await ovs('dump-flows', 'ovs-br0'));
  t.equal(left.length, 4, "three reference flows and the bridge's default NORMAL flow remain");
  t.notOk(
    left.some((line) => line.includes('in_port=2')),
    'the strict delete removed in_port=2',
  );
  await ovs('del-port', 'ovs-br0', 'vhost-user3');
  await ovs('del-br', 'ovs-br0');
  t.equal(await vsctl('list-br'), '');
});

// ovs-ofctl add-flows sends the flows in order and stops at the first the switch refuses
// (here: a group that does not exist), keeping those before it; with --bundle, all or none.
t.test('add-flows keeps the accepted flows as ovs-ofctl does; --bundle installs all or none', async (t) => {
  const sandbox = await OvsSandbox.start({ vswitchd: 'dummy' });
  t.teardown(() => sandbox.stop());
  const dir = mkdtempSync(join(tmpdir(), 'dts-flows-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'flows.txt');
  writeFileSync(file, 'priority=10,actions=drop\npriority=20,actions=group:7\npriority=30,actions=drop\n');
  const mgmt = (bridge: string): string => `unix:${join(sandbox.runDir, `${bridge}.mgmt`)}`;
  const priorities = async (bridge: string): Promise<string[]> =>
    (await run('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', mgmt(bridge)], { env: sandbox.env })).stdout
      .split('\n')
      .flatMap((line) => /priority=(\d+)/.exec(line)?.[1] ?? [])
      .sort();
  const outcome = (command: string, args: string[]): Promise<number> =>
    run(command, args, { env: sandbox.env }).then(
      () => 0,
      (error: { code: number }) => error.code,
    );
  const ovs = ['--import', 'tsx', bin, '--rundir', sandbox.runDir];
  for (const bridge of ['by-ofctl', 'by-dts', 'bundled']) {
    await run(
      'ovs-vsctl',
      [`--db=unix:${sandbox.dbSocketPath}`, 'add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=dummy'],
      {
        env: sandbox.env,
      },
    );
    await run('ovs-ofctl', ['-O', 'OpenFlow13', 'del-flows', mgmt(bridge)], { env: sandbox.env });
  }
  t.not(await outcome('ovs-ofctl', ['-O', 'OpenFlow13', 'add-flows', mgmt('by-ofctl'), file]), 0, 'ovs-ofctl fails');
  t.not(await outcome(process.execPath, [...ovs, 'add-flows', 'by-dts', file]), 0, 'dpdk-ts-ovs fails');
  t.same(await priorities('by-dts'), await priorities('by-ofctl'), 'and leaves what ovs-ofctl leaves');
  t.same(await priorities('by-dts'), ['10'], 'the flows before the refused one');
  t.not(
    await outcome(process.execPath, [...ovs, '--bundle', 'add-flows', 'bundled', file]),
    0,
    'with --bundle it fails',
  );
  t.same(await priorities('bundled'), [], 'and installs nothing');
});

/**
 * dump-flows output with what changes from one dump to the next masked: `duration=`, and in a
 * hex dump each flow's duration (bytes 4-11 of each entry), hex digits and ASCII column alike.
 * The `OFPST_FLOW reply` headers and their xids stay: dpdk-ts-ovs prints them as ovs-ofctl does.
 */
function comparableDump(text: string): string[] {
  const lines = text.split('\n').filter((line) => line !== '');
  const isHex = (line: string | undefined): boolean => line !== undefined && /^[0-9a-f]{8} {2}/.test(line);
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    if (!isHex(lines[i])) {
      out.push(lines[i++]!.replace(/duration=[\d.]+s, /, ''));
      continue;
    }
    const block: string[] = [];
    while (isHex(lines[i])) block.push(lines[i++]!);
    const bytes = Buffer.from(block.map((line) => line.slice(10, 58).replace(/[ -]/g, '')).join(''), 'hex');
    const masked = new Set<number>();
    for (
      let entry = 16;
      entry + 2 <= bytes.length && bytes.readUInt16BE(entry) > 0;
      entry += bytes.readUInt16BE(entry)
    ) {
      for (let k = 4; k < 12; k++) masked.add(entry + k);
    }
    block.forEach((line, row) => {
      const chars = [...line];
      for (let k = 0; k < 16; k++) {
        if (masked.has(row * 16 + k) && row * 16 + k < bytes.length) {
          chars[10 + 3 * k] = chars[11 + 3 * k] = chars[59 + k] = '.';
        }
      }
      out.push(chars.join(''));
    });
  }
  return out;
}

// ovs-ofctl 3.1 cannot decode debug_recirc and debug_slow (ovs-vswitchd takes them with
// --enable-dummy): it prints the flows before one, a decode error and the whole reply
// message in hex, then the other reply messages as usual; dpdk-ts-ovs prints the same.
t.test('dump-flows prints what ovs-ofctl prints for flows it cannot decode', async (t) => {
  const ovs = await startOvsDummy();
  t.teardown(() => ovs.stop());
  await ovs.addBridge('br0');
  const dts = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, ['--import', 'tsx', bin, '--rundir', ovs.runDir, ...args])).stdout;
  const dir = mkdtempSync(join(tmpdir(), 'dts-debug-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  await ovs.ofctl('del-flows', 'br0');
  t.same(
    comparableDump(await dts('dump-flows', 'br0')),
    comparableDump(await ovs.ofctl('dump-flows', 'br0')),
    'no flows: the same header line, xid included',
  );
  await ovs.ofctl('add-flow', 'br0', 'in_port=2,actions=output:3');
  await ovs.ofctl('add-flow', 'br0', 'priority=7,ip,actions=drop');
  t.same(
    comparableDump(await dts('dump-flows', 'br0')),
    comparableDump(await ovs.ofctl('dump-flows', 'br0')),
    'decodable flows: the same text, header included',
  );
  await ovs.ofctl('del-flows', 'br0');
  await ovs.ofctl('add-flow', 'br0', 'in_port=1,actions=debug_recirc');
  await ovs.ofctl('add-flow', 'br0', 'in_port=2,actions=output:3');
  const theirs = await ovs.ofctl('dump-flows', 'br0');
  t.match(theirs, /\*\*\*decode error: OFPBAC_BAD_VENDOR_TYPE\*\*\*$/m, 'ovs-ofctl cannot decode debug_recirc');
  t.same(comparableDump(await dts('dump-flows', 'br0')), comparableDump(theirs), 'one reply message: the same text');
  const client = await OpenFlowClient.connect(ovs.mgmt('br0'));
  const dump = await client.dumpFlows(undefined, { names: false });
  await client.close();
  t.ok(
    dump.flows.some((flow) => JSON.stringify(flow.instructions).includes('debug_recirc')),
    'the library still decodes the flow',
  );
  t.ok(
    dump.lines.some((line) => line.endsWith('in_port=1 actions=debug_recirc')),
    'and formats it',
  );

  // Enough flows for several reply messages, one holding a debug_slow flow.
  const file = join(dir, 'flows.txt');
  const flows = Array.from({ length: 1500 }, (_, i) => `priority=${100 + i},tcp,tp_dst=${i},actions=output:2`);
  writeFileSync(file, [...flows, 'priority=5,in_port=3,actions=debug_slow'].join('\n') + '\n');
  await ovs.ofctl('add-flows', 'br0', file);
  const many = await ovs.ofctl('dump-flows', 'br0');
  t.ok(many.split('\n').filter((line) => line.startsWith('OFPST_FLOW reply')).length > 1, 'several reply messages');
  const ours = comparableDump(await dts('dump-flows', 'br0'));
  t.same(ours, comparableDump(many), 'several reply messages: the same text');
  t.ok(ours.filter((line) => line.startsWith(' cookie=')).length > 100, 'the flows of the other messages printed');
});

t.test('bad command lines', async (t) => {
  const fails = async (args: string[], message: RegExp): Promise<void> => {
    const error = await run(process.execPath, ['--import', 'tsx', bin, ...args]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    t.equal(error?.code, 2, args.join(' '));
    t.match(error?.stderr, message);
  };
  await fails(['--bogus', 'show'], /unknown option "--bogus"/);
  await fails(['frobnicate'], /unknown verb "frobnicate"/);
  await fails(['add-flow'], /add-flow needs a SWITCH/);
  await fails(['--names', 'add-flow', 'br0', 'actions=drop'], /--names applies only to dump-flows/);
  await fails(['--bundle', 'dump-flows', 'br0'], /--bundle applies only to add-flow, add-flows and replace-flows/);
  await fails(['--timeout', 'soon', 'show'], /--timeout must be a positive number of milliseconds/);
  const help = await run(process.execPath, ['--import', 'tsx', bin, '--help']);
  t.match(help.stdout, /add-port \[--may-exist\] BR PORT/);
  t.match(help.stdout, /add-flow SWITCH FLOW/);
});
