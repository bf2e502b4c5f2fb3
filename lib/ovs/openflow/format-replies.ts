/**
 * Flow stats replies printed as `ovs-ofctl -O OpenFlow13 dump-flows` prints them, the reply
 * messages it cannot decode included: ovs-ofctl 3.1 does not know OVS's `debug_recirc` and
 * `debug_slow` actions (a switch takes them only under `ovs-vswitchd --enable-dummy`), so it
 * prints the flows before such a flow, then a decode error and a hex dump of the whole message.
 */
import type { Action, Instruction } from './actions.js';
import { OFP_HEADER_LENGTH } from './codec.js';
import { formatFlowStats, type FormatFlowOptions } from './format.js';
import { decodeFlowStatsEntries, decodeMultipartReply, OFPMPF_REPLY_MORE, type FlowStats } from './multipart.js';

/** The error `ovs-ofctl` 3.1 names for an action it does not know (an unknown Nicira action subtype). */
const unknownVendorAction = 'OFPBAC_BAD_VENDOR_TYPE';

/** Actions ovs-vswitchd takes (with `--enable-dummy`) that `ovs-ofctl` 3.1 cannot decode. */
const undecodableActions = new Set(['debug_recirc', 'debug_slow']);

/** Whether `actions` (or an action list nested in one of them, as in `clone(...)`) hold an action ovs-ofctl cannot decode. */
function holdsUndecodable(actions: readonly (Action | Instruction)[]): boolean {
  return actions.some((action) => {
    if (undecodableActions.has(action.type)) return true;
    const nested = (action as { actions?: unknown }).actions;
    return Array.isArray(nested) && holdsUndecodable(nested as Action[]);
  });
}

/** Whether `ovs-ofctl` 3.1 fails to decode `flow` (it holds `debug_recirc` or `debug_slow`). */
export function ofctlCannotDecode(flow: FlowStats): boolean {
  return holdsUndecodable(flow.instructions);
}

/**
 * `bytes` as `ovs-ofctl` prints the hex dump of a message: 16 bytes a line, after the
 * offset (8 hex digits and two spaces), each byte as two hex digits followed by a space
 * (a `-` after the eighth), then the bytes as ASCII (`.` for what is not printable) between bars.
 */
export function formatHexDump(bytes: Buffer): string[] {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    let hex = '';
    let ascii = '';
    row.forEach((byte, index) => {
      hex += byte.toString(16).padStart(2, '0') + (index === 7 ? '-' : ' ');
      ascii += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
    });
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(48)}|${ascii.padEnd(16)}|`);
  }
  return lines;
}

/** The flows of flow stats reply messages (whole, header included), in order. */
export function flowsOfReplies(messages: readonly Buffer[]): FlowStats[] {
  return messages.flatMap((message) =>
    decodeFlowStatsEntries(decodeMultipartReply(message.subarray(OFP_HEADER_LENGTH)).body),
  );
}

/** What {@link formatFlowStatsReplies} prints besides the flows. */
export interface ReplyFormatOptions extends FormatFlowOptions {
  /**
   * Each message's `OFPST_FLOW reply (OF1.3) (xid=0x2):` line, as `ovs-ofctl dump-flows` prints
   * it without `--names` and `--sort` (its output into a pipe); default true.
   */
  headers?: boolean;
}

/** The `OFPST_FLOW reply` header ovs-ofctl prints for `message`, with its multipart flags. */
function replyHeader(message: Buffer): string {
  const xid = message.readUInt32BE(4);
  let flags = message.readUInt16BE(OFP_HEADER_LENGTH + 2);
  let text = `OFPST_FLOW reply (OF1.3) (xid=0x${xid.toString(16)}):`;
  if (flags !== 0) {
    text += ' flags=';
    if ((flags & OFPMPF_REPLY_MORE) !== 0) text += '[more]';
    flags &= ~OFPMPF_REPLY_MORE;
    if (flags !== 0) text += `[***unknown flags 0x${flags.toString(16).padStart(4, '0')}***]`;
  }
  return text;
}

/**
 * The lines `ovs-ofctl -O OpenFlow13 dump-flows` prints for flow stats reply messages (whole,
 * header included): per message its `OFPST_FLOW reply` line (with `headers`), then a line per
 * flow, with its leading space; for a message holding a flow ovs-ofctl cannot decode, the flows
 * before it, then `***decode error: OFPBAC_BAD_VENDOR_TYPE***` (on the header line when nothing
 * was printed after it) and the hex dump of the whole message (the flows after it in that
 * message are not printed; those of other messages are).
 */
export function formatFlowStatsReplies(messages: readonly Buffer[], options: ReplyFormatOptions = {}): string[] {
  const { headers = true, ...format } = options;
  const lines: string[] = [];
  for (const message of messages) {
    const header = headers ? replyHeader(message) : undefined;
    const before = lines.length;
    if (header !== undefined) lines.push(header);
    for (const flow of flowsOfReplies([message])) {
      if (ofctlCannotDecode(flow)) {
        const error = `***decode error: ${unknownVendorAction}***`;
        // ovs-ofctl puts the error after the header when the header is all it printed of the message.
        if (header !== undefined && lines.length === before + 1 && !header.includes(' flags=')) {
          lines[before] = `${header} ${error}`;
        } else lines.push(error);
        lines.push(...formatHexDump(message));
        break;
      }
      lines.push(` ${formatFlowStats(flow, format)}`);
    }
  }
  return lines;
}
