/**
 * One way to start a lab app, two places to run it: in a container (see
 * `docker-engine.ts`) or as a plain host process pinned with `taskset` (`npm run lab
 * --no-containers`). The app gets the same argv both ways; only the paths it is given
 * differ, through {@link AppPaths}.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DpdkError, invalidArgument } from '../../lib/errors.js';
import { checkAbsolutePath, checkOptions, describe } from '../../lib/validate.js';
import { onProcessEnd } from './cleanup.js';
import {
  checkContainerName,
  checkCpuset,
  containerHugepageDir,
  containerNamePattern,
  containerSocketDir,
} from './container-args.js';
import type { AppExit, DockerEngine, RunningContainer } from './docker-engine.js';

/** Directories as the app sees them, to build its argv from. */
export interface AppPaths {
  /** Directory of the vhost-user sockets. */
  socketDir: string;
  /** hugetlbfs mount point. */
  hugepageDir: string;
}

/** What to run: a dpdk-ts example (`dist/examples/<name>.js`) or a program on PATH. */
export type AppProgram = { example: string } | { executable: string };

/** Which stream a line came from. */
export type OutputStream = 'stdout' | 'stderr';

/** Options common to both runners. */
export interface AppRunnerOptions {
  /** Name of the app, unique within a lab run (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`). */
  name: string;
  /** The program to run. */
  program: AppProgram;
  /** Arguments, or a function building them from the paths the app sees. */
  args?: readonly string[] | ((paths: AppPaths) => readonly string[]);
  /** CPUs to pin the app to, as a cpuset (`1`, `0-1`, `0,2`). */
  cpus: string;
  /** Extra environment variables, or a function building them from the paths the app sees. */
  env?: Readonly<Record<string, string>> | ((paths: AppPaths) => Readonly<Record<string, string>>);
  /** Pipe stdin to the app so {@link AppRunner.write} can answer prompts. Default false. */
  interactive?: boolean;
  /**
   * In a container, share the host's network instead of none, for a server of the app to
   * be reachable from the host (a host process always is). Default false.
   */
  hostNetwork?: boolean;
  /** Called once per line of output, as it comes. */
  onLine?: (line: string, stream: OutputStream) => void;
  /** Host directory of the vhost-user sockets. */
  socketDir: string;
  /** Host hugetlbfs mount point. Default `/dev/hugepages`. */
  hugepageDir?: string;
}

/** A started lab app, wherever it runs. */
export interface AppRunner {
  /** The app's name. */
  readonly name: string;
  /** The paths as the app sees them (its argv was built from these). */
  readonly paths: AppPaths;
  /** The full argv the app was started with (program first). */
  readonly argv: readonly string[];
  /** Writes `text` to the app's stdin; throws `EINVAL` unless started `interactive`. */
  write(text: string): void;
  /** Closes the app's stdin. */
  closeStdin(): void;
  /** Resolves when the app has exited (and its container is removed). */
  wait(): Promise<AppExit>;
  /**
   * Sends `signal` (default SIGTERM), waits up to `graceMs` (default 10 s), then kills.
   * Safe to call more than once and after exit.
   */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<AppExit>;
}

const runnerOptionKeys: readonly (keyof AppRunnerOptions)[] = [
  'name',
  'program',
  'args',
  'cpus',
  'env',
  'interactive',
  'hostNetwork',
  'onLine',
  'socketDir',
  'hugepageDir',
];

function checkRunnerOptions(operation: string, options: AppRunnerOptions): void {
  checkOptions(operation, options, runnerOptionKeys);
  checkContainerName(operation, 'name', options.name);
  checkCpuset(operation, 'cpus', options.cpus);
  const program = options.program as Record<string, unknown> | undefined;
  const programKeys = program === undefined || program === null ? [] : Object.keys(program);
  if (
    programKeys.length !== 1 ||
    !['example', 'executable'].includes(programKeys[0]) ||
    typeof program?.[programKeys[0]] !== 'string' ||
    program[programKeys[0]] === ''
  ) {
    invalidArgument(
      operation,
      `program must be { example: "<name>" } or { executable: "<program>" }, got ${describe(options.program)}`,
    );
  }
  if ('example' in options.program && !containerNamePattern.test(options.program.example)) {
    invalidArgument(
      operation,
      `program.example must be the name of a file in dist/examples/ without .js, got ${describe(options.program.example)}`,
    );
  }
  checkAbsolutePath(operation, 'socketDir', options.socketDir);
  if (options.hugepageDir !== undefined) checkAbsolutePath(operation, 'hugepageDir', options.hugepageDir);
}

function appArgs(options: AppRunnerOptions, paths: AppPaths): string[] {
  const args = typeof options.args === 'function' ? options.args(paths) : (options.args ?? []);
  for (const [index, arg] of args.entries()) {
    if (typeof arg !== 'string') invalidArgument('AppRunner', `args[${index}] must be a string, got ${describe(arg)}`);
  }
  return [...args];
}

function appEnv(options: AppRunnerOptions, paths: AppPaths): Readonly<Record<string, string>> {
  return typeof options.env === 'function' ? options.env(paths) : (options.env ?? {});
}

/** Streams a process's stdout and stderr to `onLine`, one line at a time. */
function streamLines(child: ChildProcess, onLine: AppRunnerOptions['onLine']): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    const readable = child[stream];
    if (readable === null) continue;
    if (onLine === undefined) {
      readable.resume();
      continue;
    }
    createInterface({ input: readable, crlfDelay: Infinity }).on('line', (line) => onLine(line, stream));
  }
}

function writeTo(operation: string, name: string, child: ChildProcess, interactive: boolean, text: string): void {
  if (!interactive || child.stdin === null) {
    invalidArgument(operation, `app "${name}" was not started with interactive: true, so its stdin is not piped`);
  }
  child.stdin.write(text);
}

/** Runs an app in a container of `engine` from `image`, with the lab's minimal privileges. */
export class ContainerAppRunner implements AppRunner {
  /** See {@link AppRunner.name}. */
  readonly name: string;
  /** See {@link AppRunner.paths}: the container paths of the mounts. */
  readonly paths: AppPaths = { socketDir: containerSocketDir, hugepageDir: containerHugepageDir };
  /** See {@link AppRunner.argv}: the example name or executable first. */
  readonly argv: readonly string[];
  readonly #interactive: boolean;
  readonly #container: RunningContainer;

  private constructor(options: AppRunnerOptions, argv: string[], container: RunningContainer) {
    this.name = options.name;
    this.argv = argv;
    this.#interactive = options.interactive === true;
    this.#container = container;
  }

  /**
   * Starts the app in a container: examples through the image's entrypoint
   * (`node /opt/dpdk-ts/dist/examples/<name>.js`), executables as the entrypoint; the
   * socket directory and hugetlbfs are mounted where {@link paths} says.
   */
  static async start(engine: DockerEngine, image: string, options: AppRunnerOptions): Promise<ContainerAppRunner> {
    const operation = 'ContainerAppRunner.start';
    checkRunnerOptions(operation, options);
    const paths: AppPaths = { socketDir: containerSocketDir, hugepageDir: containerHugepageDir };
    const args = appArgs(options, paths);
    const program = options.program;
    const container = await engine.runContainer({
      name: options.name,
      image,
      cpus: options.cpus,
      volumes: [
        { host: options.hugepageDir ?? '/dev/hugepages', container: containerHugepageDir },
        { host: options.socketDir, container: containerSocketDir },
      ],
      ...('executable' in program ? { entrypoint: program.executable, args } : { args: [program.example, ...args] }),
      env: appEnv(options, paths),
      interactive: options.interactive === true,
      hostNetwork: options.hostNetwork === true,
    });
    streamLines(container.client, options.onLine);
    const argv = 'executable' in program ? [program.executable, ...args] : [program.example, ...args];
    return new ContainerAppRunner(options, argv, container);
  }

  /** See {@link AppRunner.write}. */
  write(text: string): void {
    writeTo('ContainerAppRunner.write', this.name, this.#container.client, this.#interactive, text);
  }

  /** See {@link AppRunner.closeStdin}. */
  closeStdin(): void {
    this.#container.client.stdin?.end();
  }

  /** See {@link AppRunner.wait}. */
  wait(): Promise<AppExit> {
    return this.#container.exited;
  }

  /** See {@link AppRunner.kill}. */
  kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<AppExit> {
    return this.#container.stop(signal, graceMs);
  }
}

/** Runs an app as a host process pinned to its CPUs with `taskset`. */
export class HostAppRunner implements AppRunner {
  /** See {@link AppRunner.name}. */
  readonly name: string;
  /** See {@link AppRunner.paths}: the host paths given in the options. */
  readonly paths: AppPaths;
  /** See {@link AppRunner.argv}: the program as run by taskset, first. */
  readonly argv: readonly string[];
  readonly #interactive: boolean;
  readonly #child: ChildProcess;
  readonly #exited: Promise<AppExit>;
  #stopping: Promise<AppExit> | undefined;

  private constructor(options: AppRunnerOptions, paths: AppPaths, argv: string[], child: ChildProcess) {
    this.name = options.name;
    this.paths = paths;
    this.argv = argv;
    this.#interactive = options.interactive === true;
    this.#child = child;
    // SIGTERM lets a DPDK app release its memory; the process may end before it is done.
    const forgetBackstop = onProcessEnd(() => child.kill('SIGTERM'));
    this.#exited = new Promise((resolveExit) => {
      child.once('close', (code, signal) => {
        forgetBackstop();
        resolveExit({ code, signal });
      });
    });
  }

  /**
   * Starts the app on the host: examples as `node <packageRoot>/dist/examples/<name>.js`
   * with the Node binary running this process, executables from PATH.
   */
  static async start(options: AppRunnerOptions, packageRoot: string = process.cwd()): Promise<HostAppRunner> {
    const operation = 'HostAppRunner.start';
    checkRunnerOptions(operation, options);
    const paths: AppPaths = { socketDir: options.socketDir, hugepageDir: options.hugepageDir ?? '/dev/hugepages' };
    const args = appArgs(options, paths);
    const program = options.program;
    let argv: string[];
    if ('executable' in program) {
      argv = [program.executable, ...args];
    } else {
      const script = join(packageRoot, 'dist/examples', `${program.example}.js`);
      if (!existsSync(script)) {
        throw new DpdkError(`example ${script} does not exist; build it with npm run build:ts`, {
          code: 'ENOENT',
          operation,
          object: program.example,
        });
      }
      argv = [process.execPath, script, ...args];
    }
    const child = spawn('taskset', ['--cpu-list', options.cpus, ...argv], {
      env: { ...process.env, ...appEnv(options, paths) },
      stdio: [options.interactive === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolveSpawn, reject) => {
      child.once('spawn', resolveSpawn);
      child.once('error', (cause) =>
        reject(
          new DpdkError(`cannot start taskset for "${options.name}": ${cause.message}; install util-linux`, {
            code: 'ENOENT',
            operation,
            object: options.name,
            cause,
          }),
        ),
      );
    });
    streamLines(child, options.onLine);
    return new HostAppRunner(options, paths, argv, child);
  }

  /** See {@link AppRunner.write}. */
  write(text: string): void {
    writeTo('HostAppRunner.write', this.name, this.#child, this.#interactive, text);
  }

  /** See {@link AppRunner.closeStdin}. */
  closeStdin(): void {
    this.#child.stdin?.end();
  }

  /** See {@link AppRunner.wait}. */
  wait(): Promise<AppExit> {
    return this.#exited;
  }

  /** See {@link AppRunner.kill}. */
  kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<AppExit> {
    this.#stopping ??= (async () => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#exited;
      this.#child.kill(signal);
      const timer = new Promise<'timeout'>((resolveTimer) =>
        setTimeout(() => resolveTimer('timeout'), graceMs).unref(),
      );
      if ((await Promise.race([this.#exited, timer])) === 'timeout') this.#child.kill('SIGKILL');
      return this.#exited;
    })();
    return this.#stopping;
  }
}
