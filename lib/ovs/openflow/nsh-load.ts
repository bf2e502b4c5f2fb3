/**
 * Writes of the NSH fields by Open vSwitch's NXAST_REG_LOAD2 (`load:V->nsh_c3[8..15]`,
 * `set_field:V/MASK->nsh_c1`): over OpenFlow 1.3 OVS sends them as one experimenter OXM, masked
 * unless the write covers every byte of the field, and prints them as a set_field. A write of
 * one run of bits is a `load`; any other mask (several runs, or none) is an {@link NshMaskedWrite}.
 */
import { invalidArgument } from '../../errors.js';
import { describe } from '../../validate.js';
import { fieldHeaderBytes, isExperimenterRef, nxmFieldByName, readFieldHeader, type FieldRef } from './nxm-fields.js';
import { nxAction } from './nx-action.js';

const NXAST_REG_LOAD2 = 33;

/** `set_field:VALUE/MASK->nsh_*` with a mask that is not one run of bits (several, or none): one NXAST_REG_LOAD2. */
export interface NshMaskedWrite {
  type: 'set_nsh_field';
  /** The field's NXOXM name, `NXOXM_NSH_FLAGS` or `NXOXM_NSH_C1`..`NXOXM_NSH_C4` (those OVS lets a mask write). */
  field: string;
  /** The value, its bits within `mask`. */
  value: bigint;
  /** The bits written. */
  mask: bigint;
}

/** The NSH fields OVS prints in hex (the others in decimal). */
const hexFields = new Set(['NXOXM_NSH_SPI', 'NXOXM_NSH_C1', 'NXOXM_NSH_C2', 'NXOXM_NSH_C3', 'NXOXM_NSH_C4']);

/** The bytes of the field's value on the wire: its OXM header's length less the experimenter id. */
function valueBytes(header: Buffer): number {
  return header.readUInt8(3) - 4;
}

/** The bits of `dst` as a mask over the whole field. */
function maskOf(dst: FieldRef): bigint {
  return ((1n << BigInt(dst.bits)) - 1n) << BigInt(dst.offset);
}

/** NXAST_REG_LOAD2 writing the bits `mask` of `field` (an experimenter field) with `value`; unmasked when all are. */
function encodeWrite(field: string, value: bigint, mask: bigint): Buffer {
  const header = fieldHeaderBytes({ field, offset: 0, bits: 1 });
  const width = valueBytes(header);
  const masked = mask !== (1n << BigInt(8 * width)) - 1n;
  const length = (10 + 8 + (masked ? 2 : 1) * width + 7) & ~7;
  const buffer = nxAction(NXAST_REG_LOAD2, length);
  header.copy(buffer, 10);
  if (masked) {
    // The masked header: the hasmask bit, and a length counting value and mask.
    buffer.writeUInt8(buffer.readUInt8(12) | 1, 12);
    buffer.writeUInt8(4 + 2 * width, 13);
    buffer.writeUIntBE(Number(mask), 18 + width, width);
  }
  buffer.writeUIntBE(Number(value & mask), 18, width);
  return buffer;
}

/** NXAST_REG_LOAD2 writing `value` into the bits of `dst`, an experimenter (NSH) field. */
export function encodeLoad2(dst: FieldRef, value: bigint): Buffer {
  return encodeWrite(dst.field, value << BigInt(dst.offset), maskOf(dst));
}

/** The NXAST_REG_LOAD2 of an {@link NshMaskedWrite}. */
export function encodeNshMaskedWrite(action: NshMaskedWrite): Buffer {
  const ref = { field: action.field, offset: 0, bits: 1 };
  if (typeof action.field !== 'string' || !nxmFieldByName(action.field) || !isExperimenterRef(ref)) {
    invalidArgument(
      'encodeActions',
      `set_nsh_field.field must be an NSH field such as NXOXM_NSH_C1, got ${describe(action.field)}`,
    );
  }
  const limit = 1n << BigInt(8 * valueBytes(fieldHeaderBytes(ref)));
  for (const key of ['value', 'mask'] as const) {
    const part = action[key];
    if (typeof part !== 'bigint' || part < 0n || part >= limit) {
      invalidArgument(
        'encodeActions',
        `set_nsh_field.${key} must be a bigint from 0 to 0x${(limit - 1n).toString(16)}, got ${describe(part)}`,
      );
    }
  }
  return encodeWrite(action.field, action.value, action.mask);
}

/**
 * A REG_LOAD2's arguments (after the subtype) as a `load` (one run of bits, or the whole field
 * unmasked) or an {@link NshMaskedWrite}; undefined unless an NSH field.
 */
export function decodeLoad2(at: Buffer): { type: 'load'; dst: FieldRef; value: bigint } | NshMaskedWrite | undefined {
  const field = readFieldHeader(at, 0);
  if (!field || field.length !== 8) {
    return undefined;
  }
  const hasMask = (at.readUInt8(2) & 1) === 1;
  const width = hasMask ? (at.readUInt8(3) - 4) / 2 : at.readUInt8(3) - 4;
  if (!Number.isInteger(width) || width < 1 || width > 4 || 8 + (hasMask ? 2 : 1) * width > at.length) {
    return undefined;
  }
  const value = BigInt(at.readUIntBE(8, width));
  if (!hasMask) {
    const bits = nxmFieldByName(field.name)!.width;
    return { type: 'load', dst: { field: field.name, offset: 0, bits }, value };
  }
  const mask = BigInt(at.readUIntBE(8 + width, width));
  let offset = 0;
  while (mask !== 0n && ((mask >> BigInt(offset)) & 1n) === 0n) {
    offset++;
  }
  const run = mask >> BigInt(offset);
  if (mask === 0n || (run & (run + 1n)) !== 0n) {
    return { type: 'set_nsh_field', field: field.name, value: value & mask, mask };
  }
  const bits = run.toString(2).length;
  return { type: 'load', dst: { field: field.name, offset, bits }, value: (value & mask) >> BigInt(offset) };
}

/** `set_field:VALUE[/MASK]->nsh_NAME`, as OVS prints a write of the bits `mask` of `field`. */
function formatWrite(field: string, value: bigint, mask: bigint): string {
  const name = field.replace('NXOXM_NSH_', 'nsh_').toLowerCase();
  if (mask === 0n) {
    return `set_field:ANY->${name}`;
  }
  // `%#x`, as OVS prints it: zero is `0`.
  const text = hexFields.has(field) && value !== 0n ? `0x${value.toString(16)}` : value.toString();
  const header = fieldHeaderBytes({ field, offset: 0, bits: 1 });
  const full = mask === (1n << BigInt(8 * valueBytes(header))) - 1n;
  return `set_field:${text}${full ? '' : `/0x${mask.toString(16)}`}->${name}`;
}

/** The text OVS prints for a load into an NSH field: `set_field:VALUE[/MASK]->nsh_NAME`. */
export function formatNshLoad(dst: FieldRef, value: bigint): string {
  return formatWrite(dst.field, value << BigInt(dst.offset), maskOf(dst));
}

/** The text of an {@link NshMaskedWrite}: `set_field:VALUE/MASK->nsh_NAME`, `set_field:ANY->nsh_NAME` for no bits. */
export function formatNshMaskedWrite(action: NshMaskedWrite): string {
  return formatWrite(action.field, action.value & action.mask, action.mask);
}
