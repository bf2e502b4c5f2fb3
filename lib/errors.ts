/** DpdkError, the one error type of dpdk-ts, and the helpers that make one. */
import { constants } from 'node:os';

/** What a {@link DpdkError} concerns, beside its message. */
export interface DpdkErrorDetails {
  /**
   * A stable, machine-readable code: an errno name (`EINVAL`, `ENOMEM`, ...) when the
   * failure maps to one, else an `ERR_*` name for states of the SDK itself
   * (`ERR_EAL_NOT_INITIALIZED`, `ERR_CLOSED`, ...) or of a remote peer (`ERR_OVSDB`, ...).
   */
  code: string;
  /** The positive errno number, when `code` is an errno name. */
  errno?: number;
  /** The operation that failed, e.g. `Eal.init`, `Port.start`, `transact`. */
  operation: string;
  /** The object concerned, e.g. `port 0 (net_vhost0)`, `mempool "rx"`, `unix:/run/db.sock`. */
  object?: string;
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
}

/**
 * The one error type of dpdk-ts: every failure of the SDK, native or TypeScript, DPDK or
 * OVS, is a `DpdkError`. Test `code` rather than parsing `message`.
 */
export class DpdkError extends Error {
  /** See {@link DpdkErrorDetails.code}. */
  readonly code: string;
  /** See {@link DpdkErrorDetails.errno}. */
  readonly errno: number | undefined;
  /** See {@link DpdkErrorDetails.operation}. */
  readonly operation: string;
  /** See {@link DpdkErrorDetails.object}. */
  readonly object: string | undefined;

  constructor(message: string, details: DpdkErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DpdkError';
    this.code = details.code;
    this.errno = details.errno ?? errnoOf(details.code);
    this.operation = details.operation;
    this.object = details.object;
  }
}

const errnoNumbers = constants.errno as Record<string, number>;

/** The errno number of an errno name such as `EINVAL`, or undefined for other codes. */
export function errnoOf(code: string): number | undefined {
  return Object.hasOwn(errnoNumbers, code) ? errnoNumbers[code] : undefined;
}

/** Throws a `DpdkError` with code `EINVAL`: the caller passed a value the SDK cannot use. */
export function invalidArgument(operation: string, message: string, object?: string): never {
  throw new DpdkError(message, { code: 'EINVAL', operation, object });
}
