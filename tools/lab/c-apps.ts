/**
 * DPDK's own C apps the lab measures dpdk-ts against, in the same run: `dpdk-testpmd`
 * (Debian's dpdk-dev; experiment 1 of the reference setup is exactly that app) and DPDK's
 * l2fwd sample (built by tools/setup.sh from the sources Debian's dpdk-doc installs). On
 * the host they run from where they are installed or built; the app image carries copies
 * staged from the host (see staging.ts), so that containers run the same binaries.
 */
import { join } from 'node:path';

/** A C app: its path on the host and in the app image. */
export interface CApp {
  /** Where it is on the host. */
  host: string;
  /** Where the app image has it (staged from {@link host}). */
  image: string;
  /** How to get it when it is missing on the host. */
  install: string;
}

/** The C counterparts of the lab's forwarders. */
export type CAppName = 'testpmd' | 'l2fwd';

/** The C apps of the dpdk-ts checkout at `packageRoot`. */
export function cApps(packageRoot: string): Record<CAppName, CApp> {
  return {
    testpmd: {
      host: '/usr/bin/dpdk-testpmd',
      image: '/usr/local/bin/dpdk-testpmd',
      install: 'apt-get install dpdk-dev (tools/setup.sh does)',
    },
    l2fwd: {
      host: join(packageRoot, 'build/l2fwd-c/build/l2fwd'),
      image: '/usr/local/bin/dpdk-l2fwd',
      install: 'run tools/setup.sh (it builds DPDK l2fwd from dpdk-doc sources into build/l2fwd-c/)',
    },
  };
}
