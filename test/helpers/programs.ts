/** Programs the tests run that are not part of dpdk-ts: found on PATH, or a message naming the fix. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where `program` is on PATH, or undefined. */
export function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * Why a test cannot run `program` (installed by Debian's `debianPackage` and by
 * `npm run setup`), or undefined when it is on PATH.
 */
export function missingProgram(program: string, debianPackage = program): string | undefined {
  if (onPath(program) !== undefined) return undefined;
  return `${program} is not installed (not on PATH): apt-get install ${debianPackage}, or npm run setup`;
}
