// pktgen.ts: a pktgen-style traffic generator on dpdk-ts. It takes pktgen's command line
// and its basic commands, so that a lab setup written for pktgen runs unchanged, e.g.
//
//   node --import tsx examples/pktgen.ts -c 0x19 --master-lcore 3 -n 1 --socket-mem 1024,1024 \
//     --file-prefix pktgen --no-pci \
//     --vdev 'net_virtio_user0,mac=00:00:00:00:00:05,path=/var/run/openvswitch/vhost-user0' \
//     --vdev 'net_virtio_user1,mac=00:00:00:00:00:01,path=/var/run/openvswitch/vhost-user1' \
//     -- -T -P -m "0.0,4.1" --commands 'set all rate 10; set 0 count 100; set 1 count 200; str' --wait-done
//
// (without OVS, examples/vhost-loopback.ts serves the two sockets and crosses them over).
//
// EAL arguments (before `--`) go to Eal.init as given, except that:
// - `--master-lcore` becomes `--main-lcore` (its DPDK 22.11 name);
// - in a group of options that say the same thing, the last one wins, so that a reference
//   command line can be overridden by appending: `-c`/`-l`/`--lcores` (e.g.
//   `--lcores 3@0,0@1,4@1`: pktgen's lcore ids 3 (main), 0 and 4 on CPUs 0 and 1) and
//   `-m`/`--socket-mem`;
// - then, as for the other examples (lib/eal-args.ts): lcores of `-c`/`-l` that name
//   CPUs this machine lacks run on the CPUs it has (`-c 0x19 --master-lcore 3` on 2 CPUs
//   becomes `--lcores 0@1,3@0,4@1`), a `--socket-mem` it cannot honour (`1024,1024` on one
//   NUMA node) is left out, and `--in-memory` and `--single-file-segments` (unless
//   `--no-huge`) are added: nothing is left in /dev/hugepages, even after a crash, nor in
//   /var/run/dpdk once the process ends (a crash leaves the telemetry socket, which the
//   next run with that prefix replaces). Every change is printed.
//
// Application arguments (after `--`): pktgen's `-T` (accepted; the display has no colour
// theme), `-P` (promiscuous mode on every port), `-m MAP` (which lcore serves which port:
// `0.0,4.1`, `[1:2].0` or `1.[0-1]`), `-f FILE` (a command file, as --script), and:
//   --script FILE          commands to run first, one per line (`#` starts a comment)
//   --commands 'A; B'      commands to run first, separated by ';'
//   --wait-done            after the commands, wait until every port with a count has sent
//                          it and the peer port received what was sent, then print the
//                          final table and exit: 0 when complete, 2 on --timeout
//   --timeout S            seconds --wait-done waits (default 30)
//   --json PATH|-          write the final counters as JSON to PATH, or as a single line on
//                          stdout (all other output then goes to stderr)
//   --line-rate-mbps N     the line rate that `rate` is a percentage of (default 10000)
//   --shared-cpu           the generator shares its CPU with another poller (an OVS PMD
//                          thread, the forwarder it feeds): its engines yield the CPU
//                          after every pass
//   --linger MS            after the final report (--wait-done, or quit in the commands),
//                          keep the ports open MS milliseconds, so that a switch's counters
//                          of them can still be read
//   --timeline MS          every MS milliseconds, record each port's sent and received
//                          counts, and every link change of a port, in the JSON report's
//                          `timeline` (how long traffic stopped during a fault, and when)
//   --timeline-file PATH   write the timeline's samples to PATH as they are taken, one JSON
//                          line each, instead of keeping them for the report (a long run's
//                          memory stays flat); the report's `timeline` names the file
//   --metrics HOST:PORT    serve Prometheus metrics (ports, engines with their latency
//                          histogram, the pool) at http://HOST:PORT/metrics
// Without --wait-done, a prompt reads commands (`help` lists them) after those, until
// `quit` or EOF; on a terminal, pktgen's screen: a page per port (rates in pps and Mbit/s,
// totals, errors, latency) redrawn every second above the command line (pktgen/screen.ts).
//
// The parts: pktgen/options.ts (the command line), pktgen/commands.ts (the command
// language), pktgen/generator.ts (the generator on the SDK's engines: how it maps onto
// them and its limitations), pktgen/display.ts (tables and progress lines), pktgen/screen.ts
// (the terminal's screen),
// pktgen/session.ts (the commands, --wait-done or the prompt, the final report),
// pktgen/search.ts (the `search` verb: zero-loss throughput, then latency at it) and
// pktgen/report.ts (the JSON report's types).
import { DpdkError, Eal, splitCommandLine } from '../lib/index.js';
import { UsageError, reportVhostSetup, serveAppMetrics } from './app.js';
import { parseScript } from './pktgen/commands.js';
import { notice } from './pktgen/display.js';
import { Pktgen } from './pktgen/generator.js';
import { parseAppArgs, pktgenEalArgs } from './pktgen/options.js';
import { Session } from './pktgen/session.js';

// Initializes EAL (virtio-user servers wait for their clients without blocking); a refusal is a UsageError saying what was passed, with a hint for the
// common mistake of lcores that leave out the main one.
async function initEal(args: string[]): Promise<void> {
  try {
    await Eal.initAsync(args);
    reportVhostSetup('pktgen');
  } catch (error) {
    if (error instanceof DpdkError) {
      const hint = /Main lcore is not enabled/.test(error.message)
        ? ' (the lcores given do not include the main lcore: add --main-lcore with one of them)'
        : '';
      throw new UsageError(`EAL init with ${args.join(' ')} failed: ${error.message}${hint}`);
    }
    throw error;
  }
}

async function main(): Promise<number> {
  // Parse: the options and the commands they give are checked before DPDK starts.
  const { eal, app: appArgs } = splitCommandLine(process.argv.slice(2));
  const options = parseAppArgs(appArgs);
  const commands = parseScript(options.commands);
  const { args, notes } = pktgenEalArgs(eal);
  notes.forEach(notice);

  // Init: EAL, then the ports and their lcores.
  await initEal(args);
  // Before the ports start: a metrics port in use ends the run before it sends anything.
  const metrics =
    options.metrics === undefined
      ? undefined
      : await serveAppMetrics('pktgen', options.metrics).catch((error: unknown) => {
          throw error instanceof DpdkError ? new UsageError(error.message) : error;
        });
  const app = new Pktgen(options, notice, metrics?.metrics);
  const session = new Session(app, options);
  app.ports.forEach((port, i) =>
    notice(`port ${i}: ${port.name} ${port.mac} on lcore ${app.lcoreOf[i]}, receives from port ${app.peerOf(i)}`),
  );

  // Run the commands, then wait for the counts or prompt; the session reports at the end.
  return session.run(commands);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `pktgen: ${error instanceof UsageError ? error.message : error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  },
);
