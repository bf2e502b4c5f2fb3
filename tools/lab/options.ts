/** The lab's command line (`npm run lab -- [options]`) and the options it gives. */
import { UsageError } from '../../examples/app.js';

/** Text of `--help`, also printed after a usage error. */
export const usage = `usage: npm run lab -- [options]
  --experiment 1|2|chain  run one experiment (repeatable; default: 1, 2 and chain)
  --duration S            seconds of each full-rate run (default 5)
  --json PATH             where to write the results (default lab-results.json)
  --no-containers         run the apps as processes instead of containers
  --no-huge               no hugepages: DPDK memory from memfd (OVS and apps)
  --vhost-mode client|server
                          OVS ports dpdkvhostuserclient (default: the apps serve the
                          sockets) or dpdkvhostuser (OVS serves them)
  --verbose               print every line the apps print
  -h, --help              this text`;

/** An experiment of the reference setup: 1 (testpmd forwards), 2 (l2fwd forwards), or the service chain. */
export type ExperimentName = '1' | '2' | 'chain';

/** What the command line asks for. */
export interface LabOptions {
  /** The experiments to run, in order. */
  experiments: ExperimentName[];
  /** Seconds of each full-rate run. */
  durationS: number;
  /** Where the JSON results go. */
  jsonPath: string;
  /** Run the apps in containers (else as host processes). */
  containers: boolean;
  /** DPDK memory without hugepages (OVS and the apps). */
  noHuge: boolean;
  /** `client`: OVS connects to sockets the apps serve; `server`: OVS serves them. */
  vhostMode: 'client' | 'server';
  /** Print every line the apps print. */
  verbose: boolean;
}

/** Parses the lab's arguments; throws UsageError on a bad one, returns 'help' for -h. */
export function parseLabOptions(argv: string[]): LabOptions | 'help' {
  const options: LabOptions = {
    experiments: [],
    durationS: 5,
    jsonPath: 'lab-results.json',
    containers: true,
    noHuge: false,
    vhostMode: 'client',
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const value = (): string => {
      const text = inline ?? argv[++i];
      if (text === undefined) throw new UsageError(`${name} needs a value`);
      return text;
    };
    switch (name) {
      case '--experiment': {
        const experiment = value();
        if (experiment !== '1' && experiment !== '2' && experiment !== 'chain') {
          throw new UsageError(`--experiment must be 1, 2 or chain, got ${JSON.stringify(experiment)}`);
        }
        options.experiments.push(experiment);
        break;
      }
      case '--duration': {
        const text = value();
        const seconds = Number(text);
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600)
          throw new UsageError(`--duration must be 1 to 3600 seconds, got ${JSON.stringify(text)}`);
        options.durationS = seconds;
        break;
      }
      case '--json':
        options.jsonPath = value();
        break;
      case '--no-containers':
        options.containers = false;
        break;
      case '--no-huge':
        options.noHuge = true;
        break;
      case '--vhost-mode': {
        const mode = value();
        if (mode !== 'client' && mode !== 'server')
          throw new UsageError(`--vhost-mode must be client or server, got ${JSON.stringify(mode)}`);
        options.vhostMode = mode;
        break;
      }
      case '--verbose':
        options.verbose = true;
        break;
      case '-h':
      case '--help':
        return 'help';
      default:
        throw new UsageError(`unknown option ${JSON.stringify(argv[i])}`);
    }
  }
  if (options.experiments.length === 0) options.experiments = ['1', '2', 'chain'];
  return options;
}
