/**
 * {@link Southbound}: the read side of OVN's southbound database (which chassis exist, where
 * each logical port is bound), kept as a read-only replica through a monitor.
 */
import { DpdkError } from '../errors.js';
import { checkOptions, checkString, checkTimeout } from '../validate.js';
import { OvsdbClient } from '../ovs/ovsdb/client.js';
import type { Row } from '../ovs/ovsdb/data.js';
import type { Monitor } from '../ovs/ovsdb/monitor.js';
import type { Replica } from '../ovs/ovsdb/replica.js';
import { waitForReplica } from '../ovs/vswitch-confirm.js';

/** The name of OVN's southbound database. */
export const southboundDb = 'OVN_Southbound';

/** The southbound tables a {@link Southbound} replicates. */
export const southboundTables = ['Chassis', 'Chassis_Private', 'Encap', 'Port_Binding'] as const;

/** A chassis as the southbound database knows it (`Chassis` with its `Encap`s and `Chassis_Private`). */
export interface SouthboundChassis {
  /** `name`: the chassis's `system-id`. */
  name: string;
  /** `hostname`. */
  hostname: string;
  /** The tunnel endpoints (`Encap`): type (`geneve`, ...) and IP. */
  encaps: { type: string; ip: string }[];
  /** `Chassis_Private.nb_cfg`: the last northbound configuration this chassis applied (0 before any). */
  nbCfg: number;
}

/** Where a logical switch port is bound, from `Port_Binding` (see {@link Southbound.whereIs}). */
export interface PortLocation {
  /** `logical_port`. */
  logicalPort: string;
  /** The name of the chassis that claimed it, or undefined while none has. */
  chassis: string | undefined;
  /**
   * `up`: OVN's view (the chassis installed the port's flows). For a vhost-user port OVN
   * says up before any app has connected; the link is the chassis's Interface `link_state`.
   */
  up: boolean;
  /** `type` (`""` for a VIF, `patch`, `localnet`, ...). */
  type: string;
  /** `mac`: the addresses of the port, as northd copied them. */
  mac: string[];
  /** `tunnel_key` within its datapath. */
  tunnelKey: number;
}

/** Options of {@link Southbound.connect}. */
export interface SouthboundOptions {
  /** Timeout of the connection and of the initial contents, in milliseconds. Default 30000. */
  timeoutMs?: number;
}

/** Options of the waits of {@link Southbound}. */
export interface SouthboundWaitOptions {
  /** How long to wait, in milliseconds. Default 30000. */
  timeoutMs?: number;
  /** Ends the wait: it rejects with `ECANCELED`. */
  signal?: AbortSignal;
}

/**
 * A read-only replica of OVN_Southbound's `Chassis`, `Chassis_Private`, `Encap` and
 * `Port_Binding` tables, kept up to date by a monitor (restored after reconnects, as
 * every {@link OvsdbClient} monitor is). Nothing is written through it: ovn-northd and the
 * ovn-controllers own the southbound database.
 */
export class Southbound {
  /** The client; closed by {@link close}. */
  readonly client: OvsdbClient;
  /** The replica of the monitored tables (listen to its `change` event). */
  readonly replica: Replica;
  readonly #monitor: Monitor;
  #closed = false;

  private constructor(client: OvsdbClient, monitor: Monitor) {
    this.client = client;
    this.#monitor = monitor;
    this.replica = monitor.replica;
  }

  /**
   * Connects to the southbound database at `target` (e.g. `unix:/run/ovn/ovnsb_db.sock`)
   * and resolves once the replica holds its contents.
   * @throws DpdkError `EINVAL` for bad options, and the errors of {@link OvsdbClient.connect} and `monitor`.
   */
  static async connect(target: string, options: SouthboundOptions = {}): Promise<Southbound> {
    const operation = 'Southbound.connect';
    checkOptions<SouthboundOptions>(operation, options, ['timeoutMs']);
    checkString(operation, 'target', target);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? 30_000;
    const client = await OvsdbClient.connect(target, { timeoutMs });
    try {
      const monitor = await client.monitor(
        southboundDb,
        Object.fromEntries(southboundTables.map((table) => [table, {}])),
        { timeoutMs },
      );
      return new Southbound(client, monitor);
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** The chassis registered, by name. */
  chassis(): SouthboundChassis[] {
    return this.replica.rows('Chassis').map((row) => this.#chassisInfo(row));
  }

  /** Chassis `name`, or undefined when it is not registered. */
  chassisNamed(name: string): SouthboundChassis | undefined {
    const row = this.replica.find('Chassis', (candidate) => candidate['name'] === name);
    return row === undefined ? undefined : this.#chassisInfo(row);
  }

  /**
   * Where logical switch port `lsp` is bound (`Port_Binding`), or undefined when northd has
   * not created its binding (no such port in the northbound database, or northd behind).
   */
  whereIs(lsp: string): PortLocation | undefined {
    checkString('Southbound.whereIs', 'lsp', lsp);
    const row = this.replica.find('Port_Binding', (candidate) => candidate['logical_port'] === lsp);
    if (row === undefined) return undefined;
    const chassisUuid = row['chassis'];
    const chassis = typeof chassisUuid === 'string' ? this.replica.get('Chassis', chassisUuid) : undefined;
    return {
      logicalPort: lsp,
      chassis: chassis === undefined ? undefined : (chassis['name'] as string),
      up: row['up'] === true,
      type: (row['type'] as string | undefined) ?? '',
      mac: (row['mac'] as string[] | undefined) ?? [],
      tunnelKey: Number(row['tunnel_key'] ?? 0),
    };
  }

  /**
   * Resolves once `done()` holds, checked now and after each change of the replica.
   * @throws DpdkError `ETIMEDOUT` with `describe()`'s words ("... within N ms"), `ECANCELED`.
   */
  async waitFor(
    operation: string,
    done: () => boolean,
    describe: () => string,
    options: SouthboundWaitOptions = {},
  ): Promise<void> {
    checkOptions<SouthboundWaitOptions>(operation, options, ['timeoutMs', 'signal']);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? 30_000;
    this.#checkOpen(operation);
    await waitForReplica(this.replica, operation, timeoutMs, options.signal, done, { timeout: describe });
  }

  /**
   * Resolves once chassis `name` is registered with an encapsulation.
   * @throws DpdkError `ETIMEDOUT` ("chassis X did not register within N ms"), `ECANCELED`.
   */
  async waitForChassis(name: string, options: SouthboundWaitOptions = {}): Promise<SouthboundChassis> {
    const operation = 'Southbound.waitForChassis';
    checkString(operation, 'name', name);
    await this.waitFor(
      operation,
      () => (this.chassisNamed(name)?.encaps.length ?? 0) > 0,
      () => `chassis ${name} did not register in the southbound database`,
      options,
    );
    return this.chassisNamed(name)!;
  }

  /** Stops monitoring and closes the client. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.close();
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #checkOpen(operation: string): void {
    if (this.#closed || this.#monitor.canceled) {
      throw new DpdkError('Southbound is closed', { code: 'ERR_CLOSED', operation });
    }
  }

  #chassisInfo(row: Readonly<Row>): SouthboundChassis {
    const name = row['name'] as string;
    const encaps = ((row['encaps'] as string[] | undefined) ?? [])
      .map((uuid) => this.replica.get('Encap', uuid))
      .filter((encap) => encap !== undefined)
      .map((encap) => ({ type: encap['type'] as string, ip: encap['ip'] as string }));
    const private_ = this.replica.find('Chassis_Private', (candidate) => candidate['name'] === name);
    return {
      name,
      hostname: (row['hostname'] as string | undefined) ?? '',
      encaps,
      nbCfg: Number(private_?.['nb_cfg'] ?? 0),
    };
  }
}
