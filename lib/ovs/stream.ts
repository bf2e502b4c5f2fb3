/**
 * The byte stream under both OVS protocols: OVSDB (JSON-RPC) and OpenFlow each connect to
 * a Unix socket, TCP, or TLS (`ssl:`) verified against a CA as Open vSwitch does it.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { invalidArgument } from '../errors.js';
import { checkOptions } from '../validate.js';

/** TLS material for `ssl:` targets, as PEM contents (not file names). */
export interface TlsOptions {
  /** Our private key (PEM). */
  key: string | Buffer;
  /** Our certificate (PEM). */
  cert: string | Buffer;
  /** The CA certificate(s) the server's certificate must be signed by (PEM). */
  ca: string | Buffer;
  /**
   * Also check that the server certificate names the host connected to. Default false:
   * like Open vSwitch, trust any certificate signed by `ca`.
   */
  checkServerName?: boolean;
}

/** @internal The keys of {@link TlsOptions}, for option checks. */
export const tlsOptionKeys: readonly (keyof TlsOptions)[] = ['key', 'cert', 'ca', 'checkServerName'];

/** @internal A parsed target: a Unix socket, or a host and port reached over TCP or TLS. */
export type StreamTarget = { kind: 'unix'; path: string } | { kind: 'tcp' | 'ssl'; host: string; port: number };

/**
 * @internal Starts connecting to `parsed` (the text `target`); `readyEvent` is the socket
 * event that says the stream is usable (`secureConnect` once TLS has verified the peer).
 * @throws DpdkError `EINVAL` for an `ssl:` target without `tls`, or with unknown keys in it.
 */
export function openStream(
  operation: string,
  target: string,
  parsed: StreamTarget,
  tls: TlsOptions | undefined,
): { socket: Socket; readyEvent: 'connect' | 'secureConnect' } {
  if (parsed.kind === 'unix') return { socket: netConnect({ path: parsed.path }), readyEvent: 'connect' };
  if (parsed.kind === 'tcp') {
    return { socket: netConnect({ host: parsed.host, port: parsed.port }), readyEvent: 'connect' };
  }
  if (tls === undefined) invalidArgument(operation, `${target} needs the tls option (key, cert, ca)`, target);
  checkOptions<TlsOptions>(`${operation} tls`, tls, tlsOptionKeys);
  const socket = tlsConnect({
    host: parsed.host,
    port: parsed.port,
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    // As Open vSwitch: a certificate signed by the CA is the peer's, whatever its name.
    ...(tls.checkServerName === true ? {} : { checkServerIdentity: () => undefined }),
  });
  return { socket, readyEvent: 'secureConnect' };
}
