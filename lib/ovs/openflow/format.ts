/**
 * `ovs-ofctl`-style text of matches, actions, instructions, flows, port counters and port
 * descriptions, as `dump-flows`, `dump-ports` and `dump-ports-desc` print them.
 */
import { formatIpv6, tryParseIpv4, tryParseIpv6 } from '../../address.js';
import { OFPP, reservedPortNames, type Action, type Instruction } from './actions.js';
import { OFP_DEFAULT_PRIORITY } from './flow-mod.js';
import { formatNiciraAction } from './format-nicira.js';
import { formatLearn } from './learn.js';
import { formatStackAction } from './nicira-stack-actions.js';
import { formatEncapAction } from './nicira-encap-actions.js';
import { formatHashAction } from './nicira-hash-actions.js';
import {
  formatLeadingExtensions,
  formatMplsAndFragments,
  formatNsh,
  formatPacketType,
  formatRegisters,
  formatTcpFlags,
} from './format-nxm.js';
import { impliedEthType, ovsFieldNames, splitMasked, type Match } from './match.js';
import { formatTunMetadataAction, formatTunMetadataMatch } from './tun-metadata.js';
import type { FlowStats, PortDescription, PortStats } from './multipart.js';

/** Options of the `ovs-ofctl`-style formatters. */
export interface FormatOptions {
  /** Port names by number: print `in_port=p1`/`output:p1` instead of numbers (`ovs-ofctl --names`). */
  portNames?: ReadonlyMap<number, string>;
}

/** Options of {@link formatFlowStats}. */
export interface FormatFlowOptions extends FormatOptions {
  /** Print duration, packet and byte counts (default true, as `dump-flows` without `--no-stats`). */
  showStats?: boolean;
}

const uint64Max = 0xffffffffffffffffn;
const uint32Max = 0xffffffff;

/** Formats a port as `ovs-ofctl` does: reserved names (LOCAL, CONTROLLER, ...), else the name or number. */
export function formatPort(port: number, options: FormatOptions = {}): string {
  // OVS holds ports in 16 bits: OpenFlow 1.1+'s 0xffffff00-0xfffffff7 print as OpenFlow 1.0's 65280-65527.
  const number = port >= 0xffffff00 && port < 0xfffffff8 ? port - 0xffff0000 : port;
  return reservedPortNames.get(port) ?? options.portNames?.get(port) ?? String(number);
}

/** Formats a duration as `ovs-ofctl`: `12s`, `1.234s`, or as many decimals as exact. */
export function formatDuration(seconds: number, nanoseconds: number): string {
  if (nanoseconds === 0) {
    return `${seconds}s`;
  }
  if (nanoseconds % 1_000_000 === 0) {
    return `${seconds}.${String(nanoseconds / 1_000_000).padStart(3, '0')}s`;
  }
  return `${seconds}.${String(nanoseconds).padStart(9, '0').replace(/0+$/, '')}s`;
}

function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

/** `%#x` of C: `0` for zero, else `0x...`. */
function alternateHex(value: bigint): string {
  return value === 0n ? '0' : hex(value);
}

function formatIpMasked(value: string, mask: string | undefined): string {
  if (mask === undefined) {
    return value;
  }
  const inverted = ~tryParseIpv4(mask)! >>> 0;
  if (inverted === 0) {
    return value;
  }
  if ((inverted & (inverted + 1)) === 0) {
    return `${value}/${32 - Math.log2(inverted + 1)}`;
  }
  return `${value}/${mask}`;
}

function formatIpv6Masked(text: string, mask: string | undefined): string {
  const value = formatIpv6(tryParseIpv6(text)!);
  if (mask === undefined) {
    return value;
  }
  const bits = tryParseIpv6(mask)!;
  let prefix = 0;
  while (prefix < 128 && (bits[prefix >> 3]! & (0x80 >> (prefix & 7))) !== 0) {
    prefix++;
  }
  let cidr = true;
  for (let bit = prefix; bit < 128; bit++) {
    if ((bits[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) {
      cidr = false;
    }
  }
  if (prefix === 128) {
    return value;
  }
  return `${value}/${cidr ? prefix : formatIpv6(bits)}`;
}

function masked<T>(
  field: T | { value: T; mask: T } | undefined,
  show: (value: T, mask: T | undefined) => string,
): string | undefined {
  if (field === undefined) {
    return undefined;
  }
  const { value, mask } = splitMasked(field);
  return show(value, mask);
}

const ipv4Shorthands: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };
const ipv6Shorthands: Readonly<Record<number, string>> = { 58: 'icmp6', 6: 'tcp6', 17: 'udp6', 132: 'sctp6' };
const ethShorthands: Readonly<Record<number, string>> = {
  0x0806: 'arp',
  0x8035: 'rarp',
  0x8847: 'mpls',
  0x8848: 'mplsm',
};

/** 802.1Q TCI value and mask equivalent to the OXM `vlan_vid`/`vlan_pcp` of a match. */
function vlanTci(match: Match): { value: number; mask: number } | undefined {
  if (match.vlanVid === undefined) {
    return undefined;
  }
  const vid = splitMasked(match.vlanVid);
  let value = vid.value & 0x1fff;
  let mask = (vid.mask ?? 0x1fff) & 0x1fff;
  if (match.vlanPcp !== undefined) {
    value |= match.vlanPcp << 13;
    mask |= 0xe000;
  }
  return { value: value & mask, mask };
}

function formatVlan(match: Match): string[] {
  const tci = vlanTci(match);
  if (!tci) {
    return [];
  }
  const vidMask = tci.mask & 0x0fff;
  const pcpMask = tci.mask & 0xe000;
  const cfiMatched = (tci.mask & 0x1000) !== 0 && (tci.value & 0x1000) !== 0;
  if (
    cfiMatched &&
    (vidMask === 0 || vidMask === 0x0fff) &&
    (pcpMask === 0 || pcpMask === 0xe000) &&
    (vidMask !== 0 || pcpMask !== 0)
  ) {
    const parts: string[] = [];
    if (vidMask) {
      parts.push(`dl_vlan=${tci.value & 0x0fff}`);
    }
    if (pcpMask) {
      parts.push(`dl_vlan_pcp=${tci.value >> 13}`);
    }
    return parts;
  }
  const value = `0x${tci.value.toString(16).padStart(4, '0')}`;
  return tci.mask === 0xffff
    ? [`vlan_tci=${value}`]
    : [`vlan_tci=${value}/0x${tci.mask.toString(16).padStart(4, '0')}`];
}

function formatPortMasked(
  name: string,
  field: number | { value: number; mask: number } | undefined,
): string | undefined {
  return masked(field, (value, mask) =>
    mask === undefined ? `${name}=${value}` : `${name}=${hex(value)}/${hex(mask)}`,
  );
}

/**
 * Formats a match (and priority, when not the default) as `ovs-ofctl` prints it, in the
 * same order and with the same shorthands: `priority=10,udp,in_port=1,nw_src=10.0.0.0/24,tp_dst=53`.
 */
export function formatMatch(
  match: Match,
  priority: number = OFP_DEFAULT_PRIORITY,
  options: FormatOptions = {},
): string {
  const parts: string[] = [];
  const push = (part: string | undefined): void => {
    if (part !== undefined) {
      parts.push(part);
    }
  };
  if (priority !== OFP_DEFAULT_PRIORITY) {
    parts.push(`priority=${priority}`);
  }
  parts.push(...formatLeadingExtensions(match));
  push(masked(match.ctNwSrc, (value, mask) => `ct_nw_src=${formatIpMasked(value, mask)}`));
  push(masked(match.ctIpv6Src, (value, mask) => `ct_ipv6_src=${formatIpv6Masked(value, mask)}`));
  push(masked(match.ctNwDst, (value, mask) => `ct_nw_dst=${formatIpMasked(value, mask)}`));
  push(masked(match.ctIpv6Dst, (value, mask) => `ct_ipv6_dst=${formatIpv6Masked(value, mask)}`));
  if (match.ctNwProto !== undefined) {
    // As OVS's match_format: the conntrack ports only with the protocol.
    parts.push(`ct_nw_proto=${match.ctNwProto}`);
    push(formatPortMasked('ct_tp_src', match.ctTpSrc));
    push(formatPortMasked('ct_tp_dst', match.ctTpDst));
  }
  parts.push(...formatPacketType(match));
  // A packet type `(1,TYPE)` stands for its EtherType, which OVS then prints neither as `dl_type` nor as a shorthand.
  const ethType = match.ethType ?? impliedEthType(match);
  let typeShown = false;
  let protoShown = false;
  if (match.ethType === undefined) {
    typeShown = true;
  } else if (ethType === 0x0800 || ethType === 0x86dd) {
    const shorthands = ethType === 0x0800 ? ipv4Shorthands : ipv6Shorthands;
    const protocol = match.ipProto === undefined ? undefined : shorthands[match.ipProto];
    parts.push(protocol ?? (ethType === 0x0800 ? 'ip' : 'ipv6'));
    typeShown = true;
    protoShown = protocol !== undefined;
  } else if (ethType !== undefined && ethShorthands[ethType]) {
    parts.push(ethShorthands[ethType]);
    typeShown = true;
  }
  parts.push(...formatRegisters(match));
  push(masked(match.tunSrc, (value, mask) => `tun_src=${formatIpMasked(value, mask)}`));
  push(masked(match.tunDst, (value, mask) => `tun_dst=${formatIpMasked(value, mask)}`));
  push(masked(match.tunIpv6Src, (value, mask) => `tun_ipv6_src=${formatIpv6Masked(value, mask)}`));
  push(masked(match.tunIpv6Dst, (value, mask) => `tun_ipv6_dst=${formatIpv6Masked(value, mask)}`));
  push(formatPortMasked('tun_gbp_id', match.tunGbpId));
  // OVS prints the flags' value only, whatever the mask.
  push(masked(match.tunGbpFlags, (value) => `tun_gbp_flags=${alternateHex(BigInt(value))}`));
  parts.push(...formatTunMetadataMatch(match.tunMetadata));
  push(
    masked(
      match.metadata,
      (value, mask) => `metadata=${alternateHex(value)}${mask === undefined ? '' : `/${alternateHex(mask)}`}`,
    ),
  );
  if (match.inPort !== undefined) {
    parts.push(`in_port=${formatPort(match.inPort, options)}`);
  }
  parts.push(...formatVlan(match));
  push(masked(match.ethSrc, (value, mask) => `dl_src=${value}${mask === undefined ? '' : `/${mask}`}`));
  push(masked(match.ethDst, (value, mask) => `dl_dst=${value}${mask === undefined ? '' : `/${mask}`}`));
  if (ethType !== undefined && !typeShown) {
    parts.push(`dl_type=0x${ethType.toString(16).padStart(4, '0')}`);
  }
  parts.push(...formatNsh(match));
  const isArp = ethType === 0x0806 || ethType === 0x8035;
  if (isArp) {
    push(masked(match.arpSpa, (value, mask) => `arp_spa=${formatIpMasked(value, mask)}`));
    push(masked(match.arpTpa, (value, mask) => `arp_tpa=${formatIpMasked(value, mask)}`));
    if (match.arpOp !== undefined) {
      parts.push(`arp_op=${match.arpOp}`);
    }
  } else if (ethType === 0x86dd) {
    push(masked(match.ipv6Src, (value, mask) => `ipv6_src=${formatIpv6Masked(value, mask)}`));
    push(masked(match.ipv6Dst, (value, mask) => `ipv6_dst=${formatIpv6Masked(value, mask)}`));
    if (match.ipProto !== undefined && !protoShown) {
      parts.push(`nw_proto=${match.ipProto}`);
    }
  } else {
    push(masked(match.ipv4Src, (value, mask) => `nw_src=${formatIpMasked(value, mask)}`));
    push(masked(match.ipv4Dst, (value, mask) => `nw_dst=${formatIpMasked(value, mask)}`));
    if (match.ipProto !== undefined && !protoShown) {
      parts.push(`nw_proto=${match.ipProto}`);
    }
  }
  if (match.ipDscp !== undefined) {
    parts.push(`nw_tos=${match.ipDscp << 2}`);
  }
  if (match.ipEcn !== undefined) {
    parts.push(`nw_ecn=${match.ipEcn}`);
  }
  if (match.nwTtl !== undefined) {
    parts.push(`nw_ttl=${match.nwTtl}`);
  }
  parts.push(...formatMplsAndFragments(match));
  if (match.icmpv4Type !== undefined) {
    parts.push(`icmp_type=${match.icmpv4Type}`);
  }
  if (match.icmpv4Code !== undefined) {
    parts.push(`icmp_code=${match.icmpv4Code}`);
  }
  if (match.icmpv6Type !== undefined) {
    parts.push(`icmp_type=${match.icmpv6Type}`);
  }
  if (match.icmpv6Code !== undefined) {
    parts.push(`icmp_code=${match.icmpv6Code}`);
  }
  push(masked(match.ndTarget, (value, mask) => `nd_target=${formatIpv6Masked(value, mask)}`));
  push(masked(match.ndSll, (value, mask) => `nd_sll=${value}${mask === undefined ? '' : `/${mask}`}`));
  push(masked(match.ndTll, (value, mask) => `nd_tll=${value}${mask === undefined ? '' : `/${mask}`}`));
  push(formatPortMasked('tp_src', match.tcpSrc ?? match.udpSrc ?? match.sctpSrc));
  push(formatPortMasked('tp_dst', match.tcpDst ?? match.udpDst ?? match.sctpDst));
  parts.push(...formatTcpFlags(match));
  for (const other of match.otherFields ?? []) {
    const value = `0x${other.value.toString('hex')}${other.mask ? `/0x${other.mask.toString('hex')}` : ''}`;
    parts.push(`oxm(class=0x${other.oxmClass.toString(16)},field=${other.field})=${value}`);
  }
  return parts.join(',');
}

/** Fields whose values `ovs-ofctl` prints in hex (`set_field:0x5->reg0`), as OVS's field table says. */
const hexSetFields = new Set<string>([
  'nshSpi',
  'nshC1',
  'nshC2',
  'nshC3',
  'nshC4',
  'pktMark',
  'ctMark',
  'tunErspanIdx',
  'tunErspanHwid',
  ...Array.from({ length: 16 }, (_, index) => `reg${index}`),
]);

function formatSetFieldValue(field: string, value: string | number | bigint): string {
  return typeof value === 'bigint' || (typeof value === 'number' && hexSetFields.has(field))
    ? alternateHex(BigInt(value))
    : String(value);
}

/** Formats one action as `ovs-ofctl -O OpenFlow13` prints it. */
export function formatAction(action: Action, options: FormatOptions = {}): string {
  switch (action.type) {
    case 'output':
      if (action.port < OFPP.MAX) {
        return `output:${formatPort(action.port, options)}`;
      }
      return action.port === OFPP.CONTROLLER
        ? `CONTROLLER:${action.maxLength ?? 0xffff}`
        : formatPort(action.port, options);
    case 'group':
      return `group:${action.groupId}`;
    case 'push_vlan':
      return `push_vlan:${hex(action.ethertype)}`;
    case 'pop_vlan':
      return 'pop_vlan';
    case 'dec_nw_ttl':
      return 'dec_ttl';
    case 'set_nw_ttl':
      return `mod_nw_ttl:${action.ttl}`;
    case 'set_queue':
      return `set_queue:${action.queueId}`;
    case 'set_tun_metadata':
      return formatTunMetadataAction(action);
    case 'set_field':
      return `set_field:${action.field === 'inPort' ? formatPort(Number(action.value), options) : formatSetFieldValue(action.field, action.value)}->${ovsFieldNames[action.field]}`;
    case 'push_mpls':
    case 'pop_mpls':
      return `${action.type}:0x${action.ethertype.toString(16).padStart(4, '0')}`;
    case 'clone':
    case 'stack_push':
    case 'stack_pop':
    case 'debug_recirc':
    case 'debug_slow':
    case 'sample':
      return formatStackAction(
        action,
        (actions) => actions.map((inner) => formatAction(inner, options)).join(','),
        (port) => formatPort(port, options),
      );
    case 'encap':
    case 'decap':
      return formatEncapAction(action);
    case 'set_mpls_ttl':
      return `set_mpls_ttl(${action.ttl})`;
    case 'dec_mpls_ttl':
      return 'dec_mpls_ttl';
    case 'learn':
      return formatLearn(action, (port) => formatPort(port, options));
    case 'multipath':
    case 'bundle':
    case 'set_register':
      return formatHashAction(action, (port) => formatPort(port, options));
    case 'unknown':
      return `unknown_action(type=${action.actionType},body=0x${action.body.toString('hex')})`;
    default:
      return formatNiciraAction(
        action,
        (port) => formatPort(port, options),
        (actions) => actions.map((inner) => formatAction(inner, options)).join(','),
      );
  }
}

/** Formats instructions as the `actions=` part of a dump: apply-actions inline, `drop` when empty. */
export function formatInstructions(instructions: readonly Instruction[], options: FormatOptions = {}): string {
  const parts: string[] = [];
  for (const instruction of instructions) {
    switch (instruction.type) {
      case 'meter':
        parts.push(`meter:${instruction.meterId}`);
        break;
      case 'apply_actions':
        parts.push(...instruction.actions.map((action) => formatAction(action, options)));
        break;
      case 'clear_actions':
        parts.push('clear_actions');
        break;
      case 'write_actions':
        parts.push(`write_actions(${instruction.actions.map((action) => formatAction(action, options)).join(',')})`);
        break;
      case 'write_metadata':
        parts.push(
          `write_metadata:${alternateHex(instruction.metadata)}${instruction.mask === uint64Max ? '' : `/${alternateHex(instruction.mask)}`}`,
        );
        break;
      case 'goto_table':
        parts.push(`goto_table:${instruction.tableId}`);
        break;
      case 'unknown':
        parts.push(`unknown_instruction(type=${instruction.instructionType})`);
        break;
    }
  }
  return parts.length === 0 ? 'drop' : parts.join(',');
}

function counter(value: bigint): string {
  return value === uint64Max ? '?' : value.toString();
}

/**
 * Formats one flow like a line of `ovs-ofctl -O OpenFlow13 dump-flows` (without the
 * leading space): `cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0,
 * idle_timeout=10, priority=5,ip,in_port=2 actions=output:3`.
 */
export function formatFlowStats(flow: FlowStats, options: FormatFlowOptions = {}): string {
  const showStats = options.showStats ?? true;
  let line = '';
  if (showStats || flow.cookie !== 0n) {
    line += `cookie=${hex(flow.cookie)}, `;
  }
  if (showStats) {
    line += `duration=${formatDuration(flow.durationSec, flow.durationNsec)}, `;
  }
  if (showStats || flow.tableId !== 0) {
    line += `table=${flow.tableId}, `;
  }
  if (showStats) {
    line += `n_packets=${counter(flow.packetCount)}, n_bytes=${counter(flow.byteCount)}, `;
  }
  if (flow.idleTimeout !== 0) {
    line += `idle_timeout=${flow.idleTimeout}, `;
  }
  if (flow.hardTimeout !== 0) {
    line += `hard_timeout=${flow.hardTimeout}, `;
  }
  for (const flag of flow.flags) {
    line += `${flag} `;
  }
  const match = formatMatch(flow.match, flow.priority, options);
  if (match !== '') {
    line += `${match} `;
  }
  return `${line}actions=${formatInstructions(flow.instructions, options)}`;
}

/** Formats one port's counters as the (two or three) lines of `ovs-ofctl dump-ports`. */
export function formatPortStats(stats: PortStats, options: FormatOptions = {}): string[] {
  const padding = stats.portNo < 10 ? ' ' : '';
  const lines = [
    `  port ${padding}${formatPort(stats.portNo, options)}: rx pkts=${counter(stats.rxPackets)}, bytes=${counter(stats.rxBytes)}, ` +
      `drop=${counter(stats.rxDropped)}, errs=${counter(stats.rxErrors)}, frame=${counter(stats.rxFrameErrors)}, ` +
      `over=${counter(stats.rxOverErrors)}, crc=${counter(stats.rxCrcErrors)}`,
    `           tx pkts=${counter(stats.txPackets)}, bytes=${counter(stats.txBytes)}, drop=${counter(stats.txDropped)}, ` +
      `errs=${counter(stats.txErrors)}, coll=${counter(stats.collisions)}`,
  ];
  if (stats.durationSec !== uint32Max) {
    lines.push(`           duration=${formatDuration(stats.durationSec, stats.durationNsec)}`);
  }
  return lines;
}

function bitNames(bits: number, names: Readonly<Record<number, string>>): string {
  if (bits === 0) {
    return '0';
  }
  const parts: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const value = (1 << bit) >>> 0;
    if ((bits & value) !== 0) {
      parts.push(names[value] ?? `0x${value.toString(16)}`);
    }
  }
  return parts.join(' ');
}

const portConfigNames: Readonly<Record<number, string>> = {
  1: 'PORT_DOWN',
  4: 'NO_RECV',
  32: 'NO_FWD',
  64: 'NO_PACKET_IN',
};
const portStateNames: Readonly<Record<number, string>> = { 1: 'LINK_DOWN', 2: 'BLOCKED', 4: 'LIVE' };
const portFeatureNames: Readonly<Record<number, string>> = Object.fromEntries(
  [
    '10MB-HD',
    '10MB-FD',
    '100MB-HD',
    '100MB-FD',
    '1GB-HD',
    '1GB-FD',
    '10GB-FD',
    '40GB-FD',
    '100GB-FD',
    '1TB-FD',
    'OTHER',
    'COPPER',
    'FIBER',
    'AUTO_NEG',
    'AUTO_PAUSE',
    'AUTO_PAUSE_ASYM',
  ].map((name, bit) => [1 << bit, name]),
);

/** Formats one port description as the lines of `ovs-ofctl dump-ports-desc`. */
export function formatPortDescription(port: PortDescription): string[] {
  const lines = [
    ` ${formatPort(port.portNo)}(${port.name}): addr:${port.hwAddr}`,
    `     config:     ${bitNames(port.config, portConfigNames)}`,
    `     state:      ${bitNames(port.state, portStateNames)}`,
  ];
  for (const [label, features] of [
    ['current:    ', port.curr],
    ['advertised: ', port.advertised],
    ['supported:  ', port.supported],
    ['peer:       ', port.peer],
  ] as const) {
    if (features !== 0) {
      lines.push(`     ${label}${bitNames(features, portFeatureNames)}`);
    }
  }
  lines.push(`     speed: ${Math.floor(port.currSpeed / 1000)} Mbps now, ${Math.floor(port.maxSpeed / 1000)} Mbps max`);
  return lines;
}

/** Sorts port descriptions as `ovs-ofctl dump-ports-desc` does: by 16-bit port number, LOCAL last. */
export function sortPortDescriptions(ports: readonly PortDescription[]): PortDescription[] {
  const key = (port: PortDescription): number => (port.portNo >= OFPP.MAX ? port.portNo - 0xffff0000 : port.portNo);
  return [...ports].sort((a, b) => key(a) - key(b));
}
