/**
 * OpenFlow 1.3 client for Open vSwitch bridges (`RUNDIR/BRIDGE.mgmt`, `tcp:HOST:PORT`):
 * wire codec, OXM matches, actions and instructions, the `ovs-ofctl` flow syntax and
 * `ovs-ofctl`-style dump formatting.
 */
export * from './actions';
export * from './client';
export * from './codec';
export * from './flow-syntax';
export * from './format';
export * from './match';
