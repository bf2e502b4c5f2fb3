/**
 * OpenFlow 1.3 client for Open vSwitch bridges (`RUNDIR/BRIDGE.mgmt`, `tcp:HOST:PORT`):
 * wire codec, OXM matches, actions and instructions, the `ovs-ofctl` flow syntax and
 * `ovs-ofctl`-style dump formatting.
 * @packageDocumentation
 */
export * from './actions.js';
export * from './client.js';
export * from './client-options.js';
export * from './codec.js';
export * from './flow-mod.js';
export * from './flow-syntax.js';
export * from './flow-diff.js';
export * from './flow-file.js';
export * from './flow-keeper.js';
export {
  portNamesOf,
  type AddFlowsOptions,
  type DumpFlowsOptions,
  type FlowDump,
  type FlowEditOptions,
  type FlowErrorDetails,
  type ReplaceFlowsOptions,
  type ReplaceFlowsResult,
} from './flow-table.js';
export * from './format.js';
export * from './match.js';
export * from './multipart.js';
export type { NatAction, NiciraAction, PacketInReason } from './nicira-actions.js';
export type { LearnAction, LearnSpec } from './learn.js';
export type { BundleAlgorithm, HashAction, HashFields, MultipathAlgorithm } from './nicira-hash-actions.js';
export type { StackAction } from './nicira-stack-actions.js';
export type { EncapAction, NshTlv } from './nicira-encap-actions.js';
export type { FieldRef } from './nxm-fields.js';
export type { NshMaskedWrite } from './nsh-load.js';
export type { TlvMapping, TlvTable, TlvTableCommand } from './tlv-table.js';
export type { TunMetadataAction, TunMetadataField } from './tun-metadata.js';
export * from './target.js';
export { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../../address.js';
