/** Where an OpenFlow switch listens: `unix:PATH`, a socket path, `tcp:HOST[:PORT]` or `ssl:HOST[:PORT]`. */
import { invalidArgument } from '../../errors.js';

/** Where an OpenFlow switch listens. */
export type OpenFlowTarget = { kind: 'unix'; path: string } | { kind: 'tcp' | 'ssl'; host: string; port: number };

/** `OFP_TCP_PORT`: the OpenFlow TCP port registered with IANA, used when a target names none. */
export const OFP_TCP_PORT = 6653;

/**
 * Parses `unix:/path/br0.mgmt`, a bare path (anything with a `/`), `tcp:HOST:PORT`,
 * `tcp:HOST` (port 6653) or `tcp:[IPv6]:PORT`, and the same with `ssl:` (TLS, as OVS's
 * `pssl:` listens). Throws `EINVAL` otherwise.
 */
export function parseTarget(target: string): OpenFlowTarget {
  const operation = 'parseTarget';
  if (typeof target !== 'string') {
    invalidArgument(
      operation,
      `target must be a string such as unix:/var/run/openvswitch/br0.mgmt, got ${typeof target}`,
    );
  }
  if (target.startsWith('unix:')) {
    const path = target.slice(5);
    if (path === '') {
      invalidArgument(operation, `target "${target}" has an empty socket path; expected unix:/path/to/bridge.mgmt`);
    }
    return { kind: 'unix', path };
  }
  if (target.startsWith('tcp:') || target.startsWith('ssl:')) {
    const kind = target.startsWith('tcp:') ? 'tcp' : 'ssl';
    const rest = target.slice(4);
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
    const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(rest);
    const parts = bracketed ?? plain;
    if (!parts) {
      invalidArgument(operation, `target "${target}" is not ${kind}:HOST[:PORT] (IPv6 hosts in brackets)`);
    }
    const port = parts[2] === undefined ? OFP_TCP_PORT : Number(parts[2]);
    if (port < 1 || port > 65535) {
      invalidArgument(operation, `target "${target}" has port ${port}; expected 1..65535`);
    }
    return { kind, host: parts[1]!, port };
  }
  if (target.includes('/')) {
    return { kind: 'unix', path: target };
  }
  return invalidArgument(
    operation,
    `target "${target}" is neither unix:PATH, a socket path, tcp:HOST[:PORT] nor ssl:HOST[:PORT]`,
  );
}
