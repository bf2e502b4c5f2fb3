// The OpenFlow client on the wire: our flow mods byte-for-byte equal to ovs-ofctl's, multipart
// reassembly, timeouts, aborts, keepalives, and malformed or hostile switches.
import { execFile } from 'node:child_process';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import { encodeHello, encodeMessage, OFPT, type OpenFlowMessage } from '../lib/ovs/openflow/codec.js';
import { encodeFlowMod, type FlowModCommand } from '../lib/ovs/openflow/flow-mod.js';
import {
  encodeFlowStatsRequestBody,
  encodeMultipartRequest,
  OFPMP,
  OFPMPF_REPLY_MORE,
} from '../lib/ovs/openflow/multipart.js';
import { encodeInstructions } from '../lib/ovs/openflow/actions.js';
import { encodeMatch } from '../lib/ovs/openflow/match.js';
import { parseFlowFilter, parseFlowMod } from '../lib/ovs/openflow/flow-syntax.js';
import { startFakeSwitch, startRecordingProxy, type FakeSwitch } from './helpers/fake-switch.js';
import { startOvsDummy, type OvsDummy } from './helpers/ovs-dummy.js';

const run = promisify(execFile);

/** ovs-ofctl invocations and the flow-mod command each must produce, byte for byte. */
const ofctlCases: { verb: string; command: FlowModCommand; flow?: string; strict?: boolean }[] = [
  { verb: 'add-flow', command: 'add', flow: 'in_port=2,dl_type=0x800,idle_timeout=0,action=output:3' },
  { verb: 'add-flow', command: 'add', flow: 'in_port=3,dl_type=0x800,idle_timeout=0,action=output:2' },
  {
    verb: 'add-flow',
    command: 'add',
    flow:
      'priority=100,cookie=0x12,in_port=1,dl_vlan=10,dl_vlan_pcp=3,dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,dl_dst=aa:bb:cc:dd:ee:ff,' +
      'udp,nw_src=10.0.0.0/24,nw_dst=10.1.0.0/255.255.0.255,tp_dst=53,tp_src=0x10/0xf0,idle_timeout=30,hard_timeout=60,send_flow_rem,' +
      'actions=mod_dl_dst:00:00:00:00:00:02,mod_dl_src:00:00:00:00:00:01,strip_vlan,push_vlan:0x8100,mod_vlan_vid:7,mod_vlan_pcp:2,' +
      'output:3,CONTROLLER,LOCAL,IN_PORT,controller:128',
  },
  { verb: 'add-flow', command: 'add', flow: 'table=1,tcp,tp_dst=80,actions=normal' },
  { verb: 'add-flow', command: 'add', flow: 'table=1,arp,arp_op=1,nw_src=1.1.1.1,actions=drop' },
  {
    verb: 'add-flow',
    command: 'add',
    flow: 'table=2,priority=6,nw_proto=17,ip,actions=write_actions(output:2),goto_table:3',
  },
  { verb: 'add-flow', command: 'add', flow: 'table=2,priority=7,dl_vlan=0xffff,actions=flood,all' },
  {
    verb: 'add-flow',
    command: 'add',
    flow: 'table=3,tcp,actions=mod_nw_src:1.2.3.4,set_field:5.6.7.8->ip_dst,mod_tp_src:80,set_field:81->tcp_dst,mod_nw_tos:8,dec_ttl',
  },
  {
    verb: 'add-flow',
    command: 'add',
    flow: 'table=3,icmp,icmp_type=8,icmp_code=0,metadata=0x5,actions=set_field:0x2->metadata,clear_actions,write_metadata:0x1/0xff,goto_table:4',
  },
  { verb: 'add-flow', command: 'add', flow: 'table=3,vlan_tci=0x1000/0x1000,nw_tos=4,ip,actions=' },
  { verb: 'add-flow', command: 'add', flow: 'table=4,dl_vlan_pcp=5,actions=pop_vlan,output:2' },
  {
    verb: 'add-flow',
    command: 'add',
    flow: 'priority=51,cookie=0xabc,ip,nw_dst=192.168.1.1,check_overlap,actions=output:4,output:1',
  },
  { verb: 'add-flow', command: 'add', flow: 'in_port=p2,ip,actions=output:p3' },
  {
    verb: 'add-flow',
    command: 'add',
    flow: 'tcp6,ipv6_src=2001:db8::/32,ipv6_dst=fe80::1:2/ffff:ffff::ffff,tp_dst=443,actions=set_field:2001:db8::7->ipv6_dst,output:2',
  },
  { verb: 'add-flow', command: 'add', flow: 'icmp6,icmp_type=135,icmp_code=0,actions=output:3' },
  { verb: 'mod-flows', command: 'modify', flow: 'in_port=2,actions=output:1' },
  { verb: 'mod-flows', command: 'modify', flow: 'cookie=0x7/0xff,table=1,actions=drop' },
  { verb: 'mod-flows', command: 'modify_strict', flow: 'priority=5,in_port=2,actions=output:1', strict: true },
  { verb: 'del-flows', command: 'delete', flow: 'in_port=2' },
  { verb: 'del-flows', command: 'delete', flow: 'table=1,tcp,out_port=3' },
  { verb: 'del-flows', command: 'delete_strict', flow: 'priority=10,in_port=2', strict: true },
  { verb: 'del-flows', command: 'delete', flow: 'cookie=0x5/-1,table=3' },
  { verb: 'del-flows', command: 'delete' },
];

/** The message with its xid zeroed: xids are per-connection and do not matter. */
function withoutXid(raw: Buffer): Buffer {
  const copy = Buffer.from(raw);
  copy.writeUInt32BE(0, 4);
  return copy;
}

t.test('our FLOW_MOD and flow stats encodings are byte-identical to ovs-ofctl -O OpenFlow13', async (t) => {
  let ovs: OvsDummy | undefined;
  let proxy: FakeSwitch | undefined;
  t.teardown(async () => {
    await proxy?.close();
    await ovs?.stop();
  });
  ovs = await startOvsDummy();
  await ovs.addBridge('br0');
  proxy = await startRecordingProxy(`${ovs.runDir}/br0.mgmt`);
  const portMap = new Map([1, 2, 3, 4].map((i) => [`p${i}`, i]));
  for (const testCase of ofctlCases) {
    proxy.received.length = 0;
    const args = [
      '-O',
      'OpenFlow13',
      ...(testCase.strict ? ['--strict'] : []),
      testCase.verb,
      proxy.target,
      ...(testCase.flow ? [testCase.flow] : []),
    ];
    await run('ovs-ofctl', args, { timeout: 10_000 });
    const flowMods = proxy.received.filter((entry) => entry.message.type === OFPT.FLOW_MOD);
    t.equal(flowMods.length, 1, `ovs-ofctl sent one flow mod for ${testCase.verb} ${testCase.flow ?? ''}`);
    const ours = encodeFlowMod(
      0,
      testCase.flow
        ? parseFlowMod(testCase.flow, { command: testCase.command, portMap })
        : { command: testCase.command },
    );
    t.same(
      withoutXid(ours).toString('hex'),
      withoutXid(flowMods[0]!.raw).toString('hex'),
      `${testCase.verb} ${testCase.strict ? '--strict ' : ''}${testCase.flow ?? '(all)'}`,
    );
  }
  for (const filter of ['', 'in_port=2,tcp', 'table=1,cookie=0x5/0xff,out_port=3']) {
    proxy.received.length = 0;
    await run('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', proxy.target, ...(filter ? [filter] : [])], {
      timeout: 10_000,
    });
    const request = proxy.received.find(
      (entry) => entry.message.type === OFPT.MULTIPART_REQUEST && entry.message.body.readUInt16BE(0) === OFPMP.FLOW,
    );
    const ours = encodeMultipartRequest(
      0,
      OFPMP.FLOW,
      encodeFlowStatsRequestBody(filter ? parseFlowFilter(filter) : {}),
    );
    t.same(
      withoutXid(ours).toString('hex'),
      withoutXid(request!.raw).toString('hex'),
      `dump-flows ${filter || '(all)'}`,
    );
  }
});

/** A fake switch that runs `onRequest` for multipart, barrier and echo requests instead of answering. */
async function scriptedSwitch(
  t: Test,
  onRequest: (message: OpenFlowMessage, socket: Socket) => void,
): Promise<FakeSwitch> {
  const fake = await startFakeSwitch((message, socket) => {
    if (
      message.type === OFPT.MULTIPART_REQUEST ||
      message.type === OFPT.BARRIER_REQUEST ||
      message.type === OFPT.ECHO_REQUEST
    ) {
      onRequest(message, socket);
      return true;
    }
    return false;
  });
  t.teardown(() => fake.close());
  return fake;
}

function multipartReply(xid: number, type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(flags, 2);
  return encodeMessage(OFPT.MULTIPART_REPLY, xid, Buffer.concat([header, payload]));
}

/** One `ofp_flow_stats` entry with the given priority, matching in_port, action output:2. */
function flowStatsEntry(priority: number): Buffer {
  const match = encodeMatch({ inPort: priority });
  const instruction = encodeInstructions([{ type: 'apply_actions', actions: [{ type: 'output', port: 2 }] }]);
  const entry = Buffer.alloc(48);
  entry.writeUInt16BE(48 + match.length + instruction.length, 0);
  entry.writeUInt16BE(priority, 12);
  return Buffer.concat([entry, match, instruction]);
}

t.test('multipart replies are reassembled across parts, and split/merged reads are framed', async (t) => {
  const fake = await scriptedSwitch(t, (message, socket) => {
    if (message.type !== OFPT.MULTIPART_REQUEST) {
      socket.write(encodeMessage(OFPT.BARRIER_REPLY, message.xid));
      return;
    }
    const parts = [1, 2, 3].map((part) =>
      multipartReply(
        message.xid,
        OFPMP.FLOW,
        part < 3 ? OFPMPF_REPLY_MORE : 0,
        Buffer.concat([flowStatsEntry(part * 10), flowStatsEntry(part * 10 + 1)]),
      ),
    );
    const stream = Buffer.concat([encodeMessage(OFPT.ECHO_REQUEST, 77, Buffer.from('are you there')), ...parts]);
    // Dribble the stream out in odd-sized pieces: headers and bodies split across reads.
    for (let offset = 0; offset < stream.length; offset += 7) {
      socket.write(stream.subarray(offset, offset + 7));
    }
  });
  const client = await OpenFlowClient.connect(fake.target);
  t.teardown(() => client.close());
  const flows = await client.flowStats();
  t.same(
    flows.map((flow) => flow.priority),
    [10, 11, 20, 21, 30, 31],
  );
  t.same(flows[0]!.instructions, [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLength: 0 }] }]);
  await client.barrier();
  const echoReply = fake.received.find((entry) => entry.message.type === OFPT.ECHO_REPLY);
  t.equal(echoReply?.message.xid, 77, 'the switch echo request was answered with its xid');
  t.equal(echoReply?.message.body.toString(), 'are you there');
});

t.test('timeouts and AbortSignal end a call without hurting the connection', async (t) => {
  let silent = true;
  const fake = await scriptedSwitch(t, (message, socket) => {
    if (!silent) {
      socket.write(encodeMessage(OFPT.BARRIER_REPLY, message.xid));
    }
  });
  const client = await OpenFlowClient.connect(fake.target, { timeoutMs: 2000 });
  t.teardown(() => client.close());
  await t.rejects(client.barrier({ timeoutMs: 100 }), {
    code: 'ETIMEDOUT',
    message: /barrier .* timed out after 100 ms/,
  });
  const controller = new AbortController();
  const aborted = client.barrier({ signal: controller.signal });
  controller.abort();
  await t.rejects(aborted, { code: 'ECANCELED' });
  await t.rejects(client.barrier({ signal: AbortSignal.abort() }), { code: 'ECANCELED' });
  await t.rejects(client.barrier({ timeoutMs: -1 }), {
    code: 'EINVAL',
    message: /timeoutMs must be a positive number of milliseconds, got -1/,
  });
  await t.rejects(client.barrier({ timeout: 5 } as never), {
    code: 'EINVAL',
    message: /Unknown option "timeout" for barrier/,
  });
  silent = false;
  await client.barrier();
  t.notOk(client.closed);
});

t.test('keepalive: echo requests while idle; an unanswered one closes the connection', async (t) => {
  let answering = true;
  const fake = await scriptedSwitch(t, (message, socket) => {
    if (answering) {
      socket.write(
        encodeMessage(
          message.type === OFPT.ECHO_REQUEST ? OFPT.ECHO_REPLY : OFPT.BARRIER_REPLY,
          message.xid,
          message.body,
        ),
      );
    }
  });
  const client = await OpenFlowClient.connect(fake.target, { keepaliveMs: 50, timeoutMs: 200 });
  t.teardown(() => client.close());
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(
    fake.received.some((entry) => entry.message.type === OFPT.ECHO_REQUEST),
    'the client sent echo requests',
  );
  t.notOk(client.closed);
  answering = false;
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.ok(client.closed, 'closed after an unanswered echo');
  await t.rejects(client.barrier(), { code: 'ERR_CLOSED', message: /did not answer a keepalive echo/ });
});

t.test('hostile switches: bad headers, truncation, endless replies, wrong versions', async (t) => {
  t.test('a header stating a length below 8 fails the connection with EPROTO', async (t) => {
    const fake = await scriptedSwitch(t, (_message, socket) => {
      socket.write(Buffer.from([4, OFPT.BARRIER_REPLY, 0, 4, 0, 0, 0, 9]));
    });
    const client = await OpenFlowClient.connect(fake.target);
    await t.rejects(client.barrier(), { code: 'EPROTO', message: /length 4/ });
    t.ok(client.closed);
    await t.rejects(client.echo(), { code: 'ERR_CLOSED' });
  });

  t.test('a switch that closes mid-message fails pending calls with ECONNRESET', async (t) => {
    const fake = await scriptedSwitch(t, (message, socket) => {
      const reply = multipartReply(message.xid, OFPMP.PORT_DESC, 0, Buffer.alloc(64));
      socket.end(reply.subarray(0, 30));
    });
    const client = await OpenFlowClient.connect(fake.target);
    await t.rejects(client.portDescriptions(), { code: 'ECONNRESET' });
  });

  t.test('a header announcing 65535 bytes that never come: bounded buffering, then timeout', async (t) => {
    const fake = await scriptedSwitch(t, (message, socket) => {
      const header = Buffer.alloc(8);
      header.writeUInt8(4, 0);
      header.writeUInt8(OFPT.BARRIER_REPLY, 1);
      header.writeUInt16BE(0xffff, 2);
      header.writeUInt32BE(message.xid, 4);
      socket.write(Buffer.concat([header, Buffer.alloc(1000)]));
    });
    const client = await OpenFlowClient.connect(fake.target);
    t.teardown(() => client.close());
    await t.rejects(client.barrier({ timeoutMs: 200 }), { code: 'ETIMEDOUT' });
  });

  t.test('endless OFPMPF_REPLY_MORE parts stop at maxReplyBytes with EMSGSIZE', async (t) => {
    let sent = 0;
    const fake = await scriptedSwitch(t, (message, socket) => {
      const part = multipartReply(message.xid, OFPMP.PORT_STATS, OFPMPF_REPLY_MORE, Buffer.alloc(112 * 500));
      const pump = (): void => {
        while (sent < 2000 && !socket.destroyed) {
          sent++;
          if (!socket.write(part)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    const client = await OpenFlowClient.connect(fake.target, { maxReplyBytes: 1024 * 1024 });
    t.teardown(() => client.close());
    const before = process.memoryUsage().arrayBuffers;
    await t.rejects(client.portStats(), { code: 'EMSGSIZE', message: /maxReplyBytes \(1048576\)/ });
    t.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'memory stays bounded');
    t.notOk(client.closed, 'the connection survives');
  });

  t.test('a truncated flow stats entry rejects the call with EPROTO', async (t) => {
    const fake = await scriptedSwitch(t, (message, socket) => {
      const entry = flowStatsEntry(5);
      entry.writeUInt16BE(entry.length + 64, 0);
      socket.write(multipartReply(message.xid, OFPMP.FLOW, 0, entry));
    });
    const client = await OpenFlowClient.connect(fake.target);
    t.teardown(() => client.close());
    await t.rejects(client.flowStats(), { code: 'EPROTO', message: /flow stats entry length/ });
  });

  t.test('replies of the wrong type or version', async (t) => {
    const fake = await scriptedSwitch(t, (message, socket) => {
      socket.write(encodeMessage(OFPT.ECHO_REPLY, message.xid));
      socket.write(encodeMessage(OFPT.BARRIER_REPLY, message.xid + 1000, Buffer.alloc(0), 1));
    });
    const client = await OpenFlowClient.connect(fake.target);
    await t.rejects(client.barrier(), { code: 'EPROTO', message: /expected 21/ });
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.ok(client.closed, 'a message of another version closes the connection');
  });

  t.test('version negotiation failures are ERR_OPENFLOW_VERSION', async (t) => {
    const hello10 = encodeMessage(OFPT.HELLO, 1, Buffer.alloc(0), 1);
    const onlyOf10 = await startFakeSwitch((message, socket) => {
      if (message.type === OFPT.HELLO) {
        socket.write(hello10);
        return true;
      }
      return false;
    });
    t.teardown(() => onlyOf10.close());
    await t.rejects(OpenFlowClient.connect(onlyOf10.target), {
      code: 'ERR_OPENFLOW_VERSION',
      message: /offers OpenFlow10/,
    });

    const bitmapWithout13 = encodeHello(1);
    bitmapWithout13.writeUInt32BE((1 << 1) | (1 << 5), 12);
    const of14 = await startFakeSwitch((message, socket) => {
      if (message.type === OFPT.HELLO) {
        socket.write(bitmapWithout13);
        return true;
      }
      return false;
    });
    t.teardown(() => of14.close());
    await t.rejects(OpenFlowClient.connect(of14.target), {
      code: 'ERR_OPENFLOW_VERSION',
      message: /OpenFlow10, OpenFlow14/,
    });

    const helloFailed = Buffer.concat([
      Buffer.from([0, 0, 0, 0]),
      Buffer.from('We support version 0x01, you support version 0x04'),
    ]);
    const refusing = await startFakeSwitch((message, socket) => {
      if (message.type === OFPT.HELLO) {
        socket.end(encodeMessage(OFPT.ERROR, message.xid, helloFailed, 1));
        return true;
      }
      return false;
    });
    t.teardown(() => refusing.close());
    await t.rejects(OpenFlowClient.connect(refusing.target), {
      code: 'ERR_OPENFLOW_VERSION',
      message: /OFPHFC_INCOMPATIBLE: We support version 0x01/,
    });
  });

  t.test('a switch that speaks before its HELLO is a protocol error', async (t) => {
    const rude = await startFakeSwitch((message, socket) => {
      if (message.type === OFPT.HELLO) {
        socket.write(encodeMessage(OFPT.BARRIER_REPLY, 1));
        return true;
      }
      return false;
    });
    t.teardown(() => rude.close());
    await t.rejects(OpenFlowClient.connect(rude.target), {
      code: 'EPROTO',
      message: /sent message type 21 before HELLO/,
    });
  });

  t.test('a switch that never says HELLO times out; a missing socket fails cleanly', async (t) => {
    const mute = await startFakeSwitch(() => true);
    t.teardown(() => mute.close());
    await t.rejects(OpenFlowClient.connect(mute.target, { timeoutMs: 150 }), { code: 'ETIMEDOUT' });
    await t.rejects(OpenFlowClient.connect('unix:/tmp/no-such-dir-openflow/br0.mgmt'), { code: 'ENOENT' });
    await t.rejects(OpenFlowClient.connect('br0'), { code: 'EINVAL', message: /neither unix:PATH/ });
    await t.rejects(OpenFlowClient.connect(42 as never), { code: 'EINVAL', message: /target must be a string/ });
    await t.rejects(OpenFlowClient.connect(mute.target, { keepalive: 5 } as never), {
      code: 'EINVAL',
      message: /Unknown option "keepalive" for OpenFlowClient.connect/,
    });
    await t.rejects(OpenFlowClient.connect('tcp:127.0.0.1:99999'), { code: 'EINVAL', message: /port 99999/ });
  });
});
