/**
 * The address values of match keys in the `ovs-ofctl` flow syntax: MAC, IPv4 and IPv6 addresses
 * with an optional mask or prefix length, read as `ovs-ofctl` reads them.
 */
import { tryParseIpv4, tryParseIpv6, tryParseMac } from '../../address.js';
import { requireValue, syntaxError, type Token } from './flow-tokens.js';
import type { Masked } from './match.js';

/** `MAC[/MASK]`. */
export function parseMaskedMac(flow: string, token: Token): Masked<string> {
  const [valueText, maskText, extra] = requireValue(flow, token).split('/');
  const ok =
    tryParseMac(valueText) !== undefined &&
    (maskText === undefined || tryParseMac(maskText) !== undefined) &&
    extra === undefined;
  if (!ok) {
    return syntaxError(flow, `${token.text}: expected a MAC address aa:bb:cc:dd:ee:ff, optionally /MASK`);
  }
  const value = valueText!.toLowerCase();
  return maskText === undefined ? value : { value, mask: maskText.toLowerCase() };
}

/** `IPV4[/PREFIX|/MASK]`, a prefix becoming its mask. */
export function parseMaskedIpv4(flow: string, token: Token): Masked<string> {
  const [valueText, maskText, extra] = requireValue(flow, token).split('/');
  const expected = `${token.text}: expected an IPv4 address, optionally /PREFIX (0..32) or /MASK`;
  if (tryParseIpv4(valueText) === undefined || extra !== undefined) {
    return syntaxError(flow, expected);
  }
  if (maskText === undefined) {
    return valueText!;
  }
  if (/^\d{1,2}$/.test(maskText) && Number(maskText) <= 32) {
    const bits = Number(maskText);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { value: valueText!, mask: [24, 16, 8, 0].map((shift) => (mask >>> shift) & 0xff).join('.') };
  }
  if (tryParseIpv4(maskText) === undefined) {
    return syntaxError(flow, expected);
  }
  return { value: valueText!, mask: maskText };
}

/** `IPV6[/PREFIX|/MASK]`, a prefix becoming its mask. */
export function parseMaskedIpv6(flow: string, token: Token): Masked<string> {
  const [valueText, maskText, extra] = requireValue(flow, token).split('/');
  const expected = `${token.text}: expected an IPv6 address, optionally /PREFIX (0..128) or /MASK`;
  if (tryParseIpv6(valueText) === undefined || extra !== undefined) {
    return syntaxError(flow, expected);
  }
  if (maskText === undefined) {
    return valueText!;
  }
  if (/^\d{1,3}$/.test(maskText) && Number(maskText) <= 128) {
    const mask = Buffer.alloc(16);
    for (let bit = 0; bit < Number(maskText); bit++) {
      mask[bit >> 3] = mask[bit >> 3]! | (0x80 >> (bit & 7));
    }
    return {
      value: valueText!,
      mask: Array.from({ length: 8 }, (_, word) => mask.readUInt16BE(word * 2).toString(16)).join(':'),
    };
  }
  if (tryParseIpv6(maskText) === undefined) {
    return syntaxError(flow, expected);
  }
  return { value: valueText!, mask: maskText };
}
