/**
 * {@link Vswitch}: typed `ovs-vsctl`-like configuration of Open vSwitch through its
 * database (bridges, ports, interfaces, `other_config`), with the checks of its arguments
 * and the confirmation of each change (lookups in the replica are in vswitch-lookup.ts, the
 * waits and interface checks of the confirmation in vswitch-confirm.ts).
 */
import { DpdkError, invalidArgument } from '../errors.js';
import { checkInteger, checkOptions, checkTimeout, describe } from '../validate.js';
import { OvsdbClient, type OvsdbClientOptions } from './ovsdb/client.js';
import type { CallOptions } from './ovsdb/connection.js';
import { namedUuid, type Atom, type Row, type RowInput } from './ovsdb/data.js';
import type { Monitor } from './ovsdb/monitor.js';
import type { Operation } from './ovsdb/operations.js';
import type { Replica } from './ovsdb/replica.js';
import { columnKind, columnSchema, tableSchema } from './ovsdb/schema.js';
import { formatShow } from './vsctl-format.js';
import { checkInterfacesAdded, waitForReplica } from './vswitch-confirm.js';
import {
  bridgeOfPort,
  findBridgeRow,
  findRecord,
  findRootRow,
  interfaceInfo,
  listBridges,
  listInterfaces,
  listPorts,
  monitoredTables,
} from './vswitch-lookup.js';
import {
  checkName,
  checkOtherConfig,
  checkStringRecord,
  mapToRecord,
  vswitchDb,
  type AddBridgeOptions,
  type AddPortOptions,
  type ApplyOptions,
  type DeleteOptions,
  type DpdkOtherConfigKey,
  type InterfaceInfo,
  type OvsOtherConfig,
  type VswitchOptions,
} from './vswitch-options.js';

export {
  mapToRecord,
  vswitchDb,
  type AddBridgeOptions,
  type AddPortOptions,
  type ApplyOptions,
  type DeleteOptions,
  type DpdkOtherConfigKey,
  type InterfaceInfo,
  type OvsOtherConfig,
  type VswitchOptions,
};

/**
 * Typed `ovs-vsctl`-like configuration of Open vSwitch through its database, without
 * running ovs-vsctl: bridges, ports, interfaces and `other_config`. Keeps a replica of
 * the Open_vSwitch, Bridge, Port, Interface, Controller and Manager tables.
 *
 * Changes are applied and confirmed as ovs-vsctl does: the transaction bumps `next_cfg`,
 * then the method waits until ovs-vswitchd reports `cur_cfg` reaching it, then reports
 * interfaces it could not add (`ofport` -1 or `error`) as errors. Pass `noWait` where no
 * ovs-vswitchd runs.
 */
export class Vswitch {
  /** The client used; owned (closed by {@link close}) when created by {@link connect}. */
  readonly client: OvsdbClient;
  /** The replica of the Open vSwitch tables. */
  readonly replica: Replica;
  readonly #monitor: Monitor;
  readonly #ownsClient: boolean;
  readonly #noWait: boolean;
  readonly #timeoutMs: number;

  private constructor(client: OvsdbClient, monitor: Monitor, ownsClient: boolean, options: VswitchOptions) {
    this.client = client;
    this.#monitor = monitor;
    this.replica = monitor.replica;
    this.#ownsClient = ownsClient;
    this.#noWait = options.noWait ?? false;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Opens helpers on an existing client (not closed by {@link close}). */
  static async open(client: OvsdbClient, options: VswitchOptions = {}): Promise<Vswitch> {
    return Vswitch.#create(client, options, false);
  }

  static async #create(client: OvsdbClient, options: VswitchOptions, ownsClient: boolean): Promise<Vswitch> {
    checkOptions<VswitchOptions>('Vswitch.open', options, ['noWait', 'timeoutMs']);
    checkTimeout('Vswitch.open', options.timeoutMs);
    const monitor = await client.monitor(vswitchDb, Object.fromEntries(monitoredTables.map((table) => [table, {}])), {
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    return new Vswitch(client, monitor, ownsClient, options);
  }

  /** Connects to the database at `target` (e.g. `unix:/run/openvswitch/db.sock`) and opens helpers on it. */
  static async connect(
    target: string,
    options: VswitchOptions & { client?: OvsdbClientOptions } = {},
  ): Promise<Vswitch> {
    checkOptions<VswitchOptions & { client?: OvsdbClientOptions }>('Vswitch.connect', options, [
      'noWait',
      'timeoutMs',
      'client',
    ]);
    const { client: clientOptions, ...vswitchOptions } = options;
    const client = await OvsdbClient.connect(target, { timeoutMs: options.timeoutMs ?? 30_000, ...clientOptions });
    try {
      return await Vswitch.#create(client, vswitchOptions, true);
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** Stops monitoring; closes the client when {@link connect} opened it. */
  close(): void {
    if (this.#ownsClient) this.client.close();
    // Best effort: the caller's client may be closed or reconnecting; the monitor is dropped either way.
    else void this.#monitor.cancel().catch(() => undefined);
  }

  /** Makes sure the Open_vSwitch row exists (`ovs-vsctl init`). */
  async init(options: ApplyOptions = {}): Promise<void> {
    this.#checkApplyOptions('init', options, []);
    if (this.replica.rows('Open_vSwitch').length > 0) return;
    await this.client.transact(
      vswitchDb,
      [
        { op: 'wait', table: 'Open_vSwitch', where: [], columns: ['_uuid'], until: '==', rows: [], timeout: 0 },
        { op: 'insert', table: 'Open_vSwitch', row: {} },
      ],
      this.#callOptions(options),
    );
    await waitForReplica(
      this.replica,
      'init',
      options.timeoutMs ?? this.#timeoutMs,
      options.signal,
      () => this.replica.rows('Open_vSwitch').length > 0,
    );
  }

  /** `other_config` of the Open_vSwitch row. */
  getOtherConfig(): OvsOtherConfig {
    return mapToRecord<string>(findRootRow(this.replica, 'getOtherConfig')['other_config']);
  }

  /**
   * Sets keys of `other_config` of the Open_vSwitch row (`null` removes a key); other keys
   * stay. DPDK keys are checked (`dpdk-init` true/false/try, masks in hex, socket-mem).
   * Note ovs-vswitchd reads most DPDK keys only when it starts.
   */
  async setOtherConfig(
    values: { [K in DpdkOtherConfigKey]?: string | null } & { [key: string]: string | null },
    options: ApplyOptions = {},
  ): Promise<void> {
    this.#checkApplyOptions('setOtherConfig', options, []);
    if (typeof values !== 'object' || values === null)
      invalidArgument('setOtherConfig', `values must be an object, got ${describe(values)}`);
    checkOtherConfig('setOtherConfig', values);
    const root = findRootRow(this.replica, 'setOtherConfig');
    const set = Object.fromEntries(
      Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== null),
    );
    await this.apply(
      'setOtherConfig',
      [
        {
          op: 'mutate',
          table: 'Open_vSwitch',
          where: [['_uuid', '==', root['_uuid']]],
          mutations: [
            ['other_config', 'delete', Object.keys(values)],
            ['other_config', 'insert', set],
          ],
        },
      ],
      options,
      [],
    );
  }

  /** Names of the bridges, sorted. */
  listBridges(): string[] {
    return listBridges(this.replica);
  }

  /** Names of the ports of `bridge`, sorted, without the bridge's own internal port. */
  listPorts(bridge: string): string[] {
    return listPorts(this.replica, bridge);
  }

  /** Names of the interfaces of the ports of `bridge`, sorted, without the bridge's own. */
  listInterfaces(bridge: string): string[] {
    return listInterfaces(this.replica, bridge);
  }

  /** The bridge that has port `port`, or undefined. */
  bridgeOfPort(port: string): string | undefined {
    return bridgeOfPort(this.replica, port);
  }

  /**
   * Adds bridge `name` with its internal port and interface (`ovs-vsctl add-br`).
   * @throws DpdkError `EEXIST` when it exists (unless `mayExist`), `EINVAL`, and the errors of {@link apply}.
   */
  async addBridge(name: string, options: AddBridgeOptions = {}): Promise<void> {
    const operation = 'addBridge';
    this.#checkApplyOptions(operation, options, ['datapathType', 'mayExist', 'failMode', 'externalIds', 'otherConfig']);
    checkName(operation, 'bridge', name);
    checkStringRecord(operation, 'externalIds', options.externalIds);
    checkStringRecord(operation, 'otherConfig', options.otherConfig);
    if (options.datapathType !== undefined && typeof options.datapathType !== 'string') {
      invalidArgument(
        operation,
        `datapathType must be a string such as "netdev", got ${describe(options.datapathType)}`,
      );
    }
    if (this.replica.find('Bridge', (row) => row['name'] === name) !== undefined) {
      if (options.mayExist === true) return;
      throw new DpdkError(`bridge ${name} already exists`, { code: 'EEXIST', operation, object: name });
    }
    const portOwner = this.bridgeOfPort(name);
    if (portOwner !== undefined || this.replica.find('Interface', (row) => row['name'] === name) !== undefined) {
      throw new DpdkError(
        `a port or interface named ${name} already exists${portOwner === undefined ? '' : ` on bridge ${portOwner}`}; the bridge's own port needs that name`,
        { code: 'EEXIST', operation, object: name },
      );
    }
    const root = findRootRow(this.replica, operation);
    const bridgeRow: { [column: string]: RowInput[string] } = {
      name,
      ports: [namedUuid('port')],
      datapath_type: options.datapathType ?? '',
      external_ids: options.externalIds ?? {},
      other_config: options.otherConfig ?? {},
    };
    if (options.failMode !== undefined) bridgeRow['fail_mode'] = options.failMode;
    await this.apply(
      operation,
      [
        this.#absent('Bridge', name),
        this.#absent('Port', name),
        this.#absent('Interface', name),
        { op: 'insert', table: 'Interface', uuidName: 'iface', row: { name, type: 'internal' } },
        { op: 'insert', table: 'Port', uuidName: 'port', row: { name, interfaces: [namedUuid('iface')] } },
        { op: 'insert', table: 'Bridge', uuidName: 'bridge', row: bridgeRow },
        {
          op: 'mutate',
          table: 'Open_vSwitch',
          where: [['_uuid', '==', root['_uuid']]],
          mutations: [['bridges', 'insert', [namedUuid('bridge')]]],
        },
      ],
      options,
      [name],
    );
  }

  /**
   * Deletes bridge `name` with its ports and interfaces (`ovs-vsctl del-br`).
   * @throws DpdkError `ENOENT` when it does not exist (unless `ifExists`).
   */
  async deleteBridge(name: string, options: DeleteOptions = {}): Promise<void> {
    const operation = 'deleteBridge';
    this.#checkApplyOptions(operation, options, ['ifExists']);
    checkName(operation, 'bridge', name);
    if (options.ifExists === true && this.replica.find('Bridge', (row) => row['name'] === name) === undefined) return;
    const bridge = findBridgeRow(this.replica, operation, name);
    const root = findRootRow(this.replica, operation);
    await this.apply(
      operation,
      [
        {
          op: 'mutate',
          table: 'Open_vSwitch',
          where: [['_uuid', '==', root['_uuid']]],
          mutations: [['bridges', 'delete', [bridge['_uuid']]]],
        },
      ],
      options,
      [],
    );
  }

  /**
   * Adds port `port` with one interface of the same name to `bridge` (`ovs-vsctl add-port`),
   * then (unless `noWait`) reports it as an error when ovs-vswitchd could not add it, saying
   * what to do where it can (a missing kernel device on a dummy switch, a DPDK type on a
   * switch without DPDK); the port is then removed again (ovs-vsctl would leave it).
   * @throws DpdkError `ENOENT` (no bridge), `EEXIST` (port exists, unless `mayExist` and on
   * this bridge), `EINVAL`, `ERR_OVS_INTERFACE` (ovs-vswitchd's error), and those of {@link apply}.
   */
  async addPort(bridge: string, port: string, options: AddPortOptions = {}): Promise<void> {
    const operation = 'addPort';
    this.#checkApplyOptions(operation, options, [
      'type',
      'options',
      'ofportRequest',
      'externalIds',
      'otherConfig',
      'mayExist',
    ]);
    checkName(operation, 'bridge', bridge);
    checkName(operation, 'port', port);
    checkStringRecord(operation, 'options', options.options);
    checkStringRecord(operation, 'externalIds', options.externalIds);
    checkStringRecord(operation, 'otherConfig', options.otherConfig);
    if (options.type !== undefined && (typeof options.type !== 'string' || !/^[a-z0-9_-]*$/.test(options.type))) {
      invalidArgument(
        operation,
        `interface type ${describe(options.type)} is not valid (expected lowercase letters, digits, "-", "_", such as "dpdkvhostuser")`,
      );
    }
    if (options.ofportRequest !== undefined) checkInteger(operation, 'ofportRequest', options.ofportRequest, 1, 65279);
    if (options.type === 'dpdkvhostuserclient' && options.options?.['vhost-server-path'] === undefined) {
      invalidArgument(
        operation,
        'type dpdkvhostuserclient needs options["vhost-server-path"] (the socket the vhost-user server listens on)',
      );
    }
    if (options.type === 'patch' && options.options?.['peer'] === undefined) {
      invalidArgument(operation, 'type patch needs options.peer (the name of the other patch interface)');
    }
    const bridgeRow = findBridgeRow(this.replica, operation, bridge);
    const existingBridge = this.bridgeOfPort(port);
    if (existingBridge !== undefined) {
      if (options.mayExist === true && existingBridge === bridge) return;
      throw new DpdkError(`port ${port} already exists on bridge ${existingBridge}`, {
        code: 'EEXIST',
        operation,
        object: port,
      });
    }
    const interfaceRow: { [column: string]: RowInput[string] } = {
      name: port,
      type: options.type ?? '',
      options: options.options ?? {},
      external_ids: options.externalIds ?? {},
      other_config: options.otherConfig ?? {},
    };
    if (options.ofportRequest !== undefined) interfaceRow['ofport_request'] = options.ofportRequest;
    try {
      await this.apply(
        operation,
        [
          this.#absent('Port', port),
          this.#absent('Interface', port),
          { op: 'insert', table: 'Interface', uuidName: 'iface', row: interfaceRow },
          { op: 'insert', table: 'Port', uuidName: 'port', row: { name: port, interfaces: [namedUuid('iface')] } },
          {
            op: 'mutate',
            table: 'Bridge',
            where: [['_uuid', '==', bridgeRow['_uuid']]],
            mutations: [['ports', 'insert', [namedUuid('port')]]],
          },
        ],
        options,
        [port],
      );
    } catch (error) {
      // ovs-vsctl leaves a port ovs-vswitchd refused configured; take it out again, so that a
      // failed addPort changes nothing and can be retried, corrected. The refusal is what the
      // caller needs to see: a failing clean-up would show in the next call.
      if (error instanceof DpdkError && error.code === 'ERR_OVS_INTERFACE') {
        await this.deletePort(port, { ifExists: true, ...this.#callOptions(options) }).catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * Deletes port `port` (`ovs-vsctl del-port`), from `bridge` when given (checked).
   * @throws DpdkError `ENOENT` when it does not exist (unless `ifExists`), `EINVAL` when it is on another bridge.
   */
  async deletePort(port: string, options: DeleteOptions & { bridge?: string } = {}): Promise<void> {
    const operation = 'deletePort';
    this.#checkApplyOptions(operation, options, ['ifExists', 'bridge']);
    checkName(operation, 'port', port);
    const owner = this.bridgeOfPort(port);
    if (owner === undefined) {
      if (options.ifExists === true) return;
      throw new DpdkError(`no port named ${port}`, { code: 'ENOENT', operation, object: port });
    }
    if (options.bridge !== undefined && options.bridge !== owner) {
      invalidArgument(operation, `port ${port} is on bridge ${owner}, not on ${options.bridge}`, port);
    }
    if (owner === port)
      invalidArgument(operation, `port ${port} is the bridge's own port; delete the bridge instead`, port);
    const bridgeRow = findBridgeRow(this.replica, operation, owner);
    const portRow = this.replica.find('Port', (row) => row['name'] === port)!;
    await this.apply(
      operation,
      [
        {
          op: 'mutate',
          table: 'Bridge',
          where: [['_uuid', '==', bridgeRow['_uuid']]],
          mutations: [['ports', 'delete', [portRow['_uuid']]]],
        },
      ],
      options,
      [],
    );
  }

  /**
   * What is known of interface `name`: type, ofport, error, states, options, statistics, status.
   * @throws DpdkError `ENOENT` when there is no such interface.
   */
  interface(name: string): InterfaceInfo {
    return interfaceInfo(this.replica, name);
  }

  /**
   * The row of `table` named by `record`: a name (for tables with a `name` column), a
   * uuid, or `.` for the single Open_vSwitch row. For generic `get`/`set`.
   * @throws DpdkError `EINVAL` for a table not monitored here, `ENOENT` when no row matches.
   */
  record(table: string, record: string): Readonly<Row> {
    return findRecord(this.replica, table, record);
  }

  /**
   * Sets columns of a row (`ovs-vsctl set`): `values` replaces whole columns; `mapKeys`
   * sets single keys of map columns (`column:key=value`), keeping other keys.
   * Interfaces touched are checked after applying, as in {@link addPort}.
   */
  async setColumns(
    table: string,
    record: string,
    values: RowInput,
    mapKeys: { readonly [column: string]: Readonly<Record<string, Atom>> } = {},
    options: ApplyOptions = {},
  ): Promise<void> {
    const operation = 'setColumns';
    this.#checkApplyOptions(operation, options, []);
    const row = this.record(table, record);
    const schema = tableSchema(this.replica.schema, table, operation);
    const mutations: [string, 'delete' | 'insert', unknown][] = [];
    for (const [column, pairs] of Object.entries(mapKeys)) {
      if (columnKind(columnSchema(schema, column, operation).type) !== 'map') {
        invalidArgument(operation, `${table}.${column} is not a map column, so ${column}:KEY=VALUE does not apply`);
      }
      mutations.push([column, 'delete', Object.keys(pairs)], [column, 'insert', pairs]);
    }
    const operations: Operation[] = [];
    if (Object.keys(values).length > 0)
      operations.push({ op: 'update', table, where: [['_uuid', '==', row['_uuid']]], row: values });
    for (const mutation of mutations) {
      operations.push({
        op: 'mutate',
        table,
        where: [['_uuid', '==', row['_uuid']]],
        mutations: [mutation as [string, 'delete' | 'insert', unknown]],
      });
    }
    if (operations.length === 0) invalidArgument(operation, 'nothing to set');
    await this.apply(operation, operations, options, table === 'Interface' ? [row['name'] as string] : []);
  }

  /**
   * What `ovs-vsctl show` prints: the Open_vSwitch uuid, managers, bridges with their
   * controllers, ports and interfaces, and the OVS version.
   */
  show(): string {
    return formatShow(this.replica);
  }

  /**
   * Runs `operations` and confirms them: adds the `next_cfg` bump, then (unless `noWait`)
   * waits for ovs-vswitchd's `cur_cfg` to reach it and checks the interfaces named in
   * `interfaces`. For changes the other methods do not cover.
   * @throws DpdkError `ERR_OVSDB` (the transaction failed), `ETIMEDOUT` (ovs-vswitchd did not
   * apply the change in time: is it running?), `ERR_OVS_INTERFACE` (an interface has
   * `ofport` -1 or an `error`), and the errors of {@link OvsdbClient.transact}.
   */
  async apply(
    operation: string,
    operations: Operation[],
    options: ApplyOptions,
    interfaces: readonly string[],
  ): Promise<void> {
    const noWait = options.noWait ?? this.#noWait;
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    const callOptions = this.#callOptions(options);
    if (noWait) {
      await this.client.transact(vswitchDb, operations, callOptions);
      return;
    }
    const root = findRootRow(this.replica, operation);
    const where = [['_uuid', '==', root['_uuid']]] as const;
    const results = await this.client.transact(
      vswitchDb,
      [
        ...operations,
        { op: 'mutate', table: 'Open_vSwitch', where, mutations: [['next_cfg', '+=', 1]] },
        { op: 'select', table: 'Open_vSwitch', where, columns: ['next_cfg'] },
      ],
      callOptions,
    );
    const selected = results[results.length - 1] as { rows: Row[] };
    const nextCfg = Number(selected.rows[0]?.['next_cfg']);
    await waitForReplica(
      this.replica,
      operation,
      Math.max(1, deadline - Date.now()),
      options.signal,
      () => Number(this.replica.rows('Open_vSwitch')[0]?.['cur_cfg'] ?? 0) >= nextCfg,
      {
        timeout: () =>
          `ovs-vswitchd did not apply the change (cur_cfg ${String(this.replica.rows('Open_vSwitch')[0]?.['cur_cfg'])} < next_cfg ${nextCfg}); is ovs-vswitchd running? (use noWait without one)`,
      },
    );
    checkInterfacesAdded(this.replica, operation, interfaces);
  }

  #checkApplyOptions(operation: string, options: ApplyOptions, extra: readonly string[]): void {
    checkOptions<{ [key: string]: unknown }>(operation, options, ['noWait', 'timeoutMs', 'signal', ...extra]);
    checkTimeout(operation, options.timeoutMs);
  }

  #callOptions(options: ApplyOptions): CallOptions {
    return {
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
  }

  /** A `wait` that fails the transaction when a row named `name` exists in `table`. */
  #absent(table: string, name: string): Operation {
    return { op: 'wait', table, where: [['name', '==', name]], columns: ['name'], until: '==', rows: [], timeout: 0 };
  }
}
