/**
 * The one validation module of dpdk-ts: every public entry point, SDK or OVS, checks its
 * arguments with these, so that every refusal is a `DpdkError` with code `EINVAL` and a
 * message in one style: what is wrong, the value given, and what is expected
 * (`burst must be an integer from 1 to 512, got 0`). The operation is not repeated in the
 * message; it is `error.operation`.
 */
import { invalidArgument } from './errors.js';

/** Describes a value for an error message: strings quoted, objects as JSON. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/**
 * Checks that `options` is a plain object whose keys are all in `allowed`; a misspelled
 * key gets a suggestion ("did you mean ..."). Optional options objects are checked with
 * `if (options !== undefined) checkOptions(...)`.
 */
export function checkOptions<T extends object>(
  operation: string,
  options: unknown,
  allowed: readonly (keyof T & string)[] | ReadonlySet<keyof T & string>,
): asserts options is Partial<T> {
  if (!Array.isArray(allowed)) allowed = [...(allowed as ReadonlySet<keyof T & string>)];
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    invalidArgument(operation, `${operation} options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if ((allowed as readonly string[]).includes(key)) continue;
    const lower = key.toLowerCase();
    const closest = allowed
      .map((name) => {
        const candidate = name.toLowerCase();
        // A prefix ("cache" for "cacheSize") is as likely a slip as a typo.
        return { name, d: candidate.startsWith(lower) ? 1 : editDistance(lower, candidate) };
      })
      .sort((x, y) => x.d - y.d)[0];
    const hint =
      closest !== undefined && closest.d <= Math.max(2, key.length / 3)
        ? ` (did you mean "${closest.name}"?)`
        : ` (expected one of: ${allowed.join(', ')})`;
    invalidArgument(operation, `Unknown option "${key}" for ${operation}${hint}`);
  }
}

/** An integer in [min, max]; `name` is how the message calls it. */
export function checkInteger(operation: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalidArgument(operation, `${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A bigint in [min, max] (64-bit fields such as OpenFlow cookies). */
export function checkBigInt(operation: string, name: string, value: unknown, min: bigint, max: bigint): bigint {
  if (typeof value !== 'bigint' || value < min || value > max) {
    invalidArgument(operation, `${name} must be a bigint from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A finite number greater than zero (a timeout or an interval in milliseconds). */
export function checkPositive(operation: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    invalidArgument(operation, `${name} must be a positive number, got ${describe(value)}`);
  }
  return value;
}

/** An optional `timeoutMs`: undefined, or a positive number of milliseconds. */
export function checkTimeout(operation: string, value: unknown, name = 'timeoutMs'): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    invalidArgument(operation, `${name} must be a positive number of milliseconds, got ${describe(value)}`);
  }
  return value;
}

/** A boolean. */
export function checkBoolean(operation: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalidArgument(operation, `${name} must be true or false, got ${describe(value)}`);
  return value;
}

/** A non-empty string. */
export function checkString(operation: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    invalidArgument(operation, `${name} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

const macPattern = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** A MAC address written xx:xx:xx:xx:xx:xx. */
export function checkMac(operation: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || !macPattern.test(value)) {
    invalidArgument(operation, `${name} must be a MAC address like 00:00:00:00:00:01, got ${describe(value)}`);
  }
  return value.toLowerCase();
}

/** Unix socket paths are limited by sockaddr_un.sun_path: 107 bytes and a NUL. */
export function checkSocketPath(operation: string, name: string, value: unknown): string {
  const path = checkString(operation, name, value);
  const bytes = Buffer.byteLength(path);
  if (bytes > 107) {
    invalidArgument(
      operation,
      `${name} is ${bytes} bytes long but a unix socket path can have at most 107: ${describe(path)}`,
    );
  }
  if (/[,=\s]/.test(path)) {
    invalidArgument(operation, `${name} cannot contain commas, '=' or spaces (DPDK devargs syntax): ${describe(path)}`);
  }
  return path;
}

/** An absolute path (this is Linux: one that starts with '/'). */
export function checkAbsolutePath(operation: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) {
    invalidArgument(operation, `${name} must be an absolute path, got ${describe(value)}`);
  }
  return value;
}

/** Bounds of {@link checkNumber}: `min`/`max` inclusive, `above`/`below` exclusive. */
export interface NumberBounds {
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/** A finite number within `bounds` (`lossTolerance must be a number >= 0 and < 1, got 1`). */
export function checkNumber(operation: string, name: string, value: unknown, bounds: NumberBounds): number {
  const { min, max, above, below } = bounds;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (min !== undefined && value < min) ||
    (max !== undefined && value > max) ||
    (above !== undefined && value <= above) ||
    (below !== undefined && value >= below)
  ) {
    const expected = [
      min === undefined ? '' : `>= ${min}`,
      above === undefined ? '' : `> ${above}`,
      max === undefined ? '' : `<= ${max}`,
      below === undefined ? '' : `< ${below}`,
    ].filter((text) => text !== '');
    invalidArgument(
      operation,
      `${name} must be a ${expected.length === 0 ? 'finite number' : `number ${expected.join(' and ')}`}, got ${describe(value)}`,
    );
  }
  return value;
}

/** A Float64Array of at least `minLength` numbers (one a counts reader fills). */
export function checkCountsArray(operation: string, value: unknown, minLength: number): Float64Array {
  if (!(value instanceof Float64Array) || value.length < minLength) {
    invalidArgument(
      operation,
      `into must be a Float64Array of at least ${minLength} numbers (3 a stream), got ${value instanceof Float64Array ? `one of ${value.length}` : describe(value)}`,
    );
  }
  return value;
}
