/**
 * OFPT_FLOW_MOD: the {@link FlowMod} type, its flags, and its encoding.
 */
import { invalidArgument } from '../../errors.js';
import { checkBigInt, checkInteger, checkOptions } from '../../validate.js';
import { encodeInstructions, OFPP, type Instruction } from './actions.js';
import { encodeMessage, OFPG_ANY, OFPT, OFPTT_ALL } from './codec.js';
import { encodeMatch, type Match } from './match.js';

/** `OFP_NO_BUFFER`: the flow-mod refers to no buffered packet. */
export const OFP_NO_BUFFER = 0xffffffff;

/** `OFP_DEFAULT_PRIORITY`: the priority of a flow that names none. */
export const OFP_DEFAULT_PRIORITY = 0x8000;

/** Flow-mod commands (`enum ofp_flow_mod_command`), named as in `ovs-ofctl`. */
export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';

const flowModCommands: Record<FlowModCommand, number> = {
  add: 0,
  modify: 1,
  modify_strict: 2,
  delete: 3,
  delete_strict: 4,
};

/** Flow-mod flags (`enum ofp_flow_mod_flags`), named as in `ovs-ofctl`. */
export type FlowModFlag = 'send_flow_rem' | 'check_overlap' | 'reset_counts' | 'no_packet_counts' | 'no_byte_counts';

/** Bit value of each {@link FlowModFlag}, in the order `ovs-ofctl` prints them. */
export const flowModFlagBits: Readonly<Record<FlowModFlag, number>> = {
  send_flow_rem: 1,
  check_overlap: 2,
  reset_counts: 4,
  no_packet_counts: 8,
  no_byte_counts: 16,
};

/** An OFPT_FLOW_MOD: add, modify or delete flows. */
export interface FlowMod {
  /** What to do. */
  command: FlowModCommand;
  /** Which packets the flow matches; for modify/delete, which flows are affected. Default: all. */
  match?: Match;
  /** Opaque 64-bit id set on add; with `cookieMask`, a filter on modify/delete. Default 0. */
  cookie?: bigint;
  /** Bits of `cookie` that must match (modify/delete). Default 0: any cookie. */
  cookieMask?: bigint;
  /** Table, default 0 for add/modify and {@link OFPTT_ALL} for delete. */
  tableId?: number;
  /** Seconds of inactivity before expiry, 0 (default) for never. */
  idleTimeout?: number;
  /** Seconds before expiry, 0 (default) for never. */
  hardTimeout?: number;
  /** Priority 0..65535, default {@link OFP_DEFAULT_PRIORITY}. */
  priority?: number;
  /** Buffered packet to apply the flow to, default {@link OFP_NO_BUFFER}. */
  bufferId?: number;
  /** Delete only flows that output to this port. Default `OFPP.ANY`. */
  outPort?: number;
  /** Delete only flows that output to this group. Default {@link OFPG_ANY}. */
  outGroup?: number;
  /** Flow-mod flags. */
  flags?: FlowModFlag[];
  /** Instructions; none means drop. */
  instructions?: Instruction[];
}

const flowModKeys = [
  'command',
  'match',
  'cookie',
  'cookieMask',
  'tableId',
  'idleTimeout',
  'hardTimeout',
  'priority',
  'bufferId',
  'outPort',
  'outGroup',
  'flags',
  'instructions',
] as const satisfies readonly (keyof FlowMod)[];

const uint64Max = 0xffffffffffffffffn;

/** The flag bits of a list of {@link FlowModFlag}s. Throws `EINVAL` on an unknown name. */
export function encodeFlowModFlags(flags: readonly FlowModFlag[], operation: string): number {
  let bits = 0;
  for (const flag of flags) {
    const bit = Object.hasOwn(flowModFlagBits, flag) ? flowModFlagBits[flag] : undefined;
    if (bit === undefined) {
      invalidArgument(
        operation,
        `unknown flow-mod flag "${String(flag)}"; expected ${Object.keys(flowModFlagBits).join(', ')}`,
      );
    }
    bits |= bit;
  }
  return bits;
}

/** The {@link FlowModFlag}s set in `bits`, in `ovs-ofctl` order; unknown bits are dropped. */
export function decodeFlowModFlags(bits: number): FlowModFlag[] {
  return (Object.entries(flowModFlagBits) as [FlowModFlag, number][])
    .filter(([, bit]) => (bits & bit) !== 0)
    .map(([flag]) => flag);
}

/** Encodes an OFPT_FLOW_MOD message. Throws `EINVAL` with the offending field on bad input. */
export function encodeFlowMod(xid: number, flowMod: FlowMod): Buffer {
  const operation = 'encodeFlowMod';
  checkOptions<FlowMod>(operation, flowMod, flowModKeys);
  const command = Object.hasOwn(flowModCommands, flowMod.command) ? flowModCommands[flowMod.command] : undefined;
  if (command === undefined) {
    invalidArgument(
      operation,
      `unknown flow-mod command "${String(flowMod.command)}"; expected ${Object.keys(flowModCommands).join(', ')}`,
    );
  }
  const isDelete = flowMod.command === 'delete' || flowMod.command === 'delete_strict';
  const fixed = Buffer.alloc(40);
  fixed.writeBigUInt64BE(checkBigInt(operation, 'cookie', flowMod.cookie ?? 0n, 0n, uint64Max), 0);
  fixed.writeBigUInt64BE(checkBigInt(operation, 'cookieMask', flowMod.cookieMask ?? 0n, 0n, uint64Max), 8);
  fixed.writeUInt8(checkInteger(operation, 'tableId', flowMod.tableId ?? (isDelete ? OFPTT_ALL : 0), 0, 255), 16);
  fixed.writeUInt8(command, 17);
  fixed.writeUInt16BE(checkInteger(operation, 'idleTimeout', flowMod.idleTimeout ?? 0, 0, 0xffff), 18);
  fixed.writeUInt16BE(checkInteger(operation, 'hardTimeout', flowMod.hardTimeout ?? 0, 0, 0xffff), 20);
  fixed.writeUInt16BE(checkInteger(operation, 'priority', flowMod.priority ?? OFP_DEFAULT_PRIORITY, 0, 0xffff), 22);
  fixed.writeUInt32BE(checkInteger(operation, 'bufferId', flowMod.bufferId ?? OFP_NO_BUFFER, 0, 0xffffffff), 24);
  fixed.writeUInt32BE(checkInteger(operation, 'outPort', flowMod.outPort ?? OFPP.ANY, 0, 0xffffffff), 28);
  fixed.writeUInt32BE(checkInteger(operation, 'outGroup', flowMod.outGroup ?? OFPG_ANY, 0, 0xffffffff), 32);
  fixed.writeUInt16BE(encodeFlowModFlags(flowMod.flags ?? [], operation), 36);
  const match = encodeMatch(flowMod.match ?? {});
  const instructions = encodeInstructions(flowMod.instructions ?? []);
  return encodeMessage(OFPT.FLOW_MOD, xid, Buffer.concat([fixed, match, instructions]));
}
