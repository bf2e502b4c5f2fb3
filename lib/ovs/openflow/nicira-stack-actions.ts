/**
 * Open vSwitch's `clone(...)`, `push:FIELD`/`pop:FIELD` (the register stack), `sample(...)`
 * `debug_recirc` and `debug_slow`: read as `ovs-ofctl` 3.1 reads them, laid out as OVS sends them over
 * OpenFlow 1.3 (NXAST_CLONE, NXAST_STACK_PUSH/POP, NXAST_SAMPLE/SAMPLE2/SAMPLE3,
 * NXAST_DEBUG_RECIRC/SLOW), printed as it prints them.
 */
import type { Action } from './actions.js';
import { parseUint, syntaxError } from './flow-tokens.js';
import {
  fieldHeaderBytes,
  formatFieldRef,
  readFieldHeader,
  isWritable,
  parseFieldRef,
  type FieldRef,
} from './nxm-fields.js';
import { NX_VENDOR_ID, nxAction } from './nx-action.js';

/** The stack, clone and sample actions. */
export type StackAction =
  /** `clone(ACTIONS)`: run the actions on a copy of the packet. */
  | { type: 'clone'; actions: Action[] }
  /** `push:FIELD[a..b]`: push the bits onto the stack. */
  | { type: 'stack_push'; field: FieldRef }
  /** `pop:FIELD[a..b]`: pop the top of the stack into the bits. */
  | { type: 'stack_pop'; field: FieldRef }
  /** `debug_recirc`: recirculate (for OVS's own tests). */
  | { type: 'debug_recirc' }
  /** `debug_slow`: keep the flow in the slow path (for OVS's own tests). */
  | { type: 'debug_slow' }
  /** `sample(...)`: sample 1 packet in 65535/`probability` to an IPFIX collector set. */
  | {
      type: 'sample';
      probability: number;
      collectorSetId: number;
      obsDomainId: number;
      obsPointId: number;
      /** The port sampled (OpenFlow 1.3 number); undefined: none. */
      samplingPort?: number;
      direction?: 'ingress' | 'egress';
    };

const NXAST_STACK_PUSH = 27;
const NXAST_STACK_POP = 28;
const NXAST_CLONE = 42;
const NXAST_DEBUG_RECIRC = 0xff;
const NXAST_DEBUG_SLOW = 0xfe;
const NXAST_SAMPLE = 29;
const NXAST_SAMPLE2 = 38;
const NXAST_SAMPLE3 = 41;
const directions = [undefined, 'ingress', 'egress'] as const;

/** `sample(probability=N,collector_set_id=N,obs_domain_id=N,obs_point_id=N,sampling_port=P,ingress|egress)`. */
export function parseSample(
  flow: string,
  piece: string,
  args: string,
  port: (text: string) => number | undefined,
): StackAction {
  const action: StackAction = { type: 'sample', probability: 0, collectorSetId: 0, obsDomainId: 0, obsPointId: 0 };
  const keys = {
    collector_set_id: 'collectorSetId',
    obs_domain_id: 'obsDomainId',
    obs_point_id: 'obsPointId',
  } as const;
  for (const part of args.split(',').map((text) => text.trim())) {
    const [key = '', value] = part.split('=');
    if (key === 'probability') {
      const probability = parseUint(value ?? '', 0xffff);
      if (!probability) {
        syntaxError(flow, `${piece}: invalid probability value "${value ?? ''}"`);
      }
      action.probability = probability!;
    } else if (Object.hasOwn(keys, key) && value !== undefined) {
      action[keys[key as keyof typeof keys]] =
        parseUint(value, 0xffffffff) ?? syntaxError(flow, `${piece}: invalid ${key} value "${value}"`);
    } else if (key === 'sampling_port' && value !== undefined) {
      action.samplingPort = port(value) ?? syntaxError(flow, `${piece}: ${value}: unknown port`);
    } else if ((key === 'ingress' || key === 'egress') && value === undefined) {
      action.direction = key;
    } else {
      syntaxError(flow, `${piece}: invalid key "${key}" in "sample" argument`);
    }
  }
  if (action.probability === 0) {
    syntaxError(flow, `${piece}: non-zero "probability" must be specified on sample`);
  }
  return action;
}

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

/** The bytes of a stack or clone action; `encodeNested` encodes the actions of `clone`. */
export function encodeStackAction(action: StackAction, encodeNested: (actions: Action[]) => Buffer): Buffer {
  switch (action.type) {
    case 'clone': {
      const nested = encodeNested(action.actions);
      const buffer = nxAction(NXAST_CLONE, 16 + nested.length);
      nested.copy(buffer, 16);
      return buffer;
    }
    case 'stack_push':
    case 'stack_pop': {
      // The field's header is 32 bits, or 64 for an experimenter (NSH) field.
      const header = fieldHeaderBytes(action.field);
      const buffer = nxAction(action.type === 'stack_push' ? NXAST_STACK_PUSH : NXAST_STACK_POP, 24);
      buffer.writeUInt16BE(action.field.offset, 10);
      header.copy(buffer, 12);
      buffer.writeUInt16BE(action.field.bits, 12 + header.length);
      return buffer;
    }
    case 'debug_recirc':
      return nxAction(NXAST_DEBUG_RECIRC, 16);
    case 'debug_slow':
      return nxAction(NXAST_DEBUG_SLOW, 16);
    case 'sample': {
      const plain = action.samplingPort === undefined && action.direction === undefined;
      const subtype = plain ? NXAST_SAMPLE : action.direction ? NXAST_SAMPLE3 : NXAST_SAMPLE2;
      const buffer = nxAction(subtype, plain ? 24 : 32);
      buffer.writeUInt16BE(action.probability, 10);
      buffer.writeUInt32BE(action.collectorSetId, 12);
      buffer.writeUInt32BE(action.obsDomainId, 16);
      buffer.writeUInt32BE(action.obsPointId, 20);
      if (!plain) {
        const port = action.samplingPort ?? 0xffffffff;
        buffer.writeUInt16BE(port >= 0xffffff00 ? port - 0xffff0000 : port, 24);
        buffer.writeUInt8(directions.indexOf(action.direction), 26);
      }
      return buffer;
    }
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
      const header = readFieldHeader(body, 8);
      if (!header || body.length < 10 + header.length) {
        return undefined;
      }
      const field = { field: header.name, offset: body.readUInt16BE(6), bits: body.readUInt16BE(8 + header.length) };
      return { type: body.readUInt16BE(4) === NXAST_STACK_PUSH ? 'stack_push' : 'stack_pop', field };
    }
    case NXAST_DEBUG_RECIRC:
      return { type: 'debug_recirc' };
    case NXAST_DEBUG_SLOW:
      return { type: 'debug_slow' };
    case NXAST_SAMPLE:
    case NXAST_SAMPLE2:
    case NXAST_SAMPLE3: {
      if (body.length < 20) {
        return undefined;
      }
      const action: StackAction = {
        type: 'sample',
        probability: body.readUInt16BE(6),
        collectorSetId: body.readUInt32BE(8),
        obsDomainId: body.readUInt32BE(12),
        obsPointId: body.readUInt32BE(16),
      };
      if (body.readUInt16BE(4) !== NXAST_SAMPLE && body.length >= 23) {
        const port = body.readUInt16BE(20);
        if (port !== 0xffff) {
          action.samplingPort = port >= 0xff00 ? port + 0xffff0000 : port;
        }
        const direction = directions[body.readUInt8(22)];
        if (direction) {
          action.direction = direction;
        }
      }
      return action;
    }
  }
  return undefined;
}

/** The dump text of a stack or clone action; `nested` prints the actions of `clone`. */
export function formatStackAction(
  action: StackAction,
  nested: (actions: readonly Action[]) => string,
  port: (port: number) => string,
): string {
  switch (action.type) {
    case 'clone':
      return `clone(${action.actions.length === 0 ? 'drop' : nested(action.actions)})`;
    case 'stack_push':
      return `push:${formatFieldRef(action.field)}`;
    case 'stack_pop':
      return `pop:${formatFieldRef(action.field)}`;
    case 'debug_recirc':
    case 'debug_slow':
      return action.type;
    case 'sample': {
      let text = `sample(probability=${action.probability},collector_set_id=${action.collectorSetId},obs_domain_id=${action.obsDomainId},obs_point_id=${action.obsPointId}`;
      if (action.samplingPort !== undefined) text += `,sampling_port=${port(action.samplingPort)}`;
      if (action.direction) text += `,${action.direction}`;
      return `${text})`;
    }
  }
}
