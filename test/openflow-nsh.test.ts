// OVS's packet type and NSH (Network Service Header) extensions to the flow syntax against the
// installed ovs-ofctl's own encoder: `packet_type=(NS,TYPE)`, the nsh_* match fields, set_field on
// them, and the encap(...)/decap(...) actions must encode byte for byte as `ovs-ofctl parse-flow`
// encodes them and print as it prints them; refusals carry the reason.
import t, { type Test } from 'tap';
import { parseFlowMod } from '../lib/ovs/openflow/flow-syntax.js';
import { sameAsOfctl } from './helpers/ofctl-parse.js';

function refused(t: Test, flow: string, message: RegExp): void {
  t.throws(() => parseFlowMod(flow, { command: 'add' }), { code: 'EINVAL', message }, flow);
}

t.test(
  'packet_type=(NS,TYPE): first on the wire; (1,TYPE) stands for its EtherType, (0,0) is left out with an Ethernet field',
  async (t) => {
    for (const flow of [
      'packet_type=(0,0),actions=drop',
      'packet_type=(1,0x800),actions=drop',
      'packet_type=(1,2048),in_port=1,actions=output:2',
      'packet_type=(2,5),actions=drop',
      'packet_type=(3,16),actions=drop',
      'packet_type=(0,0),in_port=1,actions=drop',
      'packet_type=(0,0),ip,actions=drop',
      'packet_type=(1,0x800),in_port=1,nw_dst=1.1.1.1,nw_proto=6,tp_dst=80,actions=drop',
      'packet_type=(1,0x86dd),ipv6_src=::1,actions=drop',
      'packet_type=(1,0x806),arp_op=1,actions=drop',
      'recirc_id=1,packet_type=(0,0),actions=drop',
      'recirc_id=1,ct_state=+trk,packet_type=(1,0x894f),reg0=1,in_port=1,nsh_flags=2,actions=drop',
    ]) {
      sameAsOfctl(t, flow);
    }
  },
);

t.test('packet_type spellings ovs-ofctl refuses are refused', async (t) => {
  for (const flow of [
    'packet_type=(OFPHTN_ETHERTYPE,0x800),actions=drop',
    'packet_type=(0x10000,5),actions=drop',
    'packet_type=1,actions=drop',
    'packet_type=(1,2,3),actions=drop',
    'packet_type=( 1 , 0x800 ),actions=drop',
  ]) {
    refused(t, flow, /expected packet_type=\(NS,TYPE\)/);
  }
});

t.test(
  'nsh_* match fields: masks where OVS allows them, the 24-bit SPI, context headers printed with MD type 1',
  async (t) => {
    for (const flow of [
      'dl_type=0x894f,nsh_flags=1/3,nsh_ttl=5,nsh_mdtype=1,nsh_np=3,nsh_spi=0x123456,nsh_si=255,nsh_c1=1/0xff,nsh_c2=2,nsh_c3=3,nsh_c4=4,actions=drop',
      'table=0,in_port=1,dl_type=0x894f,nsh_ttl=63,nsh_mdtype=1,nsh_np=3,nsh_spi=0x123456,nsh_si=255,nsh_c1=0x11223344,actions=output:2',
      'dl_type=0x894f,nsh_spi=0x1000000,actions=drop',
      'dl_type=0x894f,nsh_c1=0x10/0xf0,nsh_flags=1/1,actions=drop',
      'packet_type=(1,0x894f),nsh_spi=5,actions=drop',
      'recirc_id=1,in_port=1,dl_type=0x894f,nsh_spi=1,actions=drop',
    ]) {
      sameAsOfctl(t, flow);
    }
    refused(t, 'dl_type=0x894f,nsh_spi=1/0xf,actions=drop', /invalid mask for field nsh_spi/);
    refused(t, 'dl_type=0x894f,nsh_np=0x100,actions=drop', /nsh_np must be an integer from 0 to 255/);
  },
);

t.test('encap(...) and decap(...): NXAST_RAW_ENCAP with NSH properties, NXAST_RAW_DECAP', async (t) => {
  for (const flow of [
    'ip,actions=encap(nsh(md_type=1))',
    'ip,actions=encap(nsh(md_type=2,tlv(0x1000,10,0x12345678)))',
    'ip,actions=encap(nsh(md_type=2,tlv(0x1000,10,0x12345678),tlv(0x2000,20,0xfedcba9876543210)))',
    'ip,actions=encap(nsh(md_type=2,tlv(0x1000,10,0x123)))',
    'ip,actions=encap(nsh(md_type=2,tlv(0x1000,10,0x0012)))',
    'ip,actions=encap(nsh)',
    'ip,actions=encap(nsh())',
    'ip,actions=encap(ethernet)',
    'ip,actions=encap(mpls),encap(mpls_mc)',
    'ip,actions=decap()',
    'ip,actions=decap',
    'ip,actions=decap(packet_type(ns=0,type=0))',
    'ip,actions=decap(packet_type(ns=1,type=0x800)),decap(packet_type(ns=2,type=5))',
    'in_port=4,actions=encap(nsh),decap(),2',
  ]) {
    sameAsOfctl(t, flow);
  }
  refused(t, 'ip,actions=encap(foo)', /Encap hdr not supported/);
  refused(t, 'ip,actions=encap(nsh(md_type=3))', /invalid md_type/);
  refused(t, 'ip,actions=encap(nsh(md_type=1,np=3))', /Invalid property: np/);
  refused(t, 'ip,actions=decap(foo)', /expected decap\(\)/);
});

t.test('actions after encap/decap see the packet type they leave, as OVS checks them', async (t) => {
  for (const flow of [
    'table=0,in_port=1,ip,actions=encap(nsh(md_type=1)),set_field:0x1234->nsh_spi,set_field:0x11223344->nsh_c1,encap(ethernet),set_field:11:22:33:44:55:66->dl_dst,3',
    'table=0,priority=100,dl_type=0x8847,mpls_label=2 actions=decap,decap(packet_type(ns=1,type=0x0800)),encap(ethernet),mod_dl_dst:36:b1:ee:7c:01:02,resubmit(,3)',
    'in_port=1,packet_type=(1,0x800),actions=set_field:1.1.1.1->nw_dst',
    'ip,actions=decap(),mod_nw_dst:1.1.1.1',
  ]) {
    sameAsOfctl(t, flow);
  }
  refused(
    t,
    'in_port=1,packet_type=(1,0x800),actions=decap(),set_field:1.1.1.1->nw_dst',
    /lacks correct prerequisites/,
  );
  refused(t, 'packet_type=(1,0x800),actions=set_field:1:2:3:4:5:6->eth_dst', /lacks correct prerequisites: add eth/);
  refused(t, 'ip,actions=encap(nsh),mod_nw_dst:1.2.3.4', /lacks correct prerequisites/);
});

t.test('set_field on the NSH fields: writable ones as OXM set-fields, nsh_mdtype and nsh_np read-only', async (t) => {
  sameAsOfctl(
    t,
    'dl_type=0x894f,actions=set_field:0x1234->nsh_spi,set_field:0x11223344->nsh_c1,set_field:3->nsh_flags,set_field:3->nsh_ttl,set_field:4->nsh_si',
  );
  refused(t, 'ip,actions=set_field:5->nsh_spi', /lacks correct prerequisites: add dl_type=0x894f/);
  refused(t, 'dl_type=0x894f,actions=set_field:1->nsh_np', /nsh_np is read-only/);
  refused(t, 'dl_type=0x894f,actions=set_field:1->nsh_mdtype', /nsh_mdtype is read-only/);
});

t.test(
  'load, move, push and pop on the NSH fields: 64-bit experimenter headers, loads as NXAST_REG_LOAD2',
  async (t) => {
    for (const flow of [
      'table=0,in_port=1,dl_type=0x894f,nsh_ttl=63,nsh_mdtype=1,nsh_np=3,nsh_spi=0x123456,nsh_si=255,nsh_c1=0x11223344,actions=set_field:0x2->nsh_flags,set_field:254->nsh_si,set_field:0x44332211->nsh_c1,load:0x77->nsh_c3[8..15],2',
      'dl_type=0x894f,actions=load:1->nsh_flags[0..1],load:3->nsh_si[0..3],load:1->nsh_ttl[0],load:5->NXOXM_NSH_SPI[]',
      'dl_type=0x894f,actions=set_field:1/3->nsh_flags,set_field:0x10/0xf0->nsh_c3,set_field:0/0xff->nsh_c1',
      'dl_type=0x894f,actions=move:nsh_c1[]->nsh_c2[],move:nsh_spi[]->reg0[0..23],move:reg1[0..7]->nsh_si[]',
      'dl_type=0x894f,actions=move:nsh_mdtype[]->reg0[0..7]',
      'dl_type=0x894f,actions=push:nsh_c1[],pop:nsh_c2[]',
    ]) {
      sameAsOfctl(t, flow);
    }
    refused(t, 'ip,actions=move:nsh_c1[]->reg0[]', /needs the dl_type=0x894f protocol/);
    refused(t, 'dl_type=0x894f,actions=set_field:0xffffff/0xffffff->nsh_spi', /invalid mask for field nsh_spi/);
    refused(t, 'dl_type=0x894f,actions=load:1->nsh_np[]', /is read-only/);
  },
);

t.test(
  'NSH fields in output:FIELD (NXAST_OUTPUT_REG2), check_pkt_larger, and masked set_field with any mask',
  async (t) => {
    for (const flow of [
      'dl_type=0x894f,actions=output:nsh_c1[0..15],output:nsh_spi[],output:nsh_ttl[],output:NXOXM_NSH_C4[16..31]',
      'dl_type=0x894f,actions=check_pkt_larger(1500)->nsh_spi[23],check_pkt_larger(0)->nsh_flags[7]',
      'actions=check_pkt_larger(100)->nsh_c1[0]',
      'dl_type=0x894f,actions=set_field:0x10/0xf0f0->nsh_c1,set_field:0x80000001/0x80000001->nsh_c3,set_field:0/0->nsh_c2',
      'dl_type=0x894f,actions=set_field:0x5/0x5->nsh_flags,load:5->nsh_c1[],load:63->nsh_ttl[],load:1->nsh_ttl[7]',
    ]) {
      sameAsOfctl(t, flow);
    }
    refused(t, 'dl_type=0x894f,actions=set_field:0x1100/0xff->nsh_c2', /value 0x1100 has bits outside mask 0xff/);
    refused(t, 'dl_type=0x894f,actions=set_field:128/0x80->nsh_ttl', /invalid mask for field nsh_ttl/);
    refused(t, 'dl_type=0x894f,actions=set_field:64->nsh_ttl', /not a valid nsh_ttl, an integer from 0 to 63/);
    refused(
      t,
      'dl_type=0x894f,actions=multipath(eth_src,50,modulo_n,1,0,nsh_c1[0..15])',
      /experimenter OXM field NXOXM_NSH_C1 not supported/,
    );
  },
);
