/**
 * The forwarders a forwarding experiment runs side by side, on the same image, cores, OVS
 * and generator: DPDK's own C app (dpdk-testpmd for experiment 1, DPDK's l2fwd sample for
 * experiment 2), the dpdk-ts example with its TypeScript loop, and the same example with
 * the native engine.
 */
import { cForwarderArgs, forwarderArgs, referenceCommandLines, type AppEalSettings } from './app-args.js';
import { cApps } from './c-apps.js';
import type { LabProgram } from './lab.js';
import type { ForwarderKind } from './options.js';

/** One forwarder of an experiment. */
export interface LabForwarder {
  /** Which of the three it is. */
  kind: ForwarderKind;
  /** How the tables name it. */
  label: string;
  /** Its app name (unique among the running apps). */
  name: string;
  /** What runs. */
  program: LabProgram;
  /** Its command line from its EAL settings. */
  args: (eal: AppEalSettings) => string[];
  /** The reference setup's command line of the app it stands for. */
  reference: string;
}

/**
 * The forwarders of experiment 1 (testpmd) or 2 (l2fwd), of `kinds`, in that order.
 * `packageRoot` is the dpdk-ts checkout (the C l2fwd is built in it).
 */
export function labForwarders(
  experiment: '1' | '2',
  kinds: readonly ForwarderKind[],
  packageRoot: string,
  yieldWhenIdle: boolean,
): LabForwarder[] {
  const app = experiment === '1' ? 'testpmd' : 'l2fwd';
  // DPDK's C apps have no such option: they always poll.
  const yieldArgs = yieldWhenIdle ? ['--yield-when-idle'] : [];
  const reference = referenceCommandLines[app];
  const all: Record<ForwarderKind, LabForwarder> = {
    c: {
      kind: 'c',
      label: experiment === '1' ? 'dpdk-testpmd (C)' : 'DPDK l2fwd (C)',
      name: `${app}-c`,
      program: { c: cApps(packageRoot)[app] },
      args: (eal) => cForwarderArgs(app, eal),
      reference,
    },
    ts: {
      kind: 'ts',
      label: `dpdk-ts ${app}, TypeScript loop`,
      name: `${app}-ts`,
      program: { example: app },
      args: (eal) => [...forwarderArgs(app, eal), '--engine=ts', ...yieldArgs],
      reference,
    },
    native: {
      kind: 'native',
      label: `dpdk-ts ${app}, native engine`,
      name: `${app}-native`,
      program: { example: app },
      args: (eal) => [...forwarderArgs(app, eal), '--engine=native', ...yieldArgs],
      reference,
    },
  };
  return kinds.map((kind) => all[kind]);
}
