/**
 * Open vSwitch's hashing actions, `multipath(...)`, `bundle(...)` and `bundle_load(...)`
 * (NXAST_MULTIPATH, NXAST_BUNDLE, NXAST_BUNDLE_LOAD), and `set_field` of the wide
 * registers `xregN`/`xxregN`: read as `ovs-ofctl` 3.1 reads them, laid out as OVS sends
 * them over OpenFlow 1.3, and printed as it prints them.
 */
import { parseUint, parseUint64, syntaxError } from './flow-tokens.js';
import {
  fieldHeader,
  fieldRefFromWire,
  formatFieldRef,
  isWritable,
  missingPrerequisite,
  nxmFieldByHeader,
  nxmFieldByName,
  parseFieldRef,
  type FieldRef,
} from './nxm-fields.js';
import type { Match } from './match.js';
import { NX_VENDOR_ID, nxAction } from './nx-action.js';

/** What a `multipath` or `bundle` action hashes. */
export type HashFields =
  'eth_src' | 'symmetric_l4' | 'symmetric_l3l4' | 'symmetric_l3l4+udp' | 'nw_src' | 'nw_dst' | 'symmetric_l3';

/** A `multipath` action's algorithm. */
export type MultipathAlgorithm = 'modulo_n' | 'hash_threshold' | 'hrw' | 'iter_hash';

/** A `bundle` or `bundle_load` action's algorithm. */
export type BundleAlgorithm = 'active_backup' | 'hrw';

// The fields a hash covers (`NX_HASH_FIELDS_*`), by wire number.
const hashFields = [
  'eth_src',
  'symmetric_l4',
  'symmetric_l3l4',
  'symmetric_l3l4+udp',
  'nw_src',
  'nw_dst',
  'symmetric_l3',
] as const satisfies readonly HashFields[];

const multipathAlgorithms = [
  'modulo_n',
  'hash_threshold',
  'hrw',
  'iter_hash',
] as const satisfies readonly MultipathAlgorithm[];
const bundleAlgorithms = ['active_backup', 'hrw'] as const satisfies readonly BundleAlgorithm[];

/** The hashing actions and the wide-register set-field. */
export type HashAction =
  /** `multipath(FIELDS,BASIS,ALGORITHM,N_LINKS,ARG,DST)`: a link number from 0 to `links - 1` into `dst`. */
  | {
      type: 'multipath';
      fields: HashFields;
      basis: number;
      algorithm: MultipathAlgorithm;
      links: number;
      arg: number;
      dst: FieldRef;
    }
  /** `bundle(...)` outputs to one of `members`; `bundle_load(...)` (with `dst`) writes its number instead. */
  | {
      type: 'bundle';
      fields: HashFields;
      basis: number;
      algorithm: BundleAlgorithm;
      members: number[];
      dst?: FieldRef;
    }
  /** `set_field:VALUE->xregN`, `->xxregN` (OXM_OF_PKT_REGn, NXM_NX_XXREGn), `->vlan_tci`, `->nw_ecn`. */
  | { type: 'set_register'; register: string; value: bigint };

/** The fields `set_register` writes besides the wide registers: their set-field header, width, and text. */
const otherSetFields: Readonly<Record<string, { header: number; width: number; decimal?: boolean }>> = {
  vlan_tci: { header: 0x00000802, width: 16 },
  nw_ecn: { header: 0x80001201, width: 8, decimal: true },
};

/** The OVS name, header and width of a field `set_register` writes; undefined for another. */
function setRegisterField(
  name: string,
): { name: string; header: number; width: number; decimal?: boolean } | undefined {
  const canonical = name === 'ip_ecn' ? 'nw_ecn' : name;
  if (Object.hasOwn(otherSetFields, canonical)) {
    return { name: canonical, ...otherSetFields[canonical]! };
  }
  const field = /^x{1,2}reg\d$/.test(name) ? nxmFieldByName(name) : undefined;
  return field && { name, header: field.header, width: field.width };
}

/** What the readers need from the flow around them. */
interface Context {
  flow: string;
  match: Match;
  /** Resolves a port as `ovs-ofctl` does; undefined when none. */
  port: (text: string) => number | undefined;
}

const NXAST_MULTIPATH = 10;
const NXAST_BUNDLE = 12;
const NXAST_BUNDLE_LOAD = 13;
/** The header of NXM_OF_IN_PORT: bundle members are OpenFlow ports. */
const memberTypeHeader = 0x00000002;

function destination(context: Context, piece: string, text: string): FieldRef {
  const ref = parseFieldRef(text);
  if (typeof ref === 'string') {
    return syntaxError(context.flow, ref);
  }
  if (!isWritable(ref)) {
    syntaxError(context.flow, `${piece}: ${ref.field} is read-only`);
  }
  const missing = missingPrerequisite(ref, context.match);
  if (missing) {
    syntaxError(context.flow, `${piece}: ${ref.field} needs the ${missing} protocol in the match: add ${missing}`);
  }
  return ref;
}

function pickName<T extends string>(
  context: Context,
  piece: string,
  names: readonly T[],
  text: string,
  what: string,
): T {
  const name = names.find((candidate) => candidate === text.toLowerCase());
  return name ?? syntaxError(context.flow, `${piece}: unknown ${what} \`${text}'; expected ${names.join(', ')}`);
}

/** `multipath(fields, basis, algorithm, n_links, arg, dst)`. */
export function parseMultipath(context: Context, piece: string, args: string): HashAction {
  const parts = args.split(',').map((part) => part.trim());
  if (parts.length !== 6) {
    return syntaxError(context.flow, `${piece}: expected multipath(FIELDS,BASIS,ALGORITHM,N_LINKS,ARG,DST)`);
  }
  const [fieldsText, basisText, algorithmText, linksText, argText, dstText] = parts as [string, ...string[]];
  const fields = pickName(context, piece, hashFields, fieldsText, 'fields');
  const algorithm = pickName(context, piece, multipathAlgorithms, algorithmText!, 'algorithm');
  const basis = parseUint(basisText!, 0xffff);
  const links = parseUint(linksText!, 0xffffffff);
  const arg = parseUint(argText!, 0xffffffff);
  if (basis === undefined || arg === undefined) {
    return syntaxError(context.flow, `${piece}: BASIS must be 0 to 65535 and ARG 0 to 4294967295`);
  }
  if (links === undefined || links < 1 || links > 65536) {
    return syntaxError(context.flow, `${piece}: n_links ${linksText} is not in valid range 1 to 65536`);
  }
  const dst = destination(context, piece, dstText!);
  if (dst.bits < 16 && links > 1 << dst.bits) {
    syntaxError(
      context.flow,
      `${piece}: ${dst.bits}-bit destination field has ${1 << dst.bits} possible values, less than specified n_links ${links}`,
    );
  }
  return { type: 'multipath', fields, basis, algorithm, links, arg, dst };
}

/** `bundle(fields, basis, algorithm, ofport, members:P,...)` or `bundle_load(..., ofport, DST, members:...)`. */
export function parseBundle(context: Context, piece: string, args: string, load: boolean): HashAction {
  const colon = args.indexOf(':');
  const head = (colon < 0 ? args : args.slice(0, colon)).split(',').map((part) => part.trim());
  const memberKeyword = head.pop();
  if (colon < 0 || (memberKeyword !== 'members' && memberKeyword !== 'slaves') || head.length !== (load ? 5 : 4)) {
    return syntaxError(
      context.flow,
      `${piece}: expected ${load ? 'bundle_load(FIELDS,BASIS,ALGORITHM,ofport,DST,members:PORT,...)' : 'bundle(FIELDS,BASIS,ALGORITHM,ofport,members:PORT,...)'}`,
    );
  }
  const [fieldsText, basisText, algorithmText, typeText, dstText] = head as [string, ...string[]];
  const fields = pickName(context, piece, hashFields, fieldsText, 'fields');
  const algorithm = pickName(context, piece, bundleAlgorithms, algorithmText!, 'algorithm');
  const basis = parseUint(basisText!, 0xffff) ?? syntaxError(context.flow, `${piece}: BASIS must be 0 to 65535`);
  if (typeText!.toLowerCase() !== 'ofport') {
    syntaxError(context.flow, `${piece}: unknown member type \`${typeText}'; expected ofport`);
  }
  const members = args
    .slice(colon + 1)
    // OVS's bundle parser splits the members at commas, spaces and brackets (`members:[1,2]`).
    .split(/[,\s[\]]/)
    .map((text) => text.trim())
    .filter((text) => text !== '')
    .map((text) => {
      const port = context.port(text);
      if (port === undefined) {
        syntaxError(context.flow, `${piece}: ${text}: bad member port`);
      }
      // OVS's bundle check: members are ports output may use, or NONE (OFPBAC_BAD_OUT_PORT).
      if (port! >= 0xff00 && (port! < 0xfffffff8 || port! === 0xffffffff) && text.toUpperCase() !== 'NONE') {
        syntaxError(context.flow, `${piece}: invalid member ${text} (OFPBAC_BAD_OUT_PORT)`);
      }
      return port!;
    });
  const action: HashAction = { type: 'bundle', fields, basis, algorithm, members };
  if (load) {
    action.dst = destination(context, piece, dstText!);
    if (action.dst.bits < 16) {
      syntaxError(context.flow, `${piece}: bundle_load action requires at least 16 bit destination`);
    }
  }
  return action;
}

/**
 * `set_field:VALUE[/MASK]->xregN` / `xxregN`; undefined for another field. With a mask, OVS
 * sends a `load` of the masked bits (one contiguous run).
 */
export function parseRegisterSetField(
  flow: string,
  piece: string,
  register: string,
  text: string,
): HashAction | LoadAction | undefined {
  const field = setRegisterField(register);
  if (!field) {
    return undefined;
  }
  const [valueText = '', maskText, extra] = text.split('/');
  const value = parseUint128(valueText);
  if (value === undefined || value >> BigInt(field.width) !== 0n || (field.name === 'nw_ecn' && value > 3n)) {
    return syntaxError(flow, `${piece}: ${valueText}: value too large for ${field.width / 8}-byte field ${register}`);
  }
  if (maskText === undefined) {
    return { type: 'set_register', register: field.name, value };
  }
  const loadField = nxmFieldByName(field.name);
  if (!loadField) {
    return syntaxError(flow, `${piece}: a /MASK is not supported for ${register}`);
  }
  const mask = parseUint64(maskText);
  if (mask === undefined || mask === 0n || extra !== undefined) {
    return syntaxError(flow, `${piece}: expected a non-zero 64-bit /MASK`);
  }
  let offset = 0;
  while (((mask >> BigInt(offset)) & 1n) === 0n) {
    offset++;
  }
  const run = mask >> BigInt(offset);
  if ((run & (run + 1n)) !== 0n) {
    return syntaxError(flow, `${piece}: the mask must be one run of contiguous bits within the field, got ${maskText}`);
  }
  const bits = run.toString(2).length;
  return { type: 'load', dst: { field: loadField.name, offset, bits }, value: (value & mask) >> BigInt(offset) };
}

/** The `load` a masked set-field becomes. */
interface LoadAction {
  type: 'load';
  dst: FieldRef;
  value: bigint;
}

function parseUint128(text: string): bigint | undefined {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) {
    return undefined;
  }
  const value = BigInt(text);
  return value < 1n << 128n ? value : undefined;
}

function ofsNbits(ref: FieldRef): number {
  return (ref.offset << 6) | (ref.bits - 1);
}

/** The bytes of a hashing action or wide-register set-field (OFPAT_SET_FIELD = 25). */
export function encodeHashAction(action: HashAction): Buffer {
  switch (action.type) {
    case 'multipath': {
      const buffer = nxAction(NXAST_MULTIPATH, 32);
      buffer.writeUInt16BE(hashFields.indexOf(action.fields), 10);
      buffer.writeUInt16BE(action.basis, 12);
      buffer.writeUInt16BE(multipathAlgorithms.indexOf(action.algorithm), 16);
      buffer.writeUInt16BE(action.links - 1, 18);
      buffer.writeUInt32BE(action.arg, 20);
      buffer.writeUInt16BE(ofsNbits(action.dst), 26);
      buffer.writeUInt32BE(fieldHeader(action.dst), 28);
      return buffer;
    }
    case 'bundle': {
      const buffer = nxAction(action.dst ? NXAST_BUNDLE_LOAD : NXAST_BUNDLE, (32 + 2 * action.members.length + 7) & ~7);
      buffer.writeUInt16BE(bundleAlgorithms.indexOf(action.algorithm), 10);
      buffer.writeUInt16BE(hashFields.indexOf(action.fields), 12);
      buffer.writeUInt16BE(action.basis, 14);
      buffer.writeUInt32BE(memberTypeHeader, 16);
      buffer.writeUInt16BE(action.members.length, 20);
      if (action.dst) {
        buffer.writeUInt16BE(ofsNbits(action.dst), 22);
        buffer.writeUInt32BE(fieldHeader(action.dst), 24);
      }
      action.members.forEach((port, index) =>
        buffer.writeUInt16BE(port >= 0xffffff00 ? port - 0xffff0000 : port, 32 + 2 * index),
      );
      return buffer;
    }
    case 'set_register': {
      const field = setRegisterField(action.register)!;
      const bytes = field.width / 8;
      const buffer = Buffer.alloc((8 + bytes + 7) & ~7);
      buffer.writeUInt16BE(25, 0);
      buffer.writeUInt16BE(buffer.length, 2);
      buffer.writeUInt32BE(field.header, 4);
      for (let index = 0; index < bytes; index++) {
        buffer[8 + index] = Number((action.value >> BigInt(8 * (bytes - 1 - index))) & 0xffn);
      }
      return buffer;
    }
  }
}

/** Decodes an experimenter action's body (vendor onwards) if it is a hashing action. */
export function decodeHashAction(body: Buffer): HashAction | undefined {
  if (body.length < 24 || body.readUInt32BE(0) !== NX_VENDOR_ID) {
    return undefined;
  }
  const subtype = body.readUInt16BE(4);
  if (subtype === NXAST_MULTIPATH) {
    const nbits = body.readUInt16BE(22);
    const dst = fieldRefFromWire(body.readUInt32BE(24), nbits >> 6, (nbits & 0x3f) + 1);
    const fields = hashFields[body.readUInt16BE(6)];
    const algorithm = multipathAlgorithms[body.readUInt16BE(12)];
    return dst && fields && algorithm
      ? {
          type: 'multipath',
          fields,
          basis: body.readUInt16BE(8),
          algorithm,
          links: body.readUInt16BE(14) + 1,
          arg: body.readUInt32BE(16),
          dst,
        }
      : undefined;
  }
  if (subtype !== NXAST_BUNDLE && subtype !== NXAST_BUNDLE_LOAD) {
    return undefined;
  }
  const algorithm = bundleAlgorithms[body.readUInt16BE(6)];
  const fields = hashFields[body.readUInt16BE(8)];
  const count = body.readUInt16BE(16);
  if (!algorithm || !fields || 28 + 2 * count > body.length) {
    return undefined;
  }
  const members = Array.from({ length: count }, (_, index) => {
    const port = body.readUInt16BE(28 + 2 * index);
    return port >= 0xff00 ? port + 0xffff0000 : port;
  });
  const action: HashAction = { type: 'bundle', fields, basis: body.readUInt16BE(10), algorithm, members };
  if (subtype === NXAST_BUNDLE_LOAD) {
    const nbits = body.readUInt16BE(18);
    const dst = fieldRefFromWire(body.readUInt32BE(20), nbits >> 6, (nbits & 0x3f) + 1);
    if (!dst) {
      return undefined;
    }
    action.dst = dst;
  }
  return action;
}

/** Decodes an OFPAT_SET_FIELD body (the OXM onwards) if it sets a wide register. */
export function decodeRegisterSetField(body: Buffer): HashAction | undefined {
  const header = body.length >= 4 ? body.readUInt32BE(0) : 0;
  const other = Object.keys(otherSetFields).find((name) => otherSetFields[name]!.header === header);
  const register = other ?? nxmFieldByHeader(header)?.shortName;
  const field = register === undefined ? undefined : setRegisterField(register);
  if (!field || header !== field.header || 4 + field.width / 8 > body.length) {
    return undefined;
  }
  let value = 0n;
  for (let index = 0; index < field.width / 8; index++) {
    value = (value << 8n) | BigInt(body[4 + index]!);
  }
  return { type: 'set_register', register: field.name, value };
}

/** The dump text of a hashing action, as `ovs-ofctl` prints it; `port` prints a port number. */
export function formatHashAction(action: HashAction, port: (port: number) => string): string {
  switch (action.type) {
    case 'multipath':
      return `multipath(${action.fields},${action.basis},${action.algorithm},${action.links},${action.arg},${formatFieldRef(action.dst)})`;
    case 'bundle': {
      const name = action.dst ? 'bundle_load' : 'bundle';
      const dst = action.dst ? `${formatFieldRef(action.dst)},` : '';
      return `${name}(${action.fields},${action.basis},${action.algorithm},ofport,${dst}members:${action.members.map((member) => (member === 0xffffffff ? 'NONE' : port(member))).join(',')})`;
    }
    case 'set_register':
      return `set_field:${
        setRegisterField(action.register)?.decimal || action.value === 0n
          ? action.value
          : `0x${action.value.toString(16)}`
      }->${action.register}`;
  }
}
