/**
 * How {@link Vswitch} confirms a change, as ovs-vsctl does: waiting for the replica to show
 * it (ovs-vswitchd's `cur_cfg` reaching `next_cfg`), then reporting the interfaces that
 * ovs-vswitchd could not add.
 */
import { DpdkError } from '../errors.js';
import type { Replica } from './ovsdb/replica.js';

/**
 * @internal Resolves once `done()` holds, checked now and at each change of `replica`;
 * rejects with `ECANCELED` when `signal` aborts, `ETIMEDOUT` (described by
 * `describeTimeout`) after `timeoutMs`.
 */
export function waitForReplica(
  replica: Replica,
  operation: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  done: () => boolean,
  describeTimeout?: () => string,
): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = (error: DpdkError | undefined): void => {
      clearTimeout(timer);
      replica.off('change', onChange);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onChange = (): void => {
      if (done()) finish(undefined);
    };
    const onAbort = (): void => finish(new DpdkError(`${operation} was aborted`, { code: 'ECANCELED', operation }));
    const timer = setTimeout(
      () =>
        finish(
          new DpdkError(`${describeTimeout?.() ?? 'the change did not show'} within ${timeoutMs} ms`, {
            code: 'ETIMEDOUT',
            operation,
          }),
        ),
      timeoutMs,
    );
    replica.on('change', onChange);
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * @internal Throws for the first of `interfaces` that ovs-vswitchd could not add
 * (`ofport` -1 or an `error`); interfaces not in the replica are skipped.
 * @throws DpdkError `ERR_OVS_INTERFACE` with ovs-vswitchd's error.
 */
export function checkInterfacesAdded(replica: Replica, operation: string, interfaces: readonly string[]): void {
  for (const name of interfaces) {
    const iface = replica.find('Interface', (row) => row['name'] === name);
    if (iface === undefined) continue;
    const error = iface['error'];
    if (typeof error === 'string' || iface['ofport'] === -1) {
      throw new DpdkError(
        `ovs-vswitchd could not add interface ${name}: ${typeof error === 'string' ? error : 'ofport is -1'}`,
        { code: 'ERR_OVS_INTERFACE', operation, object: name },
      );
    }
  }
}
