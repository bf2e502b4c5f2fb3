/** PacketFilter: ovs-ofctl-style match rules (protocol, addresses, ports) evaluated on packets in place. */
import { invalidArgument } from './errors.js';
import { ETHER_TYPE_IPV4, ETHER_TYPE_VLAN, IP_PROTO_TCP, IP_PROTO_UDP, parseIpv4 } from './packet.js';
import { describe } from './validate.js';

/** IP protocol number of ICMP. */
const IP_PROTO_ICMP = 1;

/** A packet-matching rule, in `ovs-ofctl`'s words: `udp,tp_dst=6666`, `tcp,nw_src=10.0.0.0/8,tp_dst=80-89`. */
export interface PacketRule {
  /** The rule as written. */
  text: string;
  /** IP protocol to match (6, 17, 1), or undefined for any IPv4 packet. */
  protocol?: number;
  /** Source network: address and prefix mask. */
  source?: { address: number; mask: number };
  /** Destination network: address and prefix mask. */
  destination?: { address: number; mask: number };
  /** Transport source port range, inclusive. */
  sourcePorts?: [number, number];
  /** Transport destination port range, inclusive. */
  destinationPorts?: [number, number];
}

function network(rule: string, field: string, value: string): { address: number; mask: number } {
  const [address, prefixText] = value.split('/');
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    invalidArgument(
      'parseRule',
      `${field} in ${describe(rule)} must be ADDRESS or ADDRESS/PREFIX (0..32), got ${describe(value)}`,
    );
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { address: (parseIpv4(address) & mask) >>> 0, mask };
}

function portRange(rule: string, field: string, value: string): [number, number] {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value);
  const low = match === null ? NaN : Number(match[1]);
  const high = match === null ? NaN : Number(match[2] ?? match[1]);
  if (!(low >= 0 && high <= 65535 && low <= high)) {
    invalidArgument(
      'parseRule',
      `${field} in ${describe(rule)} must be a port or a range LOW-HIGH within 0..65535, got ${describe(value)}`,
    );
  }
  return [low, high];
}

/**
 * Parses a rule: comma-separated `ip`, `udp`, `tcp`, `icmp`, `nw_src=NET`, `nw_dst=NET`,
 * `tp_src=PORT[-PORT]`, `tp_dst=PORT[-PORT]` (ports need `udp` or `tcp`).
 */
export function parseRule(text: string): PacketRule {
  if (typeof text !== 'string' || text.trim() === '')
    invalidArgument('parseRule', `a rule must be a non-empty string, got ${describe(text)}`);
  const rule: PacketRule = { text };
  for (const token of text.split(',').map((part) => part.trim())) {
    const [field, value] = token.split('=', 2);
    switch (field) {
      case 'ip':
        break;
      case 'udp':
        rule.protocol = IP_PROTO_UDP;
        break;
      case 'tcp':
        rule.protocol = IP_PROTO_TCP;
        break;
      case 'icmp':
        rule.protocol = IP_PROTO_ICMP;
        break;
      case 'nw_src':
        rule.source = network(text, field, value ?? '');
        break;
      case 'nw_dst':
        rule.destination = network(text, field, value ?? '');
        break;
      case 'tp_src':
        rule.sourcePorts = portRange(text, field, value ?? '');
        break;
      case 'tp_dst':
        rule.destinationPorts = portRange(text, field, value ?? '');
        break;
      default:
        invalidArgument(
          'parseRule',
          `unknown field ${describe(token)} in rule ${describe(text)}: expected ip, udp, tcp, icmp, nw_src=, nw_dst=, tp_src= or tp_dst=`,
        );
    }
  }
  if (
    (rule.sourcePorts !== undefined || rule.destinationPorts !== undefined) &&
    rule.protocol !== IP_PROTO_UDP &&
    rule.protocol !== IP_PROTO_TCP
  ) {
    invalidArgument('parseRule', `rule ${describe(text)} matches ports, so it needs udp or tcp`);
  }
  return rule;
}

/**
 * Matches IPv4 packets (optionally VLAN-tagged) against rules, in place and without
 * allocating: made for per-packet use in forwarding loops.
 */
export class PacketFilter {
  /** The rules, in order. */
  readonly rules: readonly PacketRule[];

  /** A filter of rules (objects, or texts for {@link parseRule}). */
  constructor(rules: readonly (PacketRule | string)[]) {
    this.rules = rules.map((rule) => (typeof rule === 'string' ? parseRule(rule) : rule));
  }

  /**
   * The index of the first rule packet `[offset, offset + length)` of `view` matches, or -1.
   * Non-IPv4 and truncated packets match nothing.
   */
  match(view: DataView, offset: number, length: number): number {
    let l3 = offset + 14;
    let etherType = view.getUint16(offset + 12);
    if (etherType === ETHER_TYPE_VLAN && length >= 18) {
      etherType = view.getUint16(offset + 16);
      l3 += 4;
    }
    const end = offset + length;
    if (etherType !== ETHER_TYPE_IPV4 || l3 + 20 > end) return -1;
    const headerLength = (view.getUint8(l3) & 15) * 4;
    const protocol = view.getUint8(l3 + 9);
    const source = view.getUint32(l3 + 12);
    const destination = view.getUint32(l3 + 16);
    const l4 = l3 + headerLength;
    const hasPorts = (protocol === IP_PROTO_UDP || protocol === IP_PROTO_TCP) && l4 + 4 <= end;
    const sourcePort = hasPorts ? view.getUint16(l4) : -1;
    const destinationPort = hasPorts ? view.getUint16(l4 + 2) : -1;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      if (rule.protocol !== undefined && rule.protocol !== protocol) continue;
      if (rule.source !== undefined && (source & rule.source.mask) >>> 0 !== rule.source.address) continue;
      if (rule.destination !== undefined && (destination & rule.destination.mask) >>> 0 !== rule.destination.address)
        continue;
      if (rule.sourcePorts !== undefined && !(sourcePort >= rule.sourcePorts[0] && sourcePort <= rule.sourcePorts[1]))
        continue;
      if (
        rule.destinationPorts !== undefined &&
        !(destinationPort >= rule.destinationPorts[0] && destinationPort <= rule.destinationPorts[1])
      )
        continue;
      return i;
    }
    return -1;
  }
}
