// See lib/index.ts: the .d.ts asks for @types/node, which TypeScript >= 6 does not load by itself.
/// <reference types="node" preserve="true" />
/**
 * The OVS control plane of dpdk-ts, importable without the native addon
 * (`import { Vswitch } from 'dpdk-ts/ovs'`): the OVSDB client, the OpenFlow 1.3 client,
 * `ovs-vsctl`-like helpers, and a private OVS for tests and labs. Their errors are
 * {@link DpdkError}s, the same class as `dpdk-ts` exports.
 * @module dpdk-ts/ovs
 */
export { DpdkError, type DpdkErrorDetails } from '../errors.js';
export * as ovsdb from './ovsdb/index.js';
export * as openflow from './openflow/index.js';
export { OvsdbClient, Monitor, Replica, namedUuid } from './ovsdb/index.js';
export {
  OpenFlowClient,
  FlowKeeper,
  parseFlowMod,
  parseFlowFilter,
  formatFlowStats,
  formatPortStats,
} from './openflow/index.js';
export * from './vswitch.js';
export { formatAtom, formatValue } from './vsctl-format.js';
export * from './sandbox.js';
export type { ExitKillable } from './daemon.js';
export { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../address.js';
