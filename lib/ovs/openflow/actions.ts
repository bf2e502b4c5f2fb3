/**
 * OpenFlow 1.3 actions and instructions: their types, reserved port numbers, and their
 * TLV encoding and decoding.
 */
import { DpdkError, invalidArgument } from '../../errors.js';
import { checkInteger, checkOptions } from '../../validate.js';
import { decodeOxmFields, encodeOxmFields, type Match, type MatchFieldName } from './match.js';
import { decodeStackAction, encodeStackAction, type StackAction } from './nicira-stack-actions.js';
import { decodeEncapAction, encodeEncapAction, type EncapAction } from './nicira-encap-actions.js';
import { decodeLearn, encodeLearn, type LearnAction } from './learn.js';
import { decodeNiciraAction, encodeNiciraAction, type NiciraAction } from './nicira-actions.js';
import {
  decodeTunMetadataLoad,
  decodeTunMetadataSetField,
  encodeTunMetadataAction,
  type TunMetadataAction,
} from './tun-metadata.js';
import { decodeHashAction, decodeRegisterSetField, encodeHashAction, type HashAction } from './nicira-hash-actions.js';

/** OpenFlow 1.3 reserved port numbers (`enum ofp_port_no`). */
export const OFPP = {
  /** Highest number of a physical or logical port. */
  MAX: 0xffffff00,
  /** Send the packet back out of its input port. */
  IN_PORT: 0xfffffff8,
  /** Submit the packet to the first flow table (packet-out only). */
  TABLE: 0xfffffff9,
  /** The switch's traditional, non-OpenFlow pipeline (OVS: the MAC-learning switch). */
  NORMAL: 0xfffffffa,
  /** Flood along the minimum spanning tree. */
  FLOOD: 0xfffffffb,
  /** All ports except the input port. */
  ALL: 0xfffffffc,
  /** Send to the controller. */
  CONTROLLER: 0xfffffffd,
  /** The local networking stack (the bridge's internal port). */
  LOCAL: 0xfffffffe,
  /** Wildcard port in requests (flow delete `out_port`, stats). */
  ANY: 0xffffffff,
} as const;

/** The reserved port names `ovs-ofctl` uses, by number. */
export const reservedPortNames: ReadonlyMap<number, string> = new Map(
  Object.entries(OFPP)
    .filter(([name]) => name !== 'MAX')
    .map(([name, number]) => [number, name]),
);

/** `OFPCML_NO_BUFFER`: send the whole packet to the controller, unbuffered. */
export const OFPCML_NO_BUFFER = 0xffff;

/** Fields `set_field` may write: every modelled match field (OVS lets actions rewrite `inPort` too). */
export type SetFieldName = MatchFieldName;

/** An OpenFlow 1.3 action. */
export type Action =
  /** `OFPAT_OUTPUT`. `maxLength` is the bytes to send when `port` is CONTROLLER (default all: 0xffff). */
  | { type: 'output'; port: number; maxLength?: number }
  /** `OFPAT_GROUP`. */
  | { type: 'group'; groupId: number }
  /** `OFPAT_PUSH_VLAN` with the TPID, 0x8100 or 0x88a8. */
  | { type: 'push_vlan'; ethertype: number }
  /** `OFPAT_POP_VLAN`. */
  | { type: 'pop_vlan' }
  /** `OFPAT_DEC_NW_TTL`. */
  | { type: 'dec_nw_ttl' }
  /** `OFPAT_SET_NW_TTL` (`mod_nw_ttl:N`). */
  | { type: 'set_nw_ttl'; ttl: number }
  /** `OFPAT_SET_QUEUE` (`set_queue:N`). */
  | { type: 'set_queue'; queueId: number }
  /** `OFPAT_SET_FIELD`: the value is typed as in {@link Match} (MAC/IPv4 strings, numbers, bigint). */
  | { type: 'set_field'; field: SetFieldName; value: string | number | bigint }
  /** An Open vSwitch extension (`resubmit`, `ct`, `load`, `move`, `note`, ...). */
  | NiciraAction
  /** `OFPAT_PUSH_MPLS`/`OFPAT_POP_MPLS` (`push_mpls:ETHERTYPE`, `pop_mpls:ETHERTYPE`). */
  | { type: 'push_mpls' | 'pop_mpls'; ethertype: number }
  /** `OFPAT_SET_MPLS_TTL` (`set_mpls_ttl:N`) and `OFPAT_DEC_MPLS_TTL` (`dec_mpls_ttl`). */
  | { type: 'set_mpls_ttl'; ttl: number }
  | { type: 'dec_mpls_ttl' }
  /** `learn(...)`. */
  | LearnAction
  /** `clone(...)`, `push:FIELD`, `pop:FIELD`, `sample(...)`, `debug_recirc`, `debug_slow`. */
  | StackAction
  /** `encap(...)`, `decap(...)`. */
  | EncapAction
  /** `multipath(...)`, `bundle(...)`, `bundle_load(...)`, `set_field` of `xregN`/`xxregN`. */
  | HashAction
  /** `set_field:VALUE[/MASK]->tun_metadataN`, `load:VALUE->tun_metadataN[a..b]`. */
  | TunMetadataAction
  /** An action this SDK does not model, as decoded from the switch; sent back verbatim. */
  | { type: 'unknown'; actionType: number; body: Buffer };

/** An OpenFlow 1.3 instruction. */
export type Instruction =
  /** `OFPIT_METER`. */
  | { type: 'meter'; meterId: number }
  /** `OFPIT_APPLY_ACTIONS`: run the actions now. */
  | { type: 'apply_actions'; actions: Action[] }
  /** `OFPIT_CLEAR_ACTIONS`: empty the action set. */
  | { type: 'clear_actions' }
  /** `OFPIT_WRITE_ACTIONS`: merge the actions into the action set. */
  | { type: 'write_actions'; actions: Action[] }
  /** `OFPIT_WRITE_METADATA`: `metadata = (metadata & ~mask) | (value & mask)`. */
  | { type: 'write_metadata'; metadata: bigint; mask: bigint }
  /** `OFPIT_GOTO_TABLE`: continue in a later table. */
  | { type: 'goto_table'; tableId: number }
  /** An instruction this SDK does not model, as decoded from the switch. */
  | { type: 'unknown'; instructionType: number; body: Buffer };

const OFPAT_EXPERIMENTER = 0xffff;
const OFPAT = {
  OUTPUT: 0,
  SET_MPLS_TTL: 15,
  DEC_MPLS_TTL: 16,
  PUSH_VLAN: 17,
  POP_VLAN: 18,
  PUSH_MPLS: 19,
  POP_MPLS: 20,
  SET_QUEUE: 21,
  GROUP: 22,
  SET_NW_TTL: 23,
  DEC_NW_TTL: 24,
  SET_FIELD: 25,
} as const;
const OFPIT = {
  GOTO_TABLE: 1,
  WRITE_METADATA: 2,
  WRITE_ACTIONS: 3,
  APPLY_ACTIONS: 4,
  CLEAR_ACTIONS: 5,
  METER: 6,
} as const;

function fixedAction(type: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  buffer.writeUInt16BE(type, 0);
  buffer.writeUInt16BE(length, 2);
  return buffer;
}

/** The keys each action and instruction type takes, to reject misspelt ones. */
const keysByType: Readonly<Record<string, readonly string[]>> = {
  output: ['type', 'port', 'maxLength'],
  group: ['type', 'groupId'],
  push_vlan: ['type', 'ethertype'],
  pop_vlan: ['type'],
  dec_nw_ttl: ['type'],
  set_nw_ttl: ['type', 'ttl'],
  set_queue: ['type', 'queueId'],
  set_field: ['type', 'field', 'value'],
  meter: ['type', 'meterId'],
  apply_actions: ['type', 'actions'],
  clear_actions: ['type'],
  write_actions: ['type', 'actions'],
  write_metadata: ['type', 'metadata', 'mask'],
  goto_table: ['type', 'tableId'],
};

/** Rejects a misspelt key of a modelled action or instruction (unknown types are refused later). */
/** `NXM_OF_IN_PORT`, a 16-bit field: OVS writes `set_field:PORT->in_port` with it over OpenFlow 1.3. */
const NXM_OF_IN_PORT = 0x00000002;

/**
 * The field of `set_field:PORT->in_port` as OVS sends it: `NXM_OF_IN_PORT` holding the
 * OpenFlow 1.0 port number (the reserved ports 0xffffff00 and up as 0xff00 and up).
 */
function encodeInPortSetField(operation: string, value: unknown): Buffer {
  const port = checkInteger(operation, 'set_field.value (in_port)', value, 0, 0xffffffff);
  if (port > 0xffff && port < 0xffffff00) {
    invalidArgument(operation, `set_field.value (in_port) must be a port up to 0xffff or a reserved port, got ${port}`);
  }
  const field = Buffer.alloc(6);
  field.writeUInt32BE(NXM_OF_IN_PORT, 0);
  field.writeUInt16BE(port & 0xffff, 4);
  return field;
}

/** The `set_field` of `NXM_OF_IN_PORT` in `body`, as {@link encodeInPortSetField} writes it; undefined for another field. */
function decodeInPortSetField(body: Buffer): Action | undefined {
  if (body.length < 6 || body.readUInt32BE(0) !== NXM_OF_IN_PORT) {
    return undefined;
  }
  const port = body.readUInt16BE(4);
  return { type: 'set_field', field: 'inPort', value: port < 0xff00 ? port : port + 0xffff0000 };
}

function checkKeys(operation: string, item: { type: string }): void {
  const allowed = Object.hasOwn(keysByType, item.type) ? keysByType[item.type] : undefined;
  if (allowed) {
    checkOptions<Record<string, unknown>>(operation, item, allowed);
  }
}

function encodeAction(action: Action): Buffer {
  const operation = 'encodeActions';
  checkKeys(operation, action);
  switch (action.type) {
    case 'output': {
      const buffer = fixedAction(OFPAT.OUTPUT, 16);
      buffer.writeUInt32BE(checkInteger(operation, 'output.port', action.port, 0, 0xffffffff), 4);
      const defaultLength = action.port === OFPP.CONTROLLER ? OFPCML_NO_BUFFER : 0;
      buffer.writeUInt16BE(
        checkInteger(operation, 'output.maxLength', action.maxLength ?? defaultLength, 0, 0xffff),
        8,
      );
      return buffer;
    }
    case 'group': {
      const buffer = fixedAction(OFPAT.GROUP, 8);
      buffer.writeUInt32BE(checkInteger(operation, 'group.groupId', action.groupId, 0, 0xffffffff), 4);
      return buffer;
    }
    case 'push_vlan': {
      const buffer = fixedAction(OFPAT.PUSH_VLAN, 8);
      buffer.writeUInt16BE(checkInteger(operation, 'push_vlan.ethertype', action.ethertype, 0, 0xffff), 4);
      return buffer;
    }
    case 'pop_vlan':
      return fixedAction(OFPAT.POP_VLAN, 8);
    case 'push_mpls':
    case 'pop_mpls': {
      const buffer = fixedAction(action.type === 'push_mpls' ? OFPAT.PUSH_MPLS : OFPAT.POP_MPLS, 8);
      buffer.writeUInt16BE(checkInteger(operation, `${action.type}.ethertype`, action.ethertype, 0, 0xffff), 4);
      return buffer;
    }
    case 'set_mpls_ttl': {
      const buffer = fixedAction(OFPAT.SET_MPLS_TTL, 8);
      buffer.writeUInt8(checkInteger(operation, 'set_mpls_ttl.ttl', action.ttl, 0, 255), 4);
      return buffer;
    }
    case 'dec_mpls_ttl':
      return fixedAction(OFPAT.DEC_MPLS_TTL, 8);
    case 'clone':
    case 'stack_push':
    case 'stack_pop':
    case 'debug_recirc':
    case 'debug_slow':
    case 'sample':
      return encodeStackAction(action, encodeActions);
    case 'encap':
    case 'decap':
      return encodeEncapAction(action);
    case 'dec_nw_ttl':
      return fixedAction(OFPAT.DEC_NW_TTL, 8);
    case 'set_nw_ttl': {
      const buffer = fixedAction(OFPAT.SET_NW_TTL, 8);
      buffer.writeUInt8(checkInteger(operation, 'set_nw_ttl.ttl', action.ttl, 0, 255), 4);
      return buffer;
    }
    case 'set_queue': {
      const buffer = fixedAction(OFPAT.SET_QUEUE, 8);
      buffer.writeUInt32BE(checkInteger(operation, 'set_queue.queueId', action.queueId, 0, 0xffffffff), 4);
      return buffer;
    }
    case 'set_field': {
      const oxm =
        action.field === 'inPort'
          ? encodeInPortSetField(operation, action.value)
          : encodeOxmFields({ [action.field]: action.value } as Match);
      const length = (4 + oxm.length + 7) & ~7;
      const buffer = fixedAction(OFPAT.SET_FIELD, length);
      oxm.copy(buffer, 4);
      return buffer;
    }
    case 'unknown': {
      const buffer = fixedAction(action.actionType, 4 + action.body.length);
      action.body.copy(buffer, 4);
      return buffer;
    }
    case 'pop_queue':
    case 'resubmit':
    case 'ct':
    case 'nat':
    case 'ct_clear':
    case 'load':
    case 'set_nsh_field':
    case 'move':
    case 'note':
    case 'output_reg':
    case 'output_trunc':
    case 'check_pkt_larger':
    case 'exit':
    case 'conjunction':
    case 'controller':
    case 'dec_ttl':
      return encodeNiciraAction(action, encodeActions);
    case 'learn':
      return encodeLearn(action);
    case 'multipath':
    case 'bundle':
    case 'set_register':
      return encodeHashAction(action);
    case 'set_tun_metadata':
      return encodeTunMetadataAction(action);
    default:
      return invalidArgument(
        operation,
        `unknown action type ${JSON.stringify((action as { type: unknown }).type)}; expected output, group, push_vlan, pop_vlan, dec_nw_ttl, set_field or an Open vSwitch extension (resubmit, ct, load, move, ...)`,
      );
  }
}

/** Encodes a list of actions (`ofp_action_header` TLVs). Throws `EINVAL` on a bad action. */
export function encodeActions(actions: readonly Action[]): Buffer {
  return Buffer.concat(actions.map(encodeAction));
}

function encodeInstruction(instruction: Instruction): Buffer {
  const operation = 'encodeInstructions';
  checkKeys(operation, instruction);
  switch (instruction.type) {
    case 'goto_table': {
      const buffer = fixedAction(OFPIT.GOTO_TABLE, 8);
      buffer.writeUInt8(checkInteger(operation, 'goto_table.tableId', instruction.tableId, 0, 254), 4);
      return buffer;
    }
    case 'meter': {
      const buffer = fixedAction(OFPIT.METER, 8);
      buffer.writeUInt32BE(checkInteger(operation, 'meter.meterId', instruction.meterId, 0, 0xffffffff), 4);
      return buffer;
    }
    case 'write_metadata': {
      const buffer = fixedAction(OFPIT.WRITE_METADATA, 24);
      buffer.writeBigUInt64BE(BigInt.asUintN(64, instruction.metadata), 8);
      buffer.writeBigUInt64BE(BigInt.asUintN(64, instruction.mask), 16);
      return buffer;
    }
    case 'clear_actions':
      return fixedAction(OFPIT.CLEAR_ACTIONS, 8);
    case 'apply_actions':
    case 'write_actions': {
      const actions = encodeActions(instruction.actions);
      const buffer = fixedAction(
        instruction.type === 'apply_actions' ? OFPIT.APPLY_ACTIONS : OFPIT.WRITE_ACTIONS,
        8 + actions.length,
      );
      actions.copy(buffer, 8);
      return buffer;
    }
    case 'unknown': {
      const buffer = fixedAction(instruction.instructionType, 4 + instruction.body.length);
      instruction.body.copy(buffer, 4);
      return buffer;
    }
    default:
      return invalidArgument(
        operation,
        `unknown instruction type ${JSON.stringify((instruction as { type: unknown }).type)}; expected apply_actions, write_actions, clear_actions, write_metadata, goto_table or meter`,
      );
  }
}

/** Encodes a list of instructions (`ofp_instruction` TLVs). Throws `EINVAL` on a bad one. */
export function encodeInstructions(instructions: readonly Instruction[]): Buffer {
  return Buffer.concat(instructions.map(encodeInstruction));
}

function protocolError(operation: string, message: string): never {
  throw new DpdkError(message, { code: 'EPROTO', operation });
}

/** Decodes the actions in `buffer[start, end)`. Throws `EPROTO` on a malformed TLV. */
export function decodeActions(buffer: Buffer, start: number, end: number): Action[] {
  const actions: Action[] = [];
  let position = start;
  while (position < end) {
    if (end - position < 8) {
      protocolError('decodeActions', `action header truncated: ${end - position} bytes left, need 8`);
    }
    const type = buffer.readUInt16BE(position);
    const length = buffer.readUInt16BE(position + 2);
    if (length < 8 || length % 8 !== 0 || position + length > end) {
      protocolError(
        'decodeActions',
        `action type ${type} has bad length ${length} (${end - position} bytes left; must be a multiple of 8)`,
      );
    }
    const body = buffer.subarray(position + 4, position + length);
    actions.push(decodeAction(type, body));
    position += length;
  }
  return actions;
}

function decodeAction(type: number, body: Buffer): Action {
  switch (type) {
    case OFPAT.OUTPUT:
      if (body.length >= 12) {
        return { type: 'output', port: body.readUInt32BE(0), maxLength: body.readUInt16BE(4) };
      }
      break;
    case OFPAT.GROUP:
      return { type: 'group', groupId: body.readUInt32BE(0) };
    case OFPAT.PUSH_VLAN:
      return { type: 'push_vlan', ethertype: body.readUInt16BE(0) };
    case OFPAT.POP_VLAN:
      return { type: 'pop_vlan' };
    case OFPAT.SET_MPLS_TTL:
      return { type: 'set_mpls_ttl', ttl: body.readUInt8(0) };
    case OFPAT.DEC_MPLS_TTL:
      return { type: 'dec_mpls_ttl' };
    case OFPAT.PUSH_MPLS:
      return { type: 'push_mpls', ethertype: body.readUInt16BE(0) };
    case OFPAT.POP_MPLS:
      return { type: 'pop_mpls', ethertype: body.readUInt16BE(0) };
    case OFPAT.DEC_NW_TTL:
      return { type: 'dec_nw_ttl' };
    case OFPAT.SET_NW_TTL:
      return { type: 'set_nw_ttl', ttl: body.readUInt8(0) };
    case OFPAT.SET_QUEUE:
      return { type: 'set_queue', queueId: body.readUInt32BE(0) };
    case OFPAT_EXPERIMENTER: {
      const nicira =
        decodeTunMetadataLoad(body) ??
        decodeNiciraAction(body, decodeActions) ??
        decodeLearn(body) ??
        decodeHashAction(body) ??
        decodeStackAction(body, decodeActions) ??
        decodeEncapAction(body);
      if (nicira) {
        return nicira;
      }
      break;
    }
    case OFPAT.SET_FIELD: {
      const register = decodeTunMetadataSetField(body) ?? decodeRegisterSetField(body) ?? decodeInPortSetField(body);
      if (register) {
        return register;
      }
      const oxmLength = 4 + body.readUInt8(3);
      if (oxmLength <= body.length) {
        const fields = decodeOxmFields(body, 0, oxmLength);
        const entries = Object.entries(fields).filter(([key]) => key !== 'otherFields');
        if (entries.length === 1 && typeof entries[0]![1] !== 'object') {
          const [field, value] = entries[0]!;
          return { type: 'set_field', field: field as SetFieldName, value: value as string | number | bigint };
        }
      }
      break;
    }
  }
  return { type: 'unknown', actionType: type, body: Buffer.from(body) };
}

/** Decodes the instructions in `buffer[start, end)`. Throws `EPROTO` on a malformed TLV. */
export function decodeInstructions(buffer: Buffer, start: number, end: number): Instruction[] {
  const instructions: Instruction[] = [];
  let position = start;
  while (position < end) {
    if (end - position < 8) {
      protocolError('decodeInstructions', `instruction header truncated: ${end - position} bytes left, need 8`);
    }
    const type = buffer.readUInt16BE(position);
    const length = buffer.readUInt16BE(position + 2);
    if (length < 8 || length % 8 !== 0 || position + length > end) {
      protocolError(
        'decodeInstructions',
        `instruction type ${type} has bad length ${length} (${end - position} bytes left; must be a multiple of 8)`,
      );
    }
    const body = buffer.subarray(position + 4, position + length);
    switch (type) {
      case OFPIT.GOTO_TABLE:
        instructions.push({ type: 'goto_table', tableId: body.readUInt8(0) });
        break;
      case OFPIT.METER:
        instructions.push({ type: 'meter', meterId: body.readUInt32BE(0) });
        break;
      case OFPIT.CLEAR_ACTIONS:
        instructions.push({ type: 'clear_actions' });
        break;
      case OFPIT.WRITE_METADATA:
        if (length !== 24) {
          protocolError('decodeInstructions', `write_metadata instruction has length ${length}, expected 24`);
        }
        instructions.push({
          type: 'write_metadata',
          metadata: body.readBigUInt64BE(4),
          mask: body.readBigUInt64BE(12),
        });
        break;
      case OFPIT.APPLY_ACTIONS:
      case OFPIT.WRITE_ACTIONS:
        instructions.push({
          type: type === OFPIT.APPLY_ACTIONS ? 'apply_actions' : 'write_actions',
          actions: decodeActions(buffer, position + 8, position + length),
        });
        break;
      default:
        instructions.push({ type: 'unknown', instructionType: type, body: Buffer.from(body) });
    }
    position += length;
  }
  return instructions;
}
