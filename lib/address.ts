/**
 * The one family of MAC, IPv4 and IPv6 address parsers and formatters of dpdk-ts, shared by
 * packet building (lib/packet.ts), packet rules and the OpenFlow match and flow syntax.
 * The public `parse*` functions throw a `DpdkError` (`EINVAL`) on a malformed address; the
 * `tryParse*` variants, for parsers that try another reading, return undefined instead and
 * are not re-exported by the package.
 */
import { invalidArgument } from './errors.js';
import { describe } from './validate.js';

/**
 * Parses `aa:bb:cc:dd:ee:ff` (one or two hex digits per byte, `:` or `-` between them)
 * into 6 bytes; undefined when malformed.
 */
export function tryParseMac(text: unknown): Uint8Array | undefined {
  const parts = typeof text === 'string' ? text.split(/[:-]/) : [];
  if (parts.length !== 6 || !parts.every((part) => /^[0-9a-fA-F]{1,2}$/.test(part))) {
    return undefined;
  }
  return Uint8Array.from(parts, (part) => parseInt(part, 16));
}

/** Parses a MAC address `aa:bb:cc:dd:ee:ff` into 6 bytes (a fresh array). Throws `EINVAL` when malformed. */
export function parseMac(text: string): Uint8Array {
  return (
    tryParseMac(text) ??
    invalidArgument('parseMac', `mac must be a MAC address like 00:00:00:00:00:01, got ${describe(text)}`)
  );
}

/** Formats the 6 bytes at `offset` as lower-case `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  return Array.from(bytes.subarray(offset, offset + 6), (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/** Parses a dotted-quad IPv4 address into its 32-bit value; undefined when malformed. */
export function tryParseIpv4(text: unknown): number | undefined {
  const parts = typeof text === 'string' ? text.split('.') : [];
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) {
    return undefined;
  }
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

/** Parses a dotted-quad IPv4 address into its 32-bit value. Throws `EINVAL` when malformed. */
export function parseIpv4(text: string): number {
  return (
    tryParseIpv4(text) ??
    invalidArgument('parseIpv4', `expected a dotted IPv4 address such as 10.0.0.1, got ${describe(text)}`)
  );
}

/** Formats a 32-bit IPv4 address as a dotted quad. */
export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** The 16-bit words of one side of an IPv6 `::`, or undefined when one is not 1 to 4 hex digits. */
function ipv6Words(part: string): number[] | undefined {
  if (part === '') {
    return [];
  }
  const words = part.split(':');
  return words.every((word) => /^[0-9a-fA-F]{1,4}$/.test(word)) ? words.map((word) => parseInt(word, 16)) : undefined;
}

/**
 * Parses an IPv6 address (with `::` compression and an optional trailing dotted quad)
 * into 16 bytes; undefined when malformed.
 */
export function tryParseIpv6(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string') {
    return undefined;
  }
  let head = text;
  let tail: number[] = [];
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const ipv4 = tryParseIpv4(quad[2]!);
    if (ipv4 === undefined) {
      return undefined;
    }
    head = quad[1]!.endsWith('::') ? quad[1]! : quad[1]!.slice(0, -1);
    tail = [ipv4 >>> 16, ipv4 & 0xffff];
  }
  const halves = head.split('::');
  if (halves.length > 2) {
    return undefined;
  }
  const left = ipv6Words(halves[0]!);
  const right = halves.length === 2 ? ipv6Words(halves[1]!) : [];
  if (!left || !right) {
    return undefined;
  }
  const given = left.length + right.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) {
    return undefined;
  }
  const words = [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((word, index) => {
    bytes[index * 2] = word >> 8;
    bytes[index * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/** Parses an IPv6 address into 16 bytes (a fresh array). Throws `EINVAL` when malformed. */
export function parseIpv6(text: string): Uint8Array {
  return (
    tryParseIpv6(text) ??
    invalidArgument('parseIpv6', `expected an IPv6 address such as 2001:db8::1, got ${describe(text)}`)
  );
}

/**
 * Formats the 16 bytes at `offset` as an IPv6 address the way `inet_ntop` (and so
 * `ovs-ofctl`) does: lower-case, the longest run of two or more zero words compressed to
 * `::`, and IPv4-mapped or -compatible addresses ending in a dotted quad.
 */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const words = Array.from(
    { length: 8 },
    (_, index) => (bytes[offset + index * 2]! << 8) | bytes[offset + index * 2 + 1]!,
  );
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8;) {
    if (words[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && words[end] === 0) {
      end++;
    }
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  if (bestLength < 2) {
    bestStart = -1;
  }
  const embedsIpv4 =
    bestStart === 0 &&
    (bestLength === 6 || (bestLength === 7 && words[7] !== 1) || (bestLength === 5 && words[5] === 0xffff));
  const lastWord = embedsIpv4 ? 6 : 8;
  let text = '';
  for (let index = 0; index < lastWord; index++) {
    if (index === bestStart) {
      text += '::';
      index += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) {
      text += ':';
    }
    text += words[index]!.toString(16);
  }
  if (embedsIpv4) {
    text += `${text.endsWith(':') ? '' : ':'}${formatIpv4(((words[6]! << 16) | words[7]!) >>> 0)}`;
  }
  return text;
}
