/**
 * {@link OvnSandbox}: a private OVN deployment on one machine, for tests and labs: a central
 * ({@link OvnCentral}: NB and SB ovsdb-servers, ovn-northd) and N simulated chassis
 * ({@link OvnChassis}), each in its own network namespace, joined by an underlay Linux bridge
 * in a namespace of its own, with Geneve in OVS userspace.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DpdkError, invalidArgument } from '../errors.js';
import { killAtExit, releaseAtExit, type ExitKillable } from '../ovs/daemon.js';
import { waitForReplica } from '../ovs/vswitch-confirm.js';
import { checkBoolean, checkInteger, checkOptions, checkTimeout, describe } from '../validate.js';
import { moveNf, type AttachedPort, type MoveOptions } from './attach.js';
import { OvnCentral } from './central.js';
import { deleteNamespaceNow, ip, namespaceExists } from './chassis-daemons.js';
import { OvnChassis } from './chassis.js';
import { Southbound, type PortLocation } from './southbound.js';

/** How one chassis of an {@link OvnSandbox} is made. */
export interface OvnSandboxChassisOptions {
  /** The chassis name (`system-id`): letters, digits, `.`, `_`, `-`, at most 32. Default `chassis-N` (N from 1). */
  name?: string;
  /**
   * Run the DPDK ovs-vswitchd (needed for vhost-user ports, i.e. to host NFs). Default false:
   * the plain ovs-vswitchd, netdev datapath, no hugepages, no busy polling.
   */
  dpdk?: boolean;
  /**
   * `other_config` of the chassis's Open_vSwitch row. For DPDK chassis the defaults are
   * `dpdk-init=true`, `dpdk-socket-mem=128`, `pmd-maxsleep=10000` (idle PMDs sleep up to
   * 10 ms), `per-port-memory=true` and `dpdk-extra=--no-pci`; a unique `--file-prefix` is always appended (and
   * `--legacy-mem` when `dpdk-extra` has `--no-huge`). Pin PMDs with `pmd-cpu-mask`.
   */
  otherConfig?: Readonly<Record<string, string>>;
}

/** Options of {@link OvnSandbox.start}. */
export interface OvnSandboxOptions {
  /** The chassis: a count of plain chassis, or one entry per chassis. Default 2. At most 250. */
  chassis?: number | readonly OvnSandboxChassisOptions[];
  /**
   * The prefix of the network namespaces: `PREFIX-underlay` and `PREFIX-CHASSIS`. Default
   * `ovn` and 8 random hex digits. None may exist yet.
   */
  namespacePrefix?: string;
  /** The prefix of the private directory; keep it short (unix socket paths stay under 108 bytes). Default `/tmp/ovn`. */
  dirPrefix?: string;
  /** Timeout of each daemon start and of each wait, in milliseconds. Default 60000. */
  timeoutMs?: number;
}

/** Where a network function is, by both accounts (see {@link OvnSandbox.whereIs}). */
export interface NfLocation extends PortLocation {
  /** `external_ids:ovn-installed` of its Interface on the bound chassis (false when unbound). */
  ovnInstalled: boolean;
  /** The Interface's `link_state` on the bound chassis: the vhost-user link, which OVN's `up` is not. */
  linkState: string | undefined;
  /** Whether the app's virtio side is connected to the port on the bound chassis. */
  connected: boolean | undefined;
}

/** The underlay subnet: private to the sandbox's namespaces, so every sandbox can use the same one. */
const underlaySubnet = '192.168.100.';
const underlayPrefixLength = 24;
const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const prefixPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** The chassis options, checked, with names filled in. */
function chassisPlan(operation: string, chassis: OvnSandboxOptions['chassis']): Required<OvnSandboxChassisOptions>[] {
  const entries: OvnSandboxChassisOptions[] =
    typeof chassis === 'number' || chassis === undefined
      ? Array.from({ length: checkInteger(operation, 'chassis', chassis ?? 2, 1, 250) }, () => ({}))
      : Array.isArray(chassis) && chassis.length >= 1 && chassis.length <= 250
        ? [...(chassis as OvnSandboxChassisOptions[])]
        : invalidArgument(
            operation,
            `chassis must be a count from 1 to 250 or 1 to 250 entries, got ${describe(chassis)}`,
          );
  const names = new Set<string>();
  return entries.map((entry, index) => {
    checkOptions<OvnSandboxChassisOptions>(`${operation} chassis[${index}]`, entry, ['name', 'dpdk', 'otherConfig']);
    const name = entry.name ?? `chassis-${index + 1}`;
    if (typeof name !== 'string' || !namePattern.test(name)) {
      invalidArgument(
        operation,
        `chassis[${index}].name must be 1 to 32 letters, digits, ".", "_" or "-", got ${describe(name)}`,
      );
    }
    if (names.has(name)) invalidArgument(operation, `chassis[${index}].name ${name} is used twice`);
    names.add(name);
    if (entry.dpdk !== undefined) checkBoolean(operation, `chassis[${index}].dpdk`, entry.dpdk);
    for (const [key, value] of Object.entries(entry.otherConfig ?? {})) {
      if (typeof value !== 'string')
        invalidArgument(operation, `chassis[${index}].otherConfig["${key}"] must be a string, got ${describe(value)}`);
    }
    return { name, dpdk: entry.dpdk ?? false, otherConfig: entry.otherConfig ?? {} };
  });
}

/**
 * A private OVN deployment: an {@link OvnCentral} and N {@link OvnChassis}, each chassis in
 * its own network namespace, joined by a Linux bridge in an underlay namespace (chassis N
 * has `192.168.100.N` on its `br-phy`). When {@link start} resolves, every chassis is
 * registered in the southbound database, has a Geneve tunnel port to every other chassis on
 * its `br-int`, and knows every other chassis's underlay MAC (so no first packet is dropped
 * while a tunnel resolves its next hop). {@link close} stops and removes everything; a
 * process exit, failure or Ctrl-C does the same.
 */
export class OvnSandbox {
  /** The private directory: the central's and each chassis's directories are inside. */
  readonly runDir: string;
  /** The network namespace of the underlay bridge. */
  readonly underlayNamespace: string;
  /** The central: NB and SB databases and ovn-northd. */
  readonly central: OvnCentral;
  /** A read-only replica of the southbound database (chassis, port bindings). */
  readonly southbound: Southbound;
  /** The chassis, in the order given. */
  readonly chassis: readonly OvnChassis[];
  readonly #timeoutMs: number;
  readonly #underlay: ExitKillable;
  #closed = false;

  private constructor(
    runDir: string,
    underlayNamespace: string,
    central: OvnCentral,
    southbound: Southbound,
    chassis: OvnChassis[],
    timeoutMs: number,
    underlay: ExitKillable,
  ) {
    this.runDir = runDir;
    this.underlayNamespace = underlayNamespace;
    this.central = central;
    this.southbound = southbound;
    this.chassis = chassis;
    this.#timeoutMs = timeoutMs;
    this.#underlay = underlay;
  }

  /**
   * Starts the central, the underlay and the chassis, then waits until the chassis see each
   * other (registered, tunnel ports made, tunnel neighbours set). On failure or a bad
   * option nothing is left behind.
   * @throws DpdkError `EINVAL` for bad options, `EEXIST` when a namespace of the sandbox
   * already exists (nothing is made then), `ERR_OVS_DAEMON` when a daemon fails to start,
   * `ETIMEDOUT`.
   */
  static async start(options: OvnSandboxOptions = {}): Promise<OvnSandbox> {
    const operation = 'OvnSandbox.start';
    checkOptions<OvnSandboxOptions>(operation, options, ['chassis', 'namespacePrefix', 'dirPrefix', 'timeoutMs']);
    const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? 60_000;
    const plan = chassisPlan(operation, options.chassis);
    const prefix = options.namespacePrefix ?? `ovn${randomBytes(4).toString('hex')}`;
    if (typeof prefix !== 'string' || !prefixPattern.test(prefix)) {
      invalidArgument(
        operation,
        `namespacePrefix must be 1 to 32 letters, digits, ".", "_" or "-", got ${describe(prefix)}`,
      );
    }
    const underlayNamespace = `${prefix}-underlay`;
    for (const namespace of [underlayNamespace, ...plan.map((entry) => `${prefix}-${entry.name}`)]) {
      if (namespaceExists(namespace)) {
        throw new DpdkError(
          `network namespace ${namespace} already exists (another sandbox, or one left by a killed run: ip netns delete ${namespace})`,
          { code: 'EEXIST', operation, object: namespace },
        );
      }
    }

    const runDir = mkdtempSync(options.dirPrefix ?? '/tmp/ovn');
    let central: OvnCentral | undefined;
    let southbound: Southbound | undefined;
    const chassis: OvnChassis[] = [];
    // The central and the chassis register themselves; this removes the rest at a process exit.
    const underlay: ExitKillable = {
      killNow(): void {
        deleteNamespaceNow(underlayNamespace);
        rmSync(runDir, { recursive: true, force: true });
      },
    };
    killAtExit(underlay);
    try {
      central = await OvnCentral.start({ dirPrefix: join(runDir, 'central-'), timeoutMs });
      southbound = await Southbound.connect(central.sbTarget, { timeoutMs });
      await ip(['netns', 'add', underlayNamespace], operation, timeoutMs);
      await ip(['-n', underlayNamespace, 'link', 'add', 'br0', 'type', 'bridge'], operation, timeoutMs);
      await ip(['-n', underlayNamespace, 'link', 'set', 'br0', 'up'], operation, timeoutMs);
      const started = await Promise.allSettled(
        plan.map((entry, index) =>
          OvnChassis.start({
            name: entry.name,
            namespace: `${prefix}-${entry.name}`,
            dir: join(runDir, entry.name),
            southboundTarget: central!.sbTarget,
            southbound: southbound!,
            underlay: {
              namespace: underlayNamespace,
              bridge: 'br0',
              peer: `c${index + 1}`,
              ip: `${underlaySubnet}${index + 1}`,
              prefixLength: underlayPrefixLength,
              mac: `02:00:c0:a8:64:${(index + 1).toString(16).padStart(2, '0')}`,
            },
            dpdk: entry.dpdk,
            otherConfig: entry.otherConfig,
            timeoutMs,
          }),
        ),
      );
      for (const result of started) if (result.status === 'fulfilled') chassis.push(result.value);
      const failed = started.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const sandbox = new OvnSandbox(runDir, underlayNamespace, central, southbound, chassis, timeoutMs, underlay);
      await sandbox.#connectChassis();
      return sandbox;
    } catch (error) {
      await Promise.all(chassis.map((entry) => entry.close()));
      southbound?.close();
      await central?.close();
      deleteNamespaceNow(underlayNamespace);
      rmSync(runDir, { recursive: true, force: true });
      releaseAtExit(underlay);
      throw error;
    }
  }

  /**
   * Chassis `name`.
   * @throws DpdkError `ENOENT` when the sandbox has no such chassis.
   */
  chassisNamed(name: string): OvnChassis {
    const found = this.chassis.find((entry) => entry.name === name);
    if (found === undefined) {
      throw new DpdkError(
        `no chassis named ${describe(name)} (the sandbox has ${this.chassis.map((entry) => entry.name).join(', ')})`,
        { code: 'ENOENT', operation: 'OvnSandbox.chassisNamed', object: String(name) },
      );
    }
    return found;
  }

  /**
   * Where logical switch port `lsp` is: the southbound binding (chassis, OVN's `up`) and, on
   * the bound chassis, whether its flows are installed and whether the app is connected.
   * Undefined when the southbound database has no binding for it.
   */
  whereIs(lsp: string): NfLocation | undefined {
    const location = this.southbound.whereIs(lsp);
    if (location === undefined) return undefined;
    const chassis = this.chassis.find((entry) => entry.name === location.chassis);
    const state = chassis?.portState(lsp);
    return {
      ...location,
      ovnInstalled: state?.ovnInstalled ?? false,
      linkState: state?.linkState,
      connected: state?.connected,
    };
  }

  /**
   * Moves network function `lsp` to chassis `to` from the chassis it is attached to (see
   * {@link moveNf}).
   * @throws DpdkError `ENOENT` when no chassis of the sandbox has it or `to` does not exist,
   * `EINVAL` when it is on `to` already, and those of {@link moveNf}.
   */
  async move(lsp: string, to: string, options: MoveOptions = {}): Promise<AttachedPort> {
    const operation = 'OvnSandbox.move';
    const target = this.chassisNamed(to);
    const from = this.chassis.find((entry) => entry.portState(lsp) !== undefined);
    if (from === undefined) {
      throw new DpdkError(`logical switch port ${describe(lsp)} is not attached to any chassis of the sandbox`, {
        code: 'ENOENT',
        operation,
        object: String(lsp),
      });
    }
    if (from === target) invalidArgument(operation, `logical switch port ${lsp} is already on chassis ${to}`, lsp);
    return moveNf(from, target, lsp, options);
  }

  /** Stops the chassis and the central, deletes the namespaces and removes the directory. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.chassis.map((entry) => entry.close()));
    this.southbound.close();
    await this.central.close();
    deleteNamespaceNow(this.underlayNamespace);
    rmSync(this.runDir, { recursive: true, force: true });
    releaseAtExit(this.#underlay);
  }

  /**
   * Waits until each chassis has a Geneve port to every other one on `br-int`, and tells each
   * chassis's userspace tunnel every other chassis's underlay MAC.
   */
  async #connectChassis(): Promise<void> {
    const others = this.chassis.length - 1;
    for (const chassis of this.chassis) {
      const replica = chassis.vswitch.replica;
      await waitForReplica(
        replica,
        'OvnSandbox.start',
        this.#timeoutMs,
        undefined,
        () => replica.rows('Interface').filter((row) => row['type'] === 'geneve').length >= others,
        { timeout: () => `chassis ${chassis.name} did not make its ${others} Geneve tunnel port(s)` },
      );
      for (const peer of this.chassis) if (peer !== chassis) await chassis.setTunnelNeighbour(peer);
    }
  }
}
