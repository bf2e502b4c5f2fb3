// The TLV table verbs (add-tlv-map, del-tlv-map, dump-tlv-map) and tun_metadata flows, run once
// with `ovs-ofctl -O OpenFlow13` on br0 and once with dpdk-ts on br1 of the same real ovs-vswitchd
// (dummy datapath): the same tables, the same text, the same refusals.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import type { DpdkError } from '../lib/errors.js';
import { formatFlowStats } from '../lib/ovs/openflow/format.js';
import { startOvsDummy, type OvsDummy } from './helpers/ovs-dummy.js';

const bin = join(__dirname, '..', 'bin', 'dpdk-ts-ovs.ts');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

let ovs: OvsDummy;
let client: OpenFlowClient;

function exec(command: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, OVS_RUNDIR: ovs.runDir } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const ofctl = (verb: string, ...args: string[]): Promise<Outcome> =>
  exec('ovs-ofctl', ['-O', 'OpenFlow13', verb, 'br0', ...args]);
const dts = (verb: string, ...args: string[]): Promise<Outcome> =>
  exec(process.execPath, ['--import', 'tsx', bin, '--rundir', ovs.runDir, verb, 'br1', ...args]);

/** Runs a verb with both tools; their exit statuses must agree (0, or both non-zero). */
async function both(verb: string, ...args: string[]): Promise<{ theirs: Outcome; ours: Outcome }> {
  const theirs = await ofctl(verb, ...args);
  const ours = await dts(verb, ...args);
  return { theirs, ours };
}

/** dump-tlv-map of both bridges: ovs-ofctl's text without its header line, and dpdk-ts's. */
async function tlvMaps(): Promise<{ theirs: string; ours: string }> {
  const { theirs, ours } = await both('dump-tlv-map');
  if (theirs.code !== 0 || ours.code !== 0) throw new Error(`${theirs.stderr}${ours.stderr}`);
  return { theirs: theirs.stdout.split('\n').slice(1).join('\n'), ours: ours.stdout };
}

/** The flows of a bridge as ovs-ofctl prints them, without durations and counters. */
async function flowLines(bridge: string): Promise<string[]> {
  const outcome = await exec('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', bridge]);
  return outcome.stdout
    .split('\n')
    .filter((line) => line.startsWith(' cookie='))
    .map((line) => line.replace(/duration=[\d.]+s, /, '').replace(/n_packets=\d+, n_bytes=\d+, /, ''));
}

const mappings =
  '{class=0xffff,type=0,len=4}->tun_metadata0,{class=0x102,type=0x80,len=8}->tun_metadata1,{class=7,type=010,len=124}->tun_metadata5';

t.before(async () => {
  ovs = await startOvsDummy();
  await ovs.addBridge('br0');
  await ovs.addBridge('br1', { portPrefix: 'q' });
  client = await OpenFlowClient.connect(ovs.mgmt('br1'));
});

t.teardown(async () => {
  await client?.close();
  await ovs?.stop();
});

t.beforeEach(async () => {
  for (const bridge of ['br0', 'br1']) {
    await exec('ovs-ofctl', ['-O', 'OpenFlow13', 'del-flows', bridge]);
    await exec('ovs-ofctl', ['-O', 'OpenFlow13', 'del-tlv-map', bridge]);
  }
});

t.test('an empty table dumps as ovs-ofctl dumps it', async (t) => {
  const { theirs, ours } = await tlvMaps();
  t.match(ours, /max option space=\d+ max fields=64\n allocated option space=0\n/);
  t.equal(ours, theirs);
});

t.test('add-tlv-map maps options as ovs-ofctl does; dump-tlv-map prints the same table', async (t) => {
  const { theirs, ours } = await both('add-tlv-map', mappings);
  t.same([theirs.code, ours.code], [0, 0], `${theirs.stderr}${ours.stderr}`);
  const maps = await tlvMaps();
  t.match(maps.ours, /allocated option space=136\n/);
  t.match(maps.ours, / {2}0x102 {2}0x80 {7}8 {2}tun_metadata1\n/);
  t.equal(maps.ours, maps.theirs);
  const table = await client.tlvTable();
  t.same(table.mappings[2], { optionClass: 7, optionType: 8, optionLength: 124, index: 5 });
});

t.test('a mapping of a field already mapped is refused as OVS refuses it', async (t) => {
  await both('add-tlv-map', mappings);
  const again = await both('add-tlv-map', '{class=0xffff,type=9,len=4}->tun_metadata0');
  t.not(again.theirs.code, 0);
  t.not(again.ours.code, 0);
  t.match(again.theirs.stderr, /NXTTMFC_ALREADY_MAPPED/);
  t.match(again.ours.stderr, /NXTTMFC_ALREADY_MAPPED \(the field is already mapped\)/);
  const duplicate = await both('add-tlv-map', '{class=0xffff,type=0,len=4}->tun_metadata9');
  t.match(duplicate.theirs.stderr, /NXTTMFC_DUP_ENTRY/);
  t.match(duplicate.ours.stderr, /NXTTMFC_DUP_ENTRY/);
  const badLength = await both('add-tlv-map', '{class=0xffff,type=3,len=3}->tun_metadata9');
  t.match(badLength.theirs.stderr, /NXTTMFC_BAD_OPT_LEN/);
  t.match(badLength.ours.stderr, /NXTTMFC_BAD_OPT_LEN/);
  const maps = await tlvMaps();
  t.equal(maps.ours, maps.theirs, 'the tables are unchanged and the same');
});

t.test('a mapping that does not parse is refused before the switch is asked', async (t) => {
  for (const text of ['{class=0xffff,type=0,len=4}->tun_metadata0 ', '{ class=1,type=0,len=4}->tun_metadata0', 'x']) {
    const { theirs, ours } = await both('add-tlv-map', text);
    t.match(theirs.stderr, /invalid tlv mapping/, text);
    t.match(ours.stderr, /invalid tlv mapping/, text);
  }
  const error = await client.tlvTableMod('add', [{ optionClass: 1, optionType: 0, optionLength: 4, index: -1 }]).then(
    () => undefined,
    (caught: unknown) => caught as DpdkError,
  );
  t.equal(error?.code, 'EINVAL');
  t.match(error?.message, /mappings\[0\]\.index must be an integer from 0 to 65535, got -1/);
});

t.test('del-tlv-map removes the given fields, or every mapping without one', async (t) => {
  await both('add-tlv-map', mappings);
  const some = await both('del-tlv-map', '{class=0xffff,type=0,len=4}->tun_metadata0');
  t.same([some.theirs.code, some.ours.code], [0, 0]);
  let maps = await tlvMaps();
  t.notMatch(maps.ours, /tun_metadata0/);
  t.match(maps.ours, /tun_metadata1/);
  t.equal(maps.ours, maps.theirs);
  const all = await both('del-tlv-map');
  t.same([all.theirs.code, all.ours.code], [0, 0]);
  maps = await tlvMaps();
  t.notMatch(maps.ours, /tun_metadata/);
  t.equal(maps.ours, maps.theirs);
});

t.test('tun_metadata flows install and dump as with ovs-ofctl, sized by the mapping', async (t) => {
  await both('add-tlv-map', mappings);
  const flows = [
    'priority=1,tun_metadata1=0xef/0xff,tun_metadata0=0xabcd,actions=drop',
    'priority=2,tun_metadata0=0x12345678/0xff,actions=set_field:0x55->tun_metadata1',
    'priority=3,tun_metadata5=0x1234567890abcdef1234,actions=load:1->tun_metadata0[8..15],move:tun_metadata1[0..31]->NXM_NX_REG0[]',
    'priority=4,tun_metadata0,actions=set_field:0xa/0xf->tun_metadata5',
  ];
  for (const flow of flows) {
    const theirs = await ofctl('add-flow', flow);
    t.equal(theirs.code, 0, theirs.stderr);
  }
  await client.addFlows(flows);
  const lines = await flowLines('br1');
  t.equal(lines.length, 4);
  t.same([...lines].sort(), (await flowLines('br0')).sort(), 'the switch holds the same flows');
  const own = (await client.flowStats()).map((flow) =>
    ` ${formatFlowStats(flow)}`.replace(/duration=[\d.]+s, /, '').replace(/n_packets=\d+, n_bytes=\d+, /, ''),
  );
  t.same(own.sort(), [...lines].sort(), "dpdk-ts's own dump reads as ovs-ofctl's");
});

t.test('a flow on an unmapped tun_metadata is refused as OVS refuses it', async (t) => {
  await both('add-tlv-map', mappings);
  for (const flow of ['tun_metadata2=0x1,actions=drop', 'actions=set_field:0x1->tun_metadata3']) {
    const { theirs, ours } = await both('add-flow', flow);
    t.match(theirs.stderr, /NXFMFC_INVALID_TLV_FIELD/, flow);
    t.not(ours.code, 0, flow);
    t.match(ours.stderr, /NXFMFC_INVALID_TLV_FIELD \(a tun_metadata field the TLV table does not map/, flow);
  }
  t.same(await flowLines('br1'), []);
});
