/**
 * The reference setup's experiments on the lab: 1 (a testpmd-style forwarder) and 2
 * (l2fwd), each a counted run then a full-rate run, and the service chain (an inline IPS
 * and a mirrored detector). Each checks that every packet is accounted for, by the
 * generator, the apps and OVS.
 */
import { DpdkError } from '../../lib/errors.js';
import type { PktgenReport, SearchReport } from '../../examples/pktgen/report.js';
import {
  generatorArgs,
  networkFunctionArgs,
  referenceCommandLines,
  type NetworkFunctionSettings,
  type VirtioPort,
} from './app-args.js';
import { roundFigures, summarize, type ForwarderSummary, type RoundFigures } from './comparison.js';
import { labForwarders, type LabForwarder } from './forwarders.js';
import { log, packageRoot, type Lab, type StartedApp } from './lab.js';
import type { ForwarderKind } from './options.js';
import type { FaultResult } from './faults.js';
import type { OvsLimit } from './ovs-limit.js';
import type { MoveFigures } from './hosts-move.js';
import { countersSince, flowPackets, portsMatch, type OvsCounters } from './ovs-counters.js';

/** A check of an experiment; `ok` is null when it could not be made (see `what`). */
export interface Check {
  /** What is checked, as the summary prints it. */
  what: string;
  ok: boolean | null;
}

/** A counted run: the generator's report, what OVS counted, and the checks on them. */
export interface CountedRun {
  /** The generator's report. */
  generator: PktgenReport;
  /** What OVS counted during the run (with `--hosts`, every chassis's ports named `CHASSIS PORT`). */
  ovs: OvsCounters;
  /** The checks on the run. */
  checks: Check[];
}

/**
 * How a forwarding experiment meets its fabric: the one OVS's bridge and flows (default),
 * or the OVN chassis of `--hosts` (hosts.ts).
 */
export interface ForwardingFabric {
  /** Makes the topology of experiments 1 and 2 (the four vhost-user ports and their paths). */
  topology: (lab: Lab) => Promise<void>;
  /** The counted run, with the forwarder connected: port 0 sends 100, port 1 sends 200. */
  countedRun: (lab: Lab) => Promise<CountedRun>;
}

/** The one OVS: the reference setup's bridge and flows. */
const singleOvs: ForwardingFabric = {
  topology: (lab) => lab.topology(referencePorts, referenceFlows),
  countedRun: (lab) => countedRun(lab),
};

/** A forwarder's part of a forwarding experiment. */
export interface ForwarderResult {
  /** Which forwarder. */
  kind: ForwarderKind;
  /** Its name in the tables. */
  label: string;
  /** Its counted run (on its first turn), with the checks on it. */
  counted?: CountedRun;
  /** Its full-rate runs, one per round. */
  rounds: RoundFigures[];
  /** Medians and spread over the rounds, and the ratio to the C forwarder; null without rounds. */
  summary: ForwarderSummary | null;
  /** Why it stopped taking its turns. */
  error?: string;
}

/** One experiment's results. */
export interface ExperimentResult {
  /** `experiment 1: ...`, `experiment 2: ...` or `service chain: ...`. */
  name: string;
  /** The counted run: the generator's report, what OVS counted, and the checks on them. */
  counted?: CountedRun;
  /** The OVS limit experiment's measurement (ovs-limit.ts). */
  ovsLimit?: OvsLimit;
  /** The live move's figures and checks (hosts-move.ts, `--hosts 3 --experiment move`). */
  move?: { figures: MoveFigures; checks: Check[] };
  /** A fault run's figures, events and checks (faults.ts, `--fault`). */
  fault?: FaultResult;
  /** Experiments 1 and 2: every forwarder's counted run, full-rate rounds and their summary. */
  forwarders?: ForwarderResult[];
  /** The last JSON line of each app other than the generator, by name. */
  apps: Record<string, unknown>;
  /** True when no check failed. */
  pass: boolean;
  /** Why the experiment could not be run to the end. */
  error?: string;
}

// OVS reports a vhost-user port connected once its peer has set its queues up, but enables
// them for its PMD thread a moment later and drops what it would send there before: the
// runs give it this long after that before sending. (Its link_state is no sign of that:
// with OVS serving the sockets it stays "down" while packets flow.)
/** The pktgen command that waits for OVS to enable the ports' queues before a run. */
export const settle = 'delay 1000';

// The zero-loss search's trials and resolution: 1 s trials (a shared CPU's stall of a few
// ms is then a small part of a trial; `retries 1` repeats a failed trial once) and 2%.
const zeroLossTrialS = 1;
const zeroLossResolution = '2%';
// 64-byte frames at pktgen's default 10 Gbit/s line rate, per port.
const lineRatePps = 14_880_952;

/** The reference setup's flows: generator port 0 (OpenFlow 1) to the forwarder (4), the forwarder (3) to generator port 1 (2), and back. */
export const referenceFlows = [
  'in_port=2,dl_type=0x800,idle_timeout=0,action=output:3',
  'in_port=3,dl_type=0x800,idle_timeout=0,action=output:2',
  'in_port=1,dl_type=0x800,idle_timeout=0,action=output:4',
  'in_port=4,dl_type=0x800,idle_timeout=0,action=output:1',
];
/** The bridge's ports, OpenFlow numbers 1 to 4. */
export const referencePorts = ['vhost-user0', 'vhost-user1', 'vhost-user2', 'vhost-user3'];

/** The generator's two ports, as in the reference setup. */
export const generatorPorts: VirtioPort[] = [
  { index: 0, socket: 'vhost-user0', mac: '00:00:00:00:00:05' },
  { index: 1, socket: 'vhost-user1', mac: '00:00:00:00:00:01' },
];

/** The forwarder's two ports, as in the reference setup. */
export const forwarderPorts: VirtioPort[] = [
  { index: 2, socket: 'vhost-user2', mac: '00:00:00:00:00:02' },
  { index: 3, socket: 'vhost-user3', mac: '00:00:00:00:00:03' },
];

/** What a run of the generator gives: its report, and OVS's counters when they were read. */
export interface GeneratorRun {
  report: PktgenReport;
  ovs: OvsCounters;
}

/** What the generator does: `setup` at once, `run` once OVS has its ports connected and up. */
export interface GeneratorScript {
  /** pktgen commands (`;`-separated) run as it starts: settings. */
  setup: string;
  /** pktgen commands run once OVS can send to both of its ports; they end with `quit`. */
  run: string;
}

/**
 * Runs the generator with `script` and returns its JSON report and OVS's counters of
 * `ports` read while the generator still holds its ports open (OVS forgets a vhost port's
 * counters when its peer leaves). With `ports` null OVS is not read and the generator
 * leaves at once.
 */
export async function generate(
  lab: Lab,
  name: string,
  ports: null,
  script: GeneratorScript,
): Promise<{ report: PktgenReport }>;
export async function generate(lab: Lab, name: string, ports: string[], script: GeneratorScript): Promise<GeneratorRun>;
export async function generate(
  lab: Lab,
  name: string,
  ports: string[] | null,
  script: GeneratorScript,
): Promise<{ report: PktgenReport; ovs?: OvsCounters }> {
  const cpu = lab.cpus.generator;
  const app = await lab.start({
    name,
    program: { example: 'pktgen' },
    cpu,
    reference: referenceCommandLines.pktgen,
    interactive: true,
    args: (paths) =>
      generatorArgs(lab.appEal(paths, cpu, 'pktgen', generatorPorts), {
        commands: script.setup,
        sharedCpu: yields(lab, 'generator'),
        lingerMs: ports === null ? 0 : 6000,
      }),
  });
  // The run starts once OVS has the generator's ports connected: what it sends to a port
  // whose queues it has not enabled yet is lost (a delay counted from pktgen's start lost
  // packets on a loaded machine). pktgen reads these commands from its stdin.
  await lab.waitConnected(
    generatorPorts.map((port) => port.socket),
    [app],
  );
  app.runner.write(`${script.run.split(';').join('\n')}\n`);
  // pktgen's one JSON line is its final report (examples/pktgen/report.ts).
  const report = (await Promise.race([app.json, app.runner.wait().then(() => undefined)])) as PktgenReport | undefined;
  if (report === undefined) {
    const exit = await app.runner.wait();
    throw new DpdkError(
      `the generator ended (code ${exit.code}) without a report:\n${app.lines.slice(-20).join('\n')}`,
      { code: 'ERR_LAB', operation: 'lab' },
    );
  }
  if (ports === null) {
    await app.runner.wait();
    return { report };
  }
  await lab.readMetrics(app);
  // OVS folds its datapath's counters into the OpenFlow rules every half second or so:
  // give it a second, then read until two readings agree.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  let ovs = await lab.ovsCounters(ports);
  for (let attempt = 0; attempt < 8; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 600));
    const again = await lab.ovsCounters(ports);
    const same = JSON.stringify(again) === JSON.stringify(ovs);
    ovs = again;
    if (same) break;
  }
  await app.runner.wait();
  return { report, ovs };
}

/**
 * The counted run of a forwarding experiment: port 0 sends 100 packets and port 1 sends
 * 200 at 10% rate through OVS and the forwarder; every packet is checked, at the generator
 * and in OVS's flows and ports.
 */
async function countedRun(lab: Lab): Promise<CountedRun> {
  const before = await lab.ovsCounters(referencePorts);
  const counted = await generate(lab, 'pktgen', referencePorts, {
    setup: 'set all rate 10; set 0 count 100; set 1 count 200',
    run: `${settle}; str; wait 30; quit`,
  });
  const generator = counted.report;
  const ovs = countersSince(counted.ovs, before);
  const [p0, p1] = generator.ports;
  const checks = [
    { what: 'generator port 0 sent 100', ok: p0?.sent === 100 },
    { what: 'generator port 1 sent 200', ok: p1?.sent === 200 },
    { what: 'port 1 received exactly 100 (from port 0)', ok: p1?.received === 100 },
    { what: 'port 0 received exactly 200 (from port 1)', ok: p0?.received === 200 },
    // Port 0's 100 packets enter OVS on 1 and come back from the forwarder on 3; port 1's 200 on 2, then 4.
    {
      what: 'OVS flows in_port=1 and in_port=3 matched 100 each',
      ok: flowPackets(ovs, 1) === 100 && flowPackets(ovs, 3) === 100,
    },
    {
      what: 'OVS flows in_port=2 and in_port=4 matched 200 each',
      ok: flowPackets(ovs, 2) === 200 && flowPackets(ovs, 4) === 200,
    },
    {
      what: 'OVS ports: 1 and 3 took in 100 and sent 200, 2 and 4 took in 200 and sent 100, none dropped',
      ok: portsMatch(ovs, [
        [100, 200],
        [200, 100],
        [100, 200],
        [200, 100],
      ]),
    },
  ];
  return { generator, ovs, checks };
}

/**
 * One full-rate run of the forwarder that is running: both generator ports at line rate
 * for the lab's duration; with `--zero-loss`, then a zero-loss throughput search (RFC 2544
 * 26.1: pktgen's `search`) and a latency trial at the rate it finds.
 */
async function fullRateRound(lab: Lab, round: number): Promise<RoundFigures> {
  const seconds = lab.options.durationS;
  const { report } = await generate(lab, 'pktgen-full', null, {
    setup: 'set all rate 100',
    run: `${settle}; str; delay ${seconds * 1000}; stp; quit`,
  });
  const figures = roundFigures(round, report, seconds);
  if (!lab.options.zeroLoss) return figures;
  // The search's ceiling, per port: twice what the full-rate run received (a forwarder
  // that loses nothing at a rate mostly forwards it at full rate too), not the line rate:
  // the binary search then needs far fewer trials. A forwarder that passes at that ceiling
  // (one starved at full rate, as a C app that never yields beside the generator) is
  // searched again up to the line rate.
  const ceilingPps = Math.max(1000, Math.ceil(figures.receivedMpps * 1e6));
  let search = await zeroLossSearch(lab, ceilingPps >= lineRatePps ? '100%' : String(ceilingPps));
  if (search.stop === 'max-passed' && ceilingPps < lineRatePps) search = await zeroLossSearch(lab, '100%');
  return roundFigures(round, report, seconds, search);
}

/** pktgen's zero-loss search on both ports, up to `max` (pps per port, or a percentage of the line rate). */
async function zeroLossSearch(lab: Lab, max: string): Promise<SearchReport> {
  const searched = await generate(lab, 'pktgen-search', null, {
    setup: '',
    run: `${settle}; search 0,1 trial ${zeroLossTrialS} resolution ${zeroLossResolution} max ${max} retries 1; quit`,
  });
  if (searched.report.search === undefined)
    throw new DpdkError('the generator reported no zero-loss search', { code: 'ERR_LAB', operation: 'lab' });
  return searched.report.search;
}

/**
 * Experiments 1 (testpmd) and 2 (l2fwd): every forwarder in turn (DPDK's C app, the
 * dpdk-ts TypeScript loop, the dpdk-ts native engine; see forwarders.ts), on the same
 * cores, OVS and generator: first a counted run of each, then the lab's rounds of
 * full-rate runs, each round in a rotated order so that none is always first. `counted` is
 * that of the dpdk-ts forwarder the lab ran before the comparison (testpmd's native
 * engine, l2fwd's TypeScript loop), or of the first forwarder without it.
 */
export async function forwardingExperiment(
  lab: Lab,
  name: '1' | '2',
  fabric: ForwardingFabric = singleOvs,
): Promise<ExperimentResult> {
  const result: ExperimentResult = {
    name: name === '1' ? 'experiment 1: testpmd forwards' : 'experiment 2: l2fwd forwards',
    apps: {},
    forwarders: [],
    pass: false,
  };
  await fabric.topology(lab);
  const forwarders = labForwarders(name, lab.options.forwarders, packageRoot, yields(lab, 'forwarder'));
  const results: ForwarderResult[] = forwarders.map((forwarder) => ({
    kind: forwarder.kind,
    label: forwarder.label,
    rounds: [],
    summary: null,
  }));
  result.forwarders = results;
  const cpu = lab.cpus.forwarder;
  // Round 0 is the counted runs, before any full-rate run: a full-rate run leaves OVS's
  // drop counters of the generator's ports raised, across its reconnections.
  for (let round = 0; round <= lab.options.rounds; round++) {
    for (let turn = 0; turn < forwarders.length; turn++) {
      const index = (turn + Math.max(0, round - 1)) % forwarders.length;
      const forwarder = forwarders[index];
      const entry = results[index];
      if (entry.error !== undefined) continue;
      try {
        await oneTurn(lab, fabric, forwarder, cpu, round, entry, result);
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
        log(`lab: ${result.name}: ${forwarder.label}: ${entry.error}`);
      }
    }
  }
  for (const [index, summary] of summarize(results).entries()) results[index].summary = summary;
  const defaultKind = name === '1' ? 'native' : 'ts';
  result.counted = (results.find((entry) => entry.kind === defaultKind) ?? results[0])?.counted;
  result.pass =
    results.length > 0 &&
    results.every(
      (entry) =>
        entry.error === undefined &&
        entry.counted !== undefined &&
        entry.counted.checks.every((check) => check.ok !== false) &&
        entry.rounds.length === lab.options.rounds,
    );
  return result;
}

/** A forwarder's turn in a round: start it, the counted run (round 0) or a full-rate run, stop it. */
async function oneTurn(
  lab: Lab,
  fabric: ForwardingFabric,
  forwarder: LabForwarder,
  cpu: number,
  round: number,
  entry: ForwarderResult,
  result: ExperimentResult,
): Promise<void> {
  const app = await lab.start({
    name: `${forwarder.name}-r${round}`,
    program: forwarder.program,
    cpu,
    reference: forwarder.reference,
    args: (paths) => forwarder.args(lab.appEal(paths, cpu, 'testpmd', forwarderPorts)),
  });
  let failed = true;
  try {
    await lab.waitConnected(['vhost-user2', 'vhost-user3'], [app]);
    if (round === 0) {
      log(`lab: ${result.name}: ${forwarder.label}: counted run (port 0 sends 100, port 1 sends 200)`);
      entry.counted = await fabric.countedRun(lab);
    } else {
      log(`lab: ${result.name}: ${forwarder.label}: full-rate run for ${lab.options.durationS} s (round ${round})`);
      const figures = await fullRateRound(lab, round);
      entry.rounds.push(figures);
      log(
        `lab: ${result.name}: ${forwarder.label}: round ${round}: offered ${figures.offeredMpps.toFixed(3)} Mpps, ` +
          `received ${figures.receivedMpps.toFixed(3)} Mpps`,
      );
    }
    failed = false;
  } finally {
    result.apps[forwarder.label] = await lab.stop(app);
    // The next forwarder serves the same sockets: OVS must have seen this one leave. After
    // a failure, the failure is what is reported.
    const disconnected = lab.waitDisconnected(['vhost-user2', 'vhost-user3']);
    await (failed ? disconnected.catch(() => undefined) : disconnected);
  }
}

/**
 * Whether a dpdk-ts poller yields its CPU (`--generator-yield`, `--forwarder-yield`): as
 * told, or with `auto` when it shares its CPU with another busy poller.
 */
export function yields(lab: Lab, poller: 'generator' | 'forwarder'): boolean {
  const mode = poller === 'generator' ? lab.options.generatorYield : lab.options.forwarderYield;
  if (mode !== 'auto') return mode === 'on';
  const { ovs, generator, forwarder } = lab.cpus;
  return poller === 'generator'
    ? generator === ovs || generator === forwarder
    : forwarder === ovs || forwarder === generator;
}

/** What examples/ips.ts reports as its last JSON line. */
interface NetworkFunctionCounters {
  rx?: number;
  passed?: number;
  matched?: number;
}

/**
 * Starts examples/ips.ts as network function `name` on the forwarder's CPU, on `ports`,
 * yielding when idle as the CPU plan asks.
 */
export function startNetworkFunction(
  lab: Lab,
  name: string,
  ports: VirtioPort[],
  settings: Omit<NetworkFunctionSettings, 'yieldWhenIdle'>,
): Promise<StartedApp> {
  const cpu = lab.cpus.forwarder;
  return lab.start({
    name,
    program: { example: 'ips' },
    cpu,
    args: (paths) =>
      networkFunctionArgs(lab.appEal(paths, cpu, name, ports), {
        ...settings,
        yieldWhenIdle: yields(lab, 'forwarder'),
      }),
  });
}

/**
 * The service chain: generator port 0 -> OVS -> the inline IPS (drops UDP to port 6666)
 * -> OVS -> generator port 1; OVS mirrors port 0's traffic to a detect-only IPS.
 */
export async function chainExperiment(lab: Lab): Promise<ExperimentResult> {
  const result: ExperimentResult = { name: 'service chain: inline IPS and a mirrored detector', apps: {}, pass: false };
  const ports = ['vhost-user0', 'vhost-user1', 'nf-in', 'nf-out', 'ids'];
  await lab.topology(ports, [
    'in_port=1,dl_type=0x800,actions=output:3,output:5',
    'in_port=4,dl_type=0x800,actions=output:2',
  ]);
  const rule = 'udp,tp_dst=6666';
  const nf = (name: string, mode: 'inline' | 'detect', sockets: string[]): Promise<StartedApp> =>
    startNetworkFunction(
      lab,
      name,
      sockets.map((socket, index) => ({ index, socket, mac: `00:00:00:00:01:0${index}` })),
      { mode, rule },
    );
  const ips = await nf('ips', 'inline', ['nf-in', 'nf-out']);
  const ids = await nf('ids', 'detect', ['ids']);
  try {
    await lab.waitConnected(['nf-in', 'nf-out', 'ids'], [ips, ids]);
    log(
      `lab: ${result.name}: port 0 sends 300 packets at 10 Kpps, UDP to ports 53, 6666 and 80 in turn; the IPS drops ${rule}`,
    );
    const before = await lab.ovsCounters(ports);
    // Port 0 alone sends, at 10 Kpps: a burst of 300 would overflow the 256-descriptor
    // virtio ring while the OVS PMD waits for its CPU. The run ends once the packets have
    // had time to cross the chain.
    const run = await generate(lab, 'pktgen', ports, {
      setup: 'set 0 pps 10000; set 0 dport 53,6666,80; set 0 count 300',
      run: `${settle}; start 0; delay 5000; stp; quit`,
    });
    const generator = run.report;
    const ovs = countersSince(run.ovs, before);
    result.apps.ips = await lab.stop(ips);
    result.apps.ids = await lab.stop(ids);
    const inline = result.apps.ips as NetworkFunctionCounters | undefined;
    const detect = result.apps.ids as NetworkFunctionCounters | undefined;
    const [p0, p1] = generator.ports;
    const checks = [
      { what: 'generator port 0 sent 300', ok: p0?.sent === 300 },
      {
        what: 'the inline IPS received 300, dropped 100, passed 200',
        ok: inline?.rx === 300 && inline.matched === 100 && inline.passed === 200,
      },
      { what: 'port 1 received the 200 passed packets', ok: p1?.received === 200 },
      {
        what: 'the detector got all 300 mirrored copies and matched 100',
        ok: detect?.rx === 300 && detect.matched === 100,
      },
      {
        what: 'OVS: in_port=1 matched 300, in_port=4 matched 200',
        ok: flowPackets(ovs, 1) === 300 && flowPackets(ovs, 4) === 200,
      },
      {
        what: 'OVS ports: 300 in from port 0, 300 out to the IPS and 300 to the detector, 200 back and out to port 1',
        ok: portsMatch(ovs, [
          [300, 0],
          [0, 200],
          [0, 300],
          [200, 0],
          [0, 300],
        ]),
      },
    ];
    // --metrics: what the apps' own metrics counted, against the lab's count.
    if (lab.options.metrics !== undefined) {
      checks.push(
        {
          what: "the IPS's metrics: its ports received 300 and sent 200",
          ok: ips.metrics?.rx === 300 && ips.metrics.tx === 200,
        },
        { what: "the detector's metrics: its port received 300", ok: ids.metrics?.rx === 300 },
      );
    }
    result.counted = { generator, ovs, checks };
    result.pass = checks.every((check) => check.ok !== false);
  } finally {
    for (const [name, app] of [
      ['ips', ips],
      ['ids', ids],
    ] as const) {
      if (result.apps[name] === undefined) result.apps[name] = await lab.stop(app);
    }
  }
  return result;
}
