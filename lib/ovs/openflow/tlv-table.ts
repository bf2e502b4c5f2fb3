/**
 * The switch's TLV table (Nicira extension): which tunnel option (Geneve class, type,
 * length) each `tun_metadataN` field carries. `NXT_TLV_TABLE_MOD` adds, deletes or clears
 * mappings, `NXT_TLV_TABLE_REQUEST`/`REPLY` reads them; the `ovs-ofctl add-tlv-map`
 * syntax (`{class=0xffff,type=0,len=4}->tun_metadata0`) and `dump-tlv-map` text.
 * A flow that matches or writes a `tun_metadataN` the table does not map is refused by
 * the switch (`NXFMFC_INVALID_TLV_FIELD`).
 */
import { DpdkError, invalidArgument } from '../../errors.js';
import { checkInteger, checkOptions, describe } from '../../validate.js';
import { encodeMessage } from './codec.js';
import { NX_VENDOR_ID } from './nx-action.js';

/** `OFPT_EXPERIMENTER`, which carries Nicira messages over OpenFlow 1.3. */
const OFPT_EXPERIMENTER = 4;
const NXT_TLV_TABLE_MOD = 24;
const NXT_TLV_TABLE_REQUEST = 25;
const NXT_TLV_TABLE_REPLY = 26;

/** What a TLV table mod does (`enum nx_tlv_table_mod_command`: NXTTMC_ADD, NXTTMC_DELETE, NXTTMC_CLEAR). */
export type TlvTableCommand = 'add' | 'delete' | 'clear';

const commandNumbers: Readonly<Record<TlvTableCommand, number>> = { add: 0, delete: 1, clear: 2 };

/** One mapping of a tunnel option TLV to `tun_metadata<index>` (`struct nx_tlv_map`). */
export interface TlvMapping {
  /** The option class (16 bits; 0xffff is the experimental class). */
  optionClass: number;
  /** The option type (8 bits). */
  optionType: number;
  /** The option's length in bytes (a multiple of 4, up to 124: the switch checks). */
  optionLength: number;
  /** N of the `tun_metadataN` field that carries it (0..63: the switch checks). */
  index: number;
}

/** The switch's TLV table (`NXT_TLV_TABLE_REPLY`). */
export interface TlvTable {
  /** The most option bytes the switch can map in all. */
  maxOptionSpace: number;
  /** The most `tun_metadata` fields it has. */
  maxFields: number;
  /** The mappings, in the switch's order. */
  mappings: TlvMapping[];
}

function nxMessage(xid: number, subtype: number, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(NX_VENDOR_ID, 0);
  header.writeUInt32BE(subtype, 4);
  return encodeMessage(OFPT_EXPERIMENTER, xid, Buffer.concat([header, body]));
}

const mappingKeys = ['optionClass', 'optionType', 'optionLength', 'index'] as const;

function encodeMappings(mappings: readonly TlvMapping[]): Buffer {
  const operation = 'tlvTableMod';
  if (!Array.isArray(mappings)) {
    invalidArgument(operation, `mappings must be an array of TLV mappings, got ${describe(mappings)}`);
  }
  mappings.forEach((mapping, index) => {
    checkOptions<TlvMapping>(operation, mapping, mappingKeys);
    checkInteger(operation, `mappings[${index}].optionClass`, mapping.optionClass, 0, 0xffff);
    checkInteger(operation, `mappings[${index}].optionType`, mapping.optionType, 0, 0xff);
    checkInteger(operation, `mappings[${index}].optionLength`, mapping.optionLength, 0, 0xff);
    checkInteger(operation, `mappings[${index}].index`, mapping.index, 0, 0xffff);
  });
  const buffer = Buffer.alloc(8 * mappings.length);
  mappings.forEach((mapping, index) => {
    const at = 8 * index;
    buffer.writeUInt16BE(mapping.optionClass & 0xffff, at);
    buffer.writeUInt8(mapping.optionType & 0xff, at + 2);
    buffer.writeUInt8(mapping.optionLength & 0xff, at + 3);
    buffer.writeUInt16BE(mapping.index & 0xffff, at + 4);
  });
  return buffer;
}

/** Encodes an `NXT_TLV_TABLE_MOD` (a `clear` carries no mappings, as ovs-ofctl sends it). */
export function encodeTlvTableMod(xid: number, command: TlvTableCommand, mappings: readonly TlvMapping[]): Buffer {
  if (!Object.hasOwn(commandNumbers, command)) {
    invalidArgument('tlvTableMod', `command must be add, delete or clear, got ${String(command)}`);
  }
  const body = Buffer.alloc(8);
  body.writeUInt16BE(commandNumbers[command], 0);
  return nxMessage(xid, NXT_TLV_TABLE_MOD, Buffer.concat([body, encodeMappings(command === 'clear' ? [] : mappings)]));
}

/** Encodes an `NXT_TLV_TABLE_REQUEST`. */
export function encodeTlvTableRequest(xid: number): Buffer {
  return nxMessage(xid, NXT_TLV_TABLE_REQUEST, Buffer.alloc(0));
}

/**
 * Decodes the body of an experimenter message that answers an `NXT_TLV_TABLE_REQUEST`.
 * @throws DpdkError `EPROTO` when it is not an `NXT_TLV_TABLE_REPLY` or is malformed.
 */
export function decodeTlvTableReply(body: Buffer, target = 'the switch'): TlvTable {
  const valid =
    body.length >= 24 &&
    (body.length - 24) % 8 === 0 &&
    body.readUInt32BE(0) === NX_VENDOR_ID &&
    body.readUInt32BE(4) === NXT_TLV_TABLE_REPLY;
  if (!valid) {
    throw new DpdkError(
      `${target} answered the TLV table request with an unexpected message (${body.length} bytes: ${body.subarray(0, 8).toString('hex')}); expected NXT_TLV_TABLE_REPLY`,
      { code: 'EPROTO', operation: 'tlvTable', object: target },
    );
  }
  const mappings: TlvMapping[] = [];
  for (let at = 24; at < body.length; at += 8) {
    mappings.push({
      optionClass: body.readUInt16BE(at),
      optionType: body.readUInt8(at + 2),
      optionLength: body.readUInt8(at + 3),
      index: body.readUInt16BE(at + 4),
    });
  }
  return { maxOptionSpace: body.readUInt32BE(8), maxFields: body.readUInt16BE(12), mappings };
}

/**
 * One integer of a mapping as C's `%i` reads it (decimal, `0x` hex, `0` octal, a sign),
 * kept to `bits` bits as ovs-ofctl stores it; undefined when it is not one.
 */
function scanInteger(text: string, bits: number): number | undefined {
  const parts = /^\s*([-+]?)(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.exec(text);
  if (!parts) {
    return undefined;
  }
  const digits = parts[2]!;
  let value = /^0x/i.test(digits)
    ? BigInt(digits)
    : digits.length > 1 && digits.startsWith('0')
      ? BigInt(`0o${digits.slice(1)}`)
      : BigInt(digits);
  if (parts[1] === '-') {
    value = -value;
  }
  return Number(BigInt.asUintN(bits, value));
}

/**
 * Reads mappings in `ovs-ofctl add-tlv-map`/`del-tlv-map` syntax:
 * `{class=CLASS,type=TYPE,len=LENGTH}->tun_metadataN`, comma-separated; empty text is none.
 * Numbers read as C's `%i` and are cut to their field's width, as ovs-ofctl does; the
 * switch checks lengths and indexes.
 * @throws DpdkError `EINVAL` ("invalid tlv mapping", as ovs-ofctl) otherwise.
 */
export function parseTlvMappings(text: string): TlvMapping[] {
  if (typeof text !== 'string') {
    invalidArgument('parseTlvMappings', `mappings must be a string, got ${typeof text}`);
  }
  const mappings: TlvMapping[] = [];
  const pattern = /^\{class=([^,]*),type=([^,]*),len=([^}]*)\}->tun_metadata([-+]?\w+)/;
  let rest = text;
  while (rest !== '') {
    if (rest.startsWith(',')) {
      rest = rest.slice(1);
    }
    const parts = pattern.exec(rest);
    const fail = (): never =>
      invalidArgument(
        'parseTlvMappings',
        `invalid tlv mapping: ${JSON.stringify(text)}; expected {class=CLASS,type=TYPE,len=LENGTH}->tun_metadataN, comma-separated`,
      );
    if (!parts) {
      return fail();
    }
    const optionClass = scanInteger(parts[1]!, 16);
    const optionType = scanInteger(parts[2]!, 8);
    const optionLength = scanInteger(parts[3]!, 8);
    // `%i` stops at the first character that cannot continue the number: keep only the number.
    const indexText = /^[-+]?(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)/i.exec(parts[4]!)?.[0];
    const index = indexText === undefined ? undefined : scanInteger(indexText, 16);
    if (optionClass === undefined || optionType === undefined || optionLength === undefined || index === undefined) {
      return fail();
    }
    mappings.push({ optionClass, optionType, optionLength, index });
    rest = rest.slice(parts[0].length - parts[4]!.length + indexText!.length);
  }
  return mappings;
}

/** `%#x` of C padded to `width`: `0` for zero, else `0x...`. */
function alternateHex(value: number, width: number): string {
  return (value === 0 ? '0' : `0x${value.toString(16)}`).padStart(width);
}

/** The mapping table lines, as `ovs-ofctl` prints them under a table mod or reply. */
export function formatTlvMappings(mappings: readonly TlvMapping[]): string[] {
  return [
    ' mapping table:',
    '  class  type  length  match field',
    ' ------  ----  ------  --------------',
    ...mappings.map(
      (mapping) =>
        ` ${alternateHex(mapping.optionClass, 6)}  ${alternateHex(mapping.optionType, 4)}  ${String(mapping.optionLength).padStart(6)}  tun_metadata${mapping.index}`,
    ),
  ];
}

/**
 * The lines `ovs-ofctl -O OpenFlow13 dump-tlv-map` prints after its `NXT_TLV_TABLE_REPLY`
 * header line: the switch's limits, the space its mappings take, and the mappings.
 */
export function formatTlvTable(table: TlvTable): string[] {
  const allocated = table.mappings.reduce((sum, mapping) => sum + mapping.optionLength, 0);
  return [
    ` max option space=${table.maxOptionSpace} max fields=${table.maxFields}`,
    ` allocated option space=${allocated}`,
    '',
    ...formatTlvMappings(table.mappings),
  ];
}
