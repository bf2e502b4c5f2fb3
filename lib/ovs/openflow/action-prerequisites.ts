/**
 * The protocols an action needs in the match to touch a field, as OVS checks them for
 * OpenFlow 1.3 (`ovs-ofctl`: "set_field ... lacks correct prerequisites", or "no usable
 * protocol" for the OpenFlow 1.0 `mod_*` actions).
 */
import type { SetFieldName } from './actions.js';
import type { Match } from './match.js';

/** Whether the match is on later fragments only (`ip_frag=later`), which have no transport header. */
export function laterFragment(match: Match): boolean {
  const frag = match.ipFrag;
  return frag !== undefined && (typeof frag === 'number' ? frag & 2 : frag.value & frag.mask & 2) !== 0;
}

function isIp(match: Match): boolean {
  return match.ethType === 0x0800 || match.ethType === 0x86dd;
}

function transport(match: Match, ethTypes: readonly number[], proto: number): boolean {
  return ethTypes.includes(match.ethType ?? -1) && match.ipProto === proto && !laterFragment(match);
}

function nd(match: Match, types: readonly number[]): boolean {
  return transport(match, [0x86dd], 58) && types.includes(match.icmpv6Type ?? -1) && (match.icmpv6Code ?? 0) === 0;
}

/** Whether the packet is Ethernet: OVS's packet type (0,0), named or left to the default. */
function isEthernet(match: Match): boolean {
  return match.packetType === undefined || match.packetType === 0;
}

function isNsh(match: Match): boolean {
  return match.ethType === 0x894f;
}

const needs: Partial<Record<SetFieldName, [string, (match: Match) => boolean]>> = {
  ethSrc: ['eth', isEthernet],
  ethDst: ['eth', isEthernet],
  nshFlags: ['dl_type=0x894f', isNsh],
  nshTtl: ['dl_type=0x894f', isNsh],
  nshSpi: ['dl_type=0x894f', isNsh],
  nshSi: ['dl_type=0x894f', isNsh],
  nshC1: ['dl_type=0x894f', isNsh],
  nshC2: ['dl_type=0x894f', isNsh],
  nshC3: ['dl_type=0x894f', isNsh],
  nshC4: ['dl_type=0x894f', isNsh],
  ipv4Src: ['ip', (match) => match.ethType === 0x0800],
  ipv4Dst: ['ip', (match) => match.ethType === 0x0800],
  ipDscp: ['ip', isIp],
  tcpSrc: ['tcp', (match) => transport(match, [0x0800, 0x86dd], 6)],
  tcpDst: ['tcp', (match) => transport(match, [0x0800, 0x86dd], 6)],
  udpSrc: ['udp', (match) => transport(match, [0x0800, 0x86dd], 17)],
  udpDst: ['udp', (match) => transport(match, [0x0800, 0x86dd], 17)],
  sctpSrc: ['sctp', (match) => transport(match, [0x0800, 0x86dd], 132)],
  sctpDst: ['sctp', (match) => transport(match, [0x0800, 0x86dd], 132)],
  icmpv4Type: ['icmp', (match) => transport(match, [0x0800], 1)],
  icmpv4Code: ['icmp', (match) => transport(match, [0x0800], 1)],
  ipv6Src: ['ipv6', (match) => match.ethType === 0x86dd],
  ipv6Dst: ['ipv6', (match) => match.ethType === 0x86dd],
  icmpv6Type: ['icmp6', (match) => transport(match, [0x86dd], 58)],
  icmpv6Code: ['icmp6', (match) => transport(match, [0x86dd], 58)],
  mplsLabel: ['mpls', (match) => match.ethType === 0x8847 || match.ethType === 0x8848],
  mplsTc: ['mpls', (match) => match.ethType === 0x8847 || match.ethType === 0x8848],
  ndTarget: ['icmp6', (match) => nd(match, [135, 136])],
  ndSll: ['icmp6', (match) => nd(match, [135])],
  ndTll: ['icmp6', (match) => nd(match, [136])],
  arpOp: ['arp', (match) => match.ethType === 0x0806 || match.ethType === 0x8035],
  arpSpa: ['arp', (match) => match.ethType === 0x0806 || match.ethType === 0x8035],
  arpTpa: ['arp', (match) => match.ethType === 0x0806 || match.ethType === 0x8035],
};

/**
 * The protocol (by its shorthand) the match lacks for an action to write `field`; undefined
 * when it has what the field needs. A transport field needs a first fragment or none.
 */
export function missingSetFieldPrerequisite(field: SetFieldName, match: Match): string | undefined {
  const need = needs[field];
  return need && !need[1](match) ? need[0] : undefined;
}

/** Whether the match names IPv4 or IPv6, as `dec_ttl` needs over OpenFlow 1.3. */
export function matchesIp(match: Match): boolean {
  return isIp(match);
}
