/**
 * The options and results of {@link Vswitch}'s verbs, and the checks of their arguments
 * that ovs-vswitchd would otherwise only log (names, map columns, DPDK `other_config` keys).
 */
import { invalidArgument } from '../errors.js';
import { describe } from '../validate.js';
import type { Atom, Value } from './ovsdb/data.js';

/** The database ovs-vswitchd is configured through. */
export const vswitchDb = 'Open_vSwitch';

/** The `other_config` keys of the Open_vSwitch table that configure OVS-DPDK. */
export type DpdkOtherConfigKey =
  'dpdk-init' | 'dpdk-lcore-mask' | 'dpdk-socket-mem' | 'pmd-cpu-mask' | 'dpdk-extra' | 'vhost-sock-dir';

/** `other_config` of the Open_vSwitch table: the DPDK keys, and any other key OVS knows. */
export type OvsOtherConfig = { [K in DpdkOtherConfigKey]?: string } & { [key: string]: string };

/** Options of the {@link Vswitch} methods that change the configuration. */
export interface ApplyOptions {
  /**
   * Do not wait for ovs-vswitchd to apply the change (like `ovs-vsctl --no-wait`), and so
   * do not report interface errors. Default: the Vswitch's `noWait`.
   */
  noWait?: boolean;
  /** Timeout of the transaction plus the wait for ovs-vswitchd, in milliseconds. Default: the Vswitch's. */
  timeoutMs?: number;
  /** Aborts the transaction or the wait. */
  signal?: AbortSignal;
}

/** Options of {@link Vswitch.open} and {@link Vswitch.connect}. */
export interface VswitchOptions {
  /** Default of {@link ApplyOptions.noWait}. Default false. */
  noWait?: boolean;
  /** Default timeout of each method, in milliseconds. Default 30000. */
  timeoutMs?: number;
}

/** Options of {@link Vswitch.addBridge}. */
export interface AddBridgeOptions extends ApplyOptions {
  /** `datapath_type`: `netdev` for OVS-DPDK (userspace datapath), `system`, or `dummy` (tests). */
  datapathType?: string;
  /** Succeed without change when the bridge exists (`--may-exist`). */
  mayExist?: boolean;
  /** `fail_mode`: `standalone` or `secure`. */
  failMode?: 'standalone' | 'secure';
  /** `external_ids` of the bridge. */
  externalIds?: Readonly<Record<string, string>>;
  /** `other_config` of the bridge. */
  otherConfig?: Readonly<Record<string, string>>;
}

/** Options of {@link Vswitch.deleteBridge} and {@link Vswitch.deletePort}. */
export interface DeleteOptions extends ApplyOptions {
  /** Succeed without change when it does not exist (`--if-exists`). */
  ifExists?: boolean;
}

/** Options of {@link Vswitch.addPort}. */
export interface AddPortOptions extends ApplyOptions {
  /**
   * Interface `type`: `dpdkvhostuser` (OVS is the vhost-user server), `dpdkvhostuserclient`
   * (OVS connects to `options['vhost-server-path']`), `dpdk` (a DPDK device, with
   * `options['dpdk-devargs']`), `internal`, `patch` (with `options.peer`), ... Default `""` (system).
   */
  type?: string;
  /** Interface `options`, e.g. `{ 'vhost-server-path': '/run/vm1.sock' }`, `{ peer: 'patch-b' }`. */
  options?: Readonly<Record<string, string>>;
  /** The OpenFlow port number to ask for (`ofport_request`), 1 to 65279. */
  ofportRequest?: number;
  /** `external_ids` of the interface. */
  externalIds?: Readonly<Record<string, string>>;
  /** `other_config` of the interface. */
  otherConfig?: Readonly<Record<string, string>>;
  /** Succeed without change when the port exists on this bridge (`--may-exist`). */
  mayExist?: boolean;
}

/** What {@link Vswitch.interface} reports of an interface. */
export interface InterfaceInfo {
  /** Interface name. */
  name: string;
  /** Row uuid. */
  uuid: string;
  /** Interface type (`""` means system). */
  type: string;
  /** The OpenFlow port number; -1 when ovs-vswitchd could not add it; undefined until it has tried. */
  ofport: number | undefined;
  /** Why ovs-vswitchd could not configure it, if so. */
  error: string | undefined;
  /** `admin_state`: `up` or `down`, when known. */
  adminState: string | undefined;
  /** `link_state`: `up` or `down`, when known. */
  linkState: string | undefined;
  /** Interface options. */
  options: Record<string, string>;
  /** Counters (`rx_packets`, `tx_bytes`, ...), refreshed by ovs-vswitchd every few seconds. */
  statistics: Record<string, number | bigint>;
  /** Status by key (for vhost-user: `mode`, `status`, `socket`, ...). */
  status: Record<string, string>;
  /** For vhost-user interfaces: `server` or `client` (status `mode`). */
  vhostMode: string | undefined;
  /** For vhost-user interfaces: whether a virtio peer is connected (status `status` is `connected`). */
  connected: boolean | undefined;
  /** `external_ids`. */
  externalIds: Record<string, string>;
}

const namePattern = /^[^\s/]{1,64}$/;

/** Converts a string-keyed map column value to a plain object. */
export function mapToRecord<V extends Atom>(value: Value | undefined): Record<string, V> {
  const record: Record<string, V> = {};
  if (value instanceof Map) for (const [key, item] of value) record[String(key)] = item as V;
  return record;
}

/** A bridge, port or interface name as ovs-vswitchd accepts it. */
export function checkName(operation: string, what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    invalidArgument(
      operation,
      `${what} name ${describe(name)} is not valid (expected 1 to 64 characters, no spaces or "/")`,
    );
  }
}

/** An optional map column given as an object of strings (`externalIds`, `options`, ...). */
export function checkStringRecord(operation: string, what: string, record: unknown): void {
  if (record === undefined) return;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    invalidArgument(operation, `${what} must be an object of strings, got ${describe(record)}`);
  }
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'string')
      invalidArgument(operation, `${what}["${key}"] must be a string, got ${describe(value)}`);
  }
}

const hexMask = /^(0x)?[0-9a-fA-F]+$/;

/** Checks the values of the DPDK keys of `other_config`, so mistakes show before ovs-vswitchd logs them. */
export function checkOtherConfig(operation: string, values: Readonly<Record<string, string | null>>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === null) continue;
    if (typeof value !== 'string')
      invalidArgument(
        operation,
        `other_config["${key}"] must be a string or null (to remove it), got ${describe(value)}`,
      );
    const bad = (expected: string): never =>
      invalidArgument(
        operation,
        `other_config["${key}"] = ${JSON.stringify(value)} is not valid: expected ${expected}`,
      );
    switch (key) {
      case 'dpdk-init':
        if (!['true', 'false', 'try'].includes(value)) bad('"true", "false" or "try"');
        break;
      case 'dpdk-lcore-mask':
      case 'pmd-cpu-mask':
        if (!hexMask.test(value)) bad('a hexadecimal CPU mask such as "0x2"');
        break;
      case 'dpdk-socket-mem':
        if (!/^\d+(,\d+)*$/.test(value)) bad('megabytes per NUMA node, comma-separated, such as "1024" or "1024,1024"');
        break;
      case 'vhost-sock-dir':
        if (value.length === 0) bad('a directory');
        break;
      default:
        break;
    }
  }
}
