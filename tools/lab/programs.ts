/**
 * The host programs the lab drives (docker, dockerd, debootstrap, ldd, dpkg, tar): running
 * one to completion with its error output in the failure (a long one with its progress
 * shown), finding one in PATH, and installing a missing one with apt-get.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DpdkError } from '../../lib/errors.js';
import { StepProgress, type StepProgressOptions } from './progress.js';

/** What a program printed. */
export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Options of {@link execProgram}. */
export interface ExecOptions {
  /** The program's environment. Default this process's. */
  env?: NodeJS.ProcessEnv;
  /** The error code of a failure. Default `ERR_DOCKER`. */
  code?: string;
  /** Kill the program after this long. Default no limit. */
  timeoutMs?: number;
}

let aptUpdated = false;

/** The last `lines` lines of a program's output, for an error message. */
export function outputTail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// The error of a program that could not start (`ENOENT`) or failed (`options.code`), with the end of its output.
function programFailure(
  operation: string,
  file: string,
  args: readonly string[],
  options: ExecOptions,
  reason: string,
  output: string,
  cause: unknown,
): DpdkError {
  const missing = (cause as NodeJS.ErrnoException | null)?.code === 'ENOENT';
  return new DpdkError(
    missing
      ? `program "${file}" not found in PATH; install it (as root: apt-get install)`
      : `\`${file} ${args.join(' ')}\` failed (${reason}):\n${outputTail(output)}`,
    { code: missing ? 'ENOENT' : (options.code ?? 'ERR_DOCKER'), operation, object: file, cause },
  );
}

/** Runs a program to completion; throws `ERR_DOCKER` (or `options.code`) with its stderr on failure. */
export function execProgram(
  operation: string,
  file: string,
  args: readonly string[],
  options: ExecOptions = {},
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
        reject(programFailure(operation, file, args, options, error.message.split('\n')[0], stderr || stdout, error));
      },
    );
  });
}

/**
 * Runs a long program to completion as {@link execProgram} does, showing its progress as
 * step `step` (see {@link StepProgress}): its output lines, stdout and stderr alike (apt
 * and docker build write progress to either), feed the status line. The failure's output
 * is both streams as they came.
 */
export function execWithProgress(
  operation: string,
  step: string,
  file: string,
  args: readonly string[],
  options: ExecOptions & StepProgressOptions = {},
): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    const progress = new StepProgress(step, options);
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 0,
    });
    const result: ExecResult = { stdout: '', stderr: '' };
    let output = '';
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => {
        result[stream] += chunk;
        output += chunk;
      });
      // Carriage returns end lines too: apt and docker redraw their progress with them.
      createInterface({ input: child[stream], crlfDelay: Infinity }).on('line', (line) =>
        line.split('\r').forEach((part) => progress.output(part)),
      );
    }
    child.on('error', (error) => {
      progress.end(false);
      reject(programFailure(operation, file, args, options, error.message, output, error));
    });
    child.on('close', (code, signal) => {
      progress.end(code === 0);
      if (code === 0) resolvePromise(result);
      else
        reject(
          programFailure(
            operation,
            file,
            args,
            options,
            signal ? `killed by ${signal}` : `exit code ${code}`,
            output,
            null,
          ),
        );
    });
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
export async function ensureProgram(program: string, packages: readonly string[]): Promise<string> {
  const operation = 'ensureProgram';
  const found = findProgram(program);
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) {
    throw new DpdkError(
      `"${program}" is missing and installing ${packages.join(', ')} needs root; run as root or install them`,
      { code: 'EPERM', operation, object: program },
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for another apt or dpkg run to finish rather than fail at once on its lock.
  const waitForLock = ['-o', 'DPkg::Lock::Timeout=300'];
  if (!aptUpdated) {
    await execWithProgress(operation, 'apt-get update', 'apt-get', [...waitForLock, 'update', '-q'], {
      env,
      code: 'ERR_APT',
    });
    aptUpdated = true;
  }
  await execWithProgress(
    operation,
    `apt-get install ${packages.join(' ')} (for ${program})`,
    'apt-get',
    [...waitForLock, 'install', '-y', '-q', '--no-install-recommends', ...packages],
    {
      env,
      code: 'ERR_APT',
    },
  );
  const installed = findProgram(program);
  if (installed === undefined) {
    throw new DpdkError(`installed ${packages.join(', ')} but "${program}" is still not in PATH`, {
      code: 'ENOENT',
      operation,
      object: program,
    });
  }
  return installed;
}
