/**
 * The lab's images, built without any registry: a Debian base debootstrapped from the
 * host's mirror and imported, then Dockerfiles (`examples/docker/`) built from it with a
 * fresh context, holding the staged dpdk-ts package when asked.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DpdkError } from '../../lib/errors.js';
import { checkOptions } from '../../lib/validate.js';
import { debianMirrors, imageSourcesList } from './debian-mirrors.js';
import type { DockerEngine } from './docker-engine.js';
import { ensureProgram, execWithProgress, outputTail } from './programs.js';
import { StepProgress } from './progress.js';
import { stageDpdkTs } from './staging.js';

/** Options of {@link buildBaseImage}. */
export interface BaseImageOptions {
  /** Image name. Default `dpdk-ts-lab/bookworm`. */
  name?: string;
  /** Debian release. Default `bookworm`. */
  release?: string;
  /** Rebuild even when the image exists. Default false. */
  rebuild?: boolean;
}

/** Options of {@link buildImage}. */
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

const baseImageOptionKeys: readonly (keyof BaseImageOptions)[] = ['name', 'release', 'rebuild'];
const buildImageOptionKeys: readonly (keyof BuildImageOptions)[] = [
  'name',
  'dockerfile',
  'baseImage',
  'stagePackageFrom',
];

/**
 * Builds a Debian base image in `engine` without any registry: `debootstrap
 * --variant=minbase` from the host's configured Debian mirror, with apt sources for the
 * release, its updates and security suites, imported with `docker import`. Skipped when
 * the image exists.
 */
export async function buildBaseImage(engine: DockerEngine, options: BaseImageOptions = {}): Promise<string> {
  const operation = 'buildBaseImage';
  checkOptions(operation, options, baseImageOptionKeys);
  const name = options.name ?? 'dpdk-ts-lab/bookworm';
  const release = options.release ?? 'bookworm';
  if (options.rebuild !== true && (await engine.imageExists(name))) {
    engine.log(`base image ${name} exists`);
    return name;
  }
  const debootstrap = await ensureProgram('debootstrap', ['debootstrap']);
  const mirrors = debianMirrors(release);
  await mkdir(engine.stateDir, { recursive: true });
  const workDir = await mkdtemp(join(engine.stateDir, 'rootfs-'));
  const rootfs = join(workDir, 'rootfs');
  try {
    await execWithProgress(
      operation,
      `debootstrap --variant=minbase ${release} from ${mirrors.main}`,
      debootstrap,
      ['--variant=minbase', release, rootfs, mirrors.main],
      { code: 'ERR_DEBOOTSTRAP' },
    );
    await writeFile(join(rootfs, 'etc/apt/sources.list'), imageSourcesList(release, mirrors));
    const progress = new StepProgress(`docker import ${name}`);
    await importRootfs(engine, operation, rootfs, name).then(
      () => progress.end(true),
      (error: unknown) => {
        progress.end(false);
        throw error;
      },
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return name;
}

function importRootfs(engine: DockerEngine, operation: string, rootfs: string, name: string): Promise<void> {
  return new Promise((resolveImport, reject) => {
    const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const importer = spawn('docker', ['import', '-', name], { env: engine.env(), stdio: ['pipe', 'pipe', 'pipe'] });
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
          new DpdkError(
            `\`tar -C ${rootfs} -c . | docker import - ${name}\` failed (tar ${tarCode}, docker ${code}):\n${outputTail(errors)}`,
            {
              code: 'ERR_DOCKER',
              operation,
              object: name,
            },
          ),
        );
    });
  });
}

/**
 * Builds `dockerfile` as image `name` in `engine` with `--network host` (so apt reaches
 * the Debian mirror) and `BASE_IMAGE` set, from a fresh context that holds the staged
 * dpdk-ts package when `stagePackageFrom` is given.
 */
export async function buildImage(engine: DockerEngine, options: BuildImageOptions): Promise<string> {
  const operation = 'buildImage';
  checkOptions(operation, options, buildImageOptionKeys);
  const dockerfile = resolve(options.dockerfile);
  await access(dockerfile, fsConstants.R_OK).catch((cause: unknown) => {
    throw new DpdkError(`Dockerfile ${dockerfile} cannot be read`, {
      code: 'ENOENT',
      operation,
      object: dockerfile,
      cause,
    });
  });
  await mkdir(engine.stateDir, { recursive: true });
  const context = await mkdtemp(join(engine.stateDir, 'context-'));
  try {
    if (options.stagePackageFrom !== undefined) {
      const staged = await stageDpdkTs(options.stagePackageFrom, context);
      if (staged.missing.length > 0) engine.log(`staging: not built yet, skipped: ${staged.missing.join(', ')}`);
    } else {
      await writeFile(join(context, 'deb-packages.txt'), '');
    }
    await execWithProgress(
      operation,
      `docker build ${options.name} from ${dockerfile}`,
      'docker',
      [
        'build',
        '--network',
        'host',
        '--build-arg',
        `BASE_IMAGE=${options.baseImage}`,
        '--tag',
        options.name,
        '--file',
        dockerfile,
        context,
      ],
      { env: engine.env() },
    );
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return options.name;
}
