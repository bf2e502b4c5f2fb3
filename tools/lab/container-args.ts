/**
 * How the lab runs a DPDK app in a container: the `docker create` arguments (no network,
 * every capability dropped but the one DPDK needs, an init, CPU pinning, the session
 * label, bind mounts, environment) and where the mounts are seen inside.
 */
import { invalidArgument } from '../../lib/errors.js';
import { checkAbsolutePath, checkOptions, checkString, describe } from '../../lib/validate.js';

/**
 * The Linux capabilities a DPDK virtio-user app needs in a container, granted after
 * `--cap-drop ALL`. Found by experiment on Debian 12, Docker 20.10, DPDK 22.11
 * (dpdk-testpmd txonly over virtio-user to a net_vhost testpmd on the host):
 *
 * - `SYS_NICE`: EAL calls get_mempolicy/set_mempolicy/mbind while it allocates memory
 *   ("EAL: Failed to get current mempolicy: Operation not permitted", then
 *   "rte_service_init() failed"). The kernel allows these calls to any process; it is
 *   Docker's default seccomp profile that only permits them to containers holding
 *   CAP_SYS_NICE. With `--cap-drop ALL --security-opt seccomp=unconfined` and no
 *   capability at all the same run passes, so SYS_NICE is needed for seccomp only.
 *
 * Not needed: `IPC_LOCK` (testpmd's `mlockall()` then fails with a warning and goes on;
 * DPDK memory is hugepages or memfd and is never swapped), `SYS_ADMIN` (hugetlbfs is
 * bind-mounted, not mounted inside), `DAC_OVERRIDE` (the app runs as root and the vhost
 * socket and hugepage files belong to root), Docker's other default capabilities, and
 * `SYS_RESOURCE` (withheld by these machines, which is why `--privileged` fails here).
 */
export const dpdkContainerCapabilities: readonly string[] = Object.freeze(['SYS_NICE']);

/**
 * Docker's hardening beyond the capabilities, measured with DPDK 22.11 apps (dpdk-testpmd
 * and the dpdk-ts examples over virtio-user, hugepages from the bind-mounted hugetlbfs):
 *
 * - `no-new-privileges`: nothing the apps run gains privileges through setuid or file
 *   capabilities; DPDK needs none of that.
 * - `--read-only`: the image's root filesystem cannot be written. EAL writes in two places
 *   that are not bind mounts: its runtime directory (`/var/run/dpdk/<file-prefix>`: the
 *   config, fbarray and multi-process socket files; without a writable one EAL fails with
 *   "Cannot create lock on '/var/run/dpdk/...'") and, like Node, `/tmp`: both are a
 *   {@link containerTmpfs} of their own. Hugepage files go to the hugetlbfs bind mount and
 *   the vhost-user sockets to the socket directory's, which `--read-only` leaves writable.
 *   Measured (dpdk-testpmd txonly in the app image, virtio-user server, to a host
 *   dpdk-testpmd rxonly on net_vhost): read-only without the tmpfs fails with and without
 *   `--in-memory` ("EAL: Error creating '/var/run/dpdk': Read-only file system", "Cannot
 *   create runtime directory"); with it, both pass.
 *
 * Not adopted yet: `--user 1000:1000`. Measured the same way, a non-root app passes with
 * `--in-memory` (hugepages through memfd, no file in the hugetlbfs mount) or `--no-huge`,
 * when the socket directory belongs to that user (0700: OVS, as root, still connects);
 * with the root-owned directory its virtio-user cannot bind ("vdev_probe(): failed to
 * initialize net_virtio_user0 device"). The lab's apps keep root for now: with
 * `--vhost-mode server` OVS (root) creates the sockets, 0755 in its own run directory,
 * which a non-root app cannot connect to; a user or group per app's directory is the way.
 */
export const containerSecurityArgs: readonly string[] = Object.freeze([
  '--security-opt',
  'no-new-privileges',
  '--read-only',
]);

/**
 * The writable scratch directories of a read-only container, each a private tmpfs (memory,
 * gone with the container; `nosuid,nodev,noexec`, as Docker mounts them by default).
 */
export const containerTmpfs: readonly string[] = Object.freeze(['/var/run/dpdk', '/tmp']);

/** The label every lab container carries, with its engine's session id. */
export const labContainerLabel = 'dpdk-ts.lab.session';

/** Where the app sees the vhost-user socket directory inside a container. */
export const containerSocketDir = '/var/run/dpdk-ts';

/** Where the app sees hugetlbfs inside a container. */
export const containerHugepageDir = '/dev/hugepages';

/** Names Docker accepts for containers. */
export const containerNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** A cpuset list such as `0-1,3`. */
export const cpusetPattern = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A bind mount of a host path into a container. */
export interface VolumeMount {
  /** Absolute path on the host. */
  host: string;
  /** Absolute path inside the container. */
  container: string;
  /** Mount read-only. Default false. */
  readOnly?: boolean;
}

/** Options of `DockerEngine.runContainer`. */
export interface RunContainerOptions {
  /** Short name of the container; the engine makes it unique (`dpdk-ts-<session>-<name>`). */
  name: string;
  /** Image to run. */
  image: string;
  /** CPUs the container may use, as for `--cpuset-cpus` (`1`, `0-1`, `0,2`). */
  cpus: string;
  /** Bind mounts, typically hugetlbfs and the vhost-user socket directory. */
  volumes?: readonly VolumeMount[];
  /** Program to run instead of the image's entrypoint. */
  entrypoint?: string;
  /** Arguments: to the entrypoint, or to the image's entrypoint when none is given. */
  args?: readonly string[];
  /** Environment variables of the app. */
  env?: Readonly<Record<string, string>>;
  /** Keep stdin open and piped to the app (for interactive prompts). Default false. */
  interactive?: boolean;
  /**
   * Share the host's network (`--network host`) instead of none, so that a server of the
   * app (its metrics) is reachable from the host: the lab's private dockerd has no bridge
   * to publish a port through. Default false.
   */
  hostNetwork?: boolean;
}

const runContainerOptionKeys: readonly (keyof RunContainerOptions)[] = [
  'name',
  'image',
  'cpus',
  'volumes',
  'entrypoint',
  'args',
  'env',
  'interactive',
  'hostNetwork',
];
const volumeKeys: readonly (keyof VolumeMount)[] = ['host', 'container', 'readOnly'];

/** A name Docker accepts for a container (and the lab for an app). */
export function checkContainerName(operation: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || !containerNamePattern.test(value)) {
    invalidArgument(operation, `${name} must match ${containerNamePattern}, got ${describe(value)}`);
  }
  return value;
}

/** A cpuset such as `1`, `0-1` or `0,2`. */
export function checkCpuset(operation: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || !cpusetPattern.test(value)) {
    invalidArgument(operation, `${name} must be a cpuset such as "1", "0-1" or "0,2", got ${describe(value)}`);
  }
  return value;
}

/**
 * The `docker create` arguments of a DPDK app container (everything after `docker`):
 * no network (or the host's, when asked), all capabilities dropped but {@link dpdkContainerCapabilities}, Docker's
 * default seccomp profile, {@link containerSecurityArgs} with {@link containerTmpfs}, an init process that forwards signals, CPU pinning, the lab
 * label, bind mounts and environment.
 */
export function containerCreateArgs(uniqueName: string, sessionId: string, options: RunContainerOptions): string[] {
  const operation = 'DockerEngine.runContainer';
  checkOptions(operation, options, runContainerOptionKeys);
  checkContainerName(operation, 'name', options.name);
  checkString(operation, 'image', options.image);
  checkCpuset(operation, 'cpus', options.cpus);
  const args = [
    'create',
    '--name',
    uniqueName,
    '--label',
    `${labContainerLabel}=${sessionId}`,
    '--network',
    options.hostNetwork === true ? 'host' : 'none',
    '--init',
    '--cap-drop',
    'ALL',
    ...dpdkContainerCapabilities.flatMap((capability) => ['--cap-add', capability]),
    ...containerSecurityArgs,
    ...containerTmpfs.flatMap((path) => ['--tmpfs', path]),
    '--cpuset-cpus',
    options.cpus,
  ];
  if (options.interactive === true) args.push('--interactive');
  for (const [index, volume] of (options.volumes ?? []).entries()) {
    checkOptions(operation, volume, volumeKeys);
    checkAbsolutePath(operation, `volumes[${index}].host`, volume.host);
    checkAbsolutePath(operation, `volumes[${index}].container`, volume.container);
    for (const path of [volume.host, volume.container]) {
      if (path.includes(':'))
        invalidArgument(operation, `volumes[${index}]: path ${describe(path)} must not contain ":"`);
    }
    args.push('--volume', `${volume.host}:${volume.container}${volume.readOnly === true ? ':ro' : ''}`);
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (!envNamePattern.test(key)) invalidArgument(operation, `env name ${describe(key)} must match ${envNamePattern}`);
    if (typeof value !== 'string') invalidArgument(operation, `env ${key} must be a string, got ${describe(value)}`);
    args.push('--env', `${key}=${value}`);
  }
  if (options.entrypoint !== undefined)
    args.push('--entrypoint', checkString(operation, 'entrypoint', options.entrypoint));
  args.push(options.image, ...(options.args ?? []));
  return args;
}
