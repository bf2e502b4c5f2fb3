/**
 * OVS's match prerequisites: the fields that need a protocol in the match, which
 * `ovs-ofctl` leaves out of a flow that lacks it.
 */
import { extensionPrerequisites } from './flow-match-nxm.js';
import type { Match, MatchFieldName } from './match.js';

/** Fields that need a protocol in the match (named by its shorthand): `ovs-ofctl` leaves them out without it. */
export const matchPrerequisites: readonly [MatchFieldName, string, (match: Match) => boolean][] = [
  ...extensionPrerequisites,
  ['tcpSrc', 'tcp', (match) => match.ipProto === 6],
  ['tcpDst', 'tcp', (match) => match.ipProto === 6],
  ['udpSrc', 'udp', (match) => match.ipProto === 17],
  ['udpDst', 'udp', (match) => match.ipProto === 17],
  ['sctpSrc', 'sctp', (match) => match.ipProto === 132],
  ['sctpDst', 'sctp', (match) => match.ipProto === 132],
  ['icmpv4Type', 'icmp', (match) => match.ipProto === 1 && match.ethType === 0x0800],
  ['icmpv4Code', 'icmp', (match) => match.ipProto === 1 && match.ethType === 0x0800],
  ['icmpv6Type', 'icmp6', (match) => match.ipProto === 58 && match.ethType === 0x86dd],
  ['icmpv6Code', 'icmp6', (match) => match.ipProto === 58 && match.ethType === 0x86dd],
  ['ipEcn', 'ip', (match) => match.ethType === 0x0800 || match.ethType === 0x86dd],
  ['nwTtl', 'ip', (match) => match.ethType === 0x0800 || match.ethType === 0x86dd],
  ['ndTarget', 'icmp6', (match) => isNd(match, [135, 136])],
  ['ndSll', 'icmp6', (match) => isNd(match, [135])],
  ['ndTll', 'icmp6', (match) => isNd(match, [136])],
  ['ipv6Src', 'ipv6', (match) => match.ethType === 0x86dd],
  ['ipv6Dst', 'ipv6', (match) => match.ethType === 0x86dd],
  ['arpOp', 'arp', isArp],
  ['arpSpa', 'arp', isArp],
  ['arpTpa', 'arp', isArp],
];

/** An ND message of one of `types` (OVS's prerequisite also wants ICMPv6 code 0). */
function isNd(match: Match, types: readonly number[]): boolean {
  return (
    match.ipProto === 58 &&
    match.ethType === 0x86dd &&
    types.includes(match.icmpv6Type ?? -1) &&
    (match.icmpv6Code ?? 0) === 0
  );
}

/** An ARP or RARP packet. */
export function isArp(match: Match): boolean {
  return match.ethType === 0x0806 || match.ethType === 0x8035;
}
