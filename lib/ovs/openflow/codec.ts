/**
 * The OpenFlow 1.3 wire basics: message headers and stream framing, HELLO version
 * negotiation, FEATURES_REPLY, and OFPT_ERROR decoding into spec names. Flow mods are in
 * flow-mod.ts, multipart (stats) requests and replies in multipart.ts.
 */
import { DpdkError, invalidArgument } from '../../errors.js';

/** The wire version number of OpenFlow 1.3. */
export const OFP13_VERSION = 4;

/** Size of `ofp_header`. */
export const OFP_HEADER_LENGTH = 8;

/** OpenFlow 1.3 message types (`enum ofp_type`) used by this SDK. */
export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  FLOW_MOD: 14,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
} as const;

/** `OFPTT_ALL`: every table, in flow deletes and stats requests. */
export const OFPTT_ALL = 0xff;

/** `OFPG_ANY`: wildcard group in flow deletes and stats requests. */
export const OFPG_ANY = 0xffffffff;

/** One OpenFlow message: the decoded header and the body after it. */
export interface OpenFlowMessage {
  /** Wire version (4 for OpenFlow 1.3). */
  version: number;
  /** Message type, see {@link OFPT}. */
  type: number;
  /** Transaction id, echoed in replies. */
  xid: number;
  /** The bytes after the 8-byte header. */
  body: Buffer;
}

function protocolError(operation: string, message: string): never {
  throw new DpdkError(message, { code: 'EPROTO', operation });
}

/** Builds a whole message: `ofp_header` (version, type, length, xid) followed by `body`. */
export function encodeMessage(
  type: number,
  xid: number,
  body: Buffer = Buffer.alloc(0),
  version = OFP13_VERSION,
): Buffer {
  const length = OFP_HEADER_LENGTH + body.length;
  if (length > 0xffff) {
    invalidArgument('encodeMessage', `OpenFlow message of type ${type} would be ${length} bytes; the limit is 65535`);
  }
  const header = Buffer.alloc(OFP_HEADER_LENGTH);
  header.writeUInt8(version, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(length, 2);
  header.writeUInt32BE(xid >>> 0, 4);
  return Buffer.concat([header, body]);
}

/**
 * Splits a byte stream into OpenFlow messages: copes with messages split across reads
 * and several messages per read. Holds at most one partial message (< 64 KiB, the
 * largest length a header can state) between calls, and copies it only once complete,
 * so a peer dribbling bytes costs linear, not quadratic, work.
 */
export class FrameDecoder {
  readonly #held: Buffer[] = [];
  #heldBytes = 0;
  /** Bytes needed before parsing can progress: a header, then the whole message. */
  #neededBytes = OFP_HEADER_LENGTH;

  /** Bytes held back, waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Feeds the next chunk of the stream and returns the messages it completes.
   * Throws `EPROTO` when a header states a length below 8: the stream cannot be resynchronised.
   */
  push(chunk: Buffer): OpenFlowMessage[] {
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#heldBytes < this.#neededBytes) {
      return [];
    }
    const data = this.#held.length === 1 ? chunk : Buffer.concat(this.#held, this.#heldBytes);
    this.#held.length = 0;
    this.#heldBytes = 0;
    this.#neededBytes = OFP_HEADER_LENGTH;
    const messages: OpenFlowMessage[] = [];
    let offset = 0;
    while (data.length - offset >= OFP_HEADER_LENGTH) {
      const length = data.readUInt16BE(offset + 2);
      if (length < OFP_HEADER_LENGTH) {
        protocolError(
          'FrameDecoder.push',
          `OpenFlow header states length ${length}; the minimum is ${OFP_HEADER_LENGTH}`,
        );
      }
      if (data.length - offset < length) {
        this.#neededBytes = length;
        break;
      }
      messages.push({
        version: data.readUInt8(offset),
        type: data.readUInt8(offset + 1),
        xid: data.readUInt32BE(offset + 4),
        body: Buffer.from(data.subarray(offset + OFP_HEADER_LENGTH, offset + length)),
      });
      offset += length;
    }
    if (offset < data.length) {
      const rest = Buffer.from(data.subarray(offset));
      this.#held.push(rest);
      this.#heldBytes = rest.length;
    }
    return messages;
  }
}

/** `OFPHET_VERSIONBITMAP`: the hello element listing the versions a peer supports. */
const OFPHET_VERSIONBITMAP = 1;

/** Encodes a HELLO offering exactly OpenFlow 1.3 (header version 4 plus a version bitmap). */
export function encodeHello(xid: number): Buffer {
  const element = Buffer.alloc(8);
  element.writeUInt16BE(OFPHET_VERSIONBITMAP, 0);
  element.writeUInt16BE(8, 2);
  element.writeUInt32BE(1 << OFP13_VERSION, 4);
  return encodeMessage(OFPT.HELLO, xid, element);
}

/**
 * The versions a peer's HELLO offers: the bitmap when present, else (OpenFlow 1.0
 * style) every version up to the header's.
 */
export function helloVersions(message: OpenFlowMessage): number[] {
  const versions = new Set<number>();
  let position = 0;
  const body = message.body;
  while (body.length - position >= 4) {
    const type = body.readUInt16BE(position);
    const length = body.readUInt16BE(position + 2);
    if (length < 4 || position + length > body.length) {
      break;
    }
    if (type === OFPHET_VERSIONBITMAP) {
      for (let word = 0; word * 4 + 4 <= length - 4; word++) {
        const bitmap = body.readUInt32BE(position + 4 + word * 4);
        for (let bit = 0; bit < 32; bit++) {
          if (bitmap & (1 << bit)) {
            versions.add(word * 32 + bit);
          }
        }
      }
    }
    position += (length + 7) & ~7;
  }
  if (versions.size === 0) {
    for (let version = 1; version <= message.version; version++) {
      versions.add(version);
    }
  }
  return [...versions].sort((a, b) => a - b);
}

/** The OpenFlow version names `ovs-vsctl set bridge ... protocols=` uses, by wire version. */
export const protocolNames: Readonly<Record<number, string>> = {
  1: 'OpenFlow10',
  2: 'OpenFlow11',
  3: 'OpenFlow12',
  4: 'OpenFlow13',
  5: 'OpenFlow14',
  6: 'OpenFlow15',
};

/** The switch's answer to FEATURES_REQUEST. */
export interface SwitchFeatures {
  /** Datapath id (OVS: derived from the bridge's MAC unless `other-config:datapath-id`). */
  datapathId: bigint;
  /** Packets the switch can buffer for the controller. */
  nBuffers: number;
  /** Number of flow tables. */
  nTables: number;
  /** Auxiliary connection id (0: main connection). */
  auxiliaryId: number;
  /** `OFPC_*` capability bits. */
  capabilities: number;
}

/** Decodes an OFPT_FEATURES_REPLY body. Throws `EPROTO` when it is too short. */
export function decodeFeaturesReply(body: Buffer): SwitchFeatures {
  if (body.length < 24) {
    protocolError('decodeFeaturesReply', `FEATURES_REPLY body has ${body.length} bytes; expected 24`);
  }
  return {
    datapathId: body.readBigUInt64BE(0),
    nBuffers: body.readUInt32BE(8),
    nTables: body.readUInt8(12),
    auxiliaryId: body.readUInt8(13),
    capabilities: body.readUInt32BE(16),
  };
}

/** An OFPT_ERROR message, with its type and code decoded into spec names. */
export interface OpenFlowErrorInfo {
  /** `ofp_error_type` number (0xffff: experimenter). */
  type: number;
  /** Code within the type (for experimenter errors, the experimenter's code). */
  code: number;
  /** Spec name of the type, e.g. `OFPET_BAD_ACTION`. */
  typeName: string;
  /** Spec name of the code, e.g. `OFPBAC_BAD_OUT_PORT`. */
  codeName: string;
  /** Experimenter id, for `OFPET_EXPERIMENTER` errors. */
  experimenter?: number;
  /** Usually the first bytes of the offending request. */
  data: Buffer;
  /** A short explanation of the common codes, e.g. "bad output port". */
  description?: string;
}

/** Plain-words explanations of the errors a flow programmer meets most. */
const errorDescriptions: Readonly<Record<string, string>> = {
  OFPHFC_INCOMPATIBLE: 'no common OpenFlow version',
  OFPBRC_BAD_VERSION: 'the switch does not accept this OpenFlow version',
  OFPBRC_BAD_TYPE: 'message type not supported',
  OFPBRC_BAD_MULTIPART: 'multipart request type not supported',
  OFPBRC_BAD_LEN: 'wrong request length',
  OFPBRC_BAD_TABLE_ID: 'no such table',
  OFPBRC_BAD_PORT: 'no such port',
  OFPBAC_BAD_TYPE: 'unknown action type',
  OFPBAC_BAD_LEN: 'wrong action length',
  OFPBAC_BAD_OUT_PORT: 'bad output port',
  OFPBAC_BAD_ARGUMENT: 'bad action argument',
  OFPBAC_BAD_OUT_GROUP: 'no such group',
  OFPBAC_MATCH_INCONSISTENT: 'the action does not fit the match (e.g. set a TCP port without matching tcp)',
  OFPBAC_BAD_SET_TYPE: 'set_field of a field the switch cannot set',
  OFPBAC_BAD_SET_ARGUMENT: 'bad set_field value (e.g. vlan_vid without the 0x1000 present bit)',
  OFPBIC_UNKNOWN_INST: 'unknown instruction',
  OFPBIC_UNSUP_INST: 'instruction not supported',
  OFPBIC_BAD_TABLE_ID: 'goto_table to a table that does not exist or is not later in the pipeline',
  OFPBMC_BAD_FIELD: 'match field not supported',
  OFPBMC_BAD_VALUE: 'bad match value',
  OFPBMC_BAD_MASK: 'bad match mask',
  OFPBMC_BAD_PREREQ: 'match field prerequisites missing (e.g. nw_src without ip)',
  OFPBMC_DUP_FIELD: 'match field given twice',
  OFPFMFC_TABLE_FULL: 'flow table full',
  OFPFMFC_BAD_TABLE_ID: 'no such table (or table 255 in an add)',
  OFPFMFC_OVERLAP: 'check_overlap found an overlapping flow of the same priority',
  OFPFMFC_EPERM: 'permission denied',
  OFPFMFC_BAD_TIMEOUT: 'bad timeout',
  OFPFMFC_BAD_COMMAND: 'unknown flow-mod command',
  OFPFMFC_BAD_FLAGS: 'bad flow-mod flags',
};

const errorTypes: readonly (readonly [string, string, readonly string[]])[] = [
  ['OFPET_HELLO_FAILED', 'OFPHFC', ['INCOMPATIBLE', 'EPERM']],
  [
    'OFPET_BAD_REQUEST',
    'OFPBRC',
    [
      'BAD_VERSION',
      'BAD_TYPE',
      'BAD_MULTIPART',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'EPERM',
      'BAD_LEN',
      'BUFFER_EMPTY',
      'BUFFER_UNKNOWN',
      'BAD_TABLE_ID',
      'IS_SLAVE',
      'BAD_PORT',
      'BAD_PACKET',
      'MULTIPART_BUFFER_OVERFLOW',
    ],
  ],
  [
    'OFPET_BAD_ACTION',
    'OFPBAC',
    [
      'BAD_TYPE',
      'BAD_LEN',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'BAD_OUT_PORT',
      'BAD_ARGUMENT',
      'EPERM',
      'TOO_MANY',
      'BAD_QUEUE',
      'BAD_OUT_GROUP',
      'MATCH_INCONSISTENT',
      'UNSUPPORTED_ORDER',
      'BAD_TAG',
      'BAD_SET_TYPE',
      'BAD_SET_LEN',
      'BAD_SET_ARGUMENT',
    ],
  ],
  [
    'OFPET_BAD_INSTRUCTION',
    'OFPBIC',
    [
      'UNKNOWN_INST',
      'UNSUP_INST',
      'BAD_TABLE_ID',
      'UNSUP_METADATA',
      'UNSUP_METADATA_MASK',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'BAD_LEN',
      'EPERM',
    ],
  ],
  [
    'OFPET_BAD_MATCH',
    'OFPBMC',
    [
      'BAD_TYPE',
      'BAD_LEN',
      'BAD_TAG',
      'BAD_DL_ADDR_MASK',
      'BAD_NW_ADDR_MASK',
      'BAD_WILDCARDS',
      'BAD_FIELD',
      'BAD_VALUE',
      'BAD_MASK',
      'BAD_PREREQ',
      'DUP_FIELD',
      'EPERM',
    ],
  ],
  [
    'OFPET_FLOW_MOD_FAILED',
    'OFPFMFC',
    ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS'],
  ],
  [
    'OFPET_GROUP_MOD_FAILED',
    'OFPGMFC',
    [
      'GROUP_EXISTS',
      'INVALID_GROUP',
      'WEIGHT_UNSUPPORTED',
      'OUT_OF_GROUPS',
      'OUT_OF_BUCKETS',
      'CHAINING_UNSUPPORTED',
      'WATCH_UNSUPPORTED',
      'LOOP',
      'UNKNOWN_GROUP',
      'CHAINED_GROUP',
      'BAD_TYPE',
      'BAD_COMMAND',
      'BAD_BUCKET',
      'BAD_WATCH',
      'EPERM',
    ],
  ],
  ['OFPET_PORT_MOD_FAILED', 'OFPPMFC', ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM']],
  ['OFPET_TABLE_MOD_FAILED', 'OFPTMFC', ['BAD_TABLE', 'BAD_CONFIG', 'EPERM']],
  ['OFPET_QUEUE_OP_FAILED', 'OFPQOFC', ['BAD_PORT', 'BAD_QUEUE', 'EPERM']],
  ['OFPET_SWITCH_CONFIG_FAILED', 'OFPSCFC', ['BAD_FLAGS', 'BAD_LEN', 'EPERM']],
  ['OFPET_ROLE_REQUEST_FAILED', 'OFPRRFC', ['STALE', 'UNSUP', 'BAD_ROLE']],
  [
    'OFPET_METER_MOD_FAILED',
    'OFPMMFC',
    [
      'UNKNOWN',
      'METER_EXISTS',
      'INVALID_METER',
      'UNKNOWN_METER',
      'BAD_COMMAND',
      'BAD_FLAGS',
      'BAD_RATE',
      'BAD_BURST',
      'BAD_BAND',
      'BAD_BAND_VALUE',
      'OUT_OF_METERS',
      'OUT_OF_BANDS',
    ],
  ],
  [
    'OFPET_TABLE_FEATURES_FAILED',
    'OFPTFFC',
    ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM'],
  ],
];

/** `OFPET_HELLO_FAILED`: version negotiation failed. */
export const OFPET_HELLO_FAILED = 0;
const OFPET_EXPERIMENTER = 0xffff;

/** The ONF's experimenter id (`ONF_EXPERIMENTER_ID`, "ONF\0"): bundles on OpenFlow 1.3 (bundle.ts). */
export const ONF_EXPERIMENTER_ID = 0x4f4e4600;

/** The Nicira experimenter id (`NX_EXPERIMENTER_ID`), under which OVS sends its own errors. */
const NX_EXPERIMENTER_ID = 0x00002320;

/** The bundle errors of the ONF extension (experimenter codes 2300..2315), by code. */
const bundleErrorNames: readonly string[] = [
  'UNKNOWN',
  'EPERM',
  'BAD_ID',
  'BUNDLE_EXIST',
  'BUNDLE_CLOSED',
  'OUT_OF_BUNDLES',
  'BAD_TYPE',
  'BAD_FLAGS',
  'MSG_BAD_LEN',
  'MSG_BAD_XID',
  'MSG_UNSUP',
  'MSG_CONFLICT',
  'MSG_TOO_MANY',
  'MSG_FAILED',
  'TIMEOUT',
  'BUNDLE_IN_PROGRESS',
].map((name) => `OFPBFC_${name}`);

/** The experimenter code of the first of {@link bundleErrorNames}. */
const bundleErrorBase = 2300;

/** Open vSwitch's Nicira errors over OpenFlow 1.2+ (experimenter 0x2320), by code, as OVS names them. */
const niciraErrorNames: Readonly<Record<number, string>> = {
  2: 'NXBRC_NXM_INVALID',
  3: 'NXBRC_NXM_BAD_TYPE',
  4: 'NXBRC_MUST_BE_ZERO',
  5: 'NXBRC_BAD_REASON',
  9: 'NXBRC_FM_BAD_EVENT',
  10: 'NXBRC_UNENCODABLE_ERROR',
  11: 'NXBAC_MUST_BE_ZERO',
  12: 'NXFMFC_HARDWARE',
  13: 'NXFMFC_BAD_TABLE_ID',
  15: 'NXBAC_BAD_CONJUNCTION',
  16: 'NXTTMFC_BAD_COMMAND',
  17: 'NXTTMFC_BAD_OPT_LEN',
  18: 'NXTTMFC_BAD_FIELD_IDX',
  19: 'NXTTMFC_TABLE_FULL',
  20: 'NXTTMFC_ALREADY_MAPPED',
  21: 'NXTTMFC_DUP_ENTRY',
  34: 'NXR_NOT_SUPPORTED',
  35: 'NXR_STALE',
  36: 'NXST_NOT_CONFIGURED',
  37: 'NXFMFC_INVALID_TLV_FIELD',
  38: 'NXTTMFC_INVALID_TLV_DEL',
  42: 'NXBAC_CT_DATAPATH_SUPPORT',
  43: 'NXBMC_CT_DATAPATH_SUPPORT',
};

/** What the Nicira errors a flow or TLV table programmer meets say, as OVS's ofp-errors.h explains them. */
const niciraErrorDescriptions: Readonly<Record<string, string>> = {
  NXFMFC_INVALID_TLV_FIELD: 'a tun_metadata field the TLV table does not map (see add-tlv-map)',
  NXTTMFC_BAD_COMMAND: 'unknown TLV table mod command',
  NXTTMFC_BAD_OPT_LEN: 'the option length is not a valid option size (a multiple of 4, up to 124)',
  NXTTMFC_BAD_FIELD_IDX: 'the field index is out of range for tun_metadata<n>',
  NXTTMFC_TABLE_FULL: 'the options exceed the space the switch has',
  NXTTMFC_ALREADY_MAPPED: 'the field is already mapped',
  NXTTMFC_DUP_ENTRY: 'the option is already mapped to another field',
  NXTTMFC_INVALID_TLV_DEL: 'a flow uses the mapping',
};

/** Decodes an OFPT_ERROR body into type/code numbers and their spec names. */
export function decodeErrorMessage(body: Buffer): OpenFlowErrorInfo {
  if (body.length < 4) {
    protocolError('decodeError', `ERROR body has ${body.length} bytes; expected at least 4`);
  }
  const type = body.readUInt16BE(0);
  const code = body.readUInt16BE(2);
  if (type === OFPET_EXPERIMENTER) {
    const experimenter = body.length >= 8 ? body.readUInt32BE(4) : 0;
    const bundleError = experimenter === ONF_EXPERIMENTER_ID ? bundleErrorNames[code - bundleErrorBase] : undefined;
    const niciraError =
      experimenter === NX_EXPERIMENTER_ID && Object.hasOwn(niciraErrorNames, code) ? niciraErrorNames[code] : undefined;
    const info: OpenFlowErrorInfo = {
      type,
      code,
      typeName: bundleError ? 'OFPET_BUNDLE_FAILED' : 'OFPET_EXPERIMENTER',
      codeName: bundleError ?? niciraError ?? `experimenter 0x${experimenter.toString(16)} code ${code}`,
      experimenter,
      data: Buffer.from(body.subarray(8)),
    };
    const description =
      niciraError && Object.hasOwn(niciraErrorDescriptions, niciraError)
        ? niciraErrorDescriptions[niciraError]
        : undefined;
    if (description) {
      info.description = description;
    }
    return info;
  }
  const known = errorTypes[type];
  const codeSuffix = known?.[2][code];
  const codeName = known && codeSuffix ? `${known[1]}_${codeSuffix}` : `code ${code}`;
  const info: OpenFlowErrorInfo = {
    type,
    code,
    typeName: known ? known[0] : `error type ${type}`,
    codeName,
    data: Buffer.from(body.subarray(4)),
  };
  const description = Object.hasOwn(errorDescriptions, codeName) ? errorDescriptions[codeName] : undefined;
  if (description) {
    info.description = description;
  }
  return info;
}
