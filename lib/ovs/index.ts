/**
 * The OVS control plane of dpdk-ts, importable without the native addon
 * (`import { Vswitch } from 'dpdk-ts/ovs'`): the OVSDB client, the OpenFlow 1.3 client,
 * `ovs-vsctl`-like helpers, and a private OVS for tests and labs.
 * @packageDocumentation
 */
export * as ovsdb from '../ovsdb/index';
export * as openflow from '../openflow/index';
export { OvsdbClient, Monitor, Replica, namedUuid } from '../ovsdb/index';
export { OpenFlowClient, parseFlowMod, parseFlowFilter, formatFlowStats, formatPortStats } from '../openflow/index';
export * from './vswitch';
export * from './daemon';
export { runDbCommand, DB_COMMAND_USAGE, type DbCommandOptions } from '../cli/ovs-db-commands';
export { runFlowCommand, FLOW_COMMAND_USAGE, type FlowCommandOptions } from '../cli/ovs-flow-commands';
