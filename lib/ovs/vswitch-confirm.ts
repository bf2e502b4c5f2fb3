/**
 * How {@link Vswitch} confirms a change, as ovs-vsctl does: waiting for the replica to show
 * it (ovs-vswitchd's `cur_cfg` reaching `next_cfg`), then reporting the interfaces that
 * ovs-vswitchd could not add.
 */
import { DpdkError } from '../errors.js';
import type { Row } from './ovsdb/data.js';
import type { Replica } from './ovsdb/replica.js';

/** @internal How {@link waitForReplica} words its errors. */
export interface ReplicaWaitWords {
  /** What did not happen, for the `ETIMEDOUT` message ("... within N ms"). */
  timeout?: () => string;
  /** The `ECANCELED` message. Default: "OPERATION was aborted". */
  aborted?: string;
  /** The errors' `object`. */
  object?: string;
}

/**
 * @internal Resolves once `done()` holds, checked now and at each change of `replica` (or of
 * any of several, within one deadline for all of them);
 * rejects with `ECANCELED` when `signal` aborts (with its reason as cause), `ETIMEDOUT`
 * after `timeoutMs`, worded by `words`.
 */
export function waitForReplica(
  replica: Replica | readonly Replica[],
  operation: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  done: () => boolean,
  words: ReplicaWaitWords = {},
): Promise<void> {
  if (done()) return Promise.resolve();
  const replicas = Array.isArray(replica) ? replica : [replica as Replica];
  const object = words.object === undefined ? {} : { object: words.object };
  return new Promise((resolve, reject) => {
    const finish = (error: DpdkError | undefined): void => {
      clearTimeout(timer);
      for (const each of replicas) each.off('change', onChange);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onChange = (): void => {
      if (done()) finish(undefined);
    };
    const onAbort = (): void =>
      finish(
        new DpdkError(words.aborted ?? `${operation} was aborted`, {
          code: 'ECANCELED',
          operation,
          ...object,
          cause: signal?.reason,
        }),
      );
    const timer = setTimeout(
      () =>
        finish(
          new DpdkError(`${words.timeout?.() ?? 'the change did not show'} within ${timeoutMs} ms`, {
            code: 'ETIMEDOUT',
            operation,
            ...object,
          }),
        ),
      timeoutMs,
    );
    for (const each of replicas) each.on('change', onChange);
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The bridge holding interface `uuid`, through its port. */
function bridgeOfInterface(replica: Replica, uuid: string): Readonly<Row> | undefined {
  const port = replica.find('Port', (row) => (row['interfaces'] as string[]).includes(uuid));
  if (port === undefined) return undefined;
  return replica.find('Bridge', (row) => (row['ports'] as string[]).includes(port['_uuid'] as string));
}

/**
 * What to do about ovs-vswitchd's refusal of interface `name`, or undefined when there is
 * nothing to add to its words. The replica omits columns at their default (update2 sends
 * only the others): a missing `type` is "" and a missing `dpdk_initialized` false.
 */
function interfaceHint(replica: Replica, iface: Readonly<Row>, error: string): string | undefined {
  const name = iface['name'] as string;
  const type = (iface['type'] as string | undefined) ?? '';
  const root = replica.rows('Open_vSwitch')[0];
  const ifaceTypes = (root?.['iface_types'] as string[] | undefined) ?? [];
  const bridge = bridgeOfInterface(replica, iface['_uuid'] as string);
  const datapath = (bridge?.['datapath_type'] as string | undefined) || 'system';
  if (type.startsWith('dpdk')) {
    const version = (root?.['dpdk_version'] as string | null | undefined) ?? 'none';
    if (root?.['dpdk_initialized'] !== true) {
      const build = /dpdk/i.test(version)
        ? ''
        : ` and its ovs-vswitchd has no DPDK (dpdk_version "${version}"): run OVS's DPDK build (e.g. ovs-vswitchd-dpdk, or OvsSandbox with vswitchd: 'dpdk')`;
      return `type "${type}" needs OVS with DPDK initialized (other_config:dpdk-init=true); this switch has dpdk_initialized=false${build}`;
    }
    if (datapath !== 'netdev') {
      return `type "${type}" needs a bridge with datapath_type netdev; bridge ${String(bridge?.['name'])} has ${datapath}`;
    }
    return undefined;
  }
  if (type !== '' && type !== 'system' && ifaceTypes.length > 0 && !ifaceTypes.includes(type)) {
    return `this ovs-vswitchd has no interface type "${type}" (it has: ${ifaceTypes.join(', ')})`;
  }
  if ((type === '' || type === 'system') && error.includes('(No such device)')) {
    const instead = ifaceTypes.includes('dummy')
      ? `on a dummy or userspace switch without DPDK use type: 'dummy' (or 'internal')`
      : `create it first, or use type: 'internal' for a port that OVS creates itself`;
    return `there is no kernel network device "${name}" for a ${type || 'system'} interface; ${instead}`;
  }
  return undefined;
}

/**
 * @internal Throws for the first of `interfaces` that ovs-vswitchd could not add
 * (`ofport` -1 or an `error`); interfaces not in the replica are skipped.
 * @throws DpdkError `ERR_OVS_INTERFACE` with ovs-vswitchd's error and, where it helps, what to do.
 */
export function checkInterfacesAdded(replica: Replica, operation: string, interfaces: readonly string[]): void {
  for (const name of interfaces) {
    const iface = replica.find('Interface', (row) => row['name'] === name);
    if (iface === undefined) continue;
    const error = iface['error'];
    if (typeof error === 'string' || iface['ofport'] === -1) {
      const reason = typeof error === 'string' ? error : 'ofport is -1';
      const hint = interfaceHint(replica, iface, reason);
      throw new DpdkError(`ovs-vswitchd could not add interface ${name}: ${reason}${hint ? `; ${hint}` : ''}`, {
        code: 'ERR_OVS_INTERFACE',
        operation,
        object: name,
      });
    }
  }
}
