// Actions that name a field (output:FIELD, check_pkt_larger, set_field with a mask, load, learn, multipath,
// bundle_load, ct) on the fields that are not plain 32-bit NXM ones: NSH's (64-bit experimenter headers),
// the wide ones (xxregN, IPv6, ct_label, tun_metadataN of 16 and 124 bytes). Each flow goes to a real
// ovs-vswitchd (dummy datapath) twice: with ovs-ofctl -O OpenFlow13 on br0, with dpdk-ts on br1. Both must
// install it and dump the same text (dpdk-ts's own dump too), dpdk-ts sending the bytes ovs-ofctl encodes;
// or both must refuse it, dpdk-ts saying why.
import t, { type Test } from 'tap';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import { encodeFlowMod } from '../lib/ovs/openflow/flow-mod.js';
import { parseFlowMod } from '../lib/ovs/openflow/flow-syntax.js';
import { formatFlowStats } from '../lib/ovs/openflow/format.js';
import { ofctlParse } from './helpers/ofctl-parse.js';
import { startOvsDummy, type OvsDummy } from './helpers/ovs-dummy.js';

let ovs: OvsDummy;
let client: OpenFlowClient;

/** A dump line without durations and counters. */
function normalize(line: string): string {
  return line
    .trim()
    .replace(/duration=[\d.]+s, /, '')
    .replace(/n_packets=\d+, n_bytes=\d+, /, '');
}

async function switchDump(bridge: string): Promise<string[]> {
  const text = await ovs.ofctl('dump-flows', bridge);
  return text
    .split('\n')
    .filter((line) => line.startsWith(' cookie='))
    .map(normalize)
    .sort();
}

async function clear(): Promise<void> {
  await ovs.ofctl('del-flows', 'br0');
  await ovs.ofctl('del-flows', 'br1');
}

/** Installs `flow` with both tools: the same dumps, and dpdk-ts's bytes as ovs-ofctl encodes them. */
async function sameInstall(t: Test, flow: string): Promise<void> {
  await clear();
  await ovs.ofctl('add-flow', 'br0', flow);
  await client.addFlows([flow]);
  const theirs = await switchDump('br0');
  t.equal(theirs.length, 1, `${flow}: ovs-ofctl installed it`);
  t.same(await switchDump('br1'), theirs, `${flow}: the switch holds what ovs-ofctl installs`);
  const own = (await client.flowStats()).map((stats) => normalize(formatFlowStats(stats))).sort();
  t.same(own, theirs, `${flow}: dpdk-ts's own dump reads as ovs-ofctl's`);
  const bytes = encodeFlowMod(1, parseFlowMod(flow, { command: 'add' }));
  t.equal(bytes.toString('hex'), ofctlParse(flow).bytes.toString('hex'), `${flow}: bytes as ovs-ofctl encodes them`);
}

/** Both tools refuse `flow`; dpdk-ts with a reason matching `reason`, before or from the switch. */
async function sameRefusal(t: Test, flow: string, reason: RegExp): Promise<void> {
  await clear();
  await t.rejects(ovs.ofctl('add-flow', 'br0', flow), `${flow}: ovs-ofctl refuses it`);
  await t.rejects(client.addFlows([flow]), { message: reason }, `${flow}: dpdk-ts refuses it`);
  t.same(await switchDump('br1'), [], `${flow}: nothing installed`);
}

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

t.test('output:FIELD on NSH fields: NXAST_OUTPUT_REG2 with the 64-bit header', async (t) => {
  for (const flow of [
    'dl_type=0x894f,actions=output:nsh_c1[0..15]',
    'dl_type=0x894f,actions=output:nsh_spi[]',
    'dl_type=0x894f,actions=output:nsh_ttl[]',
    'dl_type=0x894f,actions=output:nsh_c4[16..31],output:NXOXM_NSH_C2[3],clone(output:nsh_np[])',
  ]) {
    await sameInstall(t, flow);
  }
  await sameRefusal(t, 'actions=output:nsh_c1[0..15]', /NXOXM_NSH_C1 needs the dl_type=0x894f protocol/);
});

t.test('check_pkt_larger into an NSH bit; OVS asks the match for no protocol of its destination', async (t) => {
  await sameInstall(t, 'dl_type=0x894f,actions=check_pkt_larger(1500)->nsh_spi[23],check_pkt_larger(0)->nsh_flags[7]');
  await sameInstall(t, 'actions=check_pkt_larger(100)->nsh_c1[0]');
  await sameInstall(t, 'actions=check_pkt_larger(100)->NXM_OF_TCP_SRC[0]');
  await sameRefusal(t, 'dl_type=0x894f,actions=check_pkt_larger(100)->nsh_mdtype[0]', /is read-only/);
});

t.test('set_field:VALUE/MASK on nsh_c1..c4 and nsh_flags with any mask: one NXAST_REG_LOAD2', async (t) => {
  for (const flow of [
    'dl_type=0x894f,actions=set_field:0x10/0xf0f0->nsh_c1',
    'dl_type=0x894f,actions=set_field:0x80000001/0x80000001->nsh_c3,set_field:0/0x5->nsh_c4',
    'dl_type=0x894f,actions=set_field:0x5/0x5->nsh_flags',
    'dl_type=0x894f,actions=set_field:0/0->nsh_c2',
    'dl_type=0x894f,actions=load:5->nsh_c1[],load:5->nsh_si[],load:63->nsh_ttl[],load:1->nsh_ttl[7]',
  ]) {
    await sameInstall(t, flow);
  }
  await sameRefusal(
    t,
    'dl_type=0x894f,actions=set_field:0x1100/0xff->nsh_c2',
    /value 0x1100 has bits outside mask 0xff/,
  );
  await sameRefusal(t, 'dl_type=0x894f,actions=set_field:0x5/0x5->nsh_ttl', /invalid mask for field nsh_ttl/);
  await sameRefusal(t, 'dl_type=0x894f,actions=set_field:255->nsh_ttl', /not a valid nsh_ttl/);
});

t.test('NSH fields where ovs-ofctl refuses them: learn, multipath, bundle_load, ct', async (t) => {
  for (const flow of [
    'dl_type=0x894f,actions=learn(dl_type=0x894f,load:nsh_c1[]->reg0[])',
    'dl_type=0x894f,actions=learn(dl_type=0x894f,NXM_NX_REG0[]=nsh_c1[])',
    'dl_type=0x894f,actions=multipath(eth_src,50,modulo_n,1,0,nsh_c1[0..15])',
    'dl_type=0x894f,actions=bundle_load(eth_src,0,hrw,ofport,nsh_c1[0..15],members:1,2)',
    'ip,actions=ct(zone=nsh_c1[0..15])',
  ]) {
    await sameRefusal(t, flow, /experimenter OXM field NXOXM_NSH_C1 not supported/);
  }
});

t.test('load wider than 64 bits into xxreg, IPv6 and ct_label: one NXAST_REG_LOAD per 64 bits', async (t) => {
  for (const flow of [
    'actions=load:0x112233445566778899aabbccddeeff00->NXM_NX_XXREG0[]',
    'actions=load:0x1->NXM_NX_XXREG1[]',
    'actions=load:0x112233445566778899->NXM_NX_XXREG0[8..79]',
    'ipv6,actions=load:0x112233445566778899->NXM_NX_IPV6_SRC[]',
    'ip,actions=ct(commit,exec(load:0x112233445566778899->NXM_NX_CT_LABEL[]))',
  ]) {
    await sameInstall(t, flow);
  }
  await sameRefusal(
    t,
    'actions=load:0x1112233445566778899aabbccddeeff00->NXM_NX_XXREG0[]',
    /cannot parse integer value 0x1112233445566778899aabbccddeeff00; expected 0x hex of up to 16 bytes/,
  );
});

t.test('tun_metadata of 16 and 124 bytes: wide loads and every action that names a field', async (t) => {
  const map =
    '{class=0xffff,type=0,len=4}->tun_metadata0,{class=0xffff,type=2,len=16}->tun_metadata2,{class=0xffff,type=3,len=124}->tun_metadata3';
  for (const bridge of ['br0', 'br1']) {
    await ovs.ofctl('add-tlv-map', bridge, map);
  }
  for (const flow of [
    'actions=load:0x112233445566778899->tun_metadata2[]',
    'actions=load:0x112233445566778899->tun_metadata2[0..71]',
    'actions=load:0x1122334455667788990011->tun_metadata3[100..187]',
    'actions=load:0x1122334455667788990011223344556677->tun_metadata2[]',
    'actions=load:0x112233445566778899->tun_metadata0[]',
    'actions=output:tun_metadata3[900..931],check_pkt_larger(100)->tun_metadata2[100]',
    'actions=learn(load:tun_metadata2[0..127]->NXM_NX_XXREG0[]),multipath(eth_src,50,modulo_n,1,0,tun_metadata2[100..115])',
    'actions=bundle_load(eth_src,0,hrw,ofport,tun_metadata2[0..15],members:1,2)',
    'ip,actions=ct(commit,zone=tun_metadata2[100..115],exec(move:tun_metadata3[800..927]->NXM_NX_CT_LABEL[]))',
  ]) {
    await sameInstall(t, flow);
  }
  await sameRefusal(
    t,
    `actions=load:0x${'1'.repeat(249)}->tun_metadata3[]`,
    /cannot parse integer value 0x1+; expected 0x hex of up to 124 bytes/,
  );
  await sameRefusal(t, 'actions=load:0x1122->tun_metadata2[0..7]', /value 0x1122 does not fit into 8 bits/);
  for (const bridge of ['br0', 'br1']) {
    await ovs.ofctl('del-flows', bridge);
    await ovs.ofctl('del-tlv-map', bridge);
  }
});
