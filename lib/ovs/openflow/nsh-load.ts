/**
 * Writes of bits of the NSH fields (`load:V->nsh_c3[8..15]`, `set_field:V/MASK->nsh_c3`): OVS sends
 * them over OpenFlow 1.3 as NXAST_REG_LOAD2, a masked experimenter OXM, and prints them as the
 * masked set_field. Only one contiguous run of bits is modelled, as a `load` holds.
 */
import { fieldHeaderBytes, readFieldHeader, type FieldRef } from './nxm-fields.js';
import { nxAction } from './nx-action.js';

const NXAST_REG_LOAD2 = 33;

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

/** NXAST_REG_LOAD2 writing `value` into the bits of `dst`, an experimenter (NSH) field. */
export function encodeLoad2(dst: FieldRef, value: bigint): Buffer {
  const header = fieldHeaderBytes(dst);
  const width = valueBytes(header);
  const length = (10 + 8 + 2 * width + 7) & ~7;
  const buffer = nxAction(NXAST_REG_LOAD2, length);
  header.copy(buffer, 10);
  // The masked header: the hasmask bit, and a length counting value and mask.
  buffer.writeUInt8(buffer.readUInt8(12) | 1, 12);
  buffer.writeUInt8(4 + 2 * width, 13);
  const mask = maskOf(dst);
  buffer.writeUIntBE(Number((value << BigInt(dst.offset)) & mask), 18, width);
  buffer.writeUIntBE(Number(mask), 18 + width, width);
  return buffer;
}

/** A REG_LOAD2's arguments (after the subtype) as a `load`; undefined unless a masked NSH field with one run of bits. */
export function decodeLoad2(at: Buffer): { type: 'load'; dst: FieldRef; value: bigint } | undefined {
  const field = readFieldHeader(at, 0);
  if (!field || field.length !== 8 || (at.readUInt8(2) & 1) === 0) {
    return undefined;
  }
  const width = (at.readUInt8(3) - 4) / 2;
  if (!Number.isInteger(width) || width < 1 || width > 4 || 8 + 2 * width > at.length) {
    return undefined;
  }
  const value = BigInt(at.readUIntBE(8, width));
  const mask = BigInt(at.readUIntBE(8 + width, width));
  if (mask === 0n) {
    return undefined;
  }
  let offset = 0;
  while (((mask >> BigInt(offset)) & 1n) === 0n) {
    offset++;
  }
  const run = mask >> BigInt(offset);
  if ((run & (run + 1n)) !== 0n) {
    return undefined;
  }
  const bits = run.toString(2).length;
  return { type: 'load', dst: { field: field.name, offset, bits }, value: (value & mask) >> BigInt(offset) };
}

/** The text OVS prints for a load into an NSH field: `set_field:VALUE/MASK->nsh_NAME`. */
export function formatNshLoad(dst: FieldRef, value: bigint): string {
  const shifted = value << BigInt(dst.offset);
  // `%#x`, as OVS prints it: zero is `0`.
  const text = hexFields.has(dst.field) && shifted !== 0n ? `0x${shifted.toString(16)}` : shifted.toString();
  return `set_field:${text}/0x${maskOf(dst).toString(16)}->${dst.field.replace('NXOXM_NSH_', 'nsh_').toLowerCase()}`;
}
