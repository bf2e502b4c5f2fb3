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
export * from './replica.js';
export * from './schema.js';
