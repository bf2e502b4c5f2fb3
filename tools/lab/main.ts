/**
 * `npm run lab`: the reference setup (../shared/REFERENCE-SETUP.md) end to end with
 * dpdk-ts in every role. A private OVS-DPDK configured through the SDK's OVSDB and
 * OpenFlow clients; the generator (examples/pktgen.ts) and the forwarder
 * (examples/testpmd.ts, examples/l2fwd.ts) in two containers, or as processes with
 * `--no-containers`; a counted run then a full-rate run per experiment; and the service
 * chain (examples/ips.ts inline, a detect-only copy by mirroring). Ends with a table per
 * experiment and the same as JSON, with SVG charts of the forwarders' rates and latency beside
 * it; PASS only when every packet is accounted for.
 */
import { UsageError } from '../../examples/app.js';
import { writeCharts } from '../charts/index.js';
import { chainExperiment, forwardingExperiment, type ExperimentResult } from './experiments.js';
import { hostsExperiment } from './hosts.js';
import { faultExperiment } from './faults.js';
import { Lab, log } from './lab.js';
import { parseLabOptions, usage, type ExperimentName, type LabOptions } from './options.js';
import { ovsLimitExperiment } from './ovs-limit.js';
import { summary, writeReport } from './report.js';

async function main(): Promise<number> {
  let options: LabOptions | 'help';
  try {
    options = parseLabOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`lab: ${error.message}\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    log(usage);
    return 0;
  }
  const lab = new Lab(options);
  const results: ExperimentResult[] = [];
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    log('\nlab: interrupted: cleaning up');
    void lab.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await lab.setUp();
    const runs = [
      ...options.experiments.map((experiment) => ({ experiment, fault: undefined })),
      ...options.faults.map((fault) => ({ experiment: undefined, fault })),
    ];
    for (const { experiment, fault } of runs) {
      if (interrupted) break;
      let result: ExperimentResult;
      try {
        result =
          fault !== undefined
            ? await faultExperiment(lab, fault, options.faultPps)
            : options.hosts > 0
              ? await hostsExperiment(lab, experiment as ExperimentName)
              : experiment === 'chain'
                ? await chainExperiment(lab)
                : experiment === 'ovs-limit'
                  ? await ovsLimitExperiment(lab)
                  : await forwardingExperiment(lab, experiment);
      } catch (error) {
        result = {
          name: fault !== undefined ? `fault ${fault}` : `experiment ${experiment}`,
          apps: {},
          pass: false,
          error: error instanceof Error ? error.message : String(error),
        };
      }
      results.push(result);
      log(summary(result));
    }
  } catch (error) {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await lab.close();
    const report = writeReport(options.jsonPath, options, results);
    log(`\nlab: results in ${options.jsonPath}: ${report.pass ? 'PASS' : 'FAIL'}`);
    // A chart that cannot be drawn loses no result: the JSON is written, and `npm run charts` retries.
    await writeCharts(options.jsonPath, report).then(
      (paths) => paths.forEach((path) => log(`lab: chart ${path}`)),
      (error: unknown) => log(`lab: no charts: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
  return results.every((result) => result.pass) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
