/**
 * The syntax of OVN_Northbound's string columns that ovn-northd parses later, checked
 * before a write so that a typo is an error here rather than a warning in northd's log:
 * logical port addresses, port security, router networks, IP prefixes, load balancer VIPs.
 */
import { isIP } from 'node:net';
import { invalidArgument } from '../errors.js';
import { describe } from '../validate.js';

const mac = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** An IPv4 or IPv6 address, with a prefix length when `prefix` is 'optional' or 'required'. */
export function isIpAddress(text: string, prefix: 'none' | 'optional' | 'required'): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return prefix !== 'required' && isIP(text) !== 0;
  if (prefix === 'none') return false;
  const family = isIP(text.slice(0, slash));
  const length = text.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(length) && Number(length) <= (family === 4 ? 32 : 128);
}

/**
 * One entry of `Logical_Switch_Port.addresses`: `unknown`, `router`, `dynamic`,
 * `MAC dynamic`, or a MAC followed by IP addresses (`00:00:00:00:00:01 10.0.0.1 fd00::1`).
 */
export function checkPortAddress(operation: string, name: string, value: unknown): string {
  if (typeof value === 'string' && ['unknown', 'router', 'dynamic'].includes(value)) return value;
  const words = typeof value === 'string' ? value.split(/\s+/).filter((word) => word !== '') : [];
  const rest = words.slice(1);
  const valid =
    words.length > 0 &&
    mac.test(words[0]) &&
    ((rest.length === 1 && rest[0] === 'dynamic') || rest.every((word) => isIpAddress(word, 'optional')));
  if (!valid) {
    invalidArgument(
      operation,
      `${name} ${describe(value)} is not an OVN address (expected "MAC [IP...]" such as "00:00:00:00:00:01 10.0.0.1", "MAC dynamic", "dynamic", "router" or "unknown")`,
    );
  }
  return value as string;
}

/** One entry of `port_security`: a MAC followed by IP addresses or networks. */
export function checkPortSecurity(operation: string, name: string, value: unknown): string {
  const words = typeof value === 'string' ? value.split(/\s+/).filter((word) => word !== '') : [];
  if (words.length === 0 || !mac.test(words[0]) || !words.slice(1).every((word) => isIpAddress(word, 'optional'))) {
    invalidArgument(
      operation,
      `${name} ${describe(value)} is not valid port security (expected "MAC [IP[/PLEN]...]" such as "00:00:00:00:00:01 10.0.0.1")`,
    );
  }
  return value as string;
}

/** A MAC address written xx:xx:xx:xx:xx:xx. */
export function checkMacAddress(operation: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || !mac.test(value)) {
    invalidArgument(operation, `${name} must be a MAC address such as "00:00:00:00:00:01", got ${describe(value)}`);
  }
  return value;
}

/** An IP address, or a network when `prefix` allows one (router networks need it). */
export function checkIp(
  operation: string,
  name: string,
  value: unknown,
  prefix: 'none' | 'optional' | 'required',
): string {
  if (typeof value !== 'string' || !isIpAddress(value, prefix)) {
    const expected = {
      none: 'an IPv4 or IPv6 address such as "10.0.0.1"',
      optional: 'an IPv4 or IPv6 address or network such as "10.0.0.1" or "10.0.0.0/24"',
      required: 'an address with its prefix length such as "10.0.0.1/24"',
    }[prefix];
    invalidArgument(operation, `${name} must be ${expected}, got ${describe(value)}`);
  }
  return value;
}

/** `IP` or `IP:PORT` (IPv6 with a port in brackets: `[fd00::1]:80`), as load balancer VIPs and backends are written. */
function isEndpoint(text: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed !== null)
    return isIP(bracketed[1]) === 6 && (bracketed[2] === undefined || Number(bracketed[2]) <= 65535);
  if (isIP(text) !== 0) return true;
  const colon = text.lastIndexOf(':');
  return (
    colon > 0 &&
    isIP(text.slice(0, colon)) === 4 &&
    /^\d{1,5}$/.test(text.slice(colon + 1)) &&
    Number(text.slice(colon + 1)) <= 65535
  );
}

/** `Load_Balancer.vips`: `"VIP[:PORT]": "BACKEND[:PORT],..."`. */
export function checkVips(operation: string, name: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalidArgument(
      operation,
      `${name} must be an object such as {"10.0.0.10:80": "10.0.0.2:8080,10.0.0.3:8080"}, got ${describe(value)}`,
    );
  }
  for (const [vip, backends] of Object.entries(value)) {
    if (!isEndpoint(vip)) {
      invalidArgument(operation, `${name}: VIP ${describe(vip)} is not valid (expected "IP" or "IP:PORT")`);
    }
    const list = typeof backends === 'string' ? backends.split(',') : [];
    if (list.length === 0 || !list.every((backend) => isEndpoint(backend.trim()))) {
      invalidArgument(
        operation,
        `${name}["${vip}"] must be backends "IP[:PORT],IP[:PORT]...", got ${describe(backends)}`,
      );
    }
  }
  return value as Record<string, string>;
}
