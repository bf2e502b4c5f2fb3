/**
 * Staging the host's built dpdk-ts into a Docker build context (see
 * `examples/docker/Dockerfile.app`): what the containers run and nothing else, the Node
 * binary running this process, DPDK's C apps the lab compares with, and the Debian packages
 * those binaries need at run time.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DpdkError } from '../../lib/errors.js';
import { checkAbsolutePath } from '../../lib/validate.js';
import { cApps } from './c-apps.js';
import { execProgram } from './programs.js';

/** What {@link stageDpdkTs} put into a build context. */
export interface StagedPackage {
  /** Paths (relative to the package root, or the Node binary) that were copied. */
  staged: string[];
  /** Paths of the package that do not exist yet and were skipped. */
  missing: string[];
  /** Debian packages the staged binaries need at run time (written to `deb-packages.txt`). */
  debPackages: string[];
}

/** Where the dpdk-ts package goes inside an image. */
const imagePackageDir = '/opt/dpdk-ts';
/**
 * What of the package the containers run: the examples (`node dist/examples/<app>.js`),
 * the library they load, the addon, and package.json (`bindings` finds the addon from it).
 * The CLI (dist/bin) and the tools are not run in containers.
 */
const stagedPaths = ['package.json', 'dist/lib', 'dist/examples', 'build/Release/dpdk_ts.node'];
/**
 * npm packages the staged dpdk-ts loads at run time (the rest of its dependencies build it):
 * the addon's loader, and prom-client, which lib/index.js loads for the metrics.
 */
const runtimeNpmPackages = ['bindings', 'prom-client'];
/**
 * DPDK drivers are plugins EAL loads from its driver directory, not linked libraries, so
 * ldd cannot find them: the ones the lab uses are listed here (`%ABI%` is the DPDK ABI).
 */
const dpdkPluginPackages = [
  'librte-net-virtio%ABI%',
  'librte-net-vhost%ABI%',
  'librte-net-ring%ABI%',
  'librte-net-null%ABI%',
  'librte-mempool-ring%ABI%',
  'libnuma1',
];
/** Debian 12's DPDK 22.11 ABI, used when no staged binary links DPDK. */
const defaultDpdkAbi = '23';

/**
 * Copies the host's built dpdk-ts into a Docker build context, skipping what is not built
 * yet: under `opt/dpdk-ts/` the compiled library and examples (`dist/lib`, `dist/examples`,
 * JavaScript only), `build/Release/dpdk_ts.node`, `package.json` and the run-time npm
 * packages (`bindings` and its dependencies); under `usr/local/bin/node` the Node binary
 * running this process (Debian 12's nodejs is too old); DPDK's C apps (see c-apps.ts)
 * where the app image expects them, when the host has them. Writes `deb-packages.txt`: the
 * Debian packages that own the shared libraries the Node binary, the addon and the C apps
 * link (via ldd and dpkg -S) plus the DPDK driver plugins.
 */
export async function stageDpdkTs(packageRoot: string, contextDir: string): Promise<StagedPackage> {
  const operation = 'stageDpdkTs';
  checkAbsolutePath(operation, 'packageRoot', packageRoot);
  checkAbsolutePath(operation, 'contextDir', contextDir);
  const packageJson = join(packageRoot, 'package.json');
  if (!existsSync(packageJson)) {
    throw new DpdkError(`${packageJson} does not exist; packageRoot must be the dpdk-ts checkout`, {
      code: 'ENOENT',
      operation,
      object: packageRoot,
    });
  }
  const target = join(contextDir, imagePackageDir.slice(1));
  const result: StagedPackage = { staged: [], missing: [], debPackages: [] };
  const stageRelative = async (relative: string): Promise<void> => {
    const source = join(packageRoot, relative);
    if (!existsSync(source)) {
      result.missing.push(relative);
      return;
    }
    await mkdir(dirname(join(target, relative)), { recursive: true });
    await cp(source, join(target, relative), {
      recursive: true,
      dereference: true,
      // Of the compiled TypeScript, only the JavaScript runs: no declarations or source maps.
      filter: async (path) => !relative.startsWith('dist/') || path.endsWith('.js') || (await stat(path)).isDirectory(),
    });
    result.staged.push(relative);
  };
  for (const relative of stagedPaths) await stageRelative(relative);
  for (const name of await runtimeNpmClosure(packageRoot, runtimeNpmPackages))
    await stageRelative(join('node_modules', name));

  const nodeBinary = await realpath(process.execPath);
  const nodeTarget = join(contextDir, 'usr/local/bin/node');
  await mkdir(dirname(nodeTarget), { recursive: true });
  await copyFile(nodeBinary, nodeTarget);
  await chmod(nodeTarget, (await stat(nodeBinary)).mode & 0o777);
  result.staged.push(nodeBinary);

  const binaries = [nodeBinary];
  const addon = join(packageRoot, 'build/Release/dpdk_ts.node');
  if (existsSync(addon)) binaries.push(addon);
  // The same C binaries as on the host: their libraries come from the same Debian release.
  for (const app of Object.values(cApps(packageRoot))) {
    if (!existsSync(app.host)) {
      result.missing.push(app.host);
      continue;
    }
    const target = join(contextDir, app.image.slice(1));
    await mkdir(dirname(target), { recursive: true });
    await copyFile(await realpath(app.host), target);
    await chmod(target, 0o755);
    result.staged.push(app.host);
    binaries.push(app.host);
  }
  const libraries = new Set<string>();
  for (const binary of binaries) for (const library of await sharedLibraries(binary)) libraries.add(library);
  const abi =
    [...libraries].map((library) => /librte_eal\.so\.(\d+)/.exec(library)?.[1]).find((found) => found !== undefined) ??
    defaultDpdkAbi;
  const packages = new Set(dpdkPluginPackages.map((name) => name.replace('%ABI%', abi)));
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
      throw new DpdkError(`${binary} needs a library the host lacks (${line.trim()}); install it first`, {
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
    `no Debian package owns ${library}, so the image cannot install it; ` +
      `link the addon and Node only against libraries from Debian packages`,
    { code: 'ENOENT', operation, object: library },
  );
}
