/**
 * `tun_metadata0`..`tun_metadata63` (`NXM_NX_TUN_METADATA<n>`): tunnel option bytes whose
 * meaning the switch's TLV table gives (tlv-table.ts). The fields are up to 124 bytes and
 * variable-length on the wire: `ovs-ofctl`, which does not know the switch's table, sizes
 * each by its value's (and mask's) significant bytes; the switch answers with the length
 * its TLV table maps. Syntax, wire and text as OVS 3.1's tun-metadata.c and meta-flow.c.
 */
import { DpdkError, invalidArgument } from '../../errors.js';
import { checkInteger, describe } from '../../validate.js';
import { parseIntString, syntaxError, type Token } from './flow-tokens.js';
import { NX_VENDOR_ID } from './nx-action.js';

/** The number of `tun_metadata` fields. */
export const tunMetadataFields = 64;

/** The width of each `tun_metadata` field in bytes (`TUN_METADATA_TOT_OPT_SIZE`'s per-field limit). */
export const tunMetadataBytes = 124;

/** The NXM class and first field number of `NXM_NX_TUN_METADATA0`. */
const NXM_1 = 0x0001;
const firstField = 40;

/** A match on `tun_metadata<index>`: the value's bytes (their count is the field's length on the wire), and a mask as long. */
export interface TunMetadataField {
  /** N of `tun_metadataN`, 0..63. */
  index: number;
  /** The value, big-endian, as long as the field is on the wire (0 to 124 bytes). */
  value: Buffer;
  /** The mask, as long as `value`; absent for an exact match. */
  mask?: Buffer;
}

/** N of a `tun_metadataN` name; undefined for another name. */
export function tunMetadataIndex(name: string): number | undefined {
  const parts = /^tun_metadata(\d+)$/.exec(name);
  const index = parts ? Number(parts[1]) : undefined;
  return index !== undefined && index < tunMetadataFields ? index : undefined;
}

/** The significant bytes of `value` (0 for zero), as OVS's `mf_field_len` counts them. */
function significantBytes(value: bigint): number {
  return value === 0n ? 0 : Math.ceil(value.toString(16).length / 2);
}

/** The low `length` bytes of `value`, big-endian. */
function toBytes(value: bigint, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let rest = value;
  for (let at = length - 1; at >= 0; at--) {
    bytes[at] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

/**
 * Reads `tun_metadataN=VALUE[/MASK]` as `ovs-ofctl` does: any mask makes a masked match,
 * the field as long as the value's or mask's significant bytes, the value ANDed with the mask.
 */
export function readTunMetadataMatch(flow: string, token: Token, index: number): TunMetadataField {
  const text = token.value ?? '';
  if (text === '') {
    // As OVS: the bare name is a wildcard that still names the field (an empty masked match).
    return { index, value: Buffer.alloc(0), mask: Buffer.alloc(0) };
  }
  const slash = text.indexOf('/');
  const valueText = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const read = (piece: string, what: string): bigint => {
    const value = parseIntString(piece, tunMetadataBytes);
    if (value === 'range') {
      return syntaxError(flow, `${text}: ${what} too large for ${tunMetadataBytes}-byte field tun_metadata${index}`);
    }
    return value ?? syntaxError(flow, `${text}: bad syntax for ${what} tun_metadata${index}`);
  };
  const value = read(valueText, 'value');
  if (maskText === undefined) {
    return { index, value: toBytes(value, significantBytes(value)) };
  }
  const mask = read(maskText, 'mask');
  const length = Math.max(significantBytes(value), significantBytes(mask));
  return { index, value: toBytes(value & mask, length), mask: toBytes(mask, length) };
}

/** Adds `field` to a match's `tun_metadata` fields, kept in index order; a field given twice is refused as OVS does. */
export function addTunMetadataField(
  flow: string,
  fields: TunMetadataField[] | undefined,
  field: TunMetadataField,
): TunMetadataField[] {
  const list = fields ?? [];
  if (list.some((other) => other.index === field.index)) {
    syntaxError(flow, `field tun_metadata${field.index} set multiple times`);
  }
  return [...list, field].sort((a, b) => a.index - b.index);
}

function checkField(field: TunMetadataField, at: number): void {
  const operation = 'encodeMatch';
  const name = `tunMetadata[${at}]`;
  checkInteger(operation, `${name}.index`, field?.index, 0, tunMetadataFields - 1);
  if (!Buffer.isBuffer(field.value) || field.value.length > tunMetadataBytes) {
    invalidArgument(
      operation,
      `${name}.value must be a Buffer of up to ${tunMetadataBytes} bytes, got ${describe(field.value)}`,
    );
  }
  if (field.mask !== undefined && (!Buffer.isBuffer(field.mask) || field.mask.length !== field.value.length)) {
    invalidArgument(
      operation,
      `${name}.mask must be a Buffer as long as the value (${field.value.length} bytes), got ${describe(field.mask)}`,
    );
  }
}

/** The OXM TLVs of a match's `tun_metadata` fields, in index order, as OVS puts them (after the tunnel fields). */
export function encodeTunMetadataFields(fields: readonly TunMetadataField[] | undefined): Buffer[] {
  if (fields === undefined) {
    return [];
  }
  if (!Array.isArray(fields)) {
    invalidArgument('encodeMatch', `tunMetadata must be an array, got ${describe(fields)}`);
  }
  fields.forEach(checkField);
  return [...fields]
    .sort((a, b) => a.index - b.index)
    .map((field) => {
      const header = Buffer.alloc(4);
      header.writeUInt16BE(NXM_1, 0);
      header.writeUInt8(((firstField + field.index) << 1) | (field.mask ? 1 : 0), 2);
      header.writeUInt8(field.value.length * (field.mask ? 2 : 1), 3);
      return Buffer.concat(field.mask ? [header, field.value, field.mask] : [header, field.value]);
    });
}

/** The `tun_metadata` field of an OXM TLV from the wire; undefined when the TLV is another field. */
export function decodeTunMetadataField(
  oxmClass: number,
  field: number,
  hasMask: boolean,
  payload: Buffer,
): TunMetadataField | undefined {
  const index = field - firstField;
  if (oxmClass !== NXM_1 || index < 0 || index >= tunMetadataFields) {
    return undefined;
  }
  if (hasMask && payload.length % 2 !== 0) {
    throw new DpdkError(`tun_metadata${index} has a mask and an odd length ${payload.length}`, {
      code: 'EPROTO',
      operation: 'decodeMatch',
    });
  }
  const half = hasMask ? payload.length / 2 : payload.length;
  const decoded: TunMetadataField = { index, value: Buffer.from(payload.subarray(0, half)) };
  if (hasMask) {
    decoded.mask = Buffer.from(payload.subarray(half));
  }
  return decoded;
}

/** OVS's `ds_put_hex`: `0x` and the bytes without leading zeros, `0` when all are zero. */
export function formatHexBytes(bytes: Buffer): string {
  const hex = bytes.toString('hex').replace(/^0+/, '');
  return hex === '' ? '0' : `0x${hex}`;
}

/** The significant bytes of `bytes` (those from the first non-zero one). */
function significantLength(bytes: Buffer): number {
  const first = bytes.findIndex((byte) => byte !== 0);
  return first < 0 ? 0 : bytes.length - first;
}

/**
 * The dump text of a match's `tun_metadata` fields, as `ovs-ofctl` prints a switch's reply
 * (`tun_metadata_match_format` without a TLV table): the field is as long as its value's
 * and mask's significant bytes, and the mask is shown unless it covers all of them.
 */
export function formatTunMetadataMatch(fields: readonly TunMetadataField[] | undefined): string[] {
  return (fields ?? []).map((field) => {
    const name = `tun_metadata${field.index}`;
    const length = Math.max(significantLength(field.value), field.mask ? significantLength(field.mask) : 0);
    const low = (bytes: Buffer): Buffer => bytes.subarray(Math.max(0, bytes.length - length));
    if (field.mask && low(field.mask).every((byte) => byte === 0)) {
      return name;
    }
    const mask =
      field.mask && !(field.mask.length >= length && low(field.mask).every((byte) => byte === 0xff))
        ? `/${formatHexBytes(field.mask)}`
        : '';
    return `${name}=${formatHexBytes(field.value)}${mask}`;
  });
}

/**
 * A write of `tun_metadataN`: `set_field:VALUE->tun_metadataN` (OFPAT_SET_FIELD), or with a
 * mask or from `load:` (NXAST_REG_LOAD2, `nicira`), the field as long as its significant
 * bytes, as `ovs-ofctl` sends it. Printed `set_field:VALUE[/MASK]->tun_metadataN`.
 */
export interface TunMetadataAction {
  type: 'set_tun_metadata';
  /** N of `tun_metadataN`, 0..63. */
  index: number;
  /** The value, big-endian, as long as the field is on the wire. */
  value: Buffer;
  /** The bits written, as long as `value`; absent: the whole field. */
  mask?: Buffer;
  /** Sent as Open vSwitch's NXAST_REG_LOAD2 rather than OFPAT_SET_FIELD (masked writes always are). */
  nicira?: boolean;
}

/** `load:VALUE->tun_metadataN[a..b]`: the write OVS makes of it (a set_field of the bits, as NXAST_REG_LOAD2). */
export function tunMetadataLoad(index: number, offset: number, bits: number, value: bigint): TunMetadataAction {
  if (offset === 0 && bits === 8 * tunMetadataBytes) {
    return { type: 'set_tun_metadata', index, value: toBytes(value, significantBytes(value)), nicira: true };
  }
  const mask = ((1n << BigInt(bits)) - 1n) << BigInt(offset);
  const length = significantBytes(mask);
  return {
    type: 'set_tun_metadata',
    index,
    value: toBytes(value << BigInt(offset), length),
    mask: toBytes(mask, length),
    nicira: true,
  };
}

/** `set_field:VALUE[/MASK]->tun_metadataN`, read as `ovs-ofctl` reads it. */
export function parseTunMetadataSetField(flow: string, piece: string, index: number, text: string): TunMetadataAction {
  const slash = text.indexOf('/');
  const read = (part: string, what: string): bigint => {
    const value = parseIntString(part, tunMetadataBytes);
    if (value === 'range') {
      return syntaxError(flow, `${piece}: ${what} too large for ${tunMetadataBytes}-byte field tun_metadata${index}`);
    }
    return value ?? syntaxError(flow, `${piece}: bad syntax for ${what} tun_metadata${index}`);
  };
  const value = read(slash < 0 ? text : text.slice(0, slash), 'value');
  if (slash < 0) {
    return { type: 'set_tun_metadata', index, value: toBytes(value, significantBytes(value)) };
  }
  const mask = read(text.slice(slash + 1), 'mask');
  if ((value & ~mask) !== 0n) {
    syntaxError(flow, `${piece}: value ${text.slice(0, slash)} has bits outside mask ${text.slice(slash + 1)}`);
  }
  const length = Math.max(significantBytes(value), significantBytes(mask));
  return { type: 'set_tun_metadata', index, value: toBytes(value, length), mask: toBytes(mask, length), nicira: true };
}

const OFPAT_SET_FIELD = 25;
const NXAST_REG_LOAD2 = 33;

/** The bytes of a {@link TunMetadataAction}: OFPAT_SET_FIELD, or NXAST_REG_LOAD2 when masked or `nicira`. */
export function encodeTunMetadataAction(action: TunMetadataAction): Buffer {
  const [tlv] = encodeTunMetadataFields([
    { index: action.index, value: action.value, ...(action.mask ? { mask: action.mask } : {}) },
  ]);
  const nicira = action.nicira === true || action.mask !== undefined;
  const prefix = nicira ? 10 : 4;
  const buffer = Buffer.alloc((prefix + tlv!.length + 7) & ~7);
  buffer.writeUInt16BE(nicira ? 0xffff : OFPAT_SET_FIELD, 0);
  buffer.writeUInt16BE(buffer.length, 2);
  if (nicira) {
    buffer.writeUInt32BE(NX_VENDOR_ID, 4);
    buffer.writeUInt16BE(NXAST_REG_LOAD2, 8);
  }
  tlv!.copy(buffer, prefix);
  return buffer;
}

function decodeOxm(body: Buffer, at: number, nicira: boolean): TunMetadataAction | undefined {
  if (body.length < at + 4) {
    return undefined;
  }
  const oxmClass = body.readUInt16BE(at);
  const fieldAndMask = body.readUInt8(at + 2);
  const length = body.readUInt8(at + 3);
  if (body.length < at + 4 + length) {
    return undefined;
  }
  const field = decodeTunMetadataField(
    oxmClass,
    fieldAndMask >> 1,
    (fieldAndMask & 1) === 1,
    body.subarray(at + 4, at + 4 + length),
  );
  if (!field) {
    return undefined;
  }
  const action: TunMetadataAction = { type: 'set_tun_metadata', index: field.index, value: field.value };
  if (field.mask) {
    action.mask = field.mask;
  }
  if (nicira) {
    action.nicira = true;
  }
  return action;
}

/** The {@link TunMetadataAction} of an OFPAT_SET_FIELD body (the OXM onwards); undefined for another field. */
export function decodeTunMetadataSetField(body: Buffer): TunMetadataAction | undefined {
  return decodeOxm(body, 0, false);
}

/** The {@link TunMetadataAction} of an experimenter action's body (vendor onwards) if it is a REG_LOAD2 of tun_metadata. */
export function decodeTunMetadataLoad(body: Buffer): TunMetadataAction | undefined {
  if (body.length < 10 || body.readUInt32BE(0) !== NX_VENDOR_ID || body.readUInt16BE(4) !== NXAST_REG_LOAD2) {
    return undefined;
  }
  return decodeOxm(body, 6, true);
}

/** The dump text of a {@link TunMetadataAction}, as `ovs-ofctl` prints a set_field of the field. */
export function formatTunMetadataAction(action: TunMetadataAction): string {
  const mask = action.mask ? `/${formatHexBytes(action.mask)}` : '';
  return `set_field:${formatHexBytes(action.value)}${mask}->tun_metadata${action.index}`;
}
