/**
 * The OVN_Northbound objects {@link OvnNorthbound} creates, as typed options, and how each
 * option maps to a column (with its check): one table of specifications, so that create,
 * update, get and list are written once for all of them.
 */
import { invalidArgument } from '../errors.js';
import { checkBoolean, checkInteger, checkString, describe } from '../validate.js';
import { checkIp, checkMacAddress, checkPortAddress, checkPortSecurity, checkVips } from './nb-syntax.js';

/** String maps such as `external_ids` and `options`. */
export type StringMap = Readonly<Record<string, string>>;

/** `Logical_Switch`. */
export interface SwitchOptions {
  /** The unique name of the switch. */
  name: string;
  /** `other_config` (e.g. `subnet`, `mcast_snoop`). */
  otherConfig?: StringMap;
  /** Names of load balancers applied to the switch's traffic (`load_balancer`). */
  loadBalancers?: readonly string[];
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Logical_Switch_Port`. */
export interface SwitchPortOptions {
  /** The unique name of the port. */
  name: string;
  /** The logical switch the port belongs to (required at creation; a port cannot move). */
  switch: string;
  /** `addresses`: `"MAC [IP...]"`, `"MAC dynamic"`, `"dynamic"`, `"router"` or `"unknown"`. */
  addresses?: readonly string[];
  /** `port_security`: `"MAC [IP[/PLEN]...]"`. */
  portSecurity?: readonly string[];
  /** `type`: `""` (a VIF, the default), `router`, `localnet`, `localport`, `virtual`, `external`, ... */
  type?: string;
  /** `options` (e.g. `router-port` for type `router`, `network_name` for `localnet`). */
  options?: StringMap;
  /** `enabled`: false administratively disables the port. */
  enabled?: boolean;
  /** Names of the mirrors that copy this port's traffic (`mirror_rules`). */
  mirrors?: readonly string[];
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Logical_Router`. */
export interface RouterOptions {
  /** The unique name of the router. */
  name: string;
  /** `enabled`. */
  enabled?: boolean;
  /** `options` (e.g. `chassis` for a gateway router). */
  options?: StringMap;
  /** Names of load balancers applied on the router (`load_balancer`). */
  loadBalancers?: readonly string[];
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Logical_Router_Port`. */
export interface RouterPortOptions {
  /** The unique name of the port. */
  name: string;
  /** The logical router the port belongs to (required at creation). */
  router: string;
  /** `mac`, e.g. `00:00:00:00:ff:01`. */
  mac: string;
  /** `networks`: the router's addresses with their prefix lengths, e.g. `["10.0.0.1/24"]`. */
  networks: readonly string[];
  /** `peer`: the router port at the other end of a router-to-router link. */
  peer?: string;
  /** `enabled`. */
  enabled?: boolean;
  /** `options`. */
  options?: StringMap;
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Logical_Router_Static_Route`. */
export interface StaticRouteOptions {
  /** The logical router of the route (required at creation). */
  router: string;
  /** `ip_prefix`: the destination (or source, with policy `src-ip`) address or network. */
  ipPrefix: string;
  /** `nexthop`: an IP address, or `discard`. */
  nexthop: string;
  /** `output_port`: the router port to send through. */
  outputPort?: string;
  /** `policy`: `dst-ip` (default) or `src-ip`. */
  policy?: 'dst-ip' | 'src-ip';
  /** `route_table`. */
  routeTable?: string;
  /** `options`. */
  options?: StringMap;
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Logical_Router_Policy`. */
export interface RouterPolicyOptions {
  /** The logical router of the policy (required at creation). */
  router: string;
  /** `priority`, 0 to 32767. */
  priority: number;
  /** `match`, in OVN's match syntax (`ip4.src == 10.0.0.0/24`). */
  match: string;
  /** `action`: `allow`, `drop`, or `reroute` to `nexthops`. */
  action: 'allow' | 'drop' | 'reroute';
  /** `nexthops` of a `reroute` (one, or several for ECMP); only with `reroute`. */
  nexthops?: readonly string[];
  /** `options` (e.g. `pkt_mark`). */
  options?: StringMap;
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `ACL`, on a logical switch or on a port group (give exactly one). */
export interface AclOptions {
  /** The logical switch whose `acls` hold the ACL. */
  switch?: string;
  /** The port group whose `acls` hold the ACL. */
  portGroup?: string;
  /** `direction`: `from-lport` or `to-lport`. */
  direction: 'from-lport' | 'to-lport';
  /** `priority`, 0 to 32767. */
  priority: number;
  /** `match`, in OVN's match syntax. */
  match: string;
  /** `action`. */
  action: 'allow' | 'allow-related' | 'allow-stateless' | 'drop' | 'reject';
  /** `name` (at most 63 characters), shown in logs. */
  name?: string;
  /** `log`. */
  log?: boolean;
  /** `severity` of logged packets. */
  severity?: 'alert' | 'warning' | 'notice' | 'info' | 'debug';
  /** `options`. */
  options?: StringMap;
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Port_Group`. */
export interface PortGroupOptions {
  /** The unique name of the group. */
  name: string;
  /** Names of the logical switch ports in the group. */
  ports?: readonly string[];
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Address_Set`. */
export interface AddressSetOptions {
  /** The unique name of the set (used in matches as `$NAME`). */
  name: string;
  /** `addresses`: IP addresses or networks. */
  addresses?: readonly string[];
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Load_Balancer`. Attach it with `loadBalancers` of a switch or router. */
export interface LoadBalancerOptions {
  /** The unique name of the load balancer. */
  name: string;
  /** `vips`: `{"VIP[:PORT]": "BACKEND[:PORT],..."}`. */
  vips: StringMap;
  /** `protocol` of VIPs with ports: `tcp` (the default), `udp` or `sctp`. */
  protocol?: 'tcp' | 'udp' | 'sctp';
  /** `options`. */
  options?: StringMap;
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Mirror` (OVN 23.03: a tunnel to a remote collector). Attach it with `mirrors` of a switch port. */
export interface MirrorOptions {
  /** The unique name of the mirror. */
  name: string;
  /** `filter`: which direction of the port's traffic is copied. */
  filter: 'from-lport' | 'to-lport';
  /** `sink`: the IP address of the collector. */
  sink: string;
  /** `type`: `gre` or `erspan`. */
  type: 'gre' | 'erspan';
  /** `index`: the GRE key or ERSPAN session id. */
  index: number;
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** `Forwarding_Group`: a virtual IP and MAC answered by a group of the switch's ports. */
export interface ForwardingGroupOptions {
  /** The unique name of the group. */
  name: string;
  /** The logical switch of the group (required at creation). */
  switch: string;
  /** `vip`: the group's virtual IP address. */
  vip: string;
  /** `vmac`: the group's virtual MAC address. */
  vmac: string;
  /** `child_port`: names of the switch's ports that carry the traffic (at least one). */
  childPorts: readonly string[];
  /** `liveness`: use BFD to leave out dead children. */
  liveness?: boolean;
  /** `external_ids`. */
  externalIds?: StringMap;
}

/** The options of each kind of object, by kind. */
export interface NbObjectOptions {
  /** See {@link SwitchOptions}. */
  switch: SwitchOptions;
  /** See {@link SwitchPortOptions}. */
  'switch-port': SwitchPortOptions;
  /** See {@link RouterOptions}. */
  router: RouterOptions;
  /** See {@link RouterPortOptions}. */
  'router-port': RouterPortOptions;
  /** See {@link StaticRouteOptions}. */
  'static-route': StaticRouteOptions;
  /** See {@link RouterPolicyOptions}. */
  'router-policy': RouterPolicyOptions;
  /** See {@link AclOptions}. */
  acl: AclOptions;
  /** See {@link PortGroupOptions}. */
  'port-group': PortGroupOptions;
  /** See {@link AddressSetOptions}. */
  'address-set': AddressSetOptions;
  /** See {@link LoadBalancerOptions}. */
  'load-balancer': LoadBalancerOptions;
  /** See {@link MirrorOptions}. */
  mirror: MirrorOptions;
  /** See {@link ForwardingGroupOptions}. */
  'forwarding-group': ForwardingGroupOptions;
}

/** A kind of OVN_Northbound object. */
export type NbKind = keyof NbObjectOptions;

/** The keys that name the object holding a child (a port's switch, an ACL's port group): fixed at creation. */
export type ParentKey = 'switch' | 'router' | 'portGroup';

/** What `update` accepts for a kind: any of its options but the name and the parent. */
export type NbUpdateOptions<K extends NbKind> = Partial<Omit<NbObjectOptions[K], ParentKey | 'name'>>;

/** An object as `get` and `list` return it: its options as stored, with its uuid. */
export type NbObject<K extends NbKind> = NbObjectOptions[K] & { uuid: string };

/** @internal How an option becomes a column value. `refs` names the kind of the objects it names. */
export interface ColumnSpec {
  column: string;
  check: (operation: string, name: string, value: unknown) => unknown;
  refs?: NbKind;
  /** The column holds the names of the `refs` objects, not their uuids. */
  storesNames?: boolean;
}

/** @internal A kind's table, how it is named, what holds it, and its columns. */
export interface KindSpec {
  table: string;
  /** How messages call it: "logical switch port". */
  what: string;
  /** Whether it has a unique `name` (else it is found by uuid). */
  named: boolean;
  /** The options that name its holder (one must be given), and the holder's column. */
  parents: readonly { key: ParentKey; kind: NbKind; column: string }[];
  columns: Readonly<Record<string, ColumnSpec>>;
  /** Options a creation needs. */
  required: readonly string[];
  /** Checks across options, on the object as it will be (after an update too). */
  validate?: (operation: string, object: Readonly<Record<string, unknown>>) => void;
}

function stringMap(operation: string, name: string, value: unknown): StringMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalidArgument(operation, `${name} must be an object of strings, got ${describe(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string')
      invalidArgument(operation, `${name}["${key}"] must be a string, got ${describe(item)}`);
  }
  return value as StringMap;
}

function list(each: (operation: string, name: string, value: unknown) => unknown, min = 0): ColumnSpec['check'] {
  return (operation, name, value) => {
    if (!Array.isArray(value) || value.length < min) {
      invalidArgument(
        operation,
        `${name} must be an array${min > 0 ? ` of at least ${min}` : ''}, got ${describe(value)}`,
      );
    }
    return value.map((item, index) => each(operation, `${name}[${index}]`, item));
  };
}

function oneOf(...values: string[]): ColumnSpec['check'] {
  return (operation, name, value) => {
    if (typeof value !== 'string' || !values.includes(value)) {
      invalidArgument(operation, `${name} must be ${values.map((v) => `"${v}"`).join(', ')}, got ${describe(value)}`);
    }
    return value;
  };
}

const text = (column: string): ColumnSpec => ({ column, check: (o, n, v) => (v === '' ? v : checkString(o, n, v)) });
const map = (column: string): ColumnSpec => ({ column, check: stringMap });
const bool = (column: string): ColumnSpec => ({ column, check: checkBoolean });
const priority: ColumnSpec = { column: 'priority', check: (o, n, v) => checkInteger(o, n, v, 0, 32767) };
const match: ColumnSpec = { column: 'match', check: checkString };
const names = (column: string, kind: NbKind, min = 0): ColumnSpec => ({
  column,
  check: list(checkString, min),
  refs: kind,
});
const ip = (prefix: 'none' | 'optional' | 'required') => (o: string, n: string, v: unknown) => checkIp(o, n, v, prefix);
const common = { externalIds: map('external_ids') };

/** @internal The specification of every kind. */
export const kinds: Readonly<Record<NbKind, KindSpec>> = {
  switch: {
    table: 'Logical_Switch',
    what: 'logical switch',
    named: true,
    parents: [],
    columns: { otherConfig: map('other_config'), loadBalancers: names('load_balancer', 'load-balancer'), ...common },
    required: [],
  },
  'switch-port': {
    table: 'Logical_Switch_Port',
    what: 'logical switch port',
    named: true,
    parents: [{ key: 'switch', kind: 'switch', column: 'ports' }],
    columns: {
      addresses: { column: 'addresses', check: list(checkPortAddress) },
      portSecurity: { column: 'port_security', check: list(checkPortSecurity) },
      type: text('type'),
      options: map('options'),
      enabled: bool('enabled'),
      mirrors: names('mirror_rules', 'mirror'),
      ...common,
    },
    required: [],
  },
  router: {
    table: 'Logical_Router',
    what: 'logical router',
    named: true,
    parents: [],
    columns: {
      enabled: bool('enabled'),
      options: map('options'),
      loadBalancers: names('load_balancer', 'load-balancer'),
      ...common,
    },
    required: [],
  },
  'router-port': {
    table: 'Logical_Router_Port',
    what: 'logical router port',
    named: true,
    parents: [{ key: 'router', kind: 'router', column: 'ports' }],
    columns: {
      mac: { column: 'mac', check: checkMacAddress },
      networks: { column: 'networks', check: list(ip('required'), 1) },
      peer: { column: 'peer', check: checkString },
      enabled: bool('enabled'),
      options: map('options'),
      ...common,
    },
    required: ['mac', 'networks'],
  },
  'static-route': {
    table: 'Logical_Router_Static_Route',
    what: 'static route',
    named: false,
    parents: [{ key: 'router', kind: 'router', column: 'static_routes' }],
    columns: {
      ipPrefix: { column: 'ip_prefix', check: ip('optional') },
      nexthop: { column: 'nexthop', check: (o, n, v) => (v === 'discard' ? v : checkIp(o, n, v, 'none')) },
      outputPort: { column: 'output_port', check: checkString },
      policy: { column: 'policy', check: oneOf('dst-ip', 'src-ip') },
      routeTable: text('route_table'),
      options: map('options'),
      ...common,
    },
    required: ['ipPrefix', 'nexthop'],
  },
  'router-policy': {
    table: 'Logical_Router_Policy',
    what: 'router policy',
    named: false,
    parents: [{ key: 'router', kind: 'router', column: 'policies' }],
    columns: {
      priority,
      match,
      action: { column: 'action', check: oneOf('allow', 'drop', 'reroute') },
      nexthops: { column: 'nexthops', check: list(ip('none'), 1) },
      options: map('options'),
      ...common,
    },
    required: ['priority', 'match', 'action'],
    validate: (operation, policy) => {
      const hops = (policy['nexthops'] as unknown[] | undefined)?.length ?? 0;
      if (policy['action'] === 'reroute' && hops === 0)
        invalidArgument(operation, 'action "reroute" needs nexthops (the addresses to reroute to)');
      if (policy['action'] !== 'reroute' && hops > 0)
        invalidArgument(operation, `nexthops apply only to action "reroute", not ${describe(policy['action'])}`);
    },
  },
  acl: {
    table: 'ACL',
    what: 'ACL',
    named: false,
    parents: [
      { key: 'switch', kind: 'switch', column: 'acls' },
      { key: 'portGroup', kind: 'port-group', column: 'acls' },
    ],
    columns: {
      direction: { column: 'direction', check: oneOf('from-lport', 'to-lport') },
      priority,
      match,
      action: { column: 'action', check: oneOf('allow', 'allow-related', 'allow-stateless', 'drop', 'reject') },
      name: {
        column: 'name',
        check: (o, n, v) => {
          if (checkString(o, n, v).length > 63)
            invalidArgument(o, `${n} can have at most 63 characters, got ${describe(v)}`);
          return v;
        },
      },
      log: bool('log'),
      severity: { column: 'severity', check: oneOf('alert', 'warning', 'notice', 'info', 'debug') },
      options: map('options'),
      ...common,
    },
    required: ['direction', 'priority', 'match', 'action'],
  },
  'port-group': {
    table: 'Port_Group',
    what: 'port group',
    named: true,
    parents: [],
    columns: { ports: names('ports', 'switch-port'), ...common },
    required: [],
  },
  'address-set': {
    table: 'Address_Set',
    what: 'address set',
    named: true,
    parents: [],
    columns: { addresses: { column: 'addresses', check: list(ip('optional')) }, ...common },
    required: [],
  },
  'load-balancer': {
    table: 'Load_Balancer',
    what: 'load balancer',
    named: true,
    parents: [],
    columns: {
      vips: { column: 'vips', check: checkVips },
      protocol: { column: 'protocol', check: oneOf('tcp', 'udp', 'sctp') },
      options: map('options'),
      ...common,
    },
    required: ['vips'],
  },
  mirror: {
    table: 'Mirror',
    what: 'mirror',
    named: true,
    parents: [],
    columns: {
      filter: { column: 'filter', check: oneOf('from-lport', 'to-lport') },
      sink: { column: 'sink', check: ip('none') },
      type: { column: 'type', check: oneOf('gre', 'erspan') },
      index: { column: 'index', check: (o, n, v) => checkInteger(o, n, v, 0, 2 ** 32 - 1) },
      ...common,
    },
    required: ['filter', 'sink', 'type', 'index'],
  },
  'forwarding-group': {
    table: 'Forwarding_Group',
    what: 'forwarding group',
    named: true,
    parents: [{ key: 'switch', kind: 'switch', column: 'forwarding_groups' }],
    columns: {
      vip: { column: 'vip', check: ip('none') },
      vmac: { column: 'vmac', check: checkMacAddress },
      // Port names, not references: northd looks them up.
      childPorts: { column: 'child_port', check: list(checkString, 1), refs: 'switch-port', storesNames: true },
      liveness: bool('liveness'),
      ...common,
    },
    required: ['vip', 'vmac', 'childPorts'],
  },
};
