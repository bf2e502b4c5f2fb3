/**
 * The OVSDB client of dpdk-ts: JSON-RPC (RFC 7047 and the Open vSwitch extensions) over
 * unix, TCP and TLS, with typed transactions, monitors kept in a local replica, locks,
 * and reconnection with resynchronization.
 * @packageDocumentation
 */
export * from './client.js';
export * from './connection.js';
export * from './data.js';
export * from './json-stream.js';
// The monitor and operation types; their request checks and codecs stay inside the client.
export {
  Monitor,
  type MonitorEvents,
  type MonitorMethod,
  type MonitorOptions,
  type MonitorTableRequest,
} from './monitor.js';
export type {
  AbortOperation,
  AssertOperation,
  CommentOperation,
  CommitOperation,
  DeleteOperation,
  InsertOperation,
  MutateOperation,
  Operation,
  OperationResult,
  SelectOperation,
  TransactResults,
  UpdateOperation,
  WaitOperation,
} from './operations.js';
export * from './replica.js';
export * from './schema.js';
