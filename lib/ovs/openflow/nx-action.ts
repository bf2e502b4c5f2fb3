/** The header every Nicira (Open vSwitch) experimenter action starts with. */

/** The Nicira experimenter id. */
export const NX_VENDOR_ID = 0x00002320;

/** @internal An experimenter action of `length` bytes (a multiple of 8) with its header written. */
export function nxAction(subtype: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  buffer.writeUInt16BE(0xffff, 0);
  buffer.writeUInt16BE(length, 2);
  buffer.writeUInt32BE(NX_VENDOR_ID, 4);
  buffer.writeUInt16BE(subtype, 8);
  return buffer;
}
