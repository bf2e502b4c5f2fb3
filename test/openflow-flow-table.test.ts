// OpenFlowClient's flow verbs (addFlows, modifyFlows, deleteFlows, dumpFlows) against a real
// ovs-vswitchd (dummy datapath), checked against what ovs-ofctl installs and prints.
import t from 'tap';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import { startOvsDummy, type OvsDummy } from './helpers/ovs-dummy.js';

/** The reference setup's flows, by port name. */
const byName = (prefix: string): string[] => [
  `in_port=${prefix}2,dl_type=0x800,idle_timeout=0,action=output:${prefix}3`,
  `in_port=${prefix}3,dl_type=0x800,idle_timeout=0,action=output:${prefix}2`,
  `in_port=${prefix}1,dl_type=0x800,idle_timeout=0,action=output:${prefix}4`,
  `priority=7,in_port=${prefix}4,udp,tp_dst=53,actions=mod_dl_dst:00:00:00:00:00:02,output:${prefix}1,output:LOCAL`,
];

/** ovs-ofctl's dump lines without the header, the leading space and the durations, sorted. */
function ofctlLines(text: string): string[] {
  return normalize(text.split('\n').filter((line) => line.startsWith(' cookie=')));
}

function normalize(lines: string[]): string[] {
  return lines.map((line) => line.trim().replace(/duration=[\d.]+s/, 'duration=X')).sort();
}

let ovs: OvsDummy;
let client: OpenFlowClient;

t.before(async () => {
  ovs = await startOvsDummy();
  await ovs.addBridge('br0');
  await ovs.addBridge('br1', { portPrefix: 'q' });
  await ovs.addBridge('br2', { portPrefix: '9x', ports: 2 });
  client = await OpenFlowClient.connect(ovs.mgmt('br0'));
});

t.teardown(async () => {
  await client?.close();
  await ovs?.stop();
});

t.beforeEach(async () => {
  await ovs.ofctl('del-flows', 'br0');
  await ovs.ofctl('del-flows', 'br1');
});

t.test('addFlows with port names installs what ovs-ofctl add-flow installs', async (t) => {
  await client.addFlows(byName('p'));
  for (const flow of byName('q')) await ovs.ofctl('add-flow', 'br1', flow);
  const ours = ofctlLines(await ovs.ofctl('dump-flows', 'br0'));
  t.equal(ours.length, 4);
  t.same(ours, ofctlLines(await ovs.ofctl('dump-flows', 'br1')), 'same flows, port numbers alike');
  t.ok(ours.includes('cookie=0x0, duration=X, table=0, n_packets=0, n_bytes=0, ip,in_port=2 actions=output:3'));
});

t.test('addFlows takes a single flow string', async (t) => {
  await client.addFlows('in_port=p1,actions=output:p2');
  t.same(ofctlLines(await ovs.ofctl('dump-flows', 'br0')), [
    'cookie=0x0, duration=X, table=0, n_packets=0, n_bytes=0, in_port=1 actions=output:2',
  ]);
});

t.test('dumpFlows prints what ovs-ofctl --names dump-flows prints, and --no-names with names: false', async (t) => {
  await client.addFlows(byName('p'));
  const dump = await client.dumpFlows();
  t.equal(dump.flows.length, 4);
  t.same(normalize(dump.lines), ofctlLines(await ovs.ofctl('dump-flows', 'br0', '--names')), 'as --names');
  t.ok(
    normalize(dump.lines).includes(
      'cookie=0x0, duration=X, table=0, n_packets=0, n_bytes=0, ip,in_port=p2 actions=output:p3',
    ),
  );
  const numbers = await client.dumpFlows(undefined, { names: false });
  t.same(normalize(numbers.lines), ofctlLines(await ovs.ofctl('dump-flows', 'br0')), 'as --no-names');
  const filtered = await client.dumpFlows('in_port=p4');
  t.equal(filtered.lines.length, 1);
  t.match(
    filtered.lines[0],
    /priority=7,udp,in_port=p4,tp_dst=53 actions=set_field:00:00:00:00:00:02->eth_dst,output:p1,LOCAL$/,
  );
  t.same(filtered.flows[0]?.match.inPort, 4, 'the structured flows keep port numbers');
});

t.test('port names ovs-ofctl quotes are printed quoted and read back quoted or bare', async (t) => {
  const other = await OpenFlowClient.connect(ovs.mgmt('br2'));
  t.teardown(() => other.close());
  await other.deleteFlows();
  await other.addFlows(['in_port="9x1",actions=output:9x2', 'in_port=9x2,actions=output:"9x1"']);
  const lines = normalize((await other.dumpFlows()).lines);
  t.same(lines, ofctlLines(await ovs.ofctl('dump-flows', 'br2', '--names')));
  t.ok(lines.includes('cookie=0x0, duration=X, table=0, n_packets=0, n_bytes=0, in_port="9x1" actions=output:"9x2"'));
});

t.test('a flow the switch refuses fails the whole batch: nothing is installed, the error names it', async (t) => {
  const flows = ['priority=1,in_port=p1,actions=output:p2', 'in_port=p1,actions=group:7', 'in_port=p2,actions=drop'];
  const error = await client.addFlows(flows).catch((caught: unknown) => caught);
  t.match(error, {
    code: 'ERR_OPENFLOW',
    operation: 'addFlows',
    flowIndex: 1,
    flow: 'in_port=p1,actions=group:7',
    openflowError: { typeName: 'OFPET_BAD_ACTION', codeName: 'OFPBAC_BAD_OUT_GROUP' },
  });
  t.equal(
    (error as Error).message,
    `${ovs.mgmt('br0')} rejected flow 2 of 3 "in_port=p1,actions=group:7": OFPET_BAD_ACTION OFPBAC_BAD_OUT_GROUP (no such group); none of the flows was installed`,
  );
  t.same(ofctlLines(await ovs.ofctl('dump-flows', 'br0')), [], 'nothing installed');
  await client.addFlows(flows.filter((_flow, index) => index !== 1));
  t.equal(ofctlLines(await ovs.ofctl('dump-flows', 'br0')).length, 2, 'the connection is usable after the discard');
});

t.test('a flow that fails only at commit also leaves nothing installed', async (t) => {
  // The switch checks overlaps when the bundle commits, not when a flow is added to it.
  await ovs.ofctl('add-flow', 'br0', 'priority=5,in_port=1,actions=drop');
  const before = ofctlLines(await ovs.ofctl('dump-flows', 'br0'));
  const flows = ['priority=6,in_port=p2,actions=drop', 'check_overlap,priority=5,ip,actions=output:p2'];
  await t.rejects(client.addFlows(flows), {
    code: 'ERR_OPENFLOW',
    flowIndex: 1,
    message:
      /rejected flow 2 of 2 "check_overlap,priority=5,ip,actions=output:p2": OFPET_FLOW_MOD_FAILED OFPFMFC_OVERLAP.*; none of the flows was installed$/,
  });
  t.same(ofctlLines(await ovs.ofctl('dump-flows', 'br0')), before, 'only the flow from before');
});

t.test('atomic: false sends the flows one by one, stops at the refused one and says which', async (t) => {
  const flows = ['priority=1,in_port=p1,actions=output:p2', 'in_port=p1,actions=group:7', 'in_port=p2,actions=drop'];
  await t.rejects(client.addFlows(flows, { atomic: false }), {
    code: 'ERR_OPENFLOW',
    flowIndex: 1,
    message:
      /rejected flow 2 of 3 "in_port=p1,actions=group:7": .*; the flows before it stay installed, none after it was sent$/,
  });
  t.match(
    ofctlLines(await ovs.ofctl('dump-flows', 'br0')),
    [/priority=1,in_port=1 actions=output:2$/],
    'the flow before it only',
  );
});

t.test('an unknown port name is refused before anything is sent, listing the ports', async (t) => {
  const error = await client
    .addFlows(['in_port=p1,actions=output:p2', 'in_port=p9,actions=output:p2'])
    .catch((caught: unknown) => caught);
  t.match(error, { code: 'EINVAL', operation: 'addFlows', flowIndex: 1, flow: 'in_port=p9,actions=output:p2' });
  t.match(
    (error as Error).message,
    /^flow 2 of 2: unknown port "p9" in in_port=p9; expected a port number, a reserved port \(.*\) or a port of the bridge: (br0|p1|p2|p3|p4)(, (br0|p1|p2|p3|p4)){4} \(in flow "in_port=p9,actions=output:p2"\)$/,
  );
  await t.rejects(client.addFlows('in_port=1,actions=output:nope'), {
    code: 'EINVAL',
    message: /^unknown port "nope" in output:nope;/,
  });
  t.same(ofctlLines(await ovs.ofctl('dump-flows', 'br0')), []);
});

t.test('modifyFlows and deleteFlows take port names, strict or not', async (t) => {
  await client.addFlows(['priority=10,in_port=p2,actions=drop', 'priority=20,in_port=p2,ip,actions=drop']);
  await client.modifyFlows('priority=10,in_port=p2,actions=output:p4', { strict: true });
  const actions = async (): Promise<string[]> =>
    (await client.dumpFlows()).lines.map((line) => line.replace(/^.*n_bytes=0, /, '')).sort();
  t.same(await actions(), ['priority=10,in_port=p2 actions=output:p4', 'priority=20,ip,in_port=p2 actions=drop']);
  await client.deleteFlows('priority=10,in_port=p2', { strict: true });
  t.same(await actions(), ['priority=20,ip,in_port=p2 actions=drop']);
  await client.deleteFlows('in_port=p2');
  t.same(await actions(), []);
  await client.addFlows('in_port=p3,actions=drop');
  await client.deleteFlows();
  t.same(await actions(), []);
});

t.test('bad arguments are refused with EINVAL', async (t) => {
  await t.rejects(client.addFlows([]), {
    code: 'EINVAL',
    message: 'flows must be a flow string or a non-empty array of flow strings, got []',
  });
  await t.rejects(client.dumpFlows(undefined, { names: 'yes' } as never), {
    code: 'EINVAL',
    message: 'names must be true or false, got "yes"',
  });
  await t.rejects(client.addFlows('actions=drop', { strict: true } as never), {
    code: 'EINVAL',
    message: /^Unknown option "strict" for addFlows/,
  });
});
