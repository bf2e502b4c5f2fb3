/**
 * Open vSwitch's `clone(...)`, `push:FIELD`/`pop:FIELD` (the register stack) and
 * `debug_recirc`: read as `ovs-ofctl` 3.1 reads them, laid out as OVS sends them over
 * OpenFlow 1.3 (NXAST_CLONE, NXAST_STACK_PUSH/POP, NXAST_DEBUG_RECIRC), printed as it prints them.
 */
import type { Action } from './actions.js';
import { syntaxError } from './flow-tokens.js';
import {
  fieldHeader,
  fieldRefFromWire,
  formatFieldRef,
  isWritable,
  parseFieldRef,
  type FieldRef,
} from './nxm-fields.js';

/** The stack and clone actions. */
export type StackAction =
  /** `clone(ACTIONS)`: run the actions on a copy of the packet. */
  | { type: 'clone'; actions: Action[] }
  /** `push:FIELD[a..b]`: push the bits onto the stack. */
  | { type: 'stack_push'; field: FieldRef }
  /** `pop:FIELD[a..b]`: pop the top of the stack into the bits. */
  | { type: 'stack_pop'; field: FieldRef }
  /** `debug_recirc`: recirculate (for OVS's own tests). */
  | { type: 'debug_recirc' };

const NX_VENDOR_ID = 0x00002320;
const NXAST_STACK_PUSH = 27;
const NXAST_STACK_POP = 28;
const NXAST_CLONE = 42;
const NXAST_DEBUG_RECIRC = 0xff;

/** `push:FIELD` or `pop:FIELD`. */
export function parseStackAction(flow: string, piece: string, push: boolean, text: string): StackAction {
  const field = parseFieldRef(text);
  if (typeof field === 'string') {
    return syntaxError(flow, `${piece}: ${field}`);
  }
  if (!push && !isWritable(field)) {
    syntaxError(flow, `${piece}: ${field.field} is read-only`);
  }
  return { type: push ? 'stack_push' : 'stack_pop', field };
}

function nxHeader(subtype: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  buffer.writeUInt16BE(0xffff, 0);
  buffer.writeUInt16BE(length, 2);
  buffer.writeUInt32BE(NX_VENDOR_ID, 4);
  buffer.writeUInt16BE(subtype, 8);
  return buffer;
}

/** The bytes of a stack or clone action; `encodeNested` encodes the actions of `clone`. */
export function encodeStackAction(action: StackAction, encodeNested: (actions: Action[]) => Buffer): Buffer {
  switch (action.type) {
    case 'clone': {
      const nested = encodeNested(action.actions);
      const buffer = nxHeader(NXAST_CLONE, 16 + nested.length);
      nested.copy(buffer, 16);
      return buffer;
    }
    case 'stack_push':
    case 'stack_pop': {
      const buffer = nxHeader(action.type === 'stack_push' ? NXAST_STACK_PUSH : NXAST_STACK_POP, 24);
      buffer.writeUInt16BE(action.field.offset, 10);
      buffer.writeUInt32BE(fieldHeader(action.field), 12);
      buffer.writeUInt16BE(action.field.bits, 16);
      return buffer;
    }
    case 'debug_recirc':
      return nxHeader(NXAST_DEBUG_RECIRC, 16);
  }
}

/** Decodes an experimenter action's body (vendor onwards) if it is a stack or clone action. */
export function decodeStackAction(
  body: Buffer,
  decodeNested: (buffer: Buffer, start: number, end: number) => Action[],
): StackAction | undefined {
  if (body.length < 12 || body.readUInt32BE(0) !== NX_VENDOR_ID) {
    return undefined;
  }
  switch (body.readUInt16BE(4)) {
    case NXAST_CLONE:
      return { type: 'clone', actions: decodeNested(body, 12, body.length) };
    case NXAST_STACK_PUSH:
    case NXAST_STACK_POP: {
      if (body.length < 14) {
        return undefined;
      }
      const field = fieldRefFromWire(body.readUInt32BE(8), body.readUInt16BE(6), body.readUInt16BE(12));
      return field && { type: body.readUInt16BE(4) === NXAST_STACK_PUSH ? 'stack_push' : 'stack_pop', field };
    }
    case NXAST_DEBUG_RECIRC:
      return { type: 'debug_recirc' };
  }
  return undefined;
}

/** The dump text of a stack or clone action; `nested` prints the actions of `clone`. */
export function formatStackAction(action: StackAction, nested: (actions: readonly Action[]) => string): string {
  switch (action.type) {
    case 'clone':
      return `clone(${action.actions.length === 0 ? 'drop' : nested(action.actions)})`;
    case 'stack_push':
      return `push:${formatFieldRef(action.field)}`;
    case 'stack_pop':
      return `pop:${formatFieldRef(action.field)}`;
    case 'debug_recirc':
      return 'debug_recirc';
  }
}
