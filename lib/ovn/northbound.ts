/**
 * {@link OvnNorthbound}: typed configuration of OVN through its northbound database
 * (`ovn-nbctl`'s objects), on dpdk-ts's OVSDB client. The objects and their checks are in
 * nb-objects.ts and nb-syntax.ts, the `--wait=sb|hv` confirmation in nb-sync.ts.
 */
import { DpdkError, invalidArgument } from '../errors.js';
import { OvsdbClient, type OvsdbClientOptions } from '../ovs/ovsdb/client.js';
import type { CallOptions } from '../ovs/ovsdb/connection.js';
import { isUuid, namedUuid, type Row, type RowInput, type Value } from '../ovs/ovsdb/data.js';
import type { Monitor } from '../ovs/ovsdb/monitor.js';
import type { Operation } from '../ovs/ovsdb/operations.js';
import type { Replica } from '../ovs/ovsdb/replica.js';
import { waitForReplica } from '../ovs/vswitch-confirm.js';
import { columnKind, type ColumnType } from '../ovs/ovsdb/schema.js';
import { checkOptions, checkTimeout, describe } from '../validate.js';
import {
  kinds,
  type KindSpec,
  type NbKind,
  type NbObject,
  type NbObjectOptions,
  type NbUpdateOptions,
} from './nb-objects.js';
import { nbDb, sync, type SyncOptions } from './nb-sync.js';

/** Options of {@link OvnNorthbound.open} and {@link OvnNorthbound.connect}. */
export interface OvnNorthboundOptions {
  /** Default timeout of each call and wait, in milliseconds. Default 30000. */
  timeoutMs?: number;
}

/** Options of each write (`create`, `update`, `delete`). */
export interface NbWriteOptions {
  /** Timeout of the transaction, in milliseconds. Default: the client's. */
  timeoutMs?: number;
  /** Cancels the transaction (`ECANCELED`; its outcome is then unknown). */
  signal?: AbortSignal;
}

/** Options of {@link OvnNorthbound.delete}. */
export interface NbDeleteOptions extends NbWriteOptions {
  /** Do nothing when the object does not exist (else `ENOENT`). */
  ifExists?: boolean;
}

const kindNames = Object.keys(kinds) as NbKind[];

/** Whether a replica value (sets as arrays, maps as Maps) equals a value as written (maps as objects). */
function sameValue(stored: Value, written: unknown): boolean {
  const text = (value: unknown): string => {
    if (value instanceof Map) return text(Object.fromEntries(value));
    if (Array.isArray(value)) return JSON.stringify(value.map(String).sort());
    if (typeof value === 'object' && value !== null)
      return JSON.stringify(
        Object.entries(value)
          .map(([k, v]) => [k, String(v)])
          .sort(),
      );
    return JSON.stringify(value === null ? [] : [String(value)]);
  };
  return text(stored) === text(Array.isArray(written) || typeof written === 'object' ? written : [written]);
}
const namePattern = /^[^\s]{1,253}$/;

/** Switch ports and router ports share one namespace: the southbound Port_Binding's logical_port. */
const sharedNamespace: Partial<Record<NbKind, NbKind>> = { 'switch-port': 'router-port', 'router-port': 'switch-port' };

/**
 * Typed configuration of OVN's northbound database, as `ovn-nbctl` does it, without
 * running ovn-nbctl: logical switches and ports, routers, router ports, static routes,
 * router policies, ACLs, port groups, address sets, load balancers, mirrors and
 * forwarding groups ({@link NbKind}). Keeps a replica of their tables.
 *
 * Every write is one transaction: an object is inserted together with the reference that
 * holds it (a port in its switch's `ports`), so nothing is ever left half-created; names
 * are checked (unknown ones are `ENOENT`, taken ones `EEXIST`), and so is what ovn-northd
 * would only warn about later (addresses, networks, VIPs). {@link sync} confirms that
 * ovn-northd (and the chassis) have caught up, as `ovn-nbctl --wait=sb|hv sync`.
 *
 * ```ts
 * const nb = await OvnNorthbound.connect(central.nbTarget);
 * await nb.create('switch', { name: 'sw0' });
 * await nb.create('switch-port', { switch: 'sw0', name: 'vm1', addresses: ['00:00:00:00:00:01 10.0.0.1'] });
 * await nb.sync({ wait: 'hv' });
 * ```
 */
export class OvnNorthbound {
  /** The client used; owned (closed by {@link close}) when created by {@link connect}. */
  readonly client: OvsdbClient;
  /** The replica of NB_Global and of the tables of every {@link NbKind}. */
  readonly replica: Replica;
  readonly #monitor: Monitor;
  readonly #ownsClient: boolean;
  readonly #timeoutMs: number;

  private constructor(client: OvsdbClient, monitor: Monitor, ownsClient: boolean, timeoutMs: number) {
    this.client = client;
    this.#monitor = monitor;
    this.replica = monitor.replica;
    this.#ownsClient = ownsClient;
    this.#timeoutMs = timeoutMs;
  }

  /** Opens the client on an existing OVSDB client connected to OVN_Northbound (not closed by {@link close}). */
  static async open(client: OvsdbClient, options: OvnNorthboundOptions = {}): Promise<OvnNorthbound> {
    return OvnNorthbound.#create(client, options, false);
  }

  /**
   * Connects to the northbound database at `target` (e.g. `unix:/var/run/ovn/ovnnb_db.sock`).
   * @throws DpdkError as {@link OvsdbClient.connect}, and `EINVAL` for bad options.
   */
  static async connect(
    target: string,
    options: OvnNorthboundOptions & { client?: OvsdbClientOptions } = {},
  ): Promise<OvnNorthbound> {
    checkOptions<OvnNorthboundOptions & { client?: OvsdbClientOptions }>('OvnNorthbound.connect', options, [
      'timeoutMs',
      'client',
    ]);
    checkTimeout('OvnNorthbound.connect', options.timeoutMs);
    const { client: clientOptions, ...nbOptions } = options;
    const client = await OvsdbClient.connect(target, { timeoutMs: options.timeoutMs ?? 30_000, ...clientOptions });
    try {
      return await OvnNorthbound.#create(client, nbOptions, true);
    } catch (error) {
      client.close();
      throw error;
    }
  }

  static async #create(client: OvsdbClient, options: OvnNorthboundOptions, owns: boolean): Promise<OvnNorthbound> {
    checkOptions<OvnNorthboundOptions>('OvnNorthbound.open', options, ['timeoutMs']);
    const timeoutMs = checkTimeout('OvnNorthbound.open', options.timeoutMs) ?? 30_000;
    const tables = ['NB_Global', ...new Set(kindNames.map((kind) => kinds[kind].table))];
    const monitor = await client.monitor(nbDb, Object.fromEntries(tables.map((table) => [table, {}])), { timeoutMs });
    return new OvnNorthbound(client, monitor, owns, timeoutMs);
  }

  /** Stops monitoring; closes the client when {@link connect} opened it. */
  close(): void {
    if (this.#ownsClient) this.client.close();
    // Best effort: the caller's client may be closed or reconnecting; the monitor is dropped either way.
    else void this.#monitor.cancel().catch(() => undefined);
  }

  /**
   * Creates an object of `kind` with its options, in one transaction with the reference
   * that holds it (its switch, router or port group), and resolves with its uuid once the
   * replica shows it.
   * @throws DpdkError `EINVAL` (an unknown option, a bad value, a missing holder),
   * `ENOENT` (a holder or a named object that does not exist), `EEXIST` (the name is
   * taken), `ERR_OVSDB` (the server refused the transaction).
   */
  async create<K extends NbKind>(kind: K, options: NbObjectOptions[K], write: NbWriteOptions = {}): Promise<string> {
    const operation = 'create';
    const spec = this.#spec(operation, kind);
    checkOptions<Record<string, unknown>>(operation, options, [
      ...(spec.named ? ['name'] : []),
      ...spec.parents.map((parent) => parent.key),
      ...Object.keys(spec.columns),
    ]);
    const callOptions = this.#callOptions(operation, write, []);
    const given = options as unknown as Record<string, unknown>;
    for (const key of spec.required) {
      if (given[key] === undefined) invalidArgument(operation, `${spec.what} needs ${key}`);
    }
    const name = spec.named ? this.#checkName(operation, spec, given['name']) : undefined;
    const label = name === undefined ? spec.what : `${spec.what} ${name}`;
    const parents = spec.parents.filter((parent) => given[parent.key] !== undefined);
    if (spec.parents.length > 0 && parents.length !== 1) {
      invalidArgument(
        operation,
        `${spec.what} needs exactly one of ${spec.parents.map((parent) => parent.key).join(' or ')}, got ${parents.length}`,
      );
    }
    const holder = parents[0];
    const holderRow = holder === undefined ? undefined : this.#row(operation, holder.kind, given[holder.key]);
    if (name !== undefined) this.#checkNameFree(operation, kind, name);
    spec.validate?.(operation, given);
    const row = this.#encode(operation, spec, given);
    if (name !== undefined) row['name'] = name;
    const operations: Operation[] = [];
    if (name !== undefined) operations.push(this.#absent(spec.table, name));
    const insertIndex = operations.length;
    operations.push({ op: 'insert', table: spec.table, uuidName: 'created', row });
    if (holder !== undefined && holderRow !== undefined) {
      operations.push({
        op: 'mutate',
        table: kinds[holder.kind].table,
        where: [['_uuid', '==', holderRow['_uuid']]],
        mutations: [[holder.column, 'insert', [namedUuid('created')]]],
      });
    }
    const results = await this.#transact(operation, label, operations, callOptions);
    const uuid = (results[insertIndex] as { uuid: string }).uuid;
    await this.#showing(operation, write, () => this.replica.get(spec.table, uuid) !== undefined);
    return uuid;
  }

  /**
   * Changes options of an object (found by name, or by uuid for unnamed kinds); options
   * not given stay. Lists and maps given replace the stored ones.
   * @throws DpdkError `ENOENT` when it does not exist, else as {@link create}.
   */
  async update<K extends NbKind>(
    kind: K,
    nameOrUuid: string,
    changes: NbUpdateOptions<K>,
    write: NbWriteOptions = {},
  ): Promise<void> {
    const operation = 'update';
    const spec = this.#spec(operation, kind);
    checkOptions<Record<string, unknown>>(operation, changes, Object.keys(spec.columns));
    const callOptions = this.#callOptions(operation, write, []);
    const row = this.#row(operation, kind, nameOrUuid);
    const given = changes as Record<string, unknown>;
    if (Object.keys(given).length === 0) invalidArgument(operation, 'nothing to update: give at least one option');
    spec.validate?.(operation, { ...this.#decode(kind, row), ...given });
    const values = this.#encode(operation, spec, given);
    const uuid = row['_uuid'] as string;
    await this.#transact(
      operation,
      `${spec.what} ${nameOrUuid}`,
      [{ op: 'update', table: spec.table, where: [['_uuid', '==', uuid]], row: values }],
      callOptions,
    );
    // ovsdb-server sends no update for a write that changes nothing: wait only when something changes.
    const changed = Object.entries(values).some(
      ([column, value]) => !sameValue(this.#column(spec.table, row, column), value),
    );
    const version = row['_version'];
    if (changed)
      await this.#showing(operation, write, () => this.replica.get(spec.table, uuid)?.['_version'] !== version);
  }

  /**
   * Deletes an object (found by name, or by uuid for unnamed kinds), with what it holds
   * (a switch's ports and ACLs, a router's ports, routes and policies).
   * @throws DpdkError `ENOENT` when it does not exist (unless `ifExists`), `ERR_OVSDB`.
   */
  async delete(kind: NbKind, nameOrUuid: string, options: NbDeleteOptions = {}): Promise<void> {
    const operation = 'delete';
    const spec = this.#spec(operation, kind);
    const callOptions = this.#callOptions(operation, options, ['ifExists']);
    if (options.ifExists === true && this.#find(spec, nameOrUuid) === undefined) return;
    const uuid = this.#row(operation, kind, nameOrUuid)['_uuid'] as string;
    const operations: Operation[] = [];
    // A child row goes with its holder's strong reference; a root row is deleted.
    for (const parent of spec.parents) {
      const table = kinds[parent.kind].table;
      for (const holder of this.replica.rows(table)) {
        if ((this.#column(table, holder, parent.column) as string[]).includes(uuid)) {
          operations.push({
            op: 'mutate',
            table,
            where: [['_uuid', '==', holder['_uuid']]],
            mutations: [[parent.column, 'delete', [uuid]]],
          });
        }
      }
    }
    if (spec.parents.length === 0 || operations.length === 0) {
      operations.push({ op: 'delete', table: spec.table, where: [['_uuid', '==', uuid]] });
    }
    await this.#transact(operation, `${spec.what} ${nameOrUuid}`, operations, callOptions);
    await this.#showing(operation, options, () => this.replica.get(spec.table, uuid) === undefined);
  }

  /**
   * An object as stored (found by name, or by uuid for unnamed kinds), with its holder
   * (`switch`, `router`, `portGroup`) and names in place of references.
   * @throws DpdkError `ENOENT` when it does not exist.
   */
  get<K extends NbKind>(kind: K, nameOrUuid: string): NbObject<K> {
    return this.#decode(kind, this.#row('get', kind, nameOrUuid)) as unknown as NbObject<K>;
  }

  /** Every object of `kind`, as {@link get} returns them, sorted by name (else by uuid). */
  list<K extends NbKind>(kind: K): NbObject<K>[] {
    const spec = this.#spec('list', kind);
    const key = (row: Readonly<Row>): string => String(spec.named ? row['name'] : row['_uuid']);
    return this.replica
      .rows(spec.table)
      .sort((a, b) => key(a).localeCompare(key(b)))
      .map((row) => this.#decode(kind, row) as unknown as NbObject<K>);
  }

  /**
   * Bumps `NB_Global.nb_cfg` and waits until ovn-northd (`wait: 'sb'`) or also every
   * chassis (`wait: 'hv'`) has caught up, as `ovn-nbctl --wait=sb|hv sync`. Resolves
   * with the `nb_cfg` reached.
   * @throws DpdkError `ETIMEDOUT` naming what did not catch up (`ovn-northd did not update
   * sb_cfg to 5 within 2000 ms ...`), `ECANCELED` when `signal` aborts, `EINVAL`.
   */
  async sync(options: SyncOptions = {}): Promise<number> {
    return sync(this.client, this.replica, options, this.#timeoutMs);
  }

  #spec(operation: string, kind: unknown): KindSpec {
    if (typeof kind !== 'string' || !(kindNames as string[]).includes(kind)) {
      invalidArgument(operation, `unknown kind ${describe(kind)} (expected one of: ${kindNames.join(', ')})`);
    }
    return kinds[kind as NbKind];
  }

  #checkName(operation: string, spec: KindSpec, name: unknown): string {
    if (typeof name !== 'string' || !namePattern.test(name)) {
      invalidArgument(
        operation,
        `${spec.what} name ${describe(name)} is not valid (expected a non-empty string without spaces)`,
      );
    }
    return name;
  }

  #checkNameFree(operation: string, kind: NbKind, name: string): void {
    for (const other of [kind, sharedNamespace[kind]]) {
      if (other === undefined || this.#find(kinds[other], name) === undefined) continue;
      const shared = other === kind ? '' : ' (switch and router ports share one namespace)';
      throw new DpdkError(`${kinds[other].what} ${name} already exists${shared}`, {
        code: 'EEXIST',
        operation,
        object: name,
      });
    }
  }

  #find(spec: KindSpec, nameOrUuid: string): Readonly<Row> | undefined {
    if (spec.named) {
      const byName = this.replica.find(spec.table, (row) => row['name'] === nameOrUuid);
      if (byName !== undefined) return byName;
    }
    return isUuid(nameOrUuid) ? this.replica.get(spec.table, nameOrUuid) : undefined;
  }

  /** The row of an object that must exist. */
  #row(operation: string, kind: NbKind, nameOrUuid: unknown): Readonly<Row> {
    const spec = kinds[kind];
    if (typeof nameOrUuid !== 'string' || nameOrUuid === '') {
      invalidArgument(operation, `${spec.what} must be named by a non-empty string, got ${describe(nameOrUuid)}`);
    }
    const row = this.#find(spec, nameOrUuid);
    if (row === undefined) {
      throw new DpdkError(`${spec.what} ${nameOrUuid} does not exist`, {
        code: 'ENOENT',
        operation,
        object: nameOrUuid,
      });
    }
    return row;
  }

  /** The columns of the options given, checked, with named references resolved to uuids. */
  #encode(
    operation: string,
    spec: KindSpec,
    given: Readonly<Record<string, unknown>>,
  ): Record<string, RowInput[string]> {
    const row: Record<string, RowInput[string]> = {};
    for (const [key, column] of Object.entries(spec.columns)) {
      if (given[key] === undefined) continue;
      let value = column.check(operation, key, given[key]);
      if (column.refs !== undefined) {
        const rows = (value as string[]).map((name) => this.#row(operation, column.refs as NbKind, name));
        if (column.storesNames !== true) value = rows.map((ref) => ref['_uuid'] as string);
      }
      row[column.column] = value as RowInput[string];
    }
    return row;
  }

  /** A row as options: maps as objects, references as names, empty optional values left out. */
  #decode(kind: NbKind, row: Readonly<Row>): Record<string, unknown> {
    const spec = kinds[kind];
    const object: Record<string, unknown> = { uuid: row['_uuid'] };
    if (spec.named) object['name'] = row['name'];
    for (const parent of spec.parents) {
      const table = kinds[parent.kind].table;
      const holder = this.replica.find(table, (candidate) =>
        (this.#column(table, candidate, parent.column) as string[]).includes(row['_uuid'] as string),
      );
      if (holder !== undefined) object[parent.key] = kinds[parent.kind].named ? holder['name'] : holder['_uuid'];
    }
    for (const [key, column] of Object.entries(spec.columns)) {
      let value: unknown = this.#column(spec.table, row, column.column);
      if (value === null) continue;
      if (value instanceof Map) value = Object.fromEntries([...value].map(([k, v]) => [String(k), v]));
      if (column.refs !== undefined && column.storesNames !== true) {
        const target = kinds[column.refs];
        value = (value as string[]).map((uuid) => String(this.replica.get(target.table, uuid)?.['name'] ?? uuid));
      }
      if (
        (Array.isArray(value) && value.length === 0) ||
        (typeof value === 'object' && Object.keys(value as object).length === 0)
      )
        continue;
      object[key] = value;
    }
    return object;
  }

  /**
   * A column of a replica row, or its default when the row lacks it: ovsdb-server leaves
   * columns at their defaults out of `update2` rows.
   */
  #column(table: string, row: Readonly<Row>, column: string): Value {
    const value = row[column];
    if (value !== undefined) return value;
    const type = this.replica.schema.tables.get(table)?.columns.get(column)?.type as ColumnType;
    const kind = columnKind(type);
    if (kind === 'set') return [];
    if (kind === 'map') return new Map();
    if (kind === 'optional') return null;
    return { string: '', integer: 0, real: 0, boolean: false, uuid: null }[type.key.type] ?? null;
  }

  #callOptions(operation: string, options: NbWriteOptions, extra: readonly 'ifExists'[]): CallOptions {
    checkOptions<NbDeleteOptions>(operation, options, ['timeoutMs', 'signal', ...extra]);
    checkTimeout(operation, options.timeoutMs);
    return {
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
  }

  async #transact(operation: string, object: string, operations: Operation[], options: CallOptions) {
    try {
      return await this.client.transact(nbDb, operations, options);
    } catch (error) {
      if (!(error instanceof DpdkError) || error.code !== 'ERR_OVSDB') throw error;
      // A `wait` failed: another client took the name between our check and the commit.
      throw new DpdkError(`${object}: ${error.message}`, { code: error.code, operation, object, cause: error });
    }
  }

  /** Waits until the replica shows the change just committed (the monitor's update may trail the reply). */
  async #showing(operation: string, options: NbWriteOptions, done: () => boolean): Promise<void> {
    await waitForReplica(this.replica, operation, options.timeoutMs ?? this.#timeoutMs, options.signal, done);
  }

  /** A `wait` that fails the transaction when a row named `name` exists in `table`. */
  #absent(table: string, name: string): Operation {
    return { op: 'wait', table, where: [['name', '==', name]], columns: ['name'], until: '==', rows: [], timeout: 0 };
  }
}
