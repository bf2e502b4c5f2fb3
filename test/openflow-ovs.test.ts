// The OpenFlow client and the flow CLI verbs against a real ovs-vswitchd (dummy datapath): flows
// added, dumped and deleted, the switch's refusals decoded, version negotiation refused.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import t from 'tap';
import { runFlowCommand } from '../bin/ovs-flow-commands.js';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import { openflowErrorOf } from '../lib/ovs/openflow/client-options.js';
import { parseFlowMod } from '../lib/ovs/openflow/flow-syntax.js';
import { formatFlowStats } from '../lib/ovs/openflow/format.js';
import { DpdkError } from '../lib/errors.js';
import { startOvsDummy, type OvsDummy } from './helpers/ovs-dummy.js';

/** Flows in the syntax used in practice; each must read back from ovs-ofctl as we print it. */
const sampleFlows = [
  'in_port=2,dl_type=0x800,idle_timeout=0,action=output:3',
  'priority=100,cookie=0x12,in_port=1,dl_vlan=10,dl_vlan_pcp=3,dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,dl_dst=aa:bb:cc:dd:ee:ff,' +
    'udp,nw_src=10.0.0.0/24,nw_dst=10.1.0.0/255.255.0.255,tp_dst=53,tp_src=0x10/0xf0,idle_timeout=30,hard_timeout=60,send_flow_rem,' +
    'actions=mod_dl_dst:00:00:00:00:00:02,mod_dl_src:00:00:00:00:00:01,strip_vlan,push_vlan:0x8100,mod_vlan_vid:7,mod_vlan_pcp:2,' +
    'output:3,CONTROLLER,LOCAL,IN_PORT,controller:128',
  'table=1,tcp,tp_dst=80,actions=normal',
  'table=1,arp,arp_op=1,nw_src=1.1.1.1,actions=drop',
  'table=2,priority=6,nw_proto=17,ip,actions=write_actions(output:2),goto_table:3',
  'table=2,priority=7,dl_vlan=0xffff,actions=flood,all',
  'table=3,tcp,actions=mod_nw_src:1.2.3.4,set_field:5.6.7.8->ip_dst,mod_tp_src:80,set_field:81->tcp_dst,mod_nw_tos:8,dec_ttl',
  'table=3,icmp,icmp_type=8,icmp_code=0,metadata=0x5,actions=set_field:0x2->metadata,clear_actions,write_metadata:0x1/0xff,goto_table:4',
  'table=3,vlan_tci=0x1000/0x1000,nw_tos=4,ip,actions=',
  'table=4,dl_vlan_pcp=5,actions=pop_vlan,output:2',
  'priority=5,dl_type=0x86dd,actions=output:1',
  'priority=6,tcp6,ipv6_src=2001:db8::/32,ipv6_dst=fe80::1:2/ffff:ffff::ffff,tp_dst=443,actions=set_field:2001:db8::7->ipv6_dst,output:2',
  'priority=7,icmp6,icmp_type=135,ipv6_dst=::ffff:10.0.0.1,actions=output:3',
  'cookie=0xabc,ip,nw_dst=192.168.1.1,actions=output:4,output:1',
  'priority=9,eth_type=0x0800,ip_proto=6,tcp_dst=0x1000/0xf000,eth_src=02:00:00:00:00:01,actions=set_field:02:00:00:00:00:09->eth_dst,output:2',
];

const referenceByNumber = [
  'in_port=2,dl_type=0x800,idle_timeout=0,action=output:3',
  'in_port=3,dl_type=0x800,idle_timeout=0,action=output:2',
  'in_port=1,dl_type=0x800,idle_timeout=0,action=output:4',
  'in_port=4,dl_type=0x800,idle_timeout=0,action=output:1',
];
const referenceByName = referenceByNumber.map((flow) =>
  flow.replace(/in_port=(\d)/, 'in_port=p$1').replace(/output:(\d)/, 'output:p$1'),
);

/** Dump lines without the header and with durations blanked, sorted: comparable across tools and runs. */
function normalize(lines: string[]): string[] {
  return lines
    .filter((line) => line !== '' && !line.startsWith('OFPST_'))
    .map((line) => line.replace(/duration=[\d.]+s/, 'duration=X'))
    .sort();
}

async function dumpWithClient(target: string, verb = 'dump-flows', args: string[] = []): Promise<string[]> {
  const lines: string[] = [];
  await runFlowCommand(verb, args, { target }, (line) => lines.push(line));
  return lines;
}

let ovs: OvsDummy;

t.before(async () => {
  ovs = await startOvsDummy();
  await ovs.addBridge('br0');
  await ovs.addBridge('br1', { portPrefix: 'q' });
});

t.teardown(async () => {
  await ovs?.stop();
});

t.test('connects, negotiates OpenFlow 1.3, reads features, echo and barrier', async (t) => {
  const client = await OpenFlowClient.connect(ovs.mgmt('br0'));
  t.teardown(() => client.close());
  t.equal(client.features.nTables, 254);
  t.same(await client.echo(Buffer.from('ping')), Buffer.from('ping'));
  await client.barrier();
  await client.close();
  await t.rejects(client.barrier(), { code: 'ERR_CLOSED' });
});

t.test('flows added by the client read back from ovs-ofctl exactly as the client prints them', async (t) => {
  await ovs.ofctl('del-flows', 'br0');
  for (const flow of sampleFlows) {
    await runFlowCommand('add-flow', [flow], { target: ovs.mgmt('br0') }, () => undefined);
  }
  const ours = normalize(await dumpWithClient(ovs.mgmt('br0')));
  const theirs = normalize((await ovs.ofctl('dump-flows', 'br0')).split('\n'));
  t.equal(ours.length, sampleFlows.length);
  t.same(ours, theirs);
  t.ok(theirs.includes(' cookie=0x0, duration=X, table=0, n_packets=0, n_bytes=0, ip,in_port=2 actions=output:3'));
});

t.test('flows added by ovs-ofctl are seen by the client, identically to ours', async (t) => {
  await ovs.ofctl('del-flows', 'br1');
  for (const flow of sampleFlows) {
    await ovs.ofctl('add-flow', 'br1', flow);
  }
  const client = await OpenFlowClient.connect(ovs.mgmt('br1'));
  t.teardown(() => client.close());
  const flows = await client.flowStats();
  t.equal(flows.length, sampleFlows.length);
  const fromOfctl = normalize(flows.map((flow) => ` ${formatFlowStats(flow)}`));
  t.same(fromOfctl, normalize(await dumpWithClient(ovs.mgmt('br0'))), 'same flows whoever added them');
  const reference = flows.find((flow) => flow.match.inPort === 2 && flow.tableId === 0);
  t.same(reference?.match, { inPort: 2, ethType: 0x0800 });
  t.same(reference?.instructions, [{ type: 'apply_actions', actions: [{ type: 'output', port: 3, maxLength: 0 }] }]);
});

t.test('the reference setup: four flows by port number and by port name', async (t) => {
  const target = ovs.mgmt('br0');
  await runFlowCommand('del-flows', [], { target }, () => undefined);
  for (const flow of referenceByNumber) {
    await runFlowCommand('add-flow', [flow], { target }, () => undefined);
  }
  const byNumber = normalize(await dumpWithClient(target));
  t.equal(byNumber.length, 4);
  t.same(byNumber, normalize((await ovs.ofctl('dump-flows', 'br0')).split('\n')));
  await runFlowCommand('del-flows', [], { target }, () => undefined);
  const file = `${ovs.runDir}/reference.flows`;
  await writeFile(file, `# the reference setup, by port name\n${referenceByName.join('\n')}\n\n`);
  await runFlowCommand('add-flows', [file], { target }, () => undefined);
  t.same(normalize(await dumpWithClient(target)), byNumber, 'names resolve to the same ports');
  const filtered = normalize(await dumpWithClient(target, 'dump-flows', ['in_port=p3']));
  t.equal(filtered.length, 1);
  t.match(filtered[0], /ip,in_port=3 actions=output:2$/);
});

t.test('mod-flows and del-flows, strict and not', async (t) => {
  const target = ovs.mgmt('br0');
  await runFlowCommand('del-flows', [], { target }, () => undefined);
  for (const flow of [
    'priority=10,in_port=2,actions=drop',
    'priority=20,in_port=2,ip,actions=drop',
    'priority=10,in_port=3,actions=drop',
  ]) {
    await runFlowCommand('add-flow', [flow], { target }, () => undefined);
  }
  await runFlowCommand(
    'mod-flows',
    ['priority=10,in_port=2,actions=output:4'],
    { target, strict: true },
    () => undefined,
  );
  let flows = normalize(await dumpWithClient(target)).map((line) => line.replace(/^.*n_bytes=0, /, ''));
  t.same(flows, [
    'priority=10,in_port=2 actions=output:4',
    'priority=10,in_port=3 actions=drop',
    'priority=20,ip,in_port=2 actions=drop',
  ]);
  await runFlowCommand('mod-flows', ['in_port=2,actions=output:1'], { target }, () => undefined);
  flows = normalize(await dumpWithClient(target)).map((line) => line.replace(/^.*n_bytes=0, /, ''));
  t.same(flows, [
    'priority=10,in_port=2 actions=output:1',
    'priority=10,in_port=3 actions=drop',
    'priority=20,ip,in_port=2 actions=output:1',
  ]);
  await runFlowCommand('del-flows', ['priority=10,in_port=2'], { target, strict: true }, () => undefined);
  flows = normalize(await dumpWithClient(target)).map((line) => line.replace(/^.*n_bytes=0, /, ''));
  t.same(
    flows,
    ['priority=10,in_port=3 actions=drop', 'priority=20,ip,in_port=2 actions=output:1'],
    'strict delete removes only the exact flow',
  );
  await runFlowCommand('del-flows', ['in_port=2'], { target }, () => undefined);
  flows = normalize(await dumpWithClient(target)).map((line) => line.replace(/^.*n_bytes=0, /, ''));
  t.same(flows, ['priority=10,in_port=3 actions=drop'], 'non-strict delete removes every flow the match covers');
  await runFlowCommand('add-flow', ['cookie=0x5,in_port=1,actions=drop'], { target }, () => undefined);
  await runFlowCommand('del-flows', ['cookie=0x5/-1'], { target }, () => undefined);
  t.equal(normalize(await dumpWithClient(target)).length, 1, 'delete by cookie and mask');
  await runFlowCommand('del-flows', [], { target }, () => undefined);
  t.same(normalize(await dumpWithClient(target)), []);
});

t.test('port stats and port descriptions print as ovs-ofctl prints them', async (t) => {
  const target = ovs.mgmt('br0');
  const desc = await dumpWithClient(target, 'dump-ports-desc');
  t.same(
    desc,
    (await ovs.ofctl('dump-ports-desc', 'br0')).split('\n').filter((line) => line !== '' && !line.startsWith('OFPST_')),
  );
  t.match(desc[0], /^ 1\(p1\): addr:/);
  const ports = await dumpWithClient(target, 'dump-ports');
  const theirs = (await ovs.ofctl('dump-ports', 'br0'))
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('OFPST_'));
  const blank = (lines: string[]): string[] => lines.map((line) => line.replace(/duration=[\d.]+s/, 'duration=X'));
  t.same(blank(ports), blank(theirs));
  t.equal(ports.length, 15, 'five ports, three lines each');
  const one = await dumpWithClient(target, 'dump-ports', ['p2']);
  t.equal(one.length, 3);
  t.match(one[0], /^ {2}port {2}2: rx pkts=0, bytes=0, drop=\?/);
  const client = await OpenFlowClient.connect(target);
  t.teardown(() => client.close());
  const names = (await client.portDescriptions()).map((port) => port.name).sort();
  t.same(names, ['br0', 'p1', 'p2', 'p3', 'p4']);
});

t.test('the switch errors decode into readable ERR_OPENFLOW errors', async (t) => {
  const target = ovs.mgmt('br0');
  await t.rejects(
    runFlowCommand('add-flow', ['in_port=1,actions=group:7'], { target }, () => undefined),
    {
      code: 'ERR_OPENFLOW',
      message: /rejected flow "in_port=1,actions=group:7": OFPET_BAD_ACTION OFPBAC_BAD_OUT_GROUP \(no such group\)$/,
    },
  );
  await t.rejects(
    runFlowCommand('add-flow', ['table=255,actions=drop'], { target }, () => undefined),
    {
      code: 'ERR_OPENFLOW',
      message: /OFPFMFC_BAD_TABLE_ID/,
    },
  );
  await t.rejects(
    runFlowCommand('add-flow', ['table=254,actions=goto_table:3'], { target }, () => undefined),
    {
      code: 'ERR_OPENFLOW',
      message: /OFPBIC_BAD_TABLE_ID/,
    },
  );
  const client = await OpenFlowClient.connect(target);
  t.teardown(() => client.close());
  const good = parseFlowMod('priority=3,in_port=1,actions=drop', { command: 'add' });
  const bad = parseFlowMod('in_port=1,actions=group:7', { command: 'add' });
  const error = await client.flowMods([good, bad, good]).catch((caught: unknown) => caught);
  t.type(error, DpdkError);
  t.match(error, {
    code: 'ERR_OPENFLOW',
    flowModIndex: 1,
    openflowError: { typeName: 'OFPET_BAD_ACTION', codeName: 'OFPBAC_BAD_OUT_GROUP' },
  });
  t.match((error as Error).message, /flow mod 2 of 3/);
  t.match(openflowErrorOf(error), {
    type: 2,
    code: 9,
    codeName: 'OFPBAC_BAD_OUT_GROUP',
    description: 'no such group',
  });
  t.equal(openflowErrorOf(new Error('other')), undefined);
  await client.barrier();
  t.equal(
    (await client.flowStats({ match: { inPort: 1 } })).filter((flow) => flow.priority === 3).length,
    1,
    'accepted flow mods stay applied',
  );
  await t.rejects(
    runFlowCommand('add-flow', ['in_port=1,actions=bogus:1'], { target }, () => undefined),
    { code: 'EINVAL', message: /unknown action "bogus:1"/ },
  );
});

/** A TCP port that was free a moment ago (the kernel's pick for port 0). */
async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

t.test('tcp:HOST:PORT targets reach a bridge listening with ptcp', async (t) => {
  const port = await freeTcpPort();
  await ovs.vsctl('set-controller', 'br0', `ptcp:${port}:127.0.0.1`);
  t.teardown(() => ovs.vsctl('del-controller', 'br0'));
  let client: OpenFlowClient | undefined;
  for (let attempt = 0; attempt < 50 && !client; attempt++) {
    client = await OpenFlowClient.connect(`tcp:127.0.0.1:${port}`, { timeoutMs: 1000 }).catch(async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return undefined;
    });
  }
  t.ok(client, 'connected over TCP');
  await client?.barrier();
  t.equal((await client?.portDescriptions())?.length, 5);
  await client?.close();
});

t.test('a bridge without OpenFlow13 in its protocols fails with ERR_OPENFLOW_VERSION', async (t) => {
  await ovs.addBridge('br10', { protocols: 'OpenFlow10', ports: 1, portPrefix: 'r' });
  await t.rejects(OpenFlowClient.connect(ovs.mgmt('br10')), { code: 'ERR_OPENFLOW_VERSION', message: /OpenFlow13/ });
  await t.rejects(
    runFlowCommand('dump-flows', [], { target: ovs.mgmt('br10') }, () => undefined),
    { code: 'ERR_OPENFLOW_VERSION' },
  );
});

t.test('flow stats of 2000 flows arrive in several parts and are reassembled', async (t) => {
  const target = ovs.mgmt('br1');
  await runFlowCommand('del-flows', [], { target }, () => undefined);
  const file = `${ovs.runDir}/many.flows`;
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) {
    lines.push(
      `priority=${1000 + i},cookie=${i},ip,nw_src=10.${i >> 8}.${i & 255}.0/24,in_port=q1,actions=mod_dl_dst:00:00:00:00:00:02,output:q2`,
    );
  }
  await writeFile(file, lines.join('\n'));
  await runFlowCommand('add-flows', [file], { target }, () => undefined);
  const client = await OpenFlowClient.connect(target);
  t.teardown(() => client.close());
  const flows = await client.flowStats();
  t.equal(flows.length, 2000, 'a reply far above 64 KiB, so several parts');
  t.same(new Set(flows.map((flow) => flow.cookie)).size, 2000);
  const ofctlCount = (await ovs.ofctl('dump-flows', 'br1'))
    .split('\n')
    .filter((line) => line.startsWith(' cookie=')).length;
  t.equal(ofctlCount, 2000);
  await t.rejects(
    OpenFlowClient.connect(target, { maxReplyBytes: 10_000 }).then(async (small) => {
      try {
        return await small.flowStats();
      } finally {
        await small.close();
      }
    }),
    { code: 'EMSGSIZE' },
  );
});
