/**
 * Applying and confirming as `ovn-nbctl --wait=sb|hv sync` does: bump `NB_Global.nb_cfg`,
 * then wait in the replica (a monitor, no polling) until ovn-northd copies it to `sb_cfg`
 * or, once every chassis has caught up, to `hv_cfg`.
 */
import { DpdkError, invalidArgument } from '../errors.js';
import type { OvsdbClient } from '../ovs/ovsdb/client.js';
import type { Row } from '../ovs/ovsdb/data.js';
import type { Replica } from '../ovs/ovsdb/replica.js';
import { waitForReplica } from '../ovs/vswitch-confirm.js';
import { checkOptions, checkTimeout, describe } from '../validate.js';

/** The OVN_Northbound database name. */
export const nbDb = 'OVN_Northbound';

/** Options of {@link OvnNorthbound.sync}. */
export interface SyncOptions {
  /**
   * `sb` (default): until ovn-northd has translated the change into the southbound
   * database (`sb_cfg`). `hv`: also until every chassis's ovn-controller has installed it
   * (`hv_cfg`). With no chassis, OVN counts `hv` as reached as soon as `sb` is.
   */
  wait?: 'sb' | 'hv';
  /** How long to wait, in milliseconds. Default: the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Stops waiting: the promise rejects with `ECANCELED` (the bump itself stays). */
  signal?: AbortSignal;
}

/** @internal Which column each wait reads and who writes it, for the timeout message. */
const waits = {
  sb: { column: 'sb_cfg', who: 'ovn-northd', hint: 'is ovn-northd running?' },
  hv: { column: 'hv_cfg', who: 'the chassis', hint: "are ovn-northd and every chassis's ovn-controller running?" },
} as const;

/**
 * @internal Bumps `nb_cfg` and waits for `sb_cfg` or `hv_cfg` to reach it in `replica`
 * (which monitors NB_Global). Resolves with the new `nb_cfg`.
 */
export async function sync(
  client: OvsdbClient,
  replica: Replica,
  options: SyncOptions,
  defaultTimeoutMs: number,
): Promise<number> {
  const operation = 'sync';
  checkOptions<SyncOptions>(operation, options, ['wait', 'timeoutMs', 'signal']);
  const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? defaultTimeoutMs;
  const wait = options.wait ?? 'sb';
  if (wait !== 'sb' && wait !== 'hv') invalidArgument(operation, `wait must be "sb" or "hv", got ${describe(wait)}`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    invalidArgument(operation, `signal must be an AbortSignal, got ${describe(options.signal)}`);
  }
  const { signal } = options;
  const abortedMessage = `sync was aborted before ${waits[wait].column} reached nb_cfg`;
  if (signal?.aborted === true)
    throw new DpdkError(abortedMessage, { code: 'ECANCELED', operation, cause: signal.reason });
  const global = replica.rows('NB_Global')[0];
  if (global === undefined) {
    throw new DpdkError('the northbound database has no NB_Global row (run ovn-nbctl init)', {
      code: 'ENOENT',
      operation,
      object: 'NB_Global',
    });
  }
  const where = [['_uuid', '==', global['_uuid']]] as const;
  const started = Date.now();
  const results = await client.transact(
    nbDb,
    [
      { op: 'mutate', table: 'NB_Global', where, mutations: [['nb_cfg', '+=', 1]] },
      { op: 'select', table: 'NB_Global', where, columns: ['nb_cfg'] },
    ],
    { timeoutMs, ...(signal === undefined ? {} : { signal }) },
  );
  const target = Number((results[1] as { rows: Row[] }).rows[0]?.['nb_cfg']);
  const { column, who, hint } = waits[wait];
  const reached = (): boolean => Number(replica.rows('NB_Global')[0]?.[column] ?? 0) >= target;
  if (reached()) return target;
  await waitForReplica(replica, operation, Math.max(1, timeoutMs - (Date.now() - started)), signal, reached, {
    timeout: () =>
      `${who} did not update ${column} to ${target} (it is ${String(replica.rows('NB_Global')[0]?.[column] ?? 0)}; ${hint})`,
    aborted: abortedMessage,
    object: `NB_Global.${column}`,
  });
  return target;
}
