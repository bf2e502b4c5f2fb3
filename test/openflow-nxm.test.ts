// Open vSwitch's extensions to the flow syntax (NXM match fields, Nicira actions) against the
// installed ovs-ofctl's own encoder: each flow must encode byte for byte as `ovs-ofctl parse-flow`
// encodes it and print as it prints it; refusals carry the reason.
import { execFileSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { encodeFlowMod } from '../lib/ovs/openflow/flow-mod.js';
import { parseFlowMod } from '../lib/ovs/openflow/flow-syntax.js';
import { formatInstructions, formatMatch } from '../lib/ovs/openflow/format.js';
import { decodeMatch } from '../lib/ovs/openflow/match.js';

/** What `ovs-ofctl -O OpenFlow13 parse-flow` makes of a flow: the flow mod (xid 1) and its text. */
function ofctlParse(flow: string): { bytes: Buffer; match: string; actions: string } {
  const output = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', '-mmmmm', 'parse-flow', flow], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const hex = output
    .split('\n')
    .filter((line) => /^[0-9a-f]{8} {2}/.test(line))
    .map((line) => line.slice(10, 58).replace(/[\s-]/g, ''))
    .join('');
  const text = /\): ADD (.*)$/m.exec(output)![1]!;
  const actionsAt = text.startsWith('actions=') ? 0 : text.indexOf(' actions=') + 1;
  return {
    bytes: Buffer.from(hex, 'hex'),
    match: text.slice(0, Math.max(actionsAt - 1, 0)),
    actions: text.slice(actionsAt + 'actions='.length),
  };
}

/** Checks one flow against ovs-ofctl: bytes, the match text (also after decoding), the actions text. */
function sameAsOfctl(t: Test, flow: string): void {
  const expected = ofctlParse(flow);
  const flowMod = parseFlowMod(flow, { command: 'add' });
  const bytes = encodeFlowMod(1, flowMod);
  t.equal(bytes.toString('hex'), expected.bytes.toString('hex'), `${flow}: bytes`);
  t.equal(formatMatch(flowMod.match ?? {}, flowMod.priority), expected.match, `${flow}: match text`);
  t.equal(formatMatch(decodeMatch(bytes, 48).match, flowMod.priority), expected.match, `${flow}: decoded match text`);
  t.equal(formatInstructions(flowMod.instructions ?? []), expected.actions, `${flow}: actions text`);
}

t.test('registers: reg0..reg15 (NXM_NX_REGn), masked; xregN as the pair reg2N, reg2N+1', async (t) => {
  for (const flow of [
    'reg0=5,actions=drop',
    'reg1=0x10/0xf0,reg15=0xffffffff,actions=drop',
    'xreg0=0x100000002,actions=drop',
    'xreg3=0x10/0xff,actions=drop',
  ]) {
    sameAsOfctl(t, flow);
  }
});

t.test('conntrack: ct_state flags (+trk-new, names, numbers), ct_zone, ct_mark, ct_label', async (t) => {
  for (const flow of [
    'ct_state=+trk-new,actions=drop',
    'ct_state=+est+rel+rpl+inv+snat+dnat,actions=drop',
    'ct_state=trk|new,actions=drop',
    'ct_state=0x21/0x21,actions=drop',
    'ct_state=0,actions=drop',
    'ct_zone=5,ct_mark=0x1/0x1,actions=drop',
    'ct_label=0x10000000000000000000000000000000,actions=drop',
    'ct_label=0x0/0x1,actions=drop',
  ]) {
    sameAsOfctl(t, flow);
  }
});

t.test('tun_id (OXM tunnel id), pkt_mark, recirc_id, conj_id', async (t) => {
  for (const flow of [
    'tun_id=0x64,actions=drop',
    'tun_id=0x10/0xff,pkt_mark=0x10/0xf0,actions=drop',
    'recirc_id=5,conj_id=100,ip,actions=drop',
  ]) {
    sameAsOfctl(t, flow);
  }
});

t.test('ip_frag (printed nw_frag), tcp_flags (ONF experimenter OXM), MPLS', async (t) => {
  for (const flow of [
    'ip,ip_frag=no,actions=drop',
    'ip,ip_frag=yes,actions=drop',
    'ipv6,ip_frag=first,actions=drop',
    'ip,ip_frag=later,actions=drop',
    'ip,ip_frag=not_later,actions=drop',
    'tcp,tcp_flags=+syn-ack,actions=drop',
    'tcp,tcp_flags=syn|ack,actions=drop',
    'tcp6,tcp_flags=0x002/0x012,actions=drop',
    'mpls,mpls_label=100,mpls_tc=3,mpls_bos=1,actions=drop',
    'mplsm,mpls_tc=9,actions=drop',
  ]) {
    sameAsOfctl(t, flow);
  }
});

t.test('extension fields in place among the standard ones', async (t) => {
  sameAsOfctl(t, 'priority=10,reg0=1,ct_state=+trk,ct_mark=2,tun_id=3,pkt_mark=4,in_port=1,tcp,tp_dst=22,actions=drop');
});

t.test('extension match values ovs-ofctl refuses are refused with the reason', async (t) => {
  const bad: [string, RegExp][] = [
    ['reg16=1,actions=drop', /unknown field "reg16"/],
    ['xreg8=1,actions=drop', /unknown field "xreg8"/],
    ['reg0=0x100000000,actions=drop', /reg0 must be an integer from 0 to 4294967295, optionally \/MASK/],
    ['ct_state=+foo,actions=drop', /ct_state=\+foo: unknown ct_state flag "foo"; expected new, est, rel/],
    ['ct_state=+trk+trk,actions=drop', /each ct_state flag can be given only once, "trk" is repeated/],
    ['ct_state=0x100/0x100,actions=drop', /unknown ct_state flag "0x100\/0x100"/],
    ['ct_zone=1/0xff,actions=drop', /ct_zone must be an integer from 0 to 65535, got 1\/0xff/],
    ['ip,ip_frag=maybe,actions=drop', /ip_frag=maybe: expected one of no, yes, first, later, not_later/],
    ['tcp,tcp_flags=+bogus,actions=drop', /unknown tcp_flags flag "bogus"/],
    ['mpls,mpls_label=0x100000000,actions=drop', /mpls_label must be an integer from 0 to 4294967295/],
  ];
  for (const [flow, message] of bad) {
    t.throws(() => ofctlParse(flow), `ovs-ofctl refuses ${flow}`);
    t.throws(() => parseFlowMod(flow, { command: 'add' }), { code: 'EINVAL', message }, flow);
  }
});
