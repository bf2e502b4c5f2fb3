/**
 * Attaching network functions to OVN: a `dpdkvhostuserclient` port on a chassis's `br-int`
 * bound to a logical switch port through `external_ids:iface-id`, the wait until OVN has
 * installed it, detaching, and moving an NF from one chassis to another.
 */
import { DpdkError, invalidArgument } from '../errors.js';
import { waitForReplica } from '../ovs/vswitch-confirm.js';
import { mapToRecord } from '../ovs/vswitch-options.js';
import type { Vswitch } from '../ovs/vswitch.js';
import { checkOptions, checkSocketPath, checkString, checkTimeout, describe } from '../validate.js';
import type { OvnChassis } from './chassis.js';
import type { Southbound } from './southbound.js';

/** Options of {@link OvnChassis.attach}. */
export interface AttachOptions {
  /** The app's vhost-user server socket (a virtio-user port with `server=1`): `options:vhost-server-path`. */
  socketPath: string;
  /** The name of the port on `br-int`. Default: the LSP's name. */
  port?: string;
  /** How long to wait for the port to be added, bound and installed, in milliseconds. Default 30000. */
  timeoutMs?: number;
  /** Ends the wait (the port is removed again): rejects with `ECANCELED`. */
  signal?: AbortSignal;
}

/** Options of {@link OvnChassis.detach}. */
export interface DetachOptions {
  /** How long to wait for the port's removal and release, in milliseconds. Default 30000. */
  timeoutMs?: number;
  /** Ends the wait: rejects with `ECANCELED`. */
  signal?: AbortSignal;
}

/** Options of {@link moveNf}: those of {@link OvnChassis.attach}, where `socketPath` defaults to the one in use. */
export type MoveOptions = Omit<AttachOptions, 'socketPath'> & { socketPath?: string };

/** A network function's port as {@link OvnChassis.attach} left it. */
export interface AttachedPort {
  /** The logical switch port. */
  lsp: string;
  /** The chassis it is bound to. */
  chassis: string;
  /** The port (and interface) name on `br-int`. */
  port: string;
  /** The app's vhost-user server socket. */
  socketPath: string;
}

/** The state of an LSP's port on one chassis (see {@link OvnChassis.portState}). */
export interface ChassisPortState {
  /** The port (and interface) name on `br-int`. */
  port: string;
  /** `options:vhost-server-path`, for vhost-user client ports. */
  socketPath: string | undefined;
  /** `external_ids:ovn-installed=true`: ovn-controller installed the port's flows. Not the link. */
  ovnInstalled: boolean;
  /** The Interface's `link_state` (`up`, `down`), undefined until ovs-vswitchd reports it. */
  linkState: string | undefined;
  /** For vhost-user ports: whether the app's virtio side is connected. */
  connected: boolean | undefined;
  /** The OpenFlow port number, once ovs-vswitchd has added it. */
  ofport: number | undefined;
}

/** @internal What the attach functions need of a chassis. */
export interface ChassisContext {
  operation: string;
  chassis: string;
  vswitch: Vswitch;
  southbound: Southbound;
}

const portPattern = /^[^\s/]{1,64}$/;

/** @internal The port with `external_ids:iface-id=lsp` on this chassis's `br-int`, and its state. */
export function portOfLsp(vswitch: Vswitch, lsp: string): ChassisPortState | undefined {
  const row = vswitch.replica.find(
    'Interface',
    (candidate) => mapToRecord<string>(candidate['external_ids'])['iface-id'] === lsp,
  );
  if (row === undefined) return undefined;
  const info = vswitch.interface(row['name'] as string);
  return {
    port: info.name,
    socketPath: info.options['vhost-server-path'],
    ovnInstalled: info.externalIds['ovn-installed'] === 'true',
    linkState: info.linkState,
    connected: info.connected,
    ofport: info.ofport !== undefined && info.ofport > 0 ? info.ofport : undefined,
  };
}

/** @internal see {@link OvnChassis.attach}. */
export async function attachPort(context: ChassisContext, lsp: string, options: AttachOptions): Promise<AttachedPort> {
  const { operation, chassis, vswitch, southbound } = context;
  checkString(operation, 'lsp', lsp);
  if (lsp === '') invalidArgument(operation, 'lsp must name a logical switch port, got ""');
  checkOptions<AttachOptions>(operation, options, ['socketPath', 'port', 'timeoutMs', 'signal']);
  const socketPath = checkSocketPath(operation, 'socketPath', options.socketPath);
  const port = options.port ?? lsp;
  if (typeof port !== 'string' || !portPattern.test(port)) {
    invalidArgument(operation, `port must be 1 to 64 characters without spaces or "/", got ${describe(port)}`);
  }
  const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? 30_000;
  const existing = portOfLsp(vswitch, lsp);
  if (existing !== undefined) {
    throw new DpdkError(
      `logical switch port ${lsp} is already attached to chassis ${chassis} as port ${existing.port}`,
      {
        code: 'EEXIST',
        operation,
        object: lsp,
      },
    );
  }
  const deadline = Date.now() + timeoutMs;
  const signal = options.signal;
  await vswitch.addPort('br-int', port, {
    type: 'dpdkvhostuserclient',
    options: { 'vhost-server-path': socketPath },
    externalIds: { 'iface-id': lsp },
    timeoutMs,
    ...(signal === undefined ? {} : { signal }),
  });
  try {
    await waitForReplica(
      [southbound.replica, vswitch.replica],
      operation,
      Math.max(1, deadline - Date.now()),
      signal,
      () => {
        const where = southbound.whereIs(lsp);
        return where?.chassis === chassis && portOfLsp(vswitch, lsp)?.ovnInstalled === true;
      },
      {
        timeout: () => {
          const where = southbound.whereIs(lsp);
          if (where === undefined)
            return `chassis ${chassis} did not bind ${lsp} (the southbound database has no Port_Binding for it: is it a port of a logical switch, and does ovn-northd run?)`;
          if (where.chassis !== chassis)
            return `chassis ${chassis} did not bind ${lsp} (bound to ${where.chassis ?? 'no chassis'})`;
          return `chassis ${chassis} bound ${lsp} but did not install it (Interface ${port} external_ids:ovn-installed is not true)`;
        },
      },
    );
  } catch (error) {
    // Nothing left half-made: a port OVN never bound would claim the LSP later.
    await vswitch.deletePort(port, { ifExists: true, timeoutMs: 10_000 }).catch(() => undefined);
    if (error instanceof DpdkError && error.code === 'ETIMEDOUT') {
      throw new DpdkError(error.message.replace(/within \d+ ms$/, `within ${timeoutMs} ms`), {
        code: 'ETIMEDOUT',
        operation,
        object: lsp,
      });
    }
    throw error;
  }
  return { lsp, chassis, port, socketPath };
}

/** @internal see {@link OvnChassis.detach}. */
export async function detachPort(
  context: ChassisContext,
  lsp: string,
  options: DetachOptions,
): Promise<ChassisPortState> {
  const { operation, chassis, vswitch, southbound } = context;
  checkString(operation, 'lsp', lsp);
  checkOptions<DetachOptions>(operation, options, ['timeoutMs', 'signal']);
  const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? 30_000;
  const state = portOfLsp(vswitch, lsp);
  if (state === undefined) {
    throw new DpdkError(`logical switch port ${lsp} is not attached to chassis ${chassis}`, {
      code: 'ENOENT',
      operation,
      object: lsp,
    });
  }
  const deadline = Date.now() + timeoutMs;
  const signal = options.signal;
  await vswitch.deletePort(state.port, { timeoutMs, ...(signal === undefined ? {} : { signal }) });
  await waitForReplica(
    [southbound.replica],
    operation,
    Math.max(1, deadline - Date.now()),
    signal,
    () => southbound.whereIs(lsp)?.chassis !== chassis,
    { timeout: () => `chassis ${chassis} did not release ${lsp}` },
  );
  return state;
}

/**
 * Moves network function `lsp` from chassis `from` to chassis `to`: detaches it from `from`
 * (so that two chassis never claim it at once), then attaches it on `to` with the same
 * socket unless `options.socketPath` names another (the app must serve it on the new host),
 * and waits until `to` has installed it. When the attach on `to` fails (a timeout, an
 * abort), nothing is left on `to` and the NF is attached on `from` again as it was.
 * @throws DpdkError those of {@link OvnChassis.detach} and {@link OvnChassis.attach}; a
 * timeout is `ETIMEDOUT` of `moveNf` naming `to` and `lsp`, with the move's `timeoutMs`.
 */
export async function moveNf(
  from: OvnChassis,
  to: OvnChassis,
  lsp: string,
  options: MoveOptions = {},
): Promise<AttachedPort> {
  const operation = 'moveNf';
  checkOptions<MoveOptions>(operation, options, ['socketPath', 'port', 'timeoutMs', 'signal']);
  const timeoutMs = checkTimeout(operation, options.timeoutMs) ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const state = from.portState(lsp);
  if (state === undefined) {
    throw new DpdkError(`logical switch port ${lsp} is not attached to chassis ${from.name}`, {
      code: 'ENOENT',
      operation,
      object: lsp,
    });
  }
  const socketPath = options.socketPath ?? state.socketPath;
  if (socketPath === undefined) {
    invalidArgument(operation, `port ${state.port} of ${lsp} has no vhost-server-path: give options.socketPath`, lsp);
  }
  const signal = options.signal;
  const common = signal === undefined ? {} : { signal };
  await from.detach(lsp, { timeoutMs, ...common });
  try {
    return await to.attach(lsp, {
      socketPath,
      port: options.port ?? state.port,
      timeoutMs: Math.max(1, deadline - Date.now()),
      ...common,
    });
  } catch (error) {
    // attach removed its port on `to`; put the NF back where it was, with its old socket, so
    // that a failed move leaves it attached somewhere (best effort: the error is the move's).
    if (state.socketPath !== undefined) {
      await from.attach(lsp, { socketPath: state.socketPath, port: state.port }).catch(() => undefined);
    }
    if (error instanceof DpdkError && error.code === 'ETIMEDOUT') {
      throw new DpdkError(error.message.replace(/within \d+ ms$/, `within ${timeoutMs} ms`), {
        code: 'ETIMEDOUT',
        operation,
        object: lsp,
      });
    }
    throw error;
  }
}
