// See lib/index.ts: the .d.ts asks for @types/node, which TypeScript >= 6 does not load by itself.
/// <reference types="node" preserve="true" />
/**
 * OVN on dpdk-ts's OVSDB client, importable without the native addon
 * (`import { OvnCentral } from 'dpdk-ts/ovn'`): the typed northbound database, where a
 * logical port is bound (southbound), attaching network functions on a chassis, and OVN's
 * central services and simulated chassis in private directories and namespaces for tests and labs. Errors are {@link DpdkError}s, the same class as
 * `dpdk-ts` and `dpdk-ts/ovs` export.
 * @module dpdk-ts/ovn
 */
export { DpdkError, type DpdkErrorDetails } from '../errors.js';
export * from './central.js';
export * from './northbound.js';
export * from './nb-objects.js';
export { nbDb, type SyncOptions } from './nb-sync.js';
export * from './southbound.js';
export * from './chassis.js';
export {
  moveNf,
  type AttachOptions,
  type AttachedPort,
  type ChassisPortState,
  type DetachOptions,
  type MoveOptions,
} from './attach.js';
export * from './sandbox.js';
