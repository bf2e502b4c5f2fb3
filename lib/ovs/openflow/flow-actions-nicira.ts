/**
 * Open vSwitch's extension actions in the `ovs-ofctl` flow syntax: `resubmit`, `ct` (with
 * `nat` and `exec`), `ct_clear`, `load`, `move`, `note`, `output:FIELD`,
 * `output(port=,max_len=)`, `exit`, `conjunction`, `controller(...)` and `dec_ttl(...)`,
 * read and refused as `ovs-ofctl` reads and refuses them.
 */
import { tryParseIpv4, tryParseIpv6 } from '../../address.js';
import type { Action } from './actions.js';
import {
  parsePort,
  parseIntString,
  parseUint,
  parseUint64,
  splitTopLevel,
  syntaxError,
  type FlowSyntaxOptions,
} from './flow-tokens.js';
import { parseLearn } from './learn.js';
import type { Match } from './match.js';
import { parseBundle, parseMultipath, parseRegisterSetField } from './nicira-hash-actions.js';
import { tunMetadataIndex, tunMetadataLoad } from './tun-metadata.js';
import { parseSample, parseStackAction } from './nicira-stack-actions.js';
import { parseDecap, parseEncap } from './nicira-encap-actions.js';
import { packetInReasons, type NatAction, type PacketInReason } from './nicira-actions.js';
import {
  isExperimenterRef,
  isWritable,
  missingPrerequisite,
  nxmFieldByName,
  parseFieldRef,
  type FieldRef,
} from './nxm-fields.js';

/** What the extension readers need from the flow around them. */
export interface ActionContext {
  flow: string;
  match: Match;
  options: FlowSyntaxOptions;
  /** Parses the actions of `ct(exec(...))`. */
  parseNested: (text: string) => Action[];
}

/** The `ct_state` bits that imply a valid conntrack entry (new, est, rel, rpl, snat, dnat). */
const ctValidBits = 0xcf;
const ctTracked = 0x20;
const ctInvalid = 0x10;

function fieldRef(context: ActionContext, text: string): FieldRef {
  const ref = parseFieldRef(text);
  return typeof ref === 'string' ? syntaxError(context.flow, ref) : ref;
}

/** Refuses an action on a field whose protocol the match lacks (OVS: OFPBAC_MATCH_INCONSISTENT). */
function checkPrerequisite(context: ActionContext, piece: string, ref: FieldRef): void {
  const missing = missingPrerequisite(ref, context.match);
  if (missing) {
    syntaxError(context.flow, `${piece}: ${ref.field} needs the ${missing} protocol in the match: add ${missing}`);
  }
}

/** A port of a Nicira action (held in 16 bits); undefined when `text` names none. */
function port16(context: ActionContext, where: string, text: string): number | undefined {
  try {
    return parsePort(context.flow, where, text, context.options);
  } catch {
    return undefined;
  }
}

function parseResubmit(
  context: ActionContext,
  piece: string,
  args: string | undefined,
  colon: string | undefined,
): Action {
  const flow = context.flow;
  if (colon !== undefined) {
    const port = port16(context, piece, colon);
    if (port === 0xfffffff8) {
      syntaxError(flow, `${piece}: at least one "in_port" or "table" must be specified on resubmit`);
    }
    return port === undefined ? syntaxError(flow, `${colon}: resubmit to unknown port`) : { type: 'resubmit', port };
  }
  const [portText = '', tableText = '', ctText, ...extra] = (args ?? '').split(',');
  if (extra.length > 0 || (ctText !== undefined && ctText !== 'ct')) {
    syntaxError(flow, `${piece}: ${ctText ?? extra[0]}: unknown parameter; expected resubmit(PORT,TABLE[,ct])`);
  }
  const action: Action = { type: 'resubmit' };
  if (portText !== '' && portText.toLowerCase() !== 'in_port') {
    const port = port16(context, piece, portText);
    if (port === undefined) {
      syntaxError(flow, `${portText}: resubmit to unknown port`);
    }
    action.port = port;
  }
  // Table 255 is OVS's "this table", the same as leaving it out.
  const table = tableText === '' ? 255 : parseUint(tableText, 255);
  if (table === undefined) {
    syntaxError(flow, `${tableText}: resubmit to unknown table; expected a table from 0 to 254`);
  }
  if (table !== 255) {
    action.table = table;
  }
  if (action.port === undefined && action.table === undefined) {
    syntaxError(flow, `${piece}: at least one "in_port" or "table" must be specified on resubmit`);
  }
  if (ctText === 'ct') {
    const state = context.match.ctState;
    const { value, mask } =
      typeof state === 'object' ? state : { value: state ?? 0, mask: state === undefined ? 0 : 0xff };
    const valid =
      (value & ctValidBits) !== 0 ||
      ((value & ctTracked) !== 0 && (mask & ctInvalid) !== 0 && (value & ctInvalid) === 0);
    if (!valid) {
      syntaxError(
        flow,
        `${piece}: resubmit with ct needs a match on a valid connection: add ct_state=+trk+est (or +new, +rel, +rpl, -inv)`,
      );
    }
    action.ct = true;
  }
  return action;
}

/** Whether `address` is 0.0.0.0 or :: (which OVS leaves out of a NAT range). */
function isZeroAddress(address: string | undefined): boolean {
  return (
    address !== undefined &&
    (tryParseIpv4(address) === 0 || tryParseIpv6(address)?.every((byte) => byte === 0) === true)
  );
}

/** The order of two addresses of one family (IPv4 as numbers, IPv6 byte by byte), as OVS checks a range. */
function compareAddresses(a: string, b: string): number {
  const a4 = tryParseIpv4(a);
  const b4 = tryParseIpv4(b);
  if (a4 !== undefined || b4 !== undefined) {
    return (a4 ?? 0) - (b4 ?? 0);
  }
  return Buffer.compare(tryParseIpv6(a) ?? Buffer.alloc(16), tryParseIpv6(b) ?? Buffer.alloc(16));
}

/** `nat`, `nat(src=A[-B][:P[-Q]],persistent,hash,random)` or the same with `dst`. */
function parseNat(context: ActionContext, args: string | undefined): NatAction {
  const nat: NatAction = { type: 'nat' };
  for (const part of args === undefined ? [] : splitTopLevel(args)) {
    const bad = (): never =>
      syntaxError(
        context.flow,
        `nat(${args}): "${part}" is not src=ADDR[-ADDR][:PORT[-PORT]], dst=..., persistent, hash or random`,
      );
    if (part === 'persistent' || part === 'hash' || part === 'random') {
      nat[part] = true;
      continue;
    }
    const range = /^(src|dst)(?:=(.*))?$/.exec(part);
    if (!range || nat.kind) {
      bad();
    }
    nat.kind = range![1] as 'src' | 'dst';
    if (range![2] === undefined) {
      continue;
    }
    const text = range![2];
    const parsed =
      /^(\[[^\]]+\]|[^:\-[\]]+|[0-9a-fA-F:]+)(?:-(\[[^\]]+\]|[^:\-[\]]+|[0-9a-fA-F:.]+))?(?::(\d+)(?:-(\d+))?)?$/.exec(
        text,
      );
    const unbracket = (address: string | undefined): string | undefined => address?.replace(/^\[(.*)\]$/, '$1');
    const min = unbracket(parsed?.[1]);
    const max = unbracket(parsed?.[2]);
    const isAddress = (address: string | undefined): boolean =>
      address === undefined || tryParseIpv4(address) !== undefined || tryParseIpv6(address) !== undefined;
    if (!parsed || !isAddress(min) || !isAddress(max)) {
      syntaxError(context.flow, `garbage (${text}) after nat range "${text}": expected ADDR[-ADDR][:PORT[-PORT]]`);
    }
    if (max !== undefined && compareAddresses(max, min!) < 0) {
      syntaxError(context.flow, `invalid nat range "${text}": the last address is below the first`);
    }
    // OVS encodes only the non-zero bounds of a range (nat(src=0.0.0.0) is nat(src)).
    if (!isZeroAddress(min)) nat.addressMin = min;
    if (max !== undefined && !isZeroAddress(max)) nat.addressMax = max;
    for (const [key, portText] of [
      ['portMin', parsed![3]],
      ['portMax', parsed![4]],
    ] as const) {
      if (portText !== undefined) {
        const port = parseUint(portText, 0xffff) ?? bad();
        if (port !== 0) nat[key] = port;
      }
    }
  }
  return nat;
}

const ctKeys = 'commit, force, table=N, zone=N|FIELD[a..b], nat(...), exec(...), alg=ftp|tftp';

function parseCt(context: ActionContext, piece: string, args: string | undefined): Action {
  const flow = context.flow;
  const action: Action = { type: 'ct' };
  const nested: Action[] = [];
  for (const part of args === undefined ? [] : splitTopLevel(args)) {
    const call = /^(\w+)(?:\((.*)\))?$/s.exec(part);
    const [key, value] = part.includes('=')
      ? [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]
      : [part, undefined];
    if (call?.[1] === 'nat') {
      nested.push(parseNat(context, call[2]));
    } else if (call?.[1] === 'exec' && call[2] !== undefined) {
      for (const inner of context.parseNested(call[2])) {
        const ok =
          (inner.type === 'set_field' && (inner.field === 'ctMark' || inner.field === 'ctLabel')) ||
          // OVS's ofpact_get_mf_dst: set_field, load and move into the connection's mark or label.
          ((inner.type === 'load' || inner.type === 'move') &&
            (inner.dst.field === 'NXM_NX_CT_MARK' || inner.dst.field === 'NXM_NX_CT_LABEL'));
        if (!ok) {
          syntaxError(
            flow,
            `${piece}: ct action doesn't support nested action ${inner.type}; exec(...) may only set ct_mark or ct_label`,
          );
        }
        nested.push(inner);
      }
    } else if (key === 'commit' || key === 'force') {
      action[key] = true;
    } else if (key === 'table' && value !== undefined) {
      const table = parseUint(value, 254);
      action.table = table ?? syntaxError(flow, `${piece}: invalid table ${value}; expected 0 to 254`);
    } else if (key === 'zone' && value !== undefined) {
      const zone = parseUint(value, 0xffff);
      if (zone !== undefined) {
        action.zone = zone;
      } else {
        const ref = parseFieldRef(value);
        if (typeof ref === 'string' || ref.bits !== 16) {
          syntaxError(flow, `${piece}: zone must be a number from 0 to 65535 or 16 bits of a field, got ${value}`);
        }
        action.zone = ref as FieldRef;
      }
    } else if (key === 'alg' && (value === 'ftp' || value === 'tftp')) {
      action.alg = value === 'ftp' ? 21 : 69;
    } else {
      syntaxError(flow, `invalid argument to "ct" action: \`${part}'; expected ${ctKeys}`);
    }
  }
  if (nested.length > 0) {
    action.actions = nested;
  }
  const match = context.match;
  if (match.ethType !== 0x0800 && match.ethType !== 0x86dd) {
    syntaxError(flow, `${piece}: ct needs an IP match: add ip or ipv6`);
  }
  if ((action.alg === 21 && match.ipProto !== 6) || (action.alg === 69 && match.ipProto !== 17)) {
    syntaxError(flow, `${piece}: alg=${action.alg === 21 ? 'ftp needs tcp' : 'tftp needs udp'} in the match`);
  }
  if (nested.some((inner) => inner.type !== 'nat') && !action.commit) {
    syntaxError(flow, `${piece}: exec(...) sets ct_mark or ct_label only on commit: add commit`);
  }
  return action;
}

/**
 * `load:VALUE->DST[a..b]`, the value read as OVS reads it into the field's bytes (so wider than
 * 64 bits for `tun_metadataN`, `xxregN`, IPv6 addresses). As OVS sends it over OpenFlow 1.3: a
 * tun_metadata or NSH field in one NXAST_REG_LOAD2, any other in NXAST_REG_LOADs of at most 64
 * bits each, from the lowest.
 */
function parseLoad(context: ActionContext, piece: string, text: string): Action | Action[] {
  const arrow = /^(.+)->(.+)$/.exec(text);
  if (!arrow) {
    return syntaxError(context.flow, `${piece}: expected load:VALUE->FIELD[a..b]`);
  }
  const dst = fieldRef(context, arrow[2]!);
  const bytes = Math.ceil(nxmFieldByName(dst.field)!.width / 8);
  const value = parseIntString(arrow[1]!, bytes);
  if (typeof value !== 'bigint') {
    return syntaxError(
      context.flow,
      `${text}: cannot parse integer value ${arrow[1]}; expected 0x hex of up to ${bytes} bytes or a 64-bit integer`,
    );
  }
  if (value >> BigInt(dst.bits) !== 0n) {
    syntaxError(context.flow, `${text}: value ${arrow[1]} does not fit into ${dst.bits} bits`);
  }
  if (!isWritable(dst)) {
    syntaxError(context.flow, `${piece}: ${dst.field} is read-only`);
  }
  checkPrerequisite(context, piece, dst);
  const tunIndex = tunMetadataIndex(dst.field.replace('NXM_NX_TUN_METADATA', 'tun_metadata'));
  if (tunIndex !== undefined) {
    return tunMetadataLoad(tunIndex, dst.offset, dst.bits, value);
  }
  if (dst.bits <= 64 || isExperimenterRef(dst)) {
    return { type: 'load', dst, value };
  }
  const loads: Action[] = [];
  for (let done = 0; done < dst.bits; done += 64) {
    const bits = Math.min(64, dst.bits - done);
    const segment = (value >> BigInt(done)) & ((1n << BigInt(bits)) - 1n);
    loads.push({ type: 'load', dst: { field: dst.field, offset: dst.offset + done, bits }, value: segment });
  }
  return loads;
}

/**
 * `check_pkt_larger(LEN)->DST[BIT]`, as OVS's parse_CHECK_PKT_LARGER reads it (a 1-bit writable
 * destination; OVS checks no protocol of the match for it).
 */
export function parseCheckPktLarger(context: ActionContext, piece: string): Action | undefined {
  const parts = /^check_pkt_larger\((.*)\)->(.+)$/i.exec(piece);
  if (!parts) {
    return undefined;
  }
  const dst = fieldRef(context, parts[2]!);
  if (dst.bits !== 1) {
    syntaxError(context.flow, `${piece}: Only 1-bit destination field is allowed`);
  }
  if (!isWritable(dst)) {
    syntaxError(context.flow, `${piece}: ${dst.field} is read-only`);
  }
  const pktLen = parseUint(parts[1]!, 0xffff) ?? syntaxError(context.flow, `${piece}: ${parts[1]} is not 0 to 65535`);
  return { type: 'check_pkt_larger', pktLen, dst };
}

function parseMove(context: ActionContext, piece: string, text: string): Action {
  const arrow = /^(.+)->(.+)$/.exec(text);
  if (!arrow) {
    return syntaxError(context.flow, `${piece}: expected move:SRC[a..b]->DST[c..d]`);
  }
  const src = fieldRef(context, arrow[1]!);
  const dst = fieldRef(context, arrow[2]!);
  if (src.bits !== dst.bits) {
    syntaxError(
      context.flow,
      `${text}: source field is ${src.bits} bits wide but destination is ${dst.bits} bits wide`,
    );
  }
  if (!isWritable(dst)) {
    syntaxError(context.flow, `${piece}: ${dst.field} is read-only`);
  }
  checkPrerequisite(context, piece, src);
  checkPrerequisite(context, piece, dst);
  return { type: 'move', src, dst };
}

/** Hex bytes, optionally separated by dots (`01.02.03`), as `note:` and `userdata=` take them. */
function hexBytes(context: ActionContext, text: string, what: string): Buffer {
  const hex = text.replaceAll('.', '');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) {
    return syntaxError(
      context.flow,
      `bad hex digit in \`${what}' argument "${text}": expected hex bytes such as 01.02.03`,
    );
  }
  return Buffer.from(hex, 'hex');
}

function parseNote(context: ActionContext, text: string): Action {
  const bytes = hexBytes(context, text, 'note');
  const padded = Buffer.alloc(Math.max(16, (10 + bytes.length + 7) & ~7) - 10);
  bytes.copy(padded);
  return { type: 'note', data: padded };
}

function parseConjunction(context: ActionContext, piece: string, args: string | undefined): Action {
  const parts = /^\s*(\d+)\s*,\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(args ?? '');
  if (!parts) {
    return syntaxError(context.flow, `${piece}: expected conjunction(ID,CLAUSE/CLAUSES)`);
  }
  const [id, clause, nClauses] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const problem =
    nClauses < 2
      ? 'conjunction must have at least 2 clauses'
      : nClauses > 64
        ? 'conjunction must have at most 64 clauses'
        : clause < 1
          ? 'clause index must be positive'
          : clause > nClauses
            ? 'clause index must be less than or equal to number of clauses'
            : id > 0xffffffff
              ? 'conjunction id must be at most 4294967295'
              : undefined;
  return problem ? syntaxError(context.flow, `${piece}: ${problem}`) : { type: 'conjunction', id, clause, nClauses };
}

function parseController(context: ActionContext, piece: string, args: string): Action {
  const action: Action = { type: 'controller' };
  for (const part of splitTopLevel(args)) {
    const [key, value] = part.includes('=')
      ? [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]
      : [part, undefined];
    if (key === 'reason' && packetInReasons.includes(value as PacketInReason)) {
      action.reason = value as PacketInReason;
    } else if (key === 'reason') {
      syntaxError(context.flow, `${piece}: unknown reason "${value}"; expected ${packetInReasons.join(', ')}`);
    } else if ((key === 'max_len' || key === 'id') && value !== undefined && parseUint(value, 0xffff) !== undefined) {
      action[key === 'max_len' ? 'maxLength' : 'controllerId'] = parseUint(value, 0xffff)!;
    } else if (key === 'userdata' && value !== undefined) {
      action.userdata = hexBytes(context, value, 'userdata');
    } else if (key === 'pause' && value === undefined) {
      action.pause = true;
    } else if (key === 'meter_id' && value !== undefined && /^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(value)) {
      // As OVS's str_to_u32: strtoul (decimal, hex, octal; up to 64 bits) kept to 32 bits; 0 is no meter.
      const digits = /^0[0-7]+$/.test(value) ? `0o${value.slice(1)}` : value;
      const wide = BigInt(digits);
      if (wide >= 1n << 64n) {
        syntaxError(context.flow, `${piece}: invalid numeric format ${value}`);
      }
      const meterId = Number(BigInt.asUintN(32, wide));
      if (meterId !== 0) action.meterId = meterId;
      else delete action.meterId;
    } else {
      syntaxError(
        context.flow,
        `${piece}: unknown controller argument "${part}"; expected reason=, max_len=, id=, userdata=, pause, meter_id=`,
      );
    }
  }
  const plain =
    (action.reason ?? 'action') === 'action' &&
    !action.controllerId &&
    !action.userdata &&
    !action.pause &&
    action.meterId === undefined;
  return plain ? { type: 'output', port: 0xfffffffd, maxLength: action.maxLength ?? 0xffff } : action;
}

/**
 * Reads an extension action, `name` being its lower-case name, `args` the text inside
 * its parentheses and `colon` the text after `name:`; undefined when it is none, several
 * actions where OVS sends several (a `load` of more than 64 bits).
 */
export function parseNiciraAction(
  context: ActionContext,
  piece: string,
  name: string,
  args: string | undefined,
  colon: string | undefined,
): Action | Action[] | undefined {
  const flow = context.flow;
  const hashContext = { flow, match: context.match, port: (text: string) => port16(context, piece, text) };
  switch (name) {
    case 'learn':
      return parseLearn(hashContext, piece, args ?? colon ?? '');
    case 'multipath':
      return parseMultipath(hashContext, piece, args ?? colon ?? '');
    case 'bundle':
    case 'bundle_load':
      return parseBundle(hashContext, piece, args ?? colon ?? '', name === 'bundle_load');
    case 'clone':
      return args === undefined ? undefined : { type: 'clone', actions: context.parseNested(args) };
    case 'encap':
      return args === undefined ? undefined : parseEncap(flow, piece, args);
    case 'decap':
      return colon === undefined ? parseDecap(flow, piece, args) : undefined;
    case 'push':
    case 'pop':
      return colon === undefined ? undefined : parseStackAction(flow, piece, name === 'push', colon);
    case 'mod_nw_ecn':
      return colon === undefined ? undefined : parseRegisterSetField(flow, piece, 'nw_ecn', colon);
    case 'sample':
      return args === undefined ? undefined : parseSample(flow, piece, args, hashContext.port);
    case 'set_mpls_label':
    case 'set_mpls_tc': {
      const value = parseUint(colon ?? args ?? '', name === 'set_mpls_label' ? 0xfffff : 7);
      return value === undefined
        ? syntaxError(flow, `${piece}: invalid ${name === 'set_mpls_label' ? 'MPLS label' : 'MPLS TC'}`)
        : { type: 'set_field', field: name === 'set_mpls_label' ? 'mplsLabel' : 'mplsTc', value };
    }
    case 'set_mpls_ttl':
    case 'dec_mpls_ttl': {
      const ttl = name === 'dec_mpls_ttl' ? 0 : parseUint(colon ?? args ?? '', 255);
      if (ttl === undefined || (name === 'dec_mpls_ttl' && (colon ?? args) !== undefined)) {
        return syntaxError(flow, `${piece}: expected set_mpls_ttl:TTL (0 to 255) or dec_mpls_ttl`);
      }
      if (context.match.ethType !== 0x8847 && context.match.ethType !== 0x8848) {
        syntaxError(flow, `${piece} needs an MPLS match: add mpls or mplsm`);
      }
      return name === 'dec_mpls_ttl' ? { type: 'dec_mpls_ttl' } : { type: 'set_mpls_ttl', ttl };
    }
    // OpenFlow 1.3 has no NXAST_SET_TUNNEL: OVS sends (and dumps) set_tunnel as a set_field of tun_id.
    case 'set_tunnel':
    case 'set_tunnel64': {
      const id = parseUint64(colon ?? args ?? '');
      if (id === undefined) {
        return syntaxError(flow, `${piece}: expected ${name}:ID (a 64-bit tunnel id)`);
      }
      return { type: 'set_field', field: 'tunnelId', value: id };
    }
    case 'debug_recirc':
    case 'debug_slow':
      return args === undefined && colon === undefined ? { type: name } : undefined;
    case 'push_mpls':
    case 'pop_mpls': {
      const ethertype = parseUint(colon ?? '', 0xffff);
      if (ethertype === undefined) {
        return syntaxError(flow, `${piece}: expected ${name}:ETHERTYPE`);
      }
      // OVS decodes push_mpls only with an MPLS ethertype (OFPBAC_BAD_ARGUMENT otherwise).
      if (name === 'push_mpls' && ethertype !== 0x8847 && ethertype !== 0x8848) {
        syntaxError(flow, `${piece}: expected the MPLS ethertype 0x8847 or 0x8848`);
      }
      if (name === 'pop_mpls' && context.match.ethType !== 0x8847 && context.match.ethType !== 0x8848) {
        syntaxError(flow, `${piece} needs an MPLS match: add mpls or mplsm`);
      }
      return { type: name, ethertype };
    }
    case 'resubmit':
      return parseResubmit(context, piece, args, colon);
    case 'ct':
      return parseCt(context, piece, args);
    case 'ct_clear':
    case 'pop_queue':
    case 'exit':
      return { type: name };
    case 'set_queue': {
      const queueId = parseUint(colon ?? '', 0xffffffff);
      return queueId === undefined
        ? syntaxError(flow, `${piece}: expected set_queue:QUEUE with a queue number`)
        : { type: 'set_queue', queueId };
    }
    case 'mod_nw_ttl': {
      const ttl = parseUint(colon ?? '', 255);
      if (ttl === undefined) {
        syntaxError(flow, `invalid TTL "${colon ?? ''}" in ${piece}; expected 0 to 255`);
      }
      if (context.match.ethType !== 0x0800 && context.match.ethType !== 0x86dd) {
        syntaxError(flow, `${piece} needs an IP match: add ip or ipv6`);
      }
      return { type: 'set_nw_ttl', ttl: ttl! };
    }
    case 'load':
      return parseLoad(context, piece, colon ?? args ?? '');
    case 'move':
      return parseMove(context, piece, colon ?? args ?? '');
    case 'note':
      return parseNote(context, colon ?? args ?? '');
    case 'conjunction':
      return parseConjunction(context, piece, args);
    case 'controller':
      return args === undefined ? undefined : parseController(context, piece, args);
    case 'dec_ttl': {
      if (args === undefined) {
        return undefined;
      }
      const ids = args.split(',').map((text) => parseUint(text.trim(), 0xffff));
      if (ids.some((id) => id === undefined)) {
        syntaxError(flow, `${piece}: expected dec_ttl(ID,...) with controller ids from 0 to 65535`);
      }
      return { type: 'dec_ttl', controllerIds: ids as number[] };
    }
    case 'output': {
      if (args !== undefined && /port/.test(args) && /max_len/.test(args)) {
        const port = /port=([^,]+)/.exec(args)?.[1] ?? '';
        const maxLength = parseUint(/max_len=(\d+)/.exec(args)?.[1] ?? '', 0xffffffff);
        const number = port16(context, piece, port);
        // As OVS: a port below 0xff00, LOCAL or IN_PORT, and at least an Ethernet header.
        if (number === undefined || (number >= 0xff00 && number !== 0xfffffffe && number !== 0xfffffff8)) {
          syntaxError(
            flow,
            `port=${port}: output to unsupported truncate port; expected a port below 65280, LOCAL or IN_PORT`,
          );
        }
        if (maxLength === undefined || maxLength < 14) {
          syntaxError(flow, `${piece}: max_len must be an integer from 14 (an Ethernet header) to 4294967295`);
        }
        return { type: 'output_trunc', port: number!, maxLength: maxLength! };
      }
      // ovs-ofctl reads a port first, then a field (output:reg2 is NXM_NX_REG2[]).
      const text = colon ?? args;
      if (text === undefined || port16(context, piece, text) !== undefined) {
        return undefined;
      }
      const ref = parseFieldRef(text);
      if (typeof ref !== 'string') {
        checkPrerequisite(context, piece, ref);
        return { type: 'output_reg', src: ref };
      }
      return undefined;
    }
  }
  return undefined;
}
