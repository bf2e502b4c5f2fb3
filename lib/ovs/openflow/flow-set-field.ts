/**
 * `set_field:VALUE[/MASK]->FIELD` in the `ovs-ofctl` flow syntax: the field names it takes,
 * the fields it may not write, and the value of each (a mask makes it a `load`).
 */
import { tryParseIpv4, tryParseIpv6, tryParseMac } from '../../address.js';
import type { Action, SetFieldName } from './actions.js';
import { parsePort, parseUint, parseUint64, requireValue, syntaxError, type Token } from './flow-tokens.js';
import { parseRegisterSetField } from './nicira-hash-actions.js';
import { ovsFieldNames } from './match.js';
import { fieldMax } from './oxm-fields.js';
import { parseTunMetadataSetField, tunMetadataIndex } from './tun-metadata.js';

/** Names accepted after `set_field:VALUE->`, with the field each writes. */
const setFieldNames: Readonly<Record<string, SetFieldName>> = {
  in_port: 'inPort',
  eth_dst: 'ethDst',
  dl_dst: 'ethDst',
  eth_src: 'ethSrc',
  dl_src: 'ethSrc',
  vlan_vid: 'vlanVid',
  vlan_pcp: 'vlanPcp',
  dl_vlan_pcp: 'vlanPcp',
  ip_src: 'ipv4Src',
  nw_src: 'ipv4Src',
  ipv4_src: 'ipv4Src',
  ip_dst: 'ipv4Dst',
  nw_dst: 'ipv4Dst',
  ipv4_dst: 'ipv4Dst',
  ip_dscp: 'ipDscp',
  tcp_src: 'tcpSrc',
  tcp_dst: 'tcpDst',
  tp_src: 'tcpSrc',
  tp_dst: 'tcpDst',
  sctp_src: 'sctpSrc',
  sctp_dst: 'sctpDst',
  udp_src: 'udpSrc',
  udp_dst: 'udpDst',
  icmp_type: 'icmpv4Type',
  icmp_code: 'icmpv4Code',
  ipv6_src: 'ipv6Src',
  ipv6_dst: 'ipv6Dst',
  nd_target: 'ndTarget',
  tun_src: 'tunSrc',
  tun_dst: 'tunDst',
  tun_ipv6_src: 'tunIpv6Src',
  tun_ipv6_dst: 'tunIpv6Dst',
  tun_erspan_idx: 'tunErspanIdx',
  tun_erspan_ver: 'tunErspanVer',
  tun_erspan_dir: 'tunErspanDir',
  tun_erspan_hwid: 'tunErspanHwid',
  nd_sll: 'ndSll',
  nd_tll: 'ndTll',
  icmpv6_type: 'icmpv6Type',
  icmpv6_code: 'icmpv6Code',
  arp_op: 'arpOp',
  arp_spa: 'arpSpa',
  arp_tpa: 'arpTpa',
  metadata: 'metadata',
  tun_id: 'tunnelId',
  tunnel_id: 'tunnelId',
  pkt_mark: 'pktMark',
  ct_mark: 'ctMark',
  ct_label: 'ctLabel',
  mpls_label: 'mplsLabel',
  mpls_tc: 'mplsTc',
  mpls_bos: 'mplsBos',
  nsh_flags: 'nshFlags',
  nsh_ttl: 'nshTtl',
  nsh_spi: 'nshSpi',
  nsh_si: 'nshSi',
  nsh_c1: 'nshC1',
  nsh_c2: 'nshC2',
  nsh_c3: 'nshC3',
  nsh_c4: 'nshC4',
  ...(Object.fromEntries(Array.from({ length: 16 }, (_, index) => [`reg${index}`, `reg${index}`])) as Record<
    string,
    SetFieldName
  >),
};

/** Fields that set_field may not write, as ovs-ofctl says ("is read-only"). */
const readOnlyFields = new Set([
  'ct_state',
  'ct_zone',
  'recirc_id',
  'conj_id',
  'eth_type',
  'dl_type',
  'nw_proto',
  'ip_proto',
  'mpls_bos',
  'nsh_mdtype',
  'nsh_np',
]);

/** The NXM/OXM name of a field set_field writes with a mask (OVS sends that as a `load`). */
const loadNames: Readonly<Record<string, string>> = {
  tunnelId: 'NXM_NX_TUN_ID',
  pktMark: 'NXM_NX_PKT_MARK',
  ctMark: 'NXM_NX_CT_MARK',
  ctLabel: 'NXM_NX_CT_LABEL',
  metadata: 'OXM_OF_METADATA',
  nshFlags: 'NXOXM_NSH_FLAGS',
  nshC1: 'NXOXM_NSH_C1',
  nshC2: 'NXOXM_NSH_C2',
  nshC3: 'NXOXM_NSH_C3',
  nshC4: 'NXOXM_NSH_C4',
  ...Object.fromEntries(Array.from({ length: 16 }, (_, index) => [`reg${index}`, `NXM_NX_REG${index}`])),
};

/** The value `action` writes into `field`, typed as in {@link Match}; integers up to the field's largest value. */
export function setFieldValue(
  flow: string,
  action: string,
  field: SetFieldName,
  text: string,
): string | number | bigint {
  const fail = (expected: string): never => syntaxError(flow, `${action}: value "${text}" is not ${expected}`);
  switch (field) {
    case 'ethDst':
    case 'ethSrc':
    case 'ndSll':
    case 'ndTll':
      return tryParseMac(text) ? text.toLowerCase() : fail('a MAC address aa:bb:cc:dd:ee:ff');
    case 'ipv4Src':
    case 'ipv4Dst':
    case 'arpSpa':
    case 'arpTpa':
    case 'tunSrc':
    case 'tunDst':
      return tryParseIpv4(text) !== undefined ? text : fail('an IPv4 address');
    case 'ipv6Src':
    case 'ipv6Dst':
    case 'ndTarget':
    case 'tunIpv6Src':
    case 'tunIpv6Dst':
      return tryParseIpv6(text) ? text : fail('an IPv6 address');
    case 'inPort':
      return parsePort(flow, action, text, {});
    case 'metadata':
    case 'tunnelId':
      return parseUint64(text) ?? fail('a 64-bit integer');
    case 'ctLabel': {
      const value = /^(0x[0-9a-fA-F]{1,32}|\d+)$/.test(text) ? BigInt(text) : undefined;
      return value !== undefined && value < 1n << 128n ? value : fail('a 128-bit integer');
    }
    case 'nshTtl':
      // NSH's TTL is 6 bits in an 8-bit field: OVS refuses a larger value ("not a valid value").
      return parseUint(text, 63) ?? fail('a valid nsh_ttl, an integer from 0 to 63');
    default: {
      const max = fieldMax(field);
      return parseUint(text, max) ?? fail(`an integer from 0 to ${max}`);
    }
  }
}

/** `set_field:VALUE->FIELD`. */
export function parseSetField(flow: string, piece: string, token: Token): Action[] {
  const arrow = /^(.+)->(\w+)$/.exec(requireValue(flow, token));
  if (arrow && readOnlyFields.has(arrow[2]!)) {
    return syntaxError(flow, `${piece}: ${arrow[2]} is read-only`);
  }
  const tunIndex = arrow ? tunMetadataIndex(arrow[2]!) : undefined;
  if (tunIndex !== undefined) {
    return [parseTunMetadataSetField(flow, piece, tunIndex, arrow![1]!)];
  }
  const register = arrow ? parseRegisterSetField(flow, piece, arrow[2]!, arrow[1]!) : undefined;
  if (register) {
    return [register];
  }
  const field = arrow && Object.hasOwn(setFieldNames, arrow[2]!) ? setFieldNames[arrow[2]!] : undefined;
  if (!arrow || !field) {
    return syntaxError(
      flow,
      `${piece}: expected set_field:VALUE->FIELD with FIELD one of ${Object.keys(setFieldNames).join(', ')}, xreg0..xreg7, xxreg0..xxreg3`,
    );
  }
  const [valueText, maskText, extra] = arrow[1]!.split('/');
  if (maskText === undefined) {
    return [{ type: 'set_field', field, value: setFieldValue(flow, piece, field, valueText!) }];
  }
  if (!Object.hasOwn(loadNames, field) && /^nsh/.test(field)) {
    // As OVS: the mask is refused before the value is looked at.
    return syntaxError(flow, `${piece}: invalid mask for field ${ovsFieldNames[field]}; it takes no /MASK`);
  }
  return maskedSetField(flow, piece, field, setFieldValue(flow, piece, field, valueText!), maskText, extra);
}

/**
 * `set_field:VALUE/MASK->FIELD`, which OVS sends over OpenFlow 1.3 as one `load` per run of
 * contiguous mask bits (at most 64 bits each, as its set_field_to_nxast); a mask of all ones
 * is a plain set_field.
 */
function maskedSetField(
  flow: string,
  piece: string,
  field: SetFieldName,
  value: string | number | bigint,
  maskText: string,
  extra: string | undefined,
): Action[] {
  const name = Object.hasOwn(loadNames, field) ? loadNames[field] : undefined;
  const width =
    field === 'ctLabel' ? 128 : field === 'tunnelId' || field === 'metadata' ? 64 : field === 'nshFlags' ? 8 : 32;
  const full = (1n << BigInt(width)) - 1n;
  const mask = /^(0x[0-9a-fA-F]+|\d+)$/.test(maskText) ? BigInt(maskText) : undefined;
  if (!name || mask === undefined || mask > full || extra !== undefined) {
    return syntaxError(
      flow,
      `${piece}: a /MASK is supported for ${Object.keys(loadNames).join(', ')} with a mask within the field`,
    );
  }
  if (mask === full) {
    return [{ type: 'set_field', field, value }];
  }
  if (/^nsh/.test(field)) {
    // OVS writes an NSH field's bits with one NXAST_REG_LOAD2 (a `load` for one run of bits), which
    // the switch refuses with value bits outside the mask (OFPBMC_BAD_WILDCARDS).
    if ((BigInt(value) & ~mask) !== 0n) {
      return syntaxError(flow, `${piece}: value 0x${BigInt(value).toString(16)} has bits outside mask ${maskText}`);
    }
    const run = mask === 0n ? 0n : mask >> BigInt(mask.toString(2).length - mask.toString(2).replace(/0+$/, '').length);
    if (mask === 0n || (run & (run + 1n)) !== 0n) {
      return [{ type: 'set_nsh_field', field: name, value: BigInt(value), mask }];
    }
  }
  const loads: Action[] = [];
  let offset = 0;
  while (offset < width) {
    if (((mask >> BigInt(offset)) & 1n) === 0n) {
      offset++;
      continue;
    }
    let bits = 0;
    while (bits < 64 && offset + bits < width && ((mask >> BigInt(offset + bits)) & 1n) === 1n) {
      bits++;
    }
    const segment = (BigInt(value) >> BigInt(offset)) & ((1n << BigInt(bits)) - 1n);
    loads.push({ type: 'load', dst: { field: name, offset, bits }, value: segment });
    offset += bits;
  }
  return loads;
}
