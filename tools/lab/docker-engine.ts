/**
 * The Docker engine the lab runs its containers in: the running one when it answers, else
 * a private `dockerd` started here (vfs storage, no iptables, no bridge, its own data and
 * run directories) and stopped again; the docker CLI pointed at it; and containers of one
 * session, attached, removed when they exit, on {@link DockerEngine.stop}, and on process
 * exit or Ctrl-C.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { DpdkError, invalidArgument } from '../../lib/errors.js';
import { checkAbsolutePath, checkOptions } from '../../lib/validate.js';
import { onProcessEnd } from './cleanup.js';
import { containerCreateArgs, labContainerLabel, type RunContainerOptions } from './container-args.js';
import { ensureProgram, execProgram, outputTail } from './programs.js';

/** Options of {@link DockerEngine.ensure}. */
export interface DockerEngineOptions {
  /**
   * Directory for a private engine's persistent data (`<stateDir>/data` is its
   * `--data-root`, so built images survive between runs) and for build scratch space.
   * Default `/var/lib/dpdk-ts/lab`.
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

const engineOptionKeys: readonly (keyof DockerEngineOptions)[] = ['stateDir', 'runDir', 'useRunningEngine', 'log'];
const defaultStateDir = '/var/lib/dpdk-ts/lab';
const defaultRunDir = '/run/dpdk-ts-lab';
const systemSocket = '/var/run/docker.sock';
const dockerdStartTimeoutMs = 60_000;
const dockerdStopTimeoutMs = 20_000;

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
  /** Directory for persistent data and build scratch space (see {@link DockerEngineOptions.stateDir}). */
  readonly stateDir: string;
  readonly #log: (line: string) => void;
  readonly #daemon: ChildProcess | undefined;
  readonly #daemonExited: Promise<void> | undefined;
  readonly #containers = new Map<string, RunningContainer>();
  #stopped = false;
  readonly #forgetBackstop: () => void;

  private constructor(host: string, daemon: ChildProcess | undefined, stateDir: string, log: (line: string) => void) {
    this.host = host;
    this.#daemon = daemon;
    this.ownsDaemon = daemon !== undefined;
    this.stateDir = stateDir;
    this.#log = log;
    this.sessionId = randomBytes(4).toString('hex');
    if (daemon !== undefined) {
      this.#daemonExited = new Promise((resolveExit) => {
        if (daemon.exitCode !== null || daemon.signalCode !== null) resolveExit();
        else daemon.once('exit', () => resolveExit());
      });
    }
    this.#forgetBackstop = onProcessEnd(() => this.stopSync());
  }

  /** The pid of the private `dockerd`, or undefined when the engine is not ours. */
  get daemonPid(): number | undefined {
    return this.#daemon?.pid;
  }

  /** Reports one line of progress through the `log` option of {@link ensure}. */
  log(line: string): void {
    this.#log(line);
  }

  /**
   * Returns an engine that answers: the running one (unless `useRunningEngine` is false),
   * else a private `dockerd` (installing `docker.io` when missing) with vfs storage, no
   * iptables, no bridge, and its own data root, exec root, pidfile and socket.
   */
  static async ensure(options: DockerEngineOptions = {}): Promise<DockerEngine> {
    const operation = 'DockerEngine.ensure';
    checkOptions(operation, options, engineOptionKeys);
    const log = options.log ?? (() => {});
    const stateDir = checkAbsolutePath(operation, 'stateDir', options.stateDir ?? defaultStateDir);
    const runDir = checkAbsolutePath(operation, 'runDir', options.runDir ?? defaultRunDir);
    await ensureProgram('docker', ['docker.io']);

    if (options.useRunningEngine !== false) {
      const host = process.env.DOCKER_HOST || `unix://${systemSocket}`;
      if (await engineAnswers(host)) {
        log(`using the running Docker engine at ${host}`);
        return new DockerEngine(host, undefined, stateDir, log);
      }
    }

    const socket = join(runDir, 'docker.sock');
    if (Buffer.byteLength(socket) > 107) {
      invalidArgument(
        operation,
        `runDir ${JSON.stringify(runDir)} is too long for a unix socket path (${socket}); use a shorter one`,
      );
    }
    const host = `unix://${socket}`;
    if (await engineAnswers(host)) {
      throw new DpdkError(
        `a dockerd started by another lab run already answers at ${host}; wait for that run ` +
          `to end, give this one another runDir and stateDir, or, if that run is gone, stop its dockerd: ` +
          `kill $(cat ${join(runDir, 'dockerd.pid')})`,
        { code: 'EBUSY', operation, object: host },
      );
    }
    const dockerd = await ensureProgram('dockerd', ['docker.io']);
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
        '--pdeathsig',
        'SIGTERM',
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
    const deadline = Date.now() + dockerdStartTimeoutMs;
    while (!(await engineAnswers(host))) {
      if (daemon.exitCode !== null || daemon.signalCode !== null || Date.now() > deadline) {
        await engine.stop();
        const why =
          daemon.exitCode !== null || daemon.signalCode !== null
            ? 'exited'
            : `did not answer within ${dockerdStartTimeoutMs / 1000} s`;
        throw new DpdkError(
          `dockerd ${why}; its log ${logFile} ends with:\n${outputTail(await readFile(logFile, 'utf8').catch(() => ''))}`,
          { code: 'ERR_DOCKER', operation, object: host },
        );
      }
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 200));
    }
    await engine.#removeStaleContainers();
    return engine;
  }

  /** Runs the docker CLI against this engine and returns its stdout. */
  async docker(args: readonly string[], operation = 'DockerEngine.docker'): Promise<string> {
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
   * Creates and starts a DPDK app container (see {@link containerCreateArgs}), attached:
   * its output comes through the returned client's stdout and stderr. The container is
   * removed when it exits, on {@link RunningContainer.stop}, on {@link stop} and on exit.
   */
  async runContainer(options: RunContainerOptions): Promise<RunningContainer> {
    const operation = 'DockerEngine.runContainer';
    if (this.#stopped)
      throw new DpdkError('the engine was stopped', { code: 'ERR_CLOSED', operation, object: this.host });
    const uniqueName = `dpdk-ts-${this.sessionId}-${options.name}`;
    const createArgs = containerCreateArgs(uniqueName, this.sessionId, options);
    if (this.#containers.has(uniqueName)) {
      invalidArgument(
        operation,
        `a container named "${options.name}" is already running in this session; pick another name`,
      );
    }
    await this.docker(createArgs, operation);
    const client = spawn(
      'docker',
      ['start', '--attach', ...(options.interactive === true ? ['--interactive'] : []), uniqueName],
      {
        env: this.env(),
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    // A failure of the client shows as its 'close' and the container's state, read there.
    client.on('error', () => undefined);
    const exited = new Promise<AppExit>((resolveExit) => {
      client.once('close', () => {
        void this.#exitOf(uniqueName).then(async (exit) => {
          await this.#removeContainer(uniqueName);
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
          const timer = new Promise<'timeout'>((resolveTimer) =>
            setTimeout(() => resolveTimer('timeout'), graceMs).unref(),
          );
          if ((await Promise.race([exited, timer])) === 'timeout') await this.#removeContainer(uniqueName);
          return exited;
        })();
        return stopping;
      },
    };
    this.#containers.set(uniqueName, container);
    return container;
  }

  async #exitOf(name: string): Promise<AppExit> {
    try {
      const [running, code] = (
        await this.docker(['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}}', name])
      )
        .trim()
        .split(' ');
      if (running === 'true') return { code: null, signal: 'SIGKILL' };
      const exitCode = Number(code);
      // Docker reports a signal death of the app as 128 + the signal number.
      const signalName = exitCode > 128 ? signalNameOf(exitCode - 128) : undefined;
      return signalName !== undefined ? { code: null, signal: signalName } : { code: exitCode, signal: null };
    } catch {
      return { code: null, signal: 'SIGKILL' };
    }
  }

  async #removeContainer(name: string): Promise<void> {
    await this.docker(['rm', '--force', '--volumes', name]).catch(() => undefined);
    this.#containers.delete(name);
  }

  /**
   * Removes lab containers of earlier sessions from a private engine: only a run that was
   * killed before it could clean up leaves them, since the engine was not running.
   */
  async #removeStaleContainers(): Promise<void> {
    const out = await this.docker(['ps', '--all', '--filter', `label=${labContainerLabel}`, '--format', '{{.Names}}']);
    const names = out.split('\n').filter((line) => line !== '');
    if (names.length === 0) return;
    this.log(`removing ${names.length} container(s) left by an earlier lab run: ${names.join(', ')}`);
    await this.docker(['rm', '--force', '--volumes', ...names]);
  }

  /** Names of the containers of this session that exist in the engine (running or not). */
  async sessionContainers(): Promise<string[]> {
    const out = await this.docker([
      'ps',
      '--all',
      '--filter',
      `label=${labContainerLabel}=${this.sessionId}`,
      '--format',
      '{{.Names}}',
    ]);
    return out.split('\n').filter((line) => line !== '');
  }

  /**
   * Removes every container of this session, then stops the private `dockerd` when this
   * process started it. Leaves a running engine it did not start alone. Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.#stopped) {
      await this.#daemonExited;
      return;
    }
    this.#stopped = true;
    const names = await this.sessionContainers().catch(() => [...this.#containers.keys()]);
    if (names.length > 0) await this.docker(['rm', '--force', '--volumes', ...names]).catch(() => undefined);
    this.#containers.clear();
    const daemon = this.#daemon;
    if (daemon !== undefined && this.#daemonExited !== undefined) {
      this.log('stopping the private dockerd');
      daemon.kill('SIGTERM');
      const timer = new Promise<'timeout'>((resolveTimer) =>
        setTimeout(() => resolveTimer('timeout'), dockerdStopTimeoutMs).unref(),
      );
      if ((await Promise.race([this.#daemonExited, timer])) === 'timeout') daemon.kill('SIGKILL');
      await this.#daemonExited;
    }
    this.#forgetBackstop();
  }

  /**
   * The synchronous backstop of {@link stop} for process exit and signals: force-removes
   * this session's containers and kills the private `dockerd`.
   */
  stopSync(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#forgetBackstop();
    try {
      const names = execFileSync(
        'docker',
        ['ps', '--all', '--filter', `label=${labContainerLabel}=${this.sessionId}`, '--format', '{{.Names}}'],
        {
          env: this.env(),
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
          timeout: 10_000,
        },
      )
        .split('\n')
        .filter((line) => line !== '');
      if (names.length > 0)
        execFileSync('docker', ['rm', '--force', ...names], { env: this.env(), stdio: 'ignore', timeout: 20_000 });
    } catch {
      // The engine may already be gone; killing dockerd below still ends its containers.
    }
    if (this.#daemon !== undefined && this.#daemon.exitCode === null && this.#daemon.signalCode === null)
      this.#daemon.kill('SIGTERM');
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
