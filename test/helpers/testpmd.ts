/** dpdk-testpmd as a child process for interop tests, and reading its forward statistics. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { until } from './dpdk.js';

/** A dpdk-testpmd process started by a test (Debian's /usr/bin/dpdk-testpmd). */
export interface Testpmd {
  process: ChildProcessWithoutNullStreams;
  /** Everything it printed so far. */
  output(): string;
  /** Presses enter (testpmd then stops forwarding, prints its stats and exits); resolves with the output. */
  quit(): Promise<string>;
}

/**
 * Starts testpmd non-interactively with the given EAL and app arguments; resolves once
 * `socket` (its vhost-user socket) exists.
 */
export async function startTestpmd(eal: string[], app: string[], socket: string): Promise<Testpmd> {
  // stdbuf: testpmd's printf output would sit in a full buffer on a pipe.
  const child = spawn('stdbuf', ['-oL', 'dpdk-testpmd', ...eal, '--', '--disable-link-check', ...app], {
    stdio: 'pipe',
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = await until(
    () => (existsSync(socket) && /Press enter to exit/.test(text)) || child.exitCode !== null,
    20000,
  );
  if (!started || child.exitCode !== null) {
    child.kill('SIGKILL');
    throw new Error(`dpdk-testpmd did not start:\n${text}`);
  }
  return {
    process: child,
    output: () => text,
    quit: async () => {
      if (child.exitCode !== null) return text;
      child.stdin.end('\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
      return text;
    },
  };
}

/** The `RX-packets` and `TX-packets` of testpmd's final per-port forward statistics. */
export function testpmdPortTotals(output: string, port: number): { rx: number; tx: number } {
  const section = new RegExp(
    `Forward statistics for port ${port}\\s+-+\\s+RX-packets: (\\d+)[^\\n]*\\n\\s+TX-packets: (\\d+)`,
  ).exec(output);
  if (section === null) throw new Error(`no forward statistics for port ${port} in:\n${output}`);
  return { rx: Number(section[1]), tx: Number(section[2]) };
}
