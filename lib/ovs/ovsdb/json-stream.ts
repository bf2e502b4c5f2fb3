/**
 * JSON for OVSDB: the JSON value type (with `bigint` for 64-bit integers), the splitter of
 * a byte stream of back-to-back JSON-RPC messages, and a parser and serializer that keep
 * 64-bit integers exact.
 */
import { DpdkError } from '../../errors.js';
import { checkInteger, checkOptions } from '../../validate.js';

/**
 * A JSON value as exchanged with OVSDB. Integers outside the safe range of `number`
 * (beyond ±2^53 - 1) are `bigint`, so 64-bit integers lose no precision.
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/** Whether `value` is a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Options of {@link JsonStreamParser}. */
export interface JsonStreamParserOptions {
  /** The largest value accepted, in bytes of its UTF-8 text. Default 64 MiB. */
  maxMessageBytes?: number;
  /** The object the values come from, for error messages (e.g. `unix:/run/db.sock`). */
  object?: string;
}

const defaultMaxMessageBytes = 64 * 1024 * 1024;
const parserOptionKeys: readonly (keyof JsonStreamParserOptions)[] = ['maxMessageBytes', 'object'];

// The bytes of JSON's structure (RFC 8259).
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Splits a byte stream of JSON values sent back to back, with no delimiter (as OVSDB
 * does), into parsed values. Values may be split across chunks anywhere, even inside a
 * multi-byte UTF-8 character. Only objects and arrays are accepted at the top level, as
 * JSON-RPC messages are objects; this is what makes a boundary findable without a
 * delimiter.
 *
 * After an error (malformed JSON, message too large) the parser is poisoned: the stream
 * cannot be resynchronized, so every later {@link push} throws the same error.
 */
export class JsonStreamParser {
  readonly #maxMessageBytes: number;
  readonly #object: string | undefined;
  /** Bytes of the value being scanned, not yet complete. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Length of the run of digits being scanned outside strings, to spot big integers. */
  #digitRun = 0;
  #sawLongInteger = false;
  #failure: DpdkError | undefined;

  constructor(options: JsonStreamParserOptions = {}) {
    checkOptions<JsonStreamParserOptions>('JsonStreamParser', options, parserOptionKeys);
    this.#maxMessageBytes = checkInteger(
      'JsonStreamParser',
      'maxMessageBytes',
      options.maxMessageBytes ?? defaultMaxMessageBytes,
      2,
      Number.MAX_SAFE_INTEGER,
    );
    this.#object = options.object;
  }

  /** Bytes held for a value not yet complete; bounded by `maxMessageBytes`. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Feeds a chunk of the stream and returns the values it completes, in order.
   * @throws DpdkError `EPROTO` for malformed JSON, `EMSGSIZE` for a value over the limit.
   */
  push(chunk: Buffer): JsonValue[] {
    if (this.#failure !== undefined) throw this.#failure;
    const values: JsonValue[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === BACKSLASH) this.#escaped = true;
        else if (byte === QUOTE) this.#inString = false;
        continue;
      }
      if (this.#depth === 0) {
        if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) {
          start = i + 1;
          continue;
        }
        if (byte !== OPEN_BRACE && byte !== OPEN_BRACKET) {
          this.#fail(
            `malformed JSON stream: expected "{" or "[" to start a message, got ${describeByte(byte)}`,
            'EPROTO',
          );
        }
      }
      if (byte >= 0x30 && byte <= 0x39) {
        if (++this.#digitRun > 15) this.#sawLongInteger = true;
        continue;
      }
      this.#digitRun = 0;
      if (byte === QUOTE) this.#inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.#depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        this.#depth--;
        if (this.#depth === 0) {
          const end = i + 1;
          this.#checkSize(end - start);
          this.#pending.push(chunk.subarray(start, end));
          values.push(this.#completeValue());
          start = end;
        }
      }
    }
    if (start < chunk.length && (this.#depth > 0 || this.#inString)) {
      this.#checkSize(chunk.length - start);
      this.#pending.push(chunk.subarray(start));
      this.#pendingBytes += chunk.length - start;
    }
    return values;
  }

  #checkSize(more: number): void {
    if (this.#pendingBytes + more > this.#maxMessageBytes) {
      this.#fail(
        `message too large: more than ${this.#maxMessageBytes} bytes (maxMessageBytes) without the end of a JSON value`,
        'EMSGSIZE',
      );
    }
  }

  #completeValue(): JsonValue {
    const text = (this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending)).toString('utf8');
    const bigIntegers = this.#sawLongInteger;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#digitRun = 0;
    this.#sawLongInteger = false;
    try {
      return bigIntegers ? parseJson(text) : (JSON.parse(text) as JsonValue);
    } catch (error) {
      return this.#fail(`malformed JSON message: ${(error as Error).message}`, 'EPROTO', error);
    }
  }

  #fail(message: string, code: string, cause?: unknown): never {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#failure = new DpdkError(message, { code, operation: 'receive', object: this.#object, cause });
    throw this.#failure;
  }
}

function describeByte(byte: number): string {
  return byte >= 0x20 && byte < 0x7f
    ? `"${String.fromCharCode(byte)}"`
    : `byte 0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Parses one JSON text, returning integers beyond the safe range of `number` as `bigint`.
 * Used only for texts holding long digit runs; the others go through the faster `JSON.parse`.
 * @throws SyntaxError on malformed JSON.
 */
export function parseJson(text: string): JsonValue {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${pos}`);
  };
  const parseString = (): string => {
    const start = pos;
    pos++;
    let simple = true;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        simple = false;
        pos += 2;
        continue;
      }
      if (c < 0x20) fail('control character in string');
      pos++;
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    const literal = text.slice(start, pos);
    return simple ? literal.slice(1, -1) : (JSON.parse(literal) as string);
  };
  const parseNumber = (): number | bigint => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos, pos + 400));
    if (match === null) return fail('unexpected character');
    pos += match[0].length;
    if (match[2] === undefined && match[3] === undefined) {
      const value = Number(match[0]);
      return Number.isSafeInteger(value) ? value : BigInt(match[0]);
    }
    return Number(match[0]);
  };
  const parseValue = (): JsonValue => {
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const object: { [key: string]: JsonValue } = {};
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return object;
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail('expected a string key');
        const key = parseString();
        skipSpace();
        if (text[pos] !== ':') fail('expected ":"');
        pos++;
        Object.defineProperty(object, key, {
          value: parseValue(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        skipSpace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return object;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      pos++;
      const array: JsonValue[] = [];
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return array;
      }
      for (;;) {
        array.push(parseValue());
        skipSpace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return array;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    return parseNumber();
  };
  const value = parseValue();
  skipSpace();
  if (pos !== text.length) fail('unexpected text after the value');
  return value;
}

/**
 * Serializes a {@link JsonValue} to JSON text, writing `bigint` as a JSON integer.
 * @throws DpdkError `EINVAL` for values JSON cannot represent (NaN, Infinity, undefined, functions).
 */
export function stringifyJson(value: JsonValue): string {
  const parts: string[] = [];
  const write = (v: unknown, path: string): void => {
    switch (typeof v) {
      case 'string':
        parts.push(JSON.stringify(v));
        return;
      case 'boolean':
        parts.push(v ? 'true' : 'false');
        return;
      case 'bigint':
        parts.push(v.toString());
        return;
      case 'number':
        if (!Number.isFinite(v)) {
          throw new DpdkError(`cannot send ${String(v)} at ${path}: JSON has no such number`, {
            code: 'EINVAL',
            operation: 'send',
          });
        }
        parts.push(JSON.stringify(v));
        return;
      case 'object':
        if (v === null) {
          parts.push('null');
          return;
        }
        if (Array.isArray(v)) {
          parts.push('[');
          v.forEach((item, index) => {
            if (index > 0) parts.push(',');
            write(item, `${path}[${index}]`);
          });
          parts.push(']');
          return;
        }
        parts.push('{');
        Object.entries(v).forEach(([key, item], index) => {
          if (index > 0) parts.push(',');
          parts.push(JSON.stringify(key), ':');
          write(item, `${path}.${key}`);
        });
        parts.push('}');
        return;
      default:
        throw new DpdkError(`cannot send a ${typeof v} at ${path}: not a JSON value`, {
          code: 'EINVAL',
          operation: 'send',
        });
    }
  };
  write(value, '$');
  return parts.join('');
}
