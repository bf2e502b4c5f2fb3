/**
 * The container side of `npm run lab`: a Docker engine (the running one, or a private
 * `dockerd` this module starts), registry-free images (a debootstrapped Debian base plus
 * Dockerfiles from `examples/docker/`), and DPDK containers with the fewest privileges
 * virtio-user and hugepages need. Everything started here is removed again on
 * {@link DockerEngine.stop}, on failure and on process exit or Ctrl-C.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { access, chmod, copyFile, cp, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DpdkError, invalidArgument } from '../../lib/errors.js';
import { onProcessEnd } from './cleanup.js';

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
export const DPDK_CONTAINER_CAPABILITIES: readonly string[] = Object.freeze(['SYS_NICE']);

/** The label every container started by this module carries, with its engine's session id. */
export const LAB_CONTAINER_LABEL = 'dpdk-ts.lab.session';

/** Where the app sees the vhost-user socket directory inside a container. */
export const CONTAINER_SOCKET_DIR = '/var/run/dpdk-ts';

/** Where the app sees hugetlbfs inside a container. */
export const CONTAINER_HUGEPAGE_DIR = '/dev/hugepages';

/** Where {@link stageDpdkTs} puts the dpdk-ts package inside an image. */
export const IMAGE_PACKAGE_DIR = '/opt/dpdk-ts';

/** Options of {@link DockerEngine.ensure}. */
export interface DockerEngineOptions {
  /**
   * Directory for a private engine's persistent data (`<stateDir>/data` is its
   * `--data-root`, so built images survive between runs). Default `/var/lib/dpdk-ts/lab`.
   */
  stateDir?: string;
  /**
   * Directory for a private engine's runtime files: socket, pidfile, `--exec-root`, log.
   * Must be short: unix socket paths are limited to 107 bytes. Default `/run/dpdk-ts-lab`.
   */
  runDir?: string;
  /**
   * Use a Docker engine that already answers (`DOCKER_HOST`, else `/var/run/docker.sock`)
   * instead of a private one. Default true.
   */
  useRunningEngine?: boolean;
  /** Called with one line of progress at a time (installing, starting, building). */
  log?: (line: string) => void;
}

/** A bind mount of a host path into a container. */
export interface VolumeMount {
  /** Absolute path on the host. */
  host: string;
  /** Absolute path inside the container. */
  container: string;
  /** Mount read-only. Default false. */
  readOnly?: boolean;
}

/** Options of {@link DockerEngine.runContainer}. */
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
}

/** How a container or process ended. */
export interface AppExit {
  /** The exit code, or null when it ended by a signal. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
}

/** A container started by {@link DockerEngine.runContainer}, attached. */
export interface RunningContainer {
  /** The unique container name. */
  readonly name: string;
  /** The attached `docker start -a` client: stdin, stdout and stderr of the app. */
  readonly client: ChildProcess;
  /** Resolves when the container has exited and has been removed. */
  readonly exited: Promise<AppExit>;
  /**
   * Sends `signal` to the app, waits up to `graceMs` for it to exit, then kills and
   * removes the container. Safe to call more than once.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<AppExit>;
}

/** Options of {@link DockerEngine.buildBaseImage}. */
export interface BaseImageOptions {
  /** Image name. Default `dpdk-ts-lab/bookworm`. */
  name?: string;
  /** Debian release. Default `bookworm`. */
  release?: string;
  /** Rebuild even when the image exists. Default false. */
  rebuild?: boolean;
}

/** Options of {@link DockerEngine.buildImage}. */
export interface BuildImageOptions {
  /** Image name. */
  name: string;
  /** Path of the Dockerfile. */
  dockerfile: string;
  /** Image the Dockerfile builds `FROM` (its `BASE_IMAGE` build argument). */
  baseImage: string;
  /**
   * Stage the host's built dpdk-ts package (see {@link stageDpdkTs}) from this package
   * root into the build context. Without it the context is empty.
   */
  stagePackageFrom?: string;
}

/** Debian mirrors for one release, as read from apt's configured sources. */
export interface DebianMirrors {
  /** Mirror serving the release itself, e.g. `http://deb.debian.org/debian`. */
  main: string;
  /** Mirror serving `<release>-updates`, when configured. */
  updates?: string;
  /** Mirror serving `<release>-security`, when configured. */
  security?: string;
}

/** What {@link stageDpdkTs} put into a build context. */
export interface StagedPackage {
  /** Paths (relative to the package root, or the Node binary) that were copied. */
  staged: string[];
  /** Paths of the package that do not exist yet and were skipped. */
  missing: string[];
  /** Debian packages the staged binaries need at run time (written to `deb-packages.txt`). */
  debPackages: string[];
}

const OPERATION_PREFIX = 'DockerEngine';
const DEFAULT_STATE_DIR = '/var/lib/dpdk-ts/lab';
const DEFAULT_RUN_DIR = '/run/dpdk-ts-lab';
const SYSTEM_SOCKET = '/var/run/docker.sock';
const DOCKERD_START_TIMEOUT_MS = 60_000;
const DOCKERD_STOP_TIMEOUT_MS = 20_000;
/** Names Docker accepts for containers. */
export const CONTAINER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
/** A cpuset list such as `0-1,3`. */
export const CPUSET_PATTERN = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** npm packages the staged dpdk-ts loads at run time (the rest of its dependencies build it). */
const RUNTIME_NPM_PACKAGES = ['bindings'];
/**
 * DPDK drivers are plugins EAL loads from its driver directory, not linked libraries, so
 * ldd cannot find them: the ones the lab uses are listed here (`%ABI%` is the DPDK ABI).
 */
const DPDK_PLUGIN_PACKAGES = [
  'librte-net-virtio%ABI%',
  'librte-net-vhost%ABI%',
  'librte-net-ring%ABI%',
  'librte-net-null%ABI%',
  'librte-mempool-ring%ABI%',
  'libnuma1',
];
/** Debian 12's DPDK 22.11 ABI, used when no staged binary links DPDK. */
const DEFAULT_DPDK_ABI = '23';

let aptUpdated = false;

/** Throws `EINVAL` naming the first key of `options` that is not in `allowed`. */
function rejectUnknownKeys(operation: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      invalidArgument(operation, `unknown option "${key}"; valid options are: ${allowed.join(', ')}`);
    }
  }
}

function requireAbsolute(operation: string, what: string, path: string): void {
  if (typeof path !== 'string' || !isAbsolute(path)) {
    invalidArgument(operation, `${what} must be an absolute path, got ${JSON.stringify(path)}`);
  }
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; throws `ERR_DOCKER` (or `code`) with its stderr on failure. */
function execProgram(
  operation: string,
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; code?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      file,
      args,
      { env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 0 },
      (error, stdout, stderr) => {
        if (error === null) {
          resolvePromise({ stdout, stderr });
          return;
        }
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new DpdkError(
            missing
              ? `${operation}: program "${file}" not found in PATH; install it (as root: apt-get install)`
              : `${operation}: \`${file} ${args.join(' ')}\` failed (${error.message.split('\n')[0]}):\n${tail(stderr || stdout)}`,
            { code: missing ? 'ENOENT' : (options.code ?? 'ERR_DOCKER'), operation, object: file, cause: error },
          ),
        );
      },
    );
  });
}

/** Finds `program` in PATH and the sbin directories (root's PATH may lack them). */
function findProgram(program: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      execFileSync('test', ['-x', candidate]);
      return candidate;
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * Installs Debian `packages` with apt-get when `program` is missing (running
 * `apt-get update` once per process first) and returns the program's path.
 */
export async function ensureProgram(
  program: string,
  packages: readonly string[],
  log: (line: string) => void = () => {},
): Promise<string> {
  const operation = 'ensureProgram';
  const found = findProgram(program);
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) {
    throw new DpdkError(
      `${operation}: "${program}" is missing and installing ${packages.join(', ')} needs root; run as root or install them`,
      { code: 'EPERM', operation, object: program },
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for another apt or dpkg run to finish rather than fail at once on its lock.
  const waitForLock = ['-o', 'DPkg::Lock::Timeout=300'];
  if (!aptUpdated) {
    log('apt-get update');
    await execProgram(operation, 'apt-get', [...waitForLock, 'update', '-q'], { env, code: 'ERR_APT' });
    aptUpdated = true;
  }
  log(`apt-get install ${packages.join(' ')} (for ${program})`);
  await execProgram(operation, 'apt-get', [...waitForLock, 'install', '-y', '-q', '--no-install-recommends', ...packages], {
    env,
    code: 'ERR_APT',
  });
  const installed = findProgram(program);
  if (installed === undefined) {
    throw new DpdkError(`${operation}: installed ${packages.join(', ')} but "${program}" is still not in PATH`, {
      code: 'ENOENT',
      operation,
      object: program,
    });
  }
  return installed;
}

/**
 * Reads the Debian mirrors of `release` from apt's sources (one-line `.list` and deb822
 * `.sources` files), so that images are built from the mirror this machine is set up for.
 */
export function debianMirrors(
  release = 'bookworm',
  sourceFiles: readonly string[] = aptSourceFiles(),
): DebianMirrors {
  const operation = 'debianMirrors';
  const bySuite = new Map<string, string>();
  for (const file of sourceFiles) {
    const text = readFileSync(file, 'utf8');
    const entries = file.endsWith('.sources') ? deb822Entries(text) : oneLineEntries(text);
    for (const entry of entries) {
      for (const suite of entry.suites) {
        if (!bySuite.has(suite) && entry.uris.length > 0) bySuite.set(suite, entry.uris[0].replace(/\/+$/, ''));
      }
    }
  }
  const main = bySuite.get(release);
  if (main === undefined) {
    throw new DpdkError(
      `${operation}: no apt source for Debian "${release}" in ${sourceFiles.join(', ') || '(no files)'}; ` +
        `add e.g. "deb http://deb.debian.org/debian ${release} main" to /etc/apt/sources.list`,
      { code: 'ENOENT', operation, object: release },
    );
  }
  const mirrors: DebianMirrors = { main };
  const updates = bySuite.get(`${release}-updates`);
  const security = bySuite.get(`${release}-security`);
  if (updates !== undefined) mirrors.updates = updates;
  if (security !== undefined) mirrors.security = security;
  return mirrors;
}

function aptSourceFiles(): string[] {
  const files = existsSync('/etc/apt/sources.list') ? ['/etc/apt/sources.list'] : [];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(dir, name));
    }
  }
  return files;
}

interface SourceEntry {
  uris: string[];
  suites: string[];
}

function oneLineEntries(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').replace(/\[[^\]]*\]/, ' ').trim();
    const [type, uri, suite] = line.split(/\s+/);
    if (type === 'deb' && uri !== undefined && suite !== undefined) entries.push({ uris: [uri], suites: [suite] });
  }
  return entries;
}

function deb822Entries(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match !== null) fields.set(match[1].toLowerCase(), match[2].trim());
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb') || fields.get('enabled') === 'no') continue;
    entries.push({
      uris: (fields.get('uris') ?? '').split(/\s+/).filter((uri) => uri !== ''),
      suites: (fields.get('suites') ?? '').split(/\s+/).filter((suite) => suite !== ''),
    });
  }
  return entries;
}

/** The `/etc/apt/sources.list` an image of `release` gets, from the host's mirrors. */
export function imageSourcesList(release: string, mirrors: DebianMirrors): string {
  const lines = [`deb ${mirrors.main} ${release} main`];
  if (mirrors.updates !== undefined) lines.push(`deb ${mirrors.updates} ${release}-updates main`);
  if (mirrors.security !== undefined) lines.push(`deb ${mirrors.security} ${release}-security main`);
  return `${lines.join('\n')}\n`;
}

/**
 * The `docker create` arguments of a DPDK app container (everything after `create`):
 * no network, all capabilities dropped but {@link DPDK_CONTAINER_CAPABILITIES}, Docker's
 * default seccomp profile, an init process that forwards signals, CPU pinning, the lab
 * label, bind mounts and environment.
 */
export function containerCreateArgs(
  uniqueName: string,
  sessionId: string,
  options: RunContainerOptions,
): string[] {
  const operation = `${OPERATION_PREFIX}.runContainer`;
  rejectUnknownKeys(operation, options, ['name', 'image', 'cpus', 'volumes', 'entrypoint', 'args', 'env', 'interactive']);
  if (typeof options.name !== 'string' || !CONTAINER_NAME_PATTERN.test(options.name)) {
    invalidArgument(operation, `name must match ${CONTAINER_NAME_PATTERN}, got ${JSON.stringify(options.name)}`);
  }
  if (typeof options.image !== 'string' || options.image === '') {
    invalidArgument(operation, `image must be a non-empty image name, got ${JSON.stringify(options.image)}`);
  }
  if (typeof options.cpus !== 'string' || !CPUSET_PATTERN.test(options.cpus)) {
    invalidArgument(operation, `cpus must be a cpuset such as "1", "0-1" or "0,2", got ${JSON.stringify(options.cpus)}`);
  }
  const args = [
    'create',
    '--name', uniqueName,
    '--label', `${LAB_CONTAINER_LABEL}=${sessionId}`,
    '--network', 'none',
    '--init',
    '--cap-drop', 'ALL',
    ...DPDK_CONTAINER_CAPABILITIES.flatMap((capability) => ['--cap-add', capability]),
    '--cpuset-cpus', options.cpus,
  ];
  if (options.interactive === true) args.push('--interactive');
  for (const [index, volume] of (options.volumes ?? []).entries()) {
    rejectUnknownKeys(`${operation} volumes[${index}]`, volume, ['host', 'container', 'readOnly']);
    requireAbsolute(operation, `volumes[${index}].host`, volume.host);
    requireAbsolute(operation, `volumes[${index}].container`, volume.container);
    for (const path of [volume.host, volume.container]) {
      if (path.includes(':')) invalidArgument(operation, `volumes[${index}]: path ${JSON.stringify(path)} must not contain ":"`);
    }
    args.push('--volume', `${volume.host}:${volume.container}${volume.readOnly === true ? ':ro' : ''}`);
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (!ENV_NAME_PATTERN.test(key)) invalidArgument(operation, `env name ${JSON.stringify(key)} must match ${ENV_NAME_PATTERN}`);
    if (typeof value !== 'string') invalidArgument(operation, `env ${key} must be a string, got ${typeof value}`);
    args.push('--env', `${key}=${value}`);
  }
  if (options.entrypoint !== undefined) {
    if (typeof options.entrypoint !== 'string' || options.entrypoint === '') {
      invalidArgument(operation, `entrypoint must be a non-empty program name, got ${JSON.stringify(options.entrypoint)}`);
    }
    args.push('--entrypoint', options.entrypoint);
  }
  args.push(options.image, ...(options.args ?? []));
  return args;
}

/**
 * A Docker engine for the lab: the running one when it answers, else a private `dockerd`
 * this process started and will stop. Create with {@link DockerEngine.ensure}.
 */
export class DockerEngine {
  /** The `unix://` address the docker CLI is pointed to (`DOCKER_HOST`). */
  readonly host: string;
  /** True when this process started the engine (and {@link stop} will stop it). */
  readonly ownsDaemon: boolean;
  /** Random id labelling this engine object's containers. */
  readonly sessionId: string;
  private readonly log: (line: string) => void;
  private readonly stateDir: string;
  private readonly daemon: ChildProcess | undefined;
  private readonly daemonExited: Promise<void> | undefined;
  private readonly containers = new Map<string, RunningContainer>();
  private stopped = false;
  private readonly forgetBackstop: () => void;

  private constructor(host: string, daemon: ChildProcess | undefined, stateDir: string, log: (line: string) => void) {
    this.host = host;
    this.daemon = daemon;
    this.ownsDaemon = daemon !== undefined;
    this.stateDir = stateDir;
    this.log = log;
    this.sessionId = randomBytes(4).toString('hex');
    if (daemon !== undefined) {
      this.daemonExited = new Promise((resolveExit) => {
        if (daemon.exitCode !== null || daemon.signalCode !== null) resolveExit();
        else daemon.once('exit', () => resolveExit());
      });
    }
    this.forgetBackstop = onProcessEnd(() => this.stopSync());
  }

  /** The pid of the private `dockerd`, or undefined when the engine is not ours. */
  get daemonPid(): number | undefined {
    return this.daemon?.pid;
  }

  /**
   * Returns an engine that answers: the running one (unless `useRunningEngine` is false),
   * else a private `dockerd` (installing `docker.io` when missing) with vfs storage, no
   * iptables, no bridge, and its own data root, exec root, pidfile and socket.
   */
  static async ensure(options: DockerEngineOptions = {}): Promise<DockerEngine> {
    const operation = `${OPERATION_PREFIX}.ensure`;
    rejectUnknownKeys(operation, options, ['stateDir', 'runDir', 'useRunningEngine', 'log']);
    const log = options.log ?? (() => {});
    const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
    const runDir = options.runDir ?? DEFAULT_RUN_DIR;
    requireAbsolute(operation, 'stateDir', stateDir);
    requireAbsolute(operation, 'runDir', runDir);
    await ensureProgram('docker', ['docker.io'], log);

    if (options.useRunningEngine !== false) {
      const candidates = process.env.DOCKER_HOST ? [process.env.DOCKER_HOST] : [`unix://${SYSTEM_SOCKET}`];
      for (const host of candidates) {
        if (await engineAnswers(host)) {
          log(`using the running Docker engine at ${host}`);
          return new DockerEngine(host, undefined, stateDir, log);
        }
      }
    }

    const socket = join(runDir, 'docker.sock');
    if (Buffer.byteLength(socket) > 107) {
      invalidArgument(operation, `runDir ${JSON.stringify(runDir)} is too long for a unix socket path (${socket}); use a shorter one`);
    }
    const host = `unix://${socket}`;
    if (await engineAnswers(host)) {
      throw new DpdkError(
        `${operation}: a dockerd started by another lab run already answers at ${host}; wait for that run ` +
          `to end, give this one another runDir and stateDir, or, if that run is gone, stop its dockerd: ` +
          `kill $(cat ${join(runDir, 'dockerd.pid')})`,
        { code: 'EBUSY', operation, object: host },
      );
    }
    const dockerd = await ensureProgram('dockerd', ['docker.io'], log);
    await mkdir(join(stateDir, 'data'), { recursive: true });
    await mkdir(join(runDir, 'exec'), { recursive: true });
    await rm(socket, { force: true });
    const logFile = join(runDir, 'dockerd.log');
    const logFd = openSync(logFile, 'w');
    log(`starting a private dockerd at ${host} (log ${logFile})`);
    // setpriv (util-linux) has the kernel send dockerd SIGTERM when this process dies, even
    // by SIGKILL, when no exit handler can run; dockerd then stops its containers itself.
    const daemon = spawn(
      'setpriv',
      [
        '--pdeathsig', 'SIGTERM',
        dockerd,
        '--storage-driver=vfs',
        '--iptables=false',
        '--bridge=none',
        `--data-root=${join(stateDir, 'data')}`,
        `--exec-root=${join(runDir, 'exec')}`,
        `--pidfile=${join(runDir, 'dockerd.pid')}`,
        `--host=${host}`,
      ],
      // Its own process group: a Ctrl-C in the terminal must reach this process, which
      // removes its containers first, not dockerd, which would leave them stopped behind.
      { stdio: ['ignore', logFd, logFd], detached: true },
    );
    closeSync(logFd);
    // A failed start shows as the exit the loop below reports, with dockerd's log.
    daemon.on('error', () => undefined);
    const engine = new DockerEngine(host, daemon, stateDir, log);
    const deadline = Date.now() + DOCKERD_START_TIMEOUT_MS;
    while (!(await engineAnswers(host))) {
      if (daemon.exitCode !== null || daemon.signalCode !== null || Date.now() > deadline) {
        await engine.stop();
        const why = daemon.exitCode !== null || daemon.signalCode !== null ? 'exited' : `did not answer within ${DOCKERD_START_TIMEOUT_MS / 1000} s`;
        throw new DpdkError(
          `${operation}: dockerd ${why}; its log ${logFile} ends with:\n${tail(await readFile(logFile, 'utf8').catch(() => ''))}`,
          { code: 'ERR_DOCKER', operation, object: host },
        );
      }
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 200));
    }
    await engine.removeStaleContainers();
    return engine;
  }

  /** Runs the docker CLI against this engine and returns its stdout. */
  async docker(args: readonly string[], operation = `${OPERATION_PREFIX}.docker`): Promise<string> {
    const { stdout } = await execProgram(operation, 'docker', args, { env: this.env() });
    return stdout;
  }

  /** The environment for docker CLI processes: `DOCKER_HOST` set to this engine. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: this.host, DOCKER_BUILDKIT: '0' };
  }

  /** Whether an image (name or id) exists in this engine. */
  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker(['image', 'inspect', '--format', '{{.Id}}', image]);
      return true;
    } catch (error) {
      if (error instanceof DpdkError && error.code === 'ERR_DOCKER') return false;
      throw error;
    }
  }

  /**
   * Builds a Debian base image without any registry: `debootstrap --variant=minbase` from
   * the host's configured Debian mirror, with apt sources for the release, its updates and
   * security suites, imported with `docker import`. Skipped when the image exists.
   */
  async buildBaseImage(options: BaseImageOptions = {}): Promise<string> {
    const operation = `${OPERATION_PREFIX}.buildBaseImage`;
    rejectUnknownKeys(operation, options, ['name', 'release', 'rebuild']);
    const name = options.name ?? 'dpdk-ts-lab/bookworm';
    const release = options.release ?? 'bookworm';
    if (options.rebuild !== true && (await this.imageExists(name))) {
      this.log(`base image ${name} exists`);
      return name;
    }
    const debootstrap = await ensureProgram('debootstrap', ['debootstrap'], this.log);
    const mirrors = debianMirrors(release);
    await mkdir(this.stateDir, { recursive: true });
    const workDir = await mkdtemp(join(this.stateDir, 'rootfs-'));
    const rootfs = join(workDir, 'rootfs');
    try {
      this.log(`debootstrap --variant=minbase ${release} from ${mirrors.main}`);
      await execProgram(operation, debootstrap, ['--variant=minbase', release, rootfs, mirrors.main], { code: 'ERR_DEBOOTSTRAP' });
      await writeFile(join(rootfs, 'etc/apt/sources.list'), imageSourcesList(release, mirrors));
      this.log(`docker import ${name}`);
      await this.importRootfs(operation, rootfs, name);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    return name;
  }

  private importRootfs(operation: string, rootfs: string, name: string): Promise<void> {
    return new Promise((resolveImport, reject) => {
      const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const importer = spawn('docker', ['import', '-', name], { env: this.env(), stdio: ['pipe', 'pipe', 'pipe'] });
      tar.stdout.pipe(importer.stdin);
      let errors = '';
      tar.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      importer.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      importer.stdout.resume();
      let tarCode: number | null = null;
      tar.on('exit', (code) => (tarCode = code));
      importer.on('error', reject);
      importer.on('close', (code) => {
        if (code === 0 && tarCode === 0) resolveImport();
        else
          reject(
            new DpdkError(`${operation}: \`tar -C ${rootfs} -c . | docker import - ${name}\` failed (tar ${tarCode}, docker ${code}):\n${tail(errors)}`, {
              code: 'ERR_DOCKER',
              operation,
              object: name,
            }),
          );
      });
    });
  }

  /**
   * Builds `dockerfile` as image `name` with `--network host` (so apt reaches the Debian
   * mirror) and `BASE_IMAGE` set, from a fresh context that holds the staged dpdk-ts
   * package when `stagePackageFrom` is given.
   */
  async buildImage(options: BuildImageOptions): Promise<string> {
    const operation = `${OPERATION_PREFIX}.buildImage`;
    rejectUnknownKeys(operation, options, ['name', 'dockerfile', 'baseImage', 'stagePackageFrom']);
    const dockerfile = resolve(options.dockerfile);
    await access(dockerfile, fsConstants.R_OK).catch((cause: unknown) => {
      throw new DpdkError(`${operation}: Dockerfile ${dockerfile} cannot be read`, { code: 'ENOENT', operation, object: dockerfile, cause });
    });
    await mkdir(this.stateDir, { recursive: true });
    const context = await mkdtemp(join(this.stateDir, 'context-'));
    try {
      if (options.stagePackageFrom !== undefined) {
        const staged = await stageDpdkTs(options.stagePackageFrom, context);
        if (staged.missing.length > 0) this.log(`staging: not built yet, skipped: ${staged.missing.join(', ')}`);
      } else {
        await writeFile(join(context, 'deb-packages.txt'), '');
      }
      this.log(`docker build ${options.name} from ${dockerfile}`);
      await execProgram(
        operation,
        'docker',
        ['build', '--network', 'host', '--build-arg', `BASE_IMAGE=${options.baseImage}`, '--tag', options.name, '--file', dockerfile, context],
        { env: this.env() },
      );
    } finally {
      await rm(context, { recursive: true, force: true });
    }
    return options.name;
  }

  /**
   * Creates and starts a DPDK app container (see {@link containerCreateArgs}), attached:
   * its output comes through the returned client's stdout and stderr. The container is
   * removed when it exits, on {@link RunningContainer.stop}, on {@link stop} and on exit.
   */
  async runContainer(options: RunContainerOptions): Promise<RunningContainer> {
    const operation = `${OPERATION_PREFIX}.runContainer`;
    if (this.stopped) throw new DpdkError(`${operation}: the engine was stopped`, { code: 'ERR_CLOSED', operation, object: this.host });
    const uniqueName = `dpdk-ts-${this.sessionId}-${options.name}`;
    const createArgs = containerCreateArgs(uniqueName, this.sessionId, options);
    if (this.containers.has(uniqueName)) {
      invalidArgument(operation, `a container named "${options.name}" is already running in this session; pick another name`);
    }
    await this.docker(createArgs, operation);
    const client = spawn('docker', ['start', '--attach', ...(options.interactive === true ? ['--interactive'] : []), uniqueName], {
      env: this.env(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // A failure of the client shows as its 'close' and the container's state, read there.
    client.on('error', () => undefined);
    const exited = new Promise<AppExit>((resolveExit) => {
      client.once('close', () => {
        void this.exitOf(uniqueName).then(async (exit) => {
          await this.removeContainer(uniqueName);
          resolveExit(exit);
        });
      });
    });
    let stopping: Promise<AppExit> | undefined;
    const container: RunningContainer = {
      name: uniqueName,
      client,
      exited,
      stop: (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) => {
        stopping ??= (async () => {
          await this.docker(['kill', '--signal', signal, uniqueName]).catch(() => undefined);
          const timer = new Promise<'timeout'>((resolveTimer) => setTimeout(() => resolveTimer('timeout'), graceMs).unref());
          if ((await Promise.race([exited, timer])) === 'timeout') await this.removeContainer(uniqueName);
          return exited;
        })();
        return stopping;
      },
    };
    this.containers.set(uniqueName, container);
    return container;
  }

  private async exitOf(name: string): Promise<AppExit> {
    try {
      const [running, code] = (await this.docker(['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}}', name])).trim().split(' ');
      if (running === 'true') return { code: null, signal: 'SIGKILL' };
      const exitCode = Number(code);
      // Docker reports a signal death of the app as 128 + the signal number.
      const signalName = exitCode > 128 ? signalNameOf(exitCode - 128) : undefined;
      return signalName !== undefined ? { code: null, signal: signalName } : { code: exitCode, signal: null };
    } catch {
      return { code: null, signal: 'SIGKILL' };
    }
  }

  private async removeContainer(name: string): Promise<void> {
    await this.docker(['rm', '--force', '--volumes', name]).catch(() => undefined);
    this.containers.delete(name);
  }

  /**
   * Removes lab containers of earlier sessions from a private engine: only a run that was
   * killed before it could clean up leaves them, since the engine was not running.
   */
  private async removeStaleContainers(): Promise<void> {
    const out = await this.docker(['ps', '--all', '--filter', `label=${LAB_CONTAINER_LABEL}`, '--format', '{{.Names}}']);
    const names = out.split('\n').filter((line) => line !== '');
    if (names.length === 0) return;
    this.log(`removing ${names.length} container(s) left by an earlier lab run: ${names.join(', ')}`);
    await this.docker(['rm', '--force', '--volumes', ...names]);
  }

  /** Names of the containers of this session that exist in the engine (running or not). */
  async sessionContainers(): Promise<string[]> {
    const out = await this.docker(['ps', '--all', '--filter', `label=${LAB_CONTAINER_LABEL}=${this.sessionId}`, '--format', '{{.Names}}']);
    return out.split('\n').filter((line) => line !== '');
  }

  /**
   * Removes every container of this session, then stops the private `dockerd` when this
   * process started it. Leaves a running engine it did not start alone. Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.stopped) {
      await this.daemonExited;
      return;
    }
    this.stopped = true;
    const names = await this.sessionContainers().catch(() => [...this.containers.keys()]);
    if (names.length > 0) await this.docker(['rm', '--force', '--volumes', ...names]).catch(() => undefined);
    this.containers.clear();
    const daemon = this.daemon;
    if (daemon !== undefined && this.daemonExited !== undefined) {
      this.log('stopping the private dockerd');
      daemon.kill('SIGTERM');
      const timer = new Promise<'timeout'>((resolveTimer) => setTimeout(() => resolveTimer('timeout'), DOCKERD_STOP_TIMEOUT_MS).unref());
      if ((await Promise.race([this.daemonExited, timer])) === 'timeout') daemon.kill('SIGKILL');
      await this.daemonExited;
    }
    this.forgetBackstop();
  }

  /**
   * The synchronous backstop of {@link stop} for process exit and signals: force-removes
   * this session's containers and kills the private `dockerd`.
   */
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.forgetBackstop();
    try {
      const names = execFileSync('docker', ['ps', '--all', '--filter', `label=${LAB_CONTAINER_LABEL}=${this.sessionId}`, '--format', '{{.Names}}'], {
        env: this.env(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 10_000,
      })
        .split('\n')
        .filter((line) => line !== '');
      if (names.length > 0) execFileSync('docker', ['rm', '--force', ...names], { env: this.env(), stdio: 'ignore', timeout: 20_000 });
    } catch {
      // The engine may already be gone; killing dockerd below still ends its containers.
    }
    if (this.daemon !== undefined && this.daemon.exitCode === null && this.daemon.signalCode === null) this.daemon.kill('SIGTERM');
  }
}

function signalNameOf(signalNumber: number): NodeJS.Signals | undefined {
  const signals = osConstants.signals as Record<string, number>;
  return (Object.keys(signals) as NodeJS.Signals[]).find((name) => signals[name] === signalNumber);
}

async function engineAnswers(host: string): Promise<boolean> {
  if (host.startsWith('unix://') && !existsSync(host.slice('unix://'.length))) return false;
  try {
    await execProgram('engineAnswers', 'docker', ['version', '--format', '{{.Server.Version}}'], {
      env: { ...process.env, DOCKER_HOST: host },
      timeoutMs: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies the host's built dpdk-ts into a Docker build context, skipping what is not built
 * yet: under `opt/dpdk-ts/` the compiled `dist/`, `build/Release/dpdk_ts.node`,
 * `package.json` and the run-time npm packages (`bindings` and its dependencies); under
 * `usr/local/bin/node` the Node binary running this process (Debian 12's nodejs is too
 * old). Writes `deb-packages.txt`: the Debian packages that own the shared libraries the
 * Node binary and the addon link (via ldd and dpkg -S) plus the DPDK driver plugins.
 */
export async function stageDpdkTs(packageRoot: string, contextDir: string): Promise<StagedPackage> {
  const operation = 'stageDpdkTs';
  requireAbsolute(operation, 'packageRoot', packageRoot);
  requireAbsolute(operation, 'contextDir', contextDir);
  const packageJson = join(packageRoot, 'package.json');
  if (!existsSync(packageJson)) {
    throw new DpdkError(`${operation}: ${packageJson} does not exist; packageRoot must be the dpdk-ts checkout`, {
      code: 'ENOENT',
      operation,
      object: packageRoot,
    });
  }
  const target = join(contextDir, IMAGE_PACKAGE_DIR.slice(1));
  const result: StagedPackage = { staged: [], missing: [], debPackages: [] };
  const stageRelative = async (relative: string): Promise<void> => {
    const source = join(packageRoot, relative);
    if (!existsSync(source)) {
      result.missing.push(relative);
      return;
    }
    await mkdir(dirname(join(target, relative)), { recursive: true });
    await cp(source, join(target, relative), { recursive: true, dereference: true });
    result.staged.push(relative);
  };
  await stageRelative('package.json');
  await stageRelative('dist');
  await stageRelative('build/Release/dpdk_ts.node');
  for (const name of await runtimeNpmClosure(packageRoot, RUNTIME_NPM_PACKAGES)) await stageRelative(join('node_modules', name));

  const nodeBinary = await realpath(process.execPath);
  const nodeTarget = join(contextDir, 'usr/local/bin/node');
  await mkdir(dirname(nodeTarget), { recursive: true });
  await copyFile(nodeBinary, nodeTarget);
  await chmod(nodeTarget, (await stat(nodeBinary)).mode & 0o777);
  result.staged.push(nodeBinary);

  const binaries = [nodeBinary];
  const addon = join(packageRoot, 'build/Release/dpdk_ts.node');
  if (existsSync(addon)) binaries.push(addon);
  const libraries = new Set<string>();
  for (const binary of binaries) for (const library of await sharedLibraries(binary)) libraries.add(library);
  const abi = [...libraries].map((library) => /librte_eal\.so\.(\d+)/.exec(library)?.[1]).find((found) => found !== undefined) ?? DEFAULT_DPDK_ABI;
  const packages = new Set(DPDK_PLUGIN_PACKAGES.map((name) => name.replace('%ABI%', abi)));
  for (const library of libraries) packages.add(await debianPackageOf(library));
  result.debPackages = [...packages].sort();
  await writeFile(join(contextDir, 'deb-packages.txt'), `${result.debPackages.join('\n')}\n`);
  return result;
}

/** `names` and their npm dependencies, transitively, as installed under `node_modules/`. */
async function runtimeNpmClosure(packageRoot: string, names: readonly string[]): Promise<string[]> {
  const closure = new Set<string>();
  const pending = [...names];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (closure.has(name)) continue;
    closure.add(name);
    const manifest = join(packageRoot, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) continue;
    const parsed = JSON.parse(await readFile(manifest, 'utf8')) as { dependencies?: Record<string, string> };
    pending.push(...Object.keys(parsed.dependencies ?? {}));
  }
  return [...closure].sort();
}

/** The resolved shared-library paths of an ELF file; throws when one is not found. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const operation = 'stageDpdkTs';
  const { stdout } = await execProgram(operation, 'ldd', [binary], { code: 'ENOENT' });
  const libraries: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.includes('not found')) {
      throw new DpdkError(`${operation}: ${binary} needs a library the host lacks (${line.trim()}); install it first`, {
        code: 'ENOENT',
        operation,
        object: binary,
      });
    }
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match !== null) libraries.push(match[1]);
  }
  return libraries;
}

/** The Debian package owning `library` (dpkg records merged-/usr paths either way). */
async function debianPackageOf(library: string): Promise<string> {
  const operation = 'stageDpdkTs';
  const real = await realpath(library);
  const candidates = new Set([library, real]);
  for (const path of [library, real]) {
    if (path.startsWith('/usr/')) candidates.add(path.slice(4));
    else candidates.add(`/usr${path}`);
  }
  for (const path of candidates) {
    try {
      const { stdout } = await execProgram(operation, 'dpkg', ['-S', path]);
      return stdout.split(':')[0].trim();
    } catch {
      continue;
    }
  }
  throw new DpdkError(
    `${operation}: no Debian package owns ${library}, so the image cannot install it; ` +
      `link the addon and Node only against libraries from Debian packages`,
    { code: 'ENOENT', operation, object: library },
  );
}
