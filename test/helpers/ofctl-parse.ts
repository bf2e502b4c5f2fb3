// What the installed `ovs-ofctl -O OpenFlow13 parse-flow` makes of a flow, and the check that
// dpdk-ts encodes, decodes and prints a flow as it does.
import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';
import { decodeInstructions } from '../../lib/ovs/openflow/actions.js';
import { encodeFlowMod } from '../../lib/ovs/openflow/flow-mod.js';
import { parseFlowMod } from '../../lib/ovs/openflow/flow-syntax.js';
import { formatInstructions, formatMatch } from '../../lib/ovs/openflow/format.js';
import { decodeMatch } from '../../lib/ovs/openflow/match.js';

/** What `ovs-ofctl -O OpenFlow13 parse-flow` makes of a flow: the flow mod (xid 1) and its text. */
export function ofctlParse(flow: string): { bytes: Buffer; match: string; actions: string } {
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
export function sameAsOfctl(t: Test, flow: string): void {
  const expected = ofctlParse(flow);
  const flowMod = parseFlowMod(flow, { command: 'add' });
  const bytes = encodeFlowMod(1, flowMod);
  t.equal(bytes.toString('hex'), expected.bytes.toString('hex'), `${flow}: bytes`);
  t.equal(formatMatch(flowMod.match ?? {}, flowMod.priority), expected.match, `${flow}: match text`);
  t.equal(formatMatch(decodeMatch(bytes, 48).match, flowMod.priority), expected.match, `${flow}: decoded match text`);
  t.equal(formatInstructions(flowMod.instructions ?? []), expected.actions, `${flow}: actions text`);
  const { paddedLength } = decodeMatch(bytes, 48);
  const decoded = decodeInstructions(bytes, 48 + paddedLength, bytes.length);
  t.equal(formatInstructions(decoded), expected.actions, `${flow}: decoded actions text`);
}
