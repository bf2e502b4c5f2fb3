/**
 * OpenFlow bundles on OpenFlow 1.3 (ONF extension 230, as OVS implements it since 2.6 and
 * `ovs-ofctl --bundle` uses): a bundle collects flow mods and commits them atomically, all
 * or none. Encoding of the bundle control and add messages, decoding of the control replies.
 */
import { DpdkError } from '../../errors.js';
import { encodeMessage, ONF_EXPERIMENTER_ID } from './codec.js';

/** `OFPT_EXPERIMENTER` of OpenFlow 1.3: the carrier of the ONF extension's messages. */
export const OFPT_EXPERIMENTER = 4;

const ONF_ET_BUNDLE_CONTROL = 2300;
const ONF_ET_BUNDLE_ADD_MESSAGE = 2301;

/** Bundle control types (`enum ofp14_bundle_ctrl_type`). */
export const OFPBCT = {
  OPEN_REQUEST: 0,
  OPEN_REPLY: 1,
  CLOSE_REQUEST: 2,
  CLOSE_REPLY: 3,
  COMMIT_REQUEST: 4,
  COMMIT_REPLY: 5,
  DISCARD_REQUEST: 6,
  DISCARD_REPLY: 7,
} as const;

/** Bundle flags: apply all or nothing (`OFPBF_ATOMIC`), in order (`OFPBF_ORDERED`); the same on every message of a bundle. */
export const bundleFlags = 1 | 2;

function experimenterHeader(expType: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(ONF_EXPERIMENTER_ID, 0);
  header.writeUInt32BE(expType, 4);
  return header;
}

/** Encodes a bundle control request (`type`: one of the `*_REQUEST`s of {@link OFPBCT}). */
export function encodeBundleControl(xid: number, bundleId: number, type: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(bundleId, 0);
  body.writeUInt16BE(type, 4);
  body.writeUInt16BE(bundleFlags, 6);
  return encodeMessage(OFPT_EXPERIMENTER, xid, Buffer.concat([experimenterHeader(ONF_ET_BUNDLE_CONTROL), body]));
}

/** Encodes a bundle add message carrying `message` (a whole OpenFlow message, its own xid included). */
export function encodeBundleAdd(xid: number, bundleId: number, message: Buffer): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(bundleId, 0);
  body.writeUInt16BE(bundleFlags, 6);
  return encodeMessage(
    OFPT_EXPERIMENTER,
    xid,
    Buffer.concat([experimenterHeader(ONF_ET_BUNDLE_ADD_MESSAGE), body, message]),
  );
}

/**
 * Checks that an experimenter message body is the bundle control reply `expected` for `bundleId`.
 * @throws DpdkError `EPROTO` otherwise.
 */
export function checkBundleReply(body: Buffer, bundleId: number, expected: number, target: string): void {
  const valid =
    body.length >= 16 &&
    body.readUInt32BE(0) === ONF_EXPERIMENTER_ID &&
    body.readUInt32BE(4) === ONF_ET_BUNDLE_CONTROL &&
    body.readUInt32BE(8) === bundleId &&
    body.readUInt16BE(12) === expected;
  if (!valid) {
    throw new DpdkError(
      `${target} answered a bundle request with an unexpected message (${body.length} bytes: ${body.subarray(0, 16).toString('hex')}); expected bundle control reply type ${expected}`,
      { code: 'EPROTO', operation: 'bundle', object: target },
    );
  }
}
