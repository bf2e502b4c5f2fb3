/**
 * The options of {@link OpenFlowClient}'s connection and calls, and the decoded switch
 * error an `ERR_OPENFLOW` failure carries.
 */
import { DpdkError } from '../../errors.js';
import type { OpenFlowClient } from './client.js';
import type { TlsOptions } from '../stream.js';
import type { OpenFlowErrorInfo } from './codec.js';

/**
 * The switch's decoded OFPT_ERROR carried by an `ERR_OPENFLOW` {@link DpdkError}, or
 * undefined for any other error.
 */
export function openflowErrorOf(error: unknown): OpenFlowErrorInfo | undefined {
  if (error instanceof DpdkError && error.code === 'ERR_OPENFLOW' && 'openflowError' in error) {
    return error.openflowError as OpenFlowErrorInfo;
  }
  return undefined;
}

/** Per-call options: every request can time out or be aborted. */
export interface CallOptions {
  /** Milliseconds before the call fails with `ETIMEDOUT`; default: the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Aborting fails the call with `ECANCELED` (the request may still take effect on the switch). */
  signal?: AbortSignal;
}

/** Options of {@link OpenFlowClient.flowMods}. */
export interface FlowModsOptions extends CallOptions {
  /** Commit all flow mods or none, in an OpenFlow bundle (default false). */
  atomic?: boolean;
}

/** Options of {@link OpenFlowClient.connect}. */
export interface OpenFlowClientOptions {
  /** Default timeout of the connection and of every call, in ms (default 10000). */
  timeoutMs?: number;
  /** Aborts the connection attempt. */
  signal?: AbortSignal;
  /** Largest reassembled multipart reply, in bytes (default 64 MiB): bounds memory against a hostile switch. */
  maxReplyBytes?: number;
  /**
   * When set, sends an echo request after this many ms without traffic from the switch
   * and closes the connection (`ETIMEDOUT`) when the reply does not come within `timeoutMs`.
   * Default: no keepalive (a request's own timeout already detects a dead switch).
   */
  keepaliveMs?: number;
  /**
   * TLS material, required for `ssl:` targets (OVS: `ovs-vsctl set-ssl` and a `pssl:`
   * controller on the bridge). The switch's certificate must be signed by `ca` and in
   * date; as in Open vSwitch its name is not checked unless `checkServerName`.
   */
  tls?: TlsOptions;
}

/** @internal */
export const clientOptionKeys = [
  'timeoutMs',
  'signal',
  'maxReplyBytes',
  'keepaliveMs',
  'tls',
] as const satisfies readonly (keyof OpenFlowClientOptions)[];
/** @internal */
export const callOptionKeys = ['timeoutMs', 'signal'] as const satisfies readonly (keyof CallOptions)[];
