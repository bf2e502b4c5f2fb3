/**
 * The tokens of an `ovs-ofctl` flow string (`key=value`, `key:value` or a bare `key`,
 * separated by commas or white space outside parentheses) and readers of the values
 * that both halves of a flow take: integers, masked integers and ports. Refusals are
 * `EINVAL` naming the token and quoting the flow.
 */
import { invalidArgument } from '../../errors.js';
import { OFPP, reservedPortNames } from './actions.js';

/** Options of {@link parseFlowMod} and {@link parseFlowFilter}. */
export interface FlowSyntaxOptions {
  /** Port numbers by name (from port desc), to accept `in_port=p1` and `output:p1`. */
  portMap?: ReadonlyMap<string, number>;
}

/** The operation of every flow-syntax refusal. */
export const syntaxOperation = 'parseFlow';

/** Throws `EINVAL` with `message` and the flow it concerns. */
export function syntaxError(flow: string, message: string): never {
  return invalidArgument(syntaxOperation, `${message} (in flow "${flow}")`);
}

/** A `key=value` (or bare `key`) token of a flow string. */
export interface Token {
  key: string;
  value: string | undefined;
  /** The token as written, for error messages. */
  text: string;
}

/** Splits at commas and white space outside parentheses, as `ovs-ofctl` does. */
export function splitTopLevel(text: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') {
      depth++;
    } else if (char === ')') {
      depth--;
    }
    if (depth === 0 && (char === ',' || /\s/.test(char))) {
      if (current !== '') {
        pieces.push(current);
      }
      current = '';
    } else {
      current += char;
    }
  }
  if (current !== '') {
    pieces.push(current);
  }
  return pieces;
}

/** Splits a piece at its first `=` (else its first `:`) into key and value. */
export function toToken(piece: string): Token {
  const equals = piece.indexOf('=');
  const separator = equals !== -1 ? equals : piece.indexOf(':');
  if (separator === -1) {
    return { key: piece, value: undefined, text: piece };
  }
  return { key: piece.slice(0, separator), value: piece.slice(separator + 1), text: piece };
}

/** The token's value; refuses a bare or empty one. */
export function requireValue(flow: string, token: Token): string {
  if (token.value === undefined || token.value === '') {
    return syntaxError(flow, `${token.key} needs a value (${token.key}=...)`);
  }
  return token.value;
}

/** Parses an unsigned integer in decimal or 0x hex; undefined when malformed or above `max`. */
export function parseUint(text: string, max: number): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) {
    return undefined;
  }
  const value = Number(text);
  return Number.isSafeInteger(value) && value <= max ? value : undefined;
}

/** Parses a 64-bit unsigned integer in decimal or 0x hex (`-1`: all ones); undefined when malformed. */
export function parseUint64(text: string): bigint | undefined {
  if (text === '-1') {
    return 0xffffffffffffffffn;
  }
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) {
    return undefined;
  }
  const value = BigInt(text);
  return value <= 0xffffffffffffffffn ? value : undefined;
}

/**
 * One integer as OVS's `parse_int_string` reads it into a field of `bytes` bytes: `0x` hex of
 * any length whose significant digits fit, else a C integer (`strtoull`: decimal, octal, an
 * optional sign, 64 bits, `-N` wrapping to 2^64 - N); undefined when it is not one, `'range'`
 * when it does not fit.
 */
export function parseIntString(text: string, bytes: number): bigint | 'range' | undefined {
  const hex = /^0x([\s0-9a-f]*)$/i.exec(text);
  if (hex) {
    const digits = hex[1]!.replace(/\s/g, '').replace(/^0+/, '');
    return digits.length > 2 * bytes ? 'range' : digits === '' ? 0n : BigInt(`0x${digits}`);
  }
  const plain = /^\s*([+-]?)(0[0-7]*|[1-9]\d*)$/.exec(text);
  if (!plain) {
    return undefined;
  }
  const digits = plain[2]!;
  const magnitude = digits.length > 1 && digits.startsWith('0') ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  if (magnitude >= 1n << 64n) {
    return 'range';
  }
  const value = plain[1] === '-' ? BigInt.asUintN(64, -magnitude) : magnitude;
  return value >> BigInt(8 * bytes) !== 0n ? 'range' : value;
}

/** The value of `key=N` (decimal or 0x hex), at most `max`. */
export function parsePlainUint(flow: string, token: Token, max: number): number {
  const text = requireValue(flow, token);
  const value = parseUint(text, max);
  if (value === undefined) {
    return syntaxError(flow, `${token.key} must be an integer from 0 to ${max}, got ${text}`);
  }
  return value;
}

/** The value of `key=N[/MASK]`, both at most `max`. */
export function parseMaskedUint(flow: string, token: Token, max: number): number | { value: number; mask: number } {
  const text = requireValue(flow, token);
  const [valueText, maskText, extra] = text.split('/');
  const value = parseUint(valueText!, max);
  const mask = maskText === undefined ? undefined : parseUint(maskText, max);
  if (value === undefined || extra !== undefined || (maskText !== undefined && mask === undefined)) {
    return syntaxError(flow, `${token.key} must be an integer from 0 to ${max}, optionally /MASK, got ${text}`);
  }
  return mask === undefined ? value : { value, mask };
}

/** The value and optional mask of `key=N[/MASK]` with 64-bit integers; `expected` says what, for the refusal. */
export function parseMaskedUint64(
  flow: string,
  token: Token,
  expected: string,
): { value: bigint; mask: bigint | undefined } {
  const [valueText, maskText, extra] = requireValue(flow, token).split('/');
  const value = parseUint64(valueText!);
  const mask = maskText === undefined ? undefined : parseUint64(maskText);
  if (value === undefined || extra !== undefined || (maskText !== undefined && mask === undefined)) {
    return syntaxError(flow, `${token.text}: expected ${expected}`);
  }
  return { value, mask };
}

/**
 * Refuses a port `output` (or `enqueue`) cannot send to, as ovs-vswitchd's check does in
 * `ovs-ofctl` (OFPBAC_BAD_OUT_PORT): any but a port below 0xff00 or a reserved port from
 * IN_PORT to LOCAL.
 */
export function checkOutputPort(flow: string, where: string, port: number): number {
  if (port >= 0xffffff00 && (port < OFPP.IN_PORT || port > OFPP.LOCAL)) {
    syntaxError(
      flow,
      `${where}: cannot output to port ${reservedPortNames.get(port) ?? port} (OFPBAC_BAD_OUT_PORT); expected a port below 65280 or IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER, LOCAL`,
    );
  }
  return port;
}

/** Resolves a port: number, reserved name (any case) or bridge port name, bare or quoted; `where` is the token, for the refusal. */
export function parsePort(flow: string, where: string, text: string, options: FlowSyntaxOptions): number {
  // ovs-ofctl reads port numbers in decimal only (0x10 is no port) and holds them in 16 bits:
  // OpenFlow 1.0's reserved numbers 0xff00 and up are the OpenFlow 1.1+ ones 0xffffff00 and up.
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number <= 0xffff) {
      return number < 0xff00 ? number : number + 0xffff0000;
    }
    if (number < 0xffffff00 || number > 0xffffffff) {
      return syntaxError(
        flow,
        `port ${text} in ${where} is outside the supported range 0 through 0xffff or 0xffffff00 through 0xffffffff`,
      );
    }
    return number;
  }
  const upper = text.toUpperCase();
  if (Object.hasOwn(OFPP, upper) && upper !== 'MAX') {
    return OFPP[upper as keyof typeof OFPP];
  }
  if (upper === 'NONE') {
    return OFPP.ANY;
  }
  // ovs-ofctl --names quotes names it could not read back bare (`in_port="9p"`): accept them so.
  const name = /^"[^"\\]*"$/.test(text) ? text.slice(1, -1) : text;
  const named = options.portMap?.get(name);
  if (named !== undefined) {
    return named;
  }
  const known = options.portMap ? [...options.portMap.keys()].join(', ') : '(no port names known: none were looked up)';
  const reservedNames = [...reservedPortNames.values()].join(', ');
  return syntaxError(
    flow,
    `unknown port "${name}" in ${where}; expected a port number, a reserved port (${reservedNames}) or a port of the bridge: ${known}`,
  );
}
