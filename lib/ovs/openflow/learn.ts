/**
 * Open vSwitch's `learn(...)` action: read as `ovs-ofctl` 3.1 reads it, sent as
 * NXAST_LEARN (or NXAST_LEARN2 when it has a `limit` or a `result_dst`, as OVS chooses),
 * and printed as `ovs-ofctl` prints it.
 */
import { formatIpv4, formatIpv6, formatMac, tryParseIpv4, tryParseIpv6, tryParseMac } from '../../address.js';
import { parseUint, parseUint64, splitTopLevel, syntaxError } from './flow-tokens.js';
import type { Match } from './match.js';
import {
  fieldHeader,
  fieldRefFromWire,
  formatFieldRef,
  isWritable,
  missingPrerequisite,
  nxmFieldByName,
  parseFieldRef,
  type FieldRef,
} from './nxm-fields.js';
import { NX_VENDOR_ID } from './nx-action.js';

/** One flow-mod spec of a learn action: where a bit range of the learned flow comes from and goes. */
export type LearnSpec =
  /** Match `dst` on the learned flow: equal to `src` bits of this packet, or to `value`. */
  | { kind: 'match'; dst: FieldRef; src: FieldRef | bigint }
  /** The learned flow loads `src` (this packet's bits, or a value) into `dst`. */
  | { kind: 'load'; dst: FieldRef; src: FieldRef | bigint }
  /** The learned flow outputs to the port held in `src` bits of this packet. */
  | { kind: 'output'; src: FieldRef };

/** `learn(...)`: add (or modify) a flow built from the packet. */
export interface LearnAction {
  type: 'learn';
  /** The table of the learned flow (default 1). */
  table: number;
  idleTimeout: number;
  hardTimeout: number;
  finIdleTimeout: number;
  finHardTimeout: number;
  /** Default 32768. */
  priority: number;
  cookie: bigint;
  sendFlowRem: boolean;
  deleteLearned: boolean;
  /** At most this many learned flows (0: no limit). */
  limit: number;
  /** The bit set to 1 when the flow was learned, 0 when the limit stopped it. */
  resultDst?: FieldRef;
  specs: LearnSpec[];
}

const NXAST_LEARN = 16;
const NXAST_LEARN2 = 45;
const flagBits = { sendFlowRem: 1, deleteLearned: 2, writeResult: 4 } as const;
const srcImmediate = 1 << 13;
const dstLoad = 1 << 11;
const dstOutput = 2 << 11;

/** How `ovs-ofctl` writes a field's value: OVS names (with aliases) of the fields learn may set whole. */
const valueKinds: Readonly<Record<string, 'mac' | 'ipv4' | 'ipv6' | 'port' | 'dec' | 'hex'>> = {
  NXM_OF_IN_PORT: 'port',
  NXM_OF_ETH_DST: 'mac',
  NXM_OF_ETH_SRC: 'mac',
  NXM_NX_ARP_SHA: 'mac',
  NXM_NX_ARP_THA: 'mac',
  NXM_OF_IP_SRC: 'ipv4',
  NXM_OF_IP_DST: 'ipv4',
  NXM_OF_ARP_SPA: 'ipv4',
  NXM_OF_ARP_TPA: 'ipv4',
  NXM_NX_IPV6_SRC: 'ipv6',
  NXM_NX_IPV6_DST: 'ipv6',
  NXM_OF_IP_TOS: 'dec',
  NXM_OF_IP_PROTO: 'dec',
  NXM_NX_IP_TTL: 'dec',
  NXM_OF_TCP_SRC: 'dec',
  NXM_OF_TCP_DST: 'dec',
  NXM_OF_UDP_SRC: 'dec',
  NXM_OF_UDP_DST: 'dec',
  NXM_OF_ARP_OP: 'dec',
};

/** OVS's canonical names where they differ from the short names of nxm-fields. */
const canonicalNames: Readonly<Record<string, string>> = { NXM_OF_IP_PROTO: 'nw_proto' };

interface Context {
  flow: string;
  match: Match;
  port: (text: string) => number | undefined;
}

function ref(context: Context, piece: string, text: string): FieldRef {
  const parsed = parseFieldRef(text);
  return typeof parsed === 'string' ? syntaxError(context.flow, `${piece}: ${parsed}`) : parsed;
}

/** A value for `bits` bits: a number, or a MAC/IP address or port of a whole field. */
function immediate(context: Context, piece: string, field: string, text: string, bits: number): bigint {
  let value: bigint | undefined;
  const kind = valueKinds[field];
  if (kind === 'mac' && tryParseMac(text)) {
    value = BigInt(`0x${Buffer.from(tryParseMac(text)!).toString('hex')}`);
  } else if (kind === 'ipv4' && tryParseIpv4(text) !== undefined) {
    value = BigInt(tryParseIpv4(text)!);
  } else if (kind === 'ipv6' && tryParseIpv6(text)) {
    value = BigInt(`0x${Buffer.from(tryParseIpv6(text)!).toString('hex')}`);
  } else if (kind === 'port' && context.port(text) !== undefined) {
    const port = context.port(text)!;
    value = BigInt(port >= 0xffffff00 ? port - 0xffff0000 : port);
  } else if (/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) {
    value = BigInt(text);
  }
  if (value === undefined || value >> BigInt(bits) !== 0n) {
    return syntaxError(context.flow, `${piece}: ${text}: value does not fit into ${bits} bits of ${field}`);
  }
  return value;
}

/** Refuses a field the learned flow cannot match or load without a protocol its earlier specs set. */
function checkLearned(context: Context, piece: string, dst: FieldRef, learned: Match): void {
  const missing = missingPrerequisite(dst, learned);
  if (missing) {
    syntaxError(
      context.flow,
      `${piece}: ${dst.field} needs the ${missing} protocol in the learned flow: match it first`,
    );
  }
}

function readSpec(context: Context, piece: string, written: string, learned: Match): LearnSpec {
  // OVS reads `KEY(VALUE)` as `KEY:VALUE` (`load(0x1->NXM_NX_REG0[])`).
  const call = /^(load|output)\((.*)\)$/s.exec(written);
  const part = call ? `${call[1]}:${call[2]}` : written;
  const equals = part.indexOf('=');
  const colon = part.indexOf(':');
  if (colon >= 0 && (equals < 0 || colon < equals)) {
    const keyword = part.slice(0, colon);
    const value = part.slice(colon + 1);
    if (keyword === 'output') {
      const src = ref(context, piece, value);
      checkSource(context, piece, src);
      return { kind: 'output', src };
    }
    if (keyword !== 'load') {
      return syntaxError(context.flow, `${piece}: unknown keyword ${keyword}`);
    }
    const arrow = value.indexOf('->');
    if (arrow < 0) {
      return syntaxError(context.flow, `${piece}: ${value}: missing \`->' in load`);
    }
    const dst = ref(context, piece, value.slice(arrow + 2));
    if (!isWritable(dst)) {
      syntaxError(context.flow, `${piece}: ${dst.field} is read-only`);
    }
    checkLearned(context, piece, dst, learned);
    const srcText = value.slice(0, arrow);
    if (/^[A-Za-z_]/.test(srcText)) {
      const src = ref(context, piece, srcText);
      if (src.bits !== dst.bits) {
        syntaxError(
          context.flow,
          `${piece}: bit widths of ${srcText} (${src.bits}) and ${value.slice(arrow + 2)} (${dst.bits}) differ`,
        );
      }
      checkSource(context, piece, src);
      return { kind: 'load', dst, src };
    }
    return { kind: 'load', dst, src: immediate(context, piece, '', srcText, dst.bits) };
  }
  const name = equals < 0 ? part : part.slice(0, equals);
  const value = equals < 0 ? undefined : part.slice(equals + 1);
  const dst = parseFieldRef(name);
  if (typeof dst === 'string') {
    return syntaxError(context.flow, /[[\]]/.test(name) ? `${piece}: ${dst}` : `${piece}: unknown keyword ${name}`);
  }
  checkLearned(context, piece, dst, learned);
  const srcRef = value === undefined ? dst : parseFieldRef(value);
  if (typeof srcRef !== 'string') {
    if (srcRef.bits !== dst.bits) {
      syntaxError(context.flow, `${piece}: bit widths of ${name} (${dst.bits}) and ${value} (${srcRef.bits}) differ`);
    }
    checkSource(context, piece, srcRef);
    return { kind: 'match', dst, src: srcRef };
  }
  // A plain field name takes a value as the field writes it (a MAC, an address, a port).
  const whole = !/[[\]]/.test(name) && !/^(NXM|OXM)_/.test(name);
  const src = immediate(context, piece, whole ? dst.field : '', value!, dst.bits);
  if (dst.offset === 0 && dst.bits === nxmFieldByName(dst.field)?.width) {
    noteLearned(learned, dst.field, src);
  }
  return { kind: 'match', dst, src };
}

/** A source field must be readable with the match of the flow that learns. */
function checkSource(context: Context, piece: string, src: FieldRef): void {
  const missing = missingPrerequisite(src, context.match);
  if (missing) {
    syntaxError(
      context.flow,
      `${piece}: source field ${src.field} needs the ${missing} protocol in the match: add ${missing}`,
    );
  }
}

/** Records the protocol fields a spec sets, which later specs' prerequisites may need. */
function noteLearned(learned: Match, field: string, value: bigint): void {
  if (field === 'NXM_OF_ETH_TYPE') {
    learned.ethType = Number(value);
  } else if (field === 'NXM_OF_IP_PROTO') {
    learned.ipProto = Number(value);
  }
}

/** Parses the inside of `learn(...)`. */
export function parseLearn(context: Context, piece: string, args: string): LearnAction {
  const action: LearnAction = {
    type: 'learn',
    table: 1,
    idleTimeout: 0,
    hardTimeout: 0,
    finIdleTimeout: 0,
    finHardTimeout: 0,
    priority: 0x8000,
    cookie: 0n,
    sendFlowRem: false,
    deleteLearned: false,
    limit: 0,
    specs: [],
  };
  const learned: Match = {};
  const number = (key: string, text: string | undefined, max: number): number => {
    const value = parseUint(text ?? '', max);
    return value ?? syntaxError(context.flow, `${piece}: ${key}=${text ?? ''}: expected an integer from 0 to ${max}`);
  };
  for (const part of splitTopLevel(args)) {
    const equals = part.indexOf('=');
    const key = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? undefined : part.slice(equals + 1);
    switch (key) {
      case 'table': {
        action.table = number(key, value, 254);
        continue;
      }
      case 'priority':
        action.priority = number(key, value, 0xffff);
        continue;
      case 'idle_timeout':
        action.idleTimeout = number(key, value, 0xffff);
        continue;
      case 'hard_timeout':
        action.hardTimeout = number(key, value, 0xffff);
        continue;
      case 'fin_idle_timeout':
        action.finIdleTimeout = number(key, value, 0xffff);
        continue;
      case 'fin_hard_timeout':
        action.finHardTimeout = number(key, value, 0xffff);
        continue;
      case 'limit':
        action.limit = number(key, value, 0xffffffff);
        continue;
      case 'cookie':
        action.cookie =
          parseUint64(value ?? '') ?? syntaxError(context.flow, `${piece}: cookie=${value}: expected a 64-bit integer`);
        continue;
      case 'send_flow_rem':
      case 'delete_learned':
        if (value === undefined) {
          action[key === 'send_flow_rem' ? 'sendFlowRem' : 'deleteLearned'] = true;
          continue;
        }
        break;
      case 'result_dst': {
        const dst = ref(context, piece, value ?? '');
        if (dst.bits !== 1) {
          syntaxError(context.flow, `${piece}: result_dst in 'learn' action must be a single bit`);
        }
        if (!isWritable(dst)) {
          syntaxError(context.flow, `${piece}: ${dst.field} is read-only`);
        }
        action.resultDst = dst;
        continue;
      }
    }
    action.specs.push(readSpec(context, piece, part, learned));
  }
  return action;
}

function subfield(buffer: Buffer, at: number, ref: FieldRef): number {
  buffer.writeUInt32BE(fieldHeader(ref), at);
  buffer.writeUInt16BE(ref.offset, at + 4);
  return at + 6;
}

function specBits(spec: LearnSpec): number {
  return spec.kind === 'output' ? spec.src.bits : spec.dst.bits;
}

/** The bytes of a learn action: NXAST_LEARN2 when it has a limit or result_dst, else NXAST_LEARN. */
export function encodeLearn(action: LearnAction): Buffer {
  const learn2 = action.limit !== 0 || action.resultDst !== undefined;
  const fixed = learn2 ? (action.resultDst ? 44 : 40) : 32;
  const specs: Buffer[] = action.specs.map((spec) => {
    const bits = specBits(spec);
    const immediateBytes = 2 * Math.ceil(bits / 16);
    const srcIsValue = spec.kind !== 'output' && typeof spec.src === 'bigint';
    const buffer = Buffer.alloc(2 + (srcIsValue ? immediateBytes : 6) + (spec.kind === 'output' ? 0 : 6));
    const header =
      bits |
      (srcIsValue ? srcImmediate : 0) |
      (spec.kind === 'load' ? dstLoad : spec.kind === 'output' ? dstOutput : 0);
    buffer.writeUInt16BE(header, 0);
    let at = 2;
    if (srcIsValue) {
      let value = spec.src as bigint;
      for (let index = immediateBytes - 1; index >= 0; index--) {
        buffer[at + index] = Number(value & 0xffn);
        value >>= 8n;
      }
      at += immediateBytes;
    } else {
      at = subfield(buffer, at, spec.src as FieldRef);
    }
    if (spec.kind !== 'output') {
      subfield(buffer, at, spec.dst);
    }
    return buffer;
  });
  const body = Buffer.concat(specs);
  const length = (fixed + body.length + 7) & ~7;
  const buffer = Buffer.alloc(length);
  buffer.writeUInt16BE(0xffff, 0);
  buffer.writeUInt16BE(length, 2);
  buffer.writeUInt32BE(NX_VENDOR_ID, 4);
  buffer.writeUInt16BE(learn2 ? NXAST_LEARN2 : NXAST_LEARN, 8);
  buffer.writeUInt16BE(action.idleTimeout, 10);
  buffer.writeUInt16BE(action.hardTimeout, 12);
  buffer.writeUInt16BE(action.priority, 14);
  buffer.writeBigUInt64BE(action.cookie, 16);
  const flags =
    (action.sendFlowRem ? flagBits.sendFlowRem : 0) |
    (action.deleteLearned ? flagBits.deleteLearned : 0) |
    (action.resultDst ? flagBits.writeResult : 0);
  buffer.writeUInt16BE(flags, 24);
  buffer.writeUInt8(action.table, 26);
  buffer.writeUInt16BE(action.finIdleTimeout, 28);
  buffer.writeUInt16BE(action.finHardTimeout, 30);
  if (learn2) {
    buffer.writeUInt32BE(action.limit, 32);
    if (action.resultDst) {
      buffer.writeUInt16BE(action.resultDst.offset, 36);
      buffer.writeUInt32BE(fieldHeader(action.resultDst), 40);
    }
  }
  body.copy(buffer, fixed);
  return buffer;
}

/** Decodes an experimenter action's body (vendor onwards) if it is a learn action. */
export function decodeLearn(body: Buffer): LearnAction | undefined {
  if (body.length < 24 || body.readUInt32BE(0) !== NX_VENDOR_ID) {
    return undefined;
  }
  const subtype = body.readUInt16BE(4);
  if (subtype !== NXAST_LEARN && subtype !== NXAST_LEARN2) {
    return undefined;
  }
  // Offsets below are of the whole action: the body starts 4 bytes in.
  const at = (offset: number): number => offset - 4;
  const flags = body.readUInt16BE(at(24));
  const action: LearnAction = {
    type: 'learn',
    idleTimeout: body.readUInt16BE(at(10)),
    hardTimeout: body.readUInt16BE(at(12)),
    priority: body.readUInt16BE(at(14)),
    cookie: body.readBigUInt64BE(at(16)),
    sendFlowRem: (flags & flagBits.sendFlowRem) !== 0,
    deleteLearned: (flags & flagBits.deleteLearned) !== 0,
    table: body.readUInt8(at(26)),
    finIdleTimeout: body.readUInt16BE(at(28)),
    finHardTimeout: body.readUInt16BE(at(30)),
    limit: 0,
    specs: [],
  };
  let position = at(32);
  if (subtype === NXAST_LEARN2) {
    if (body.length < at(40)) {
      return undefined;
    }
    action.limit = body.readUInt32BE(at(32));
    position = at(40);
    if (flags & flagBits.writeResult) {
      const dst = fieldRefFromWire(body.readUInt32BE(at(40)), body.readUInt16BE(at(36)), 1);
      if (!dst) {
        return undefined;
      }
      action.resultDst = dst;
      position = at(44);
    }
  }
  while (position + 2 <= body.length) {
    const header = body.readUInt16BE(position);
    if (header === 0) {
      break;
    }
    position += 2;
    const bits = header & 0x3ff;
    const readRef = (): FieldRef | undefined => {
      if (position + 6 > body.length) return undefined;
      const found = fieldRefFromWire(body.readUInt32BE(position), body.readUInt16BE(position + 4), bits);
      position += 6;
      return found;
    };
    let src: FieldRef | bigint | undefined;
    if (header & srcImmediate) {
      const bytes = 2 * Math.ceil(bits / 16);
      if (position + bytes > body.length) return undefined;
      src = BigInt(`0x${body.subarray(position, position + bytes).toString('hex') || '0'}`);
      position += bytes;
    } else {
      src = readRef();
    }
    const dstType = header & (3 << 11);
    if (src === undefined) {
      return undefined;
    }
    if (dstType === dstOutput) {
      if (typeof src === 'bigint') return undefined;
      action.specs.push({ kind: 'output', src });
      continue;
    }
    const dst = readRef();
    if (!dst) {
      return undefined;
    }
    action.specs.push({ kind: dstType === dstLoad ? 'load' : 'match', dst, src });
  }
  return action;
}

function formatValue(field: string, value: bigint, port: (port: number) => string): string {
  switch (valueKinds[field]) {
    case 'mac':
      return formatMac(Buffer.from(value.toString(16).padStart(12, '0'), 'hex'));
    case 'ipv4':
      return formatIpv4(Number(value));
    case 'ipv6':
      return formatIpv6(Buffer.from(value.toString(16).padStart(32, '0'), 'hex'));
    case 'port':
      return port(Number(value) >= 0xff00 ? Number(value) + 0xffff0000 : Number(value));
    case 'dec':
      return value.toString();
    default:
      return value === 0n ? '0' : `0x${value.toString(16)}`;
  }
}

function hex(value: bigint): string {
  return value === 0n ? '0' : `0x${value.toString(16)}`;
}

/** The dump text of a learn action, as `ovs-ofctl` prints it; `port` prints a port number. */
export function formatLearn(action: LearnAction, port: (port: number) => string): string {
  const parts = [`table=${action.table}`];
  if (action.idleTimeout) parts.push(`idle_timeout=${action.idleTimeout}`);
  if (action.hardTimeout) parts.push(`hard_timeout=${action.hardTimeout}`);
  if (action.finIdleTimeout) parts.push(`fin_idle_timeout=${action.finIdleTimeout}`);
  if (action.finHardTimeout) parts.push(`fin_hard_timeout=${action.finHardTimeout}`);
  if (action.priority !== 0x8000) parts.push(`priority=${action.priority}`);
  if (action.sendFlowRem) parts.push('send_flow_rem');
  if (action.deleteLearned) parts.push('delete_learned');
  if (action.cookie !== 0n) parts.push(`cookie=${hex(action.cookie)}`);
  if (action.limit) parts.push(`limit=${action.limit}`);
  if (action.resultDst) parts.push(`result_dst=${formatFieldRef(action.resultDst)}`);
  for (const spec of action.specs) {
    if (spec.kind === 'output') {
      parts.push(`output:${formatFieldRef(spec.src)}`);
    } else if (spec.kind === 'load') {
      const src = typeof spec.src === 'bigint' ? hex(spec.src) : formatFieldRef(spec.src);
      parts.push(`load:${src}->${formatFieldRef(spec.dst)}`);
    } else if (typeof spec.src === 'bigint') {
      const field = nxmFieldByName(spec.dst.field);
      const whole = spec.dst.offset === 0 && spec.dst.bits === field?.width;
      parts.push(
        whole
          ? `${canonicalNames[spec.dst.field] ?? field!.shortName ?? spec.dst.field}=${formatValue(spec.dst.field, spec.src, port)}`
          : `${formatFieldRef(spec.dst)}=${hex(spec.src)}`,
      );
    } else {
      const same = spec.src.field === spec.dst.field && spec.src.offset === spec.dst.offset;
      parts.push(same ? formatFieldRef(spec.dst) : `${formatFieldRef(spec.dst)}=${formatFieldRef(spec.src)}`);
    }
  }
  return `learn(${parts.join(',')})`;
}
