// learn, multipath, bundle, bundle_load, clone, the register stack, MPLS push/pop and set_field of the wide registers against the installed
// ovs-ofctl's own encoder: each flow must encode byte for byte as `ovs-ofctl parse-flow` encodes it
// and print as it prints it, also after decoding; refusals carry the reason.
import t from 'tap';
import { parseFlowMod } from '../lib/ovs/openflow/flow-syntax.js';
import { ofctlParse, sameAsOfctl } from './helpers/ofctl-parse.js';

t.test('learn: NXAST_LEARN with its flow settings and every spec form', async (t) => {
  for (const flow of [
    'actions=learn(table=1,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])',
    'actions=learn(NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15])',
    'ip,actions=learn(table=2,idle_timeout=10,hard_timeout=20,fin_idle_timeout=5,fin_hard_timeout=7,priority=10,cookie=0x123,send_flow_rem,delete_learned,eth_type=0x800,nw_proto=6,NXM_OF_IP_SRC[]=NXM_OF_IP_DST[],output:NXM_OF_IN_PORT[])',
    'actions=learn(eth_dst=01:02:03:04:05:06,in_port=5,eth_type=0x86dd,ipv6_src=2001:db8::1,load:0x5->NXM_NX_REG1[],load:NXM_NX_REG2[]->NXM_NX_REG3[])',
    'actions=learn(dl_type=0x800,nw_src=10.0.0.1,nw_proto=6,tp_dst=80)',
    'actions=learn(NXM_OF_VLAN_TCI[0..11]=0x5,vlan_tci=0x1005,reg0=0,tun_id=5,metadata=0x10)',
    'actions=learn(table=1,priority=0,in_port=LOCAL,NXM_NX_REG0[0..7]=NXM_NX_REG1[8..15])',
    'actions=learn(table=10,NXM_NX_XXREG0[]=NXM_NX_XXREG1[],OXM_OF_PKT_REG0[]=OXM_OF_PKT_REG1[])',
  ]) {
    sameAsOfctl(t, flow);
  }
});

t.test('learn with limit or result_dst is NXAST_LEARN2', async (t) => {
  sameAsOfctl(t, 'actions=learn(limit=10,eth_dst=01:02:03:04:05:06)');
  sameAsOfctl(t, 'actions=learn(limit=10,result_dst=NXM_NX_REG0[1],eth_dst=01:02:03:04:05:06)');
});

t.test('multipath, bundle and bundle_load (NXAST_MULTIPATH, NXAST_BUNDLE[_LOAD])', async (t) => {
  for (const flow of [
    'actions=multipath(eth_src,50,hrw,12,0,NXM_NX_REG0[0..3])',
    'actions=multipath(symmetric_l4,1024,iter_hash,5000,5000,NXM_NX_REG0[0..12])',
    'actions=multipath(symmetric_l3l4+udp,0,modulo_n,2,0,NXM_NX_REG1[0])',
    'actions=bundle(eth_src,0,hrw,ofport,members:1,2)',
    'actions=bundle(symmetric_l4,60,active_backup,ofport,slaves:2,3,LOCAL)',
    'actions=bundle_load(eth_src,0,hrw,ofport,NXM_NX_REG0[0..15],members:1,2,3)',
  ]) {
    sameAsOfctl(t, flow);
  }
});

t.test('set_field, load and move on xregN and xxregN; set_field of vlan_tci and nw_ecn', async (t) => {
  for (const flow of [
    'actions=set_field:7->xreg1',
    'actions=set_field:0x7/0xff->xreg1',
    'actions=set_field:0xffffffffffffffffffff->xxreg3',
    'actions=set_field:0x7/0xff00->xxreg1',
    'actions=load:5->xreg1,move:xxreg0[0..31]->reg1[]',
    'vlan_tci=0x1103/0x1fff,actions=set_field:0x1203/0x1fff->vlan_tci,set_field:0x1000->vlan_tci',
    'ip,actions=set_field:2->ip_ecn,mod_nw_ecn:1',
  ]) {
    sameAsOfctl(t, flow);
  }
});

t.test('clone, push/pop (the register stack), sample (NXAST_SAMPLE/2/3), MPLS push/pop/label/tc/ttl', async (t) => {
  for (const flow of [
    'ip,actions=clone(set_field:192.168.3.3->ip_src,output:2),clone(clone(output:3)),output:4',
    'actions=push:reg0[0..31],pop:NXM_NX_REG0[]',
    'actions=push_mpls:0x8847,set_field:13->mpls_label,output:2',
    'mpls,actions=pop_mpls:0x0800,set_field:1.2.3.4->ip_src',
    'ip,actions=push_mpls:0x8847,set_mpls_label:3,set_mpls_tc:2,set_mpls_ttl:10,dec_mpls_ttl',
    'actions=sample(probability=100,collector_set_id=2,obs_domain_id=3,obs_point_id=4)',
    'actions=sample(probability=65535,collector_set_id=1,sampling_port=1),output:1',
    'actions=sample(probability=100,obs_point_id=4,sampling_port=LOCAL,egress)',
  ]) {
    sameAsOfctl(t, flow);
  }
  t.throws(() => parseFlowMod('actions=pop_mpls:0x0800', { command: 'add' }), {
    code: 'EINVAL',
    message: /needs an MPLS match/,
  });
  t.throws(() => parseFlowMod('mpls,actions=set_field:1->mpls_bos', { command: 'add' }), {
    code: 'EINVAL',
    message: /mpls_bos is read-only/,
  });
});

t.test('learn, multipath and bundle arguments ovs-ofctl refuses are refused with the reason', async (t) => {
  const bad: [string, RegExp][] = [
    ['actions=learn(bogus=1)', /unknown keyword bogus/],
    ['actions=learn(table=255,eth_dst=01:02:03:04:05:06)', /table=255: expected an integer from 0 to 254/],
    ['actions=learn(result_dst=NXM_NX_REG0[0..1])', /result_dst in 'learn' action must be a single bit/],
    ['actions=learn(load:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..7])', /bit widths of NXM_NX_REG0\[0\.\.3\] \(4\)/],
    ['actions=learn(NXM_OF_IP_SRC[])', /NXM_OF_IP_SRC needs the ip protocol in the learned flow/],
    ['actions=multipath(bogus,50,hrw,12,0,NXM_NX_REG0[0..3])', /unknown fields `bogus'/],
    ['actions=multipath(nw_src,50,hrw,0,0,NXM_NX_REG0[0..3])', /n_links 0 is not in valid range 1 to 65536/],
    ['actions=multipath(eth_src,50,hrw,20,0,NXM_NX_REG0[0..3])', /4-bit destination field has 16 possible values/],
    ['actions=bundle(eth_src,0,hrw,bogus,members:1)', /unknown member type `bogus'/],
    ['actions=bundle(eth_src,0,hrw,ofport,members:1,65280)', /invalid member 65280/],
    ['actions=bundle_load(eth_src,0,hrw,ofport,NXM_NX_REG0[0..7],members:1)', /at least 16 bit destination/],
    ['actions=set_field:0x10000000000000000->xreg0', /value too large for 8-byte field xreg0/],
  ];
  for (const [flow, message] of bad) {
    t.throws(() => parseFlowMod(flow, { command: 'add' }), { code: 'EINVAL', message }, flow);
  }
  for (const flow of ['actions=learn(bogus=1)', 'actions=multipath(bogus,50,hrw,12,0,NXM_NX_REG0[0..3])']) {
    t.throws(() => ofctlParse(flow), `ovs-ofctl refuses ${flow}`);
  }
});
