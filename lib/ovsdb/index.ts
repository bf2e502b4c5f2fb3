/**
 * The OVSDB client of dpdk-ts: JSON-RPC (RFC 7047 and the Open vSwitch extensions) over
 * unix, TCP and TLS, with typed transactions, monitors kept in a local replica, locks,
 * and reconnection with resynchronization.
 * @packageDocumentation
 */
export * from './client';
export * from './connection';
export * from './data';
export * from './json-stream';
export * from './replica';
export * from './schema';
