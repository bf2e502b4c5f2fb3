/**
 * The dump text of Open vSwitch's extension match fields, as OVS's `match_format` prints
 * them; format.ts places each group where `ovs-ofctl` puts it in the line.
 */
import { reservedPortNames } from './actions.js';
import { splitMasked, type Masked, type Match, type MatchFieldName } from './match.js';
import { ctStateFlagNames, tcpFlagNames } from './oxm-fields.js';

const uint32Max = 0xffffffff;

/** `%#x` of C: `0` for zero, else `0x...`. */
function alternateHex(value: number | bigint): string {
  return value === 0 || value === 0n ? '0' : `0x${value.toString(16)}`;
}

/** `name=%#x[/%#x]`, as OVS's `format_uint32_masked` and `format_be64_masked`. */
function hexMasked(name: string, field: Masked<number> | Masked<bigint> | undefined, full: number | bigint): string[] {
  if (field === undefined) {
    return [];
  }
  const { value, mask } = splitMasked<number | bigint>(field);
  return [`${name}=${alternateHex(value)}${mask === undefined || mask === full ? '' : `/${alternateHex(mask)}`}`];
}

/** The set bits of `bits`, lowest first, by name (`0x...` for a bit without one), joined by `|`; `0` when none. */
function flagList(bits: number, names: Readonly<Record<number, string>>): string {
  const parts: string[] = [];
  for (let bit = 1; bit <= bits && bit !== 0; bit <<= 1) {
    if ((bits & bit) !== 0) {
      parts.push(names[bit] ?? `0x${bit.toString(16)}`);
    }
  }
  return parts.length === 0 ? '0' : parts.join('|');
}

/** OVS's `format_flags_masked`: `+set-clear` for each matched bit, lowest first; the `|` list when all are matched. */
function flagsMasked(value: number, mask: number, all: number, names: Readonly<Record<number, string>>): string {
  if ((mask & all) === all) {
    return flagList(value, names);
  }
  let text = '';
  for (let bit = 1; bit <= mask; bit <<= 1) {
    if ((mask & bit) !== 0) {
      text += `${(value & bit) !== 0 ? '+' : '-'}${names[bit] ?? '[unknown]'}`;
    }
  }
  return text;
}

/** The fields OVS prints before the protocol shorthand: packet mark, recirculation, conjunction, conntrack. */
export function formatLeadingExtensions(match: Match): string[] {
  const parts = [
    ...hexMasked('pkt_mark', match.pktMark, uint32Max),
    ...hexMasked('recirc_id', match.recircId, uint32Max),
  ];
  if (match.conjId !== undefined) {
    parts.push(`conj_id=${match.conjId}`);
  }
  if (match.actsetOutput !== undefined) {
    const port = match.actsetOutput;
    parts.push(`actset_output=${port === 0xfffffff7 ? 'UNSET' : (reservedPortNames.get(port) ?? port)}`);
  }
  if (match.ctState !== undefined) {
    const { value, mask = uint32Max } = splitMasked(match.ctState);
    parts.push(`ct_state=${flagsMasked(value, mask & 0xff, 0xff, ctStateFlagNames)}`);
  }
  if (match.ctZone !== undefined) {
    parts.push(`ct_zone=${match.ctZone}`);
  }
  parts.push(...hexMasked('ct_mark', match.ctMark, uint32Max));
  parts.push(...hexMasked('ct_label', match.ctLabel, (1n << 128n) - 1n));
  return parts;
}

/** Fields that need no Ethernet header, which leave OVS's packet type unmatched. */
const packetTypeFree = new Set<string>([
  'packetType',
  'inPort',
  'metadata',
  'tunnelId',
  'tunSrc',
  'tunDst',
  'tunIpv6Src',
  'tunIpv6Dst',
  'pktMark',
  'ctState',
  'ctZone',
  'ctMark',
  'ctLabel',
  'tunGbpId',
  'tunGbpFlags',
  'recircId',
  'conjId',
  'actsetOutput',
  'otherFields',
  'tunMetadata',
]);

/**
 * The packet type as OVS prints it: `packet_type=(NS,TYPE)` for one other than Ethernet; `eth`
 * for Ethernet (named, or implied by an Ethernet-layer field) only in a recirculation
 * (`recirc_id`) match.
 */
export function formatPacketType(match: Match): string[] {
  const packetType = match.packetType;
  if (packetType !== undefined && packetType !== 0) {
    const type = packetType & 0xffff;
    return [`packet_type=(${packetType >>> 16},${type < 10 ? type : `0x${type.toString(16)}`})`];
  }
  return match.recircId !== undefined && (packetType === 0 || matchesEthernetField(match)) ? ['eth'] : [];
}

/** `%u`, or `0x%02x/0x%02x` when masked, as OVS's `format_uint8_masked`. */
function uint8Masked(name: string, field: Masked<number> | undefined): string[] {
  if (field === undefined) {
    return [];
  }
  const { value, mask } = splitMasked(field);
  const hex = (byte: number): string => `0x${byte.toString(16).padStart(2, '0')}`;
  return [`${name}=${mask === undefined || mask === 0xff ? value : `${hex(value)}/${hex(mask)}`}`];
}

/** `0x%x[/0x%x]`, as OVS's `format_be32_masked_hex` (zero too is `0x0`). */
function hex32Masked(name: string, field: Masked<number> | undefined, full: number): string[] {
  if (field === undefined) {
    return [];
  }
  const { value, mask } = splitMasked(field);
  return [`${name}=0x${value.toString(16)}${mask === undefined || mask === full ? '' : `/0x${mask.toString(16)}`}`];
}

/**
 * The NSH fields, which OVS prints after `dl_type`: the context headers only with MD type 1
 * matched (they are encoded all the same).
 */
export function formatNsh(match: Match): string[] {
  const parts = [
    ...uint8Masked('nsh_flags', match.nshFlags),
    ...uint8Masked('nsh_ttl', match.nshTtl),
    ...uint8Masked('nsh_mdtype', match.nshMdtype),
    ...uint8Masked('nsh_np', match.nshNp),
    ...hex32Masked('nsh_spi', match.nshSpi, 0xffffff),
    ...uint8Masked('nsh_si', match.nshSi),
  ];
  if (match.nshMdtype === 1) {
    for (const name of ['nshC1', 'nshC2', 'nshC3', 'nshC4'] as const) {
      parts.push(...hex32Masked(`nsh_c${name.slice(4)}`, match[name], uint32Max));
    }
  }
  return parts;
}

/**
 * Whether `match` has an Ethernet-layer field, which implies OVS's packet type "Ethernet"
 * (the `eth` shorthand): OVS then leaves the packet type out of the encoded match.
 */
export function matchesEthernetField(match: Match): boolean {
  return Object.keys(match).some(impliesEthernet);
}

/** Whether a field has prerequisites (an Ethernet packet, at least): OVS's parser then sets the packet type to Ethernet. */
export function impliesEthernet(field: string): boolean {
  return !packetTypeFree.has(field) && !/^reg\d+$/.test(field);
}

/** The registers and the tunnel id, which OVS prints after the protocol shorthand and before `metadata`. */
export function formatRegisters(match: Match): string[] {
  const parts: string[] = [];
  for (let index = 0; index < 16; index++) {
    parts.push(...hexMasked(`reg${index}`, match[`reg${index}` as MatchFieldName] as Masked<number>, uint32Max));
  }
  parts.push(...hexMasked('tun_id', match.tunnelId, 0xffffffffffffffffn));
  return parts;
}

/** MPLS and fragment fields, which OVS prints after `nw_tos`. */
export function formatMplsAndFragments(match: Match): string[] {
  const parts: string[] = [];
  if (match.mplsLabel !== undefined) {
    parts.push(`mpls_label=${match.mplsLabel}`);
  }
  if (match.mplsTc !== undefined) {
    parts.push(`mpls_tc=${match.mplsTc}`);
  }
  if (match.mplsBos !== undefined) {
    parts.push(`mpls_bos=${match.mplsBos}`);
  }
  if (match.ipFrag !== undefined) {
    const { value, mask = 0xff } = splitMasked(match.ipFrag);
    const any = (value & 1) !== 0;
    const later = (value & 2) !== 0;
    switch (mask & 3) {
      case 3:
        parts.push(`nw_frag=${any ? (later ? 'later' : 'first') : later ? '<error>' : 'no'}`);
        break;
      case 1:
        parts.push(`nw_frag=${any ? 'yes' : 'no'}`);
        break;
      case 2:
        parts.push(`nw_frag=${later ? 'later' : 'not_later'}`);
        break;
    }
  }
  return parts;
}

/** `tcp_flags`, which OVS prints last. */
export function formatTcpFlags(match: Match): string[] {
  if (match.tcpFlags === undefined) {
    return [];
  }
  const { value, mask = 0xffff } = splitMasked(match.tcpFlags);
  return [`tcp_flags=${flagsMasked(value, mask & 0xfff, 0xfff, tcpFlagNames)}`];
}
