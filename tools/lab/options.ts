/** The lab's command line (`npm run lab -- [options]`) and the options it gives. */
import { parseMetricsAddress, UsageError, type MetricsAddress } from '../../examples/app.js';
import { placements, type Placement } from './cpu-plan.js';

/**
 * OVS's `pmd-maxsleep` the lab uses unless told: how long an idle PMD thread may sleep,
 * chosen by measurement (README, "Sharing two CPUs").
 */
export const defaultPmdMaxSleepUs = 50;

/**
 * The most dpdk-ts apps the lab runs at once (the service chain's generator, IPS and
 * detector): `--metrics`' ports are its port and the next ones, up to this many.
 */
export const maxConcurrentApps = 3;

/**
 * Each generator port's rate in `--fault` runs unless told: well under what experiment 1
 * forwards on two shared CPUs (README, "Sharing two CPUs"), so that the steady state loses
 * (almost) nothing and what is lost is the fault's: at 100000 pps per port the lab lost
 * about 0.3% in steady state, at 20000 none after the first second.
 */
export const defaultFaultPps = 20_000;

/** Where the apps of `--fault` runs serve their metrics unless `--metrics` says. */
export const defaultFaultMetrics: MetricsAddress = { host: '127.0.0.1', port: 9460 };

/** The faults `--fault` injects (faults.ts). */
export type FaultName = 'ovs-restart' | 'container-restart' | 'ovsdb-restart';

/** The faults, for the command line. */
export const faultNames: readonly FaultName[] = ['ovs-restart', 'container-restart', 'ovsdb-restart'];

/** The most simulated hosts `--hosts` takes: each is a DPDK ovs-vswitchd with its own memory. */
export const maxHosts = 8;

/** Text of `--help`, also printed after a usage error. */
export const usage = `usage: npm run lab -- [options]
  --experiment 1|2|chain|ovs-limit|move
                          run one experiment (repeatable; default: 1, 2 and chain;
                          ovs-limit: what OVS forwards with a CPU to itself; move,
                          with --hosts 3: a forwarder moved between chassis under
                          traffic, the outage measured)
  --fault ${faultNames.join('|')}
                          run experiment 1's topology (the native engine forwards) with
                          this fault in the middle and print how long traffic stopped and
                          what was lost (repeatable; alone, no other experiment runs):
                          ovs-restart: ovs-vswitchd killed (SIGKILL) and started again, the
                          flows reinstalled; container-restart: the forwarder's container
                          killed and started again; ovsdb-restart: ovsdb-server killed and
                          started again
                          (the apps serve metrics, from ${defaultFaultMetrics.host}:${defaultFaultMetrics.port} unless --metrics
                          says: the lab reads their mbufs in use before and after)
  --fault-pps N           each generator port's rate during --fault runs, packets per second
                          (default ${defaultFaultPps}: a rate the lab forwards without loss, so
                          that every packet lost is the fault's; 0: the line rate)
  --duration S            seconds of each full-rate run (default 5)
  --rounds N              full-rate rounds of every forwarder, interleaved (default 3)
  --forwarder c|ts|native run only these forwarders at full rate (repeatable; default
                          all three: DPDK's C app, the dpdk-ts TypeScript loop and the
                          dpdk-ts native engine)
  --zero-loss             each full-rate run is followed by a zero-loss throughput search
                          (RFC 2544 26.1: pktgen's search verb, 1 s trials, 2% resolution,
                          up to twice the rate the full-rate run received, or the line
                          rate when that passes) and a latency trial at the rate found
  --pmd-maxsleep US       OVS other_config:pmd-maxsleep, microseconds (default ${defaultPmdMaxSleepUs};
                          0 turns OVS's PMD sleep off)
  --generator-yield auto|on|off
                          the generator's engines yield their CPU when idle: on, off, or
                          when the generator shares its CPU (default auto)
  --forwarder-yield auto|on|off
                          the dpdk-ts forwarders yield their CPU after a pass that moved
                          nothing (--yield-when-idle): on, off, or when the forwarder
                          shares its CPU (default auto; DPDK's C apps always poll)
  --placement ${placements.join('|')}
                          which two pollers share a CPU on a 2-CPU machine (default ${placements[0]})
  --hosts N               N simulated hosts (2 to ${maxHosts}): an OVN deployment of N DPDK
                          chassis (each its own network namespace, OVS-DPDK and
                          ovn-controller, Geneve in OVS userspace) instead of the one OVS;
                          experiments 1 and 2 run with the generator's ports on chassis 1
                          and the forwarder's on chassis 2 (default: experiments 1 and 2;
                          not with --fault or --vhost-mode server)
  --json PATH             where to write the results (default lab-results.json)
  --no-containers         run the apps as processes instead of containers
  --no-huge               no hugepages: DPDK memory from memfd (OVS and apps)
  --vhost-mode client|server
                          OVS ports dpdkvhostuserclient (default: the apps serve the
                          sockets) or dpdkvhostuser (OVS serves them)
  --metrics HOST:PORT     every dpdk-ts app serves Prometheus metrics at HOST, on PORT and
                          the next ports (${maxConcurrentApps} apps at most at once; each app's
                          address is printed), e.g. 127.0.0.1:9400; containers then share
                          the host's network; the lab reads each app's counters as it ends
  --verbose               print every line the apps print
  -h, --help              this text`;

/**
 * The experiments `--hosts` runs, with the fewest chassis each needs. Another experiment
 * across hosts adds its name here and its runner to `hostsExperiments` (hosts.ts).
 */
export const hostsExperimentMinimum: Readonly<Partial<Record<ExperimentName, number>>> = {
  '1': 2,
  '2': 2,
  chain: 3,
  move: 3,
};

/** The forwarders of a forwarding experiment: DPDK's C app, dpdk-ts's TypeScript loop, dpdk-ts's native engine. */
export type ForwarderKind = 'c' | 'ts' | 'native';

/**
 * An experiment of the reference setup: 1 (testpmd forwards), 2 (l2fwd forwards), the
 * service chain, or the measure of OVS alone on a CPU.
 */
export type ExperimentName = '1' | '2' | 'chain' | 'ovs-limit' | 'move';

/** What the command line asks for. */
export interface LabOptions {
  /** The experiments to run, in order. */
  experiments: ExperimentName[];
  /** The faults to inject, each in a run of its own after the experiments (`--fault`). */
  faults: FaultName[];
  /** Each generator port's rate in fault runs, packets per second; 0 for the line rate. */
  faultPps: number;
  /** Seconds of each full-rate run. */
  durationS: number;
  /** Full-rate rounds of every forwarder, interleaved. */
  rounds: number;
  /** The forwarders run at full rate, in this order. */
  forwarders: ForwarderKind[];
  /** After each full-rate run, search the forwarder's zero-loss throughput. */
  zeroLoss: boolean;
  /** OVS `other_config:pmd-maxsleep`, microseconds. */
  pmdMaxSleepUs: number;
  /** The generator's engines yield when idle: always, never, or when it shares its CPU. */
  generatorYield: 'auto' | 'on' | 'off';
  /** The dpdk-ts forwarders yield when idle: always, never, or when the forwarder shares its CPU. */
  forwarderYield: 'auto' | 'on' | 'off';
  /** Which two busy pollers share a CPU on a 2-CPU machine. */
  placement: Placement;
  /** Where the JSON results go. */
  jsonPath: string;
  /** Run the apps in containers (else as host processes). */
  containers: boolean;
  /** DPDK memory without hugepages (OVS and the apps). */
  noHuge: boolean;
  /** `client`: OVS connects to sockets the apps serve; `server`: OVS serves them. */
  vhostMode: 'client' | 'server';
  /** Where the dpdk-ts apps serve metrics: `host`, from `port` up (`--metrics`); none when undefined. */
  metrics?: MetricsAddress;
  /** Print every line the apps print. */
  verbose: boolean;
  /** Simulated hosts (OVN chassis) of the fabric (`--hosts`); 0: the one OVS. */
  hosts: number;
}

/** `text` as an integer from `min` to `max`; throws UsageError naming `option` and `unit` else. */
function integer(option: string, text: string, min: number, max: number, unit: string): number {
  const number = Number(text);
  if (!/^\d+$/.test(text) || number < min || number > max)
    throw new UsageError(`${option} must be ${min} to ${max} ${unit}, got ${JSON.stringify(text)}`);
  return number;
}

/** Parses the lab's arguments; throws UsageError on a bad one, returns 'help' for -h. */
export function parseLabOptions(argv: string[]): LabOptions | 'help' {
  const options: LabOptions = {
    experiments: [],
    faults: [],
    faultPps: defaultFaultPps,
    durationS: 5,
    rounds: 3,
    forwarders: [],
    zeroLoss: false,
    pmdMaxSleepUs: defaultPmdMaxSleepUs,
    generatorYield: 'auto',
    forwarderYield: 'auto',
    placement: placements[0],
    jsonPath: 'lab-results.json',
    containers: true,
    noHuge: false,
    vhostMode: 'client',
    verbose: false,
    hosts: 0,
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
        if (
          experiment !== '1' &&
          experiment !== '2' &&
          experiment !== 'chain' &&
          experiment !== 'ovs-limit' &&
          experiment !== 'move'
        ) {
          throw new UsageError(
            `--experiment must be 1, 2, chain, ovs-limit or move, got ${JSON.stringify(experiment)}`,
          );
        }
        options.experiments.push(experiment);
        break;
      }
      case '--fault': {
        const fault = value();
        const known = faultNames.find((name) => name === fault);
        if (known === undefined)
          throw new UsageError(`--fault must be ${faultNames.join(', ')}, got ${JSON.stringify(fault)}`);
        options.faults.push(known);
        break;
      }
      case '--fault-pps':
        options.faultPps = integer('--fault-pps', value(), 0, 14_880_952, 'packets per second');
        break;
      case '--duration': {
        const text = value();
        const seconds = Number(text);
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600)
          throw new UsageError(`--duration must be 1 to 3600 seconds, got ${JSON.stringify(text)}`);
        options.durationS = seconds;
        break;
      }
      case '--rounds':
        options.rounds = integer('--rounds', value(), 1, 100, 'rounds');
        break;
      case '--forwarder': {
        const forwarder = value();
        if (forwarder !== 'c' && forwarder !== 'ts' && forwarder !== 'native')
          throw new UsageError(`--forwarder must be c, ts or native, got ${JSON.stringify(forwarder)}`);
        if (!options.forwarders.includes(forwarder)) options.forwarders.push(forwarder);
        break;
      }
      case '--pmd-maxsleep':
        // OVS 3.1 caps pmd-maxsleep at 10000 us.
        options.pmdMaxSleepUs = integer('--pmd-maxsleep', value(), 0, 10000, 'microseconds');
        break;
      case '--generator-yield':
      case '--forwarder-yield': {
        const mode = value();
        if (mode !== 'auto' && mode !== 'on' && mode !== 'off')
          throw new UsageError(`${name} must be auto, on or off, got ${JSON.stringify(mode)}`);
        if (name === '--generator-yield') options.generatorYield = mode;
        else options.forwarderYield = mode;
        break;
      }
      case '--placement': {
        const placement = value();
        const known = placements.find((name) => name === placement);
        if (known === undefined)
          throw new UsageError(`--placement must be ${placements.join(', ')}, got ${JSON.stringify(placement)}`);
        options.placement = known;
        break;
      }
      case '--zero-loss':
        options.zeroLoss = true;
        break;
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
      case '--metrics': {
        const address = parseMetricsAddress(value());
        const last = 65536 - maxConcurrentApps;
        if (address.port < 1 || address.port > last) {
          throw new UsageError(
            `--metrics port must be 1 to ${last} (the apps serve on it and the next ${maxConcurrentApps - 1}), got ${address.port}`,
          );
        }
        options.metrics = address;
        break;
      }
      case '--verbose':
        options.verbose = true;
        break;
      case '--hosts':
        options.hosts = integer('--hosts', value(), 2, maxHosts, 'hosts');
        break;
      case '-h':
      case '--help':
        return 'help';
      default:
        throw new UsageError(`unknown option ${JSON.stringify(argv[i])}`);
    }
  }
  if (options.hosts > 0) checkHosts(options);
  else if (options.experiments.includes('move'))
    throw new UsageError('--experiment move moves a forwarder between simulated hosts: give --hosts 3 or more');
  if (options.experiments.length === 0 && options.faults.length === 0) options.experiments = ['1', '2', 'chain'];
  // A fault run reads the apps' mbufs in use from their metrics.
  if (options.faults.length > 0 && options.metrics === undefined) options.metrics = defaultFaultMetrics;
  if (options.forwarders.length === 0) options.forwarders = ['c', 'ts', 'native'];
  return options;
}

/** What `--hosts` runs with: its experiments, OVN's port type; the experiments default to 1 and 2. */
function checkHosts(options: LabOptions): void {
  if (options.faults.length > 0) throw new UsageError('--fault runs on the one OVS: leave out --hosts');
  // OVN attaches apps with dpdkvhostuserclient ports: the apps serve the sockets.
  if (options.vhostMode === 'server')
    throw new UsageError('--hosts attaches the apps as OVS clients of their sockets: leave out --vhost-mode server');
  for (const experiment of options.experiments) {
    const minimum = hostsExperimentMinimum[experiment];
    if (minimum === undefined) {
      throw new UsageError(
        `--experiment with --hosts must be ${Object.keys(hostsExperimentMinimum).join(', ')}, got ${JSON.stringify(experiment)}`,
      );
    }
    if (options.hosts < minimum)
      throw new UsageError(`--experiment ${experiment} needs --hosts ${minimum} or more, got ${options.hosts}`);
  }
  if (options.experiments.length === 0) options.experiments = ['1', '2'];
}
