/**
 * testpmd, the dpdk-ts way: DPDK's test application's command line, interactive prompt
 * and statistics, forwarding with the native Engine on EAL worker lcores or
 * (`--engine ts`) with a TypeScript loop on an LcoreWorker.
 *
 *   node --import tsx examples/testpmd.ts --no-pci --vdev net_null0 --vdev net_null1 \
 *     --lcores 0@0,1@1 -- -i --burst=64 --forward-mode=macswap --nb-cores=1
 *
 * Without `-i` it forwards from the start until SIGINT or SIGTERM.
 *
 * The parts: testpmd/options.ts (the command line after `--`), testpmd/forwarding.ts (the
 * ports, the forwarding lcores, start and stop, the statistics) and testpmd/prompt.ts (the
 * interactive prompt and its commands).
 */
import { DpdkError, Eal } from '../lib/index.js';
import { UsageError, startApp } from './app.js';
import { Testpmd } from './testpmd/forwarding.js';
import { parseOptions, usage, type TestpmdOptions } from './testpmd/options.js';
import { prompt } from './testpmd/prompt.js';

/** Without `-i`: forwards until SIGINT or SIGTERM. */
function runUntilSignal(app: Testpmd, statsPeriodSeconds: number): Promise<void> {
  return new Promise((resolve) => {
    const timer =
      statsPeriodSeconds > 0 ? setInterval(() => app.printPeriodicStats(), statsPeriodSeconds * 1000) : undefined;
    // Keeps the process alive between statistics (the loops run on other threads).
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const finish = (): void => {
      clearInterval(timer);
      clearInterval(keepAlive);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      console.log('\nSignal received, preparing to exit...');
      resolve();
    };
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
    if (statsPeriodSeconds === 0) console.log('Forwarding until SIGINT or SIGTERM (Ctrl-C)...');
  });
}

async function main(): Promise<number> {
  const started = await startApp<TestpmdOptions>('testpmd', usage, parseOptions);
  if (typeof started === 'number') return started;
  const { options, metrics } = started;
  let testpmd: Testpmd | undefined;
  try {
    testpmd = new Testpmd(options, metrics?.metrics);
    if (!options.interactive || options.autoStart) await testpmd.start();
    if (options.interactive) await prompt(testpmd);
    else await runUntilSignal(testpmd, options.statsPeriodSeconds);
    return 0;
  } catch (error) {
    const message = error instanceof UsageError || error instanceof DpdkError ? error.message : String(error);
    console.error(`testpmd: ${message}`);
    return 1;
  } finally {
    await metrics?.close();
    await testpmd?.close();
    if (options.json && testpmd !== undefined) {
      const ports = testpmd.lastForwardStats;
      console.log(
        JSON.stringify({
          app: 'testpmd',
          forwardMode: options.forwardMode,
          engine: options.engine,
          ports,
          forwarded: ports.reduce((sum, port) => sum + port.tx, 0),
        }),
      );
    }
    Eal.cleanup();
    console.log('Bye...');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`testpmd: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
