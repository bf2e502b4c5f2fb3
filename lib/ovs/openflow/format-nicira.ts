/**
 * The dump text of Open vSwitch's extension actions, as OVS 3.1's `format_*` functions
 * print them (`resubmit(,2)`, `ct(commit,zone=5,exec(...))`, `load:0x1->NXM_NX_REG0[]`).
 */
import type { Action } from './actions.js';
import type { NatAction, NiciraAction } from './nicira-actions.js';
import { formatNshLoad, formatNshMaskedWrite } from './nsh-load.js';
import { formatFieldRef, isExperimenterRef } from './nxm-fields.js';

/** `%#x` of C: `0` for zero, else `0x...`. */
function alternateHex(value: number | bigint): string {
  return value === 0 || value === 0n ? '0' : `0x${value.toString(16)}`;
}

/** Bytes as `ovs-ofctl` prints notes and user data: `01.02.03`. */
function hexBytes(bytes: Buffer): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('.');
}

const algNames: Readonly<Record<number, string>> = { 21: 'ftp', 69: 'tftp' };

function formatNat(nat: NatAction): string {
  if (!nat.kind) {
    return 'nat';
  }
  let text = `nat(${nat.kind}`;
  if (nat.addressMin !== undefined) {
    const bracket = (address: string): string => (address.includes(':') && nat.portMin ? `[${address}]` : address);
    text += `=${bracket(nat.addressMin)}`;
    if (nat.addressMax !== undefined && nat.addressMax !== nat.addressMin) {
      text += `-${bracket(nat.addressMax)}`;
    }
    if (nat.portMin) {
      text += `:${nat.portMin}`;
      if (nat.portMax && nat.portMax !== nat.portMin) {
        text += `-${nat.portMax}`;
      }
    }
  }
  for (const flag of ['persistent', 'hash', 'random'] as const) {
    if (nat[flag]) {
      text += `,${flag}`;
    }
  }
  return `${text})`;
}

/**
 * Formats an extension action; `port` prints a port number, `nested` the actions inside
 * `ct(exec(...))`.
 */
export function formatNiciraAction(
  action: NiciraAction,
  port: (port: number) => string,
  nested: (actions: readonly Action[]) => string,
): string {
  switch (action.type) {
    case 'resubmit': {
      const inPort = action.port === undefined || action.port === 0xfffffff8;
      if (!inPort && action.table === undefined && !action.ct) {
        return `resubmit:${port(action.port!)}`;
      }
      return `resubmit(${inPort ? '' : port(action.port!)},${action.table ?? ''}${action.ct ? ',ct' : ''})`;
    }
    case 'ct': {
      const parts: string[] = [];
      if (action.commit) parts.push('commit');
      if (action.force) parts.push('force');
      if (action.table !== undefined) parts.push(`table=${action.table}`);
      if (typeof action.zone === 'object') {
        parts.push(`zone=${formatFieldRef(action.zone)}`);
      } else if (action.zone) {
        parts.push(`zone=${action.zone}`);
      }
      const inner = [...(action.actions ?? [])];
      if (inner[0]?.type === 'nat') {
        parts.push(formatNat(inner.shift() as NatAction));
      }
      if (inner.length > 0) {
        parts.push(`exec(${nested(inner)})`);
      }
      if (action.alg) {
        parts.push(`alg=${algNames[action.alg] ?? action.alg}`);
      }
      return `ct(${parts.join(',')})`;
    }
    case 'nat':
      return formatNat(action);
    case 'ct_clear':
    case 'pop_queue':
    case 'exit':
      return action.type;
    case 'load':
      return isExperimenterRef(action.dst)
        ? formatNshLoad(action.dst, action.value)
        : `load:${alternateHex(action.value)}->${formatFieldRef(action.dst)}`;
    case 'set_nsh_field':
      return formatNshMaskedWrite(action);
    case 'move':
      return `move:${formatFieldRef(action.src)}->${formatFieldRef(action.dst)}`;
    case 'note':
      return `note:${hexBytes(action.data)}`;
    case 'output_reg':
      return `output:${formatFieldRef(action.src)}`;
    case 'check_pkt_larger':
      return `check_pkt_larger(${action.pktLen})->${formatFieldRef(action.dst)}`;
    case 'output_trunc':
      return `output(port=${port(action.port)},max_len=${action.maxLength})`;
    case 'conjunction':
      return `conjunction(${action.id},${action.clause}/${action.nClauses})`;
    case 'controller': {
      const reason = action.reason ?? 'action';
      const maxLength = action.maxLength ?? 0xffff;
      if (
        reason === 'action' &&
        !action.controllerId &&
        !action.userdata &&
        !action.pause &&
        action.meterId === undefined
      ) {
        return `CONTROLLER:${maxLength}`;
      }
      const parts: string[] = [];
      if (reason !== 'action') parts.push(`reason=${reason}`);
      if (maxLength !== 0xffff) parts.push(`max_len=${maxLength}`);
      if (action.controllerId) parts.push(`id=${action.controllerId}`);
      if (action.userdata) parts.push(`userdata=${hexBytes(action.userdata)}`);
      if (action.pause) parts.push('pause');
      if (action.meterId !== undefined) parts.push(`meter_id=${action.meterId}`);
      return `controller(${parts.join(',')})`;
    }
    case 'dec_ttl':
      return action.controllerIds.length === 1 && action.controllerIds[0] === 0
        ? 'dec_ttl'
        : `dec_ttl(${action.controllerIds.join(',')})`;
  }
}
