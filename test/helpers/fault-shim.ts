// Builds test/fixtures/fault-shim/guest-pages.c, the LD_PRELOAD library that fails librte_vhost's
// allocation of dev->guest_pages in a test's private ovs-vswitchd (see the C file), into a
// temporary directory, and controls it through its count file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const source = join(__dirname, '..', 'fixtures', 'fault-shim', 'guest-pages.c');

/** Why the shim cannot be built here, or false. */
export function faultShimSkip(): string | false {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'no C compiler (cc) to build the fault-injection library';
  }
}

/** The built library and its control file. */
export class FaultShim {
  /** The library, for LD_PRELOAD. */
  readonly library: string;
  /** The count file the library reads (DPDK_TS_FAULT_FILE). */
  readonly control: string;
  readonly #dir: string;

  constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), 'dts-shim-'));
    this.library = join(this.#dir, 'guest-pages.so');
    this.control = join(this.#dir, 'faults');
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', this.library, source, '-ldl']);
  }

  /** The environment that makes ovs-vswitchd load it. */
  get env(): Record<string, string> {
    return { LD_PRELOAD: this.library, DPDK_TS_FAULT_FILE: this.control };
  }

  /** Makes the next `count` allocations of dev->guest_pages fail. */
  fail(count: number): void {
    writeFileSync(this.control, `${count}\n`);
  }

  /** How many of the failures asked for are still to come. */
  left(): number {
    return Number.parseInt(readFileSync(this.control, 'utf8'), 10);
  }

  /** Removes the directory. */
  remove(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
