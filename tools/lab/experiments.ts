/**
 * The reference setup's experiments on the lab: 1 (a testpmd-style forwarder) and 2
 * (l2fwd), each a counted run then a full-rate run, and the service chain (an inline IPS
 * and a mirrored detector). Each checks that every packet is accounted for, by the
 * generator, the apps and OVS.
 */
import { DpdkError } from '../../lib/errors.js';
import type { PktgenReport } from '../../examples/pktgen/report.js';
import {
  forwarderArgs,
  generatorArgs,
  networkFunctionArgs,
  referenceCommandLines,
  type VirtioPort,
} from './app-args.js';
import { log, type Lab, type StartedApp } from './lab.js';
import { countersSince, flowPackets, portsMatch, type OvsCounters } from './ovs-counters.js';

/** A check of an experiment; `ok` is null when it could not be made (see `what`). */
export interface Check {
  /** What is checked, as the summary prints it. */
  what: string;
  ok: boolean | null;
}

/** One experiment's results. */
export interface ExperimentResult {
  /** `experiment 1: ...`, `experiment 2: ...` or `service chain: ...`. */
  name: string;
  /** The counted run: the generator's report, what OVS counted, and the checks on them. */
  counted?: { generator: PktgenReport; ovs: OvsCounters; checks: Check[] };
  /** The full-rate run of `seconds`, and the rate received. */
  fullRate?: { generator: PktgenReport; ovs: OvsCounters; mpps: number; seconds: number };
  /** The last JSON line of each app other than the generator, by name. */
  apps: Record<string, unknown>;
  /** True when no check failed. */
  pass: boolean;
  /** Why the experiment could not be run to the end. */
  error?: string;
}

// The generator's virtio-user ports exist once OVS has connected to them, but OVS enables
// a vhost-user port's queues a moment later, and drops what it would send there before:
// the counted runs give it a second before sending.
const settle = 'delay 1000;';

const referenceFlows = [
  'in_port=2,dl_type=0x800,idle_timeout=0,action=output:3',
  'in_port=3,dl_type=0x800,idle_timeout=0,action=output:2',
  'in_port=1,dl_type=0x800,idle_timeout=0,action=output:4',
  'in_port=4,dl_type=0x800,idle_timeout=0,action=output:1',
];
const referencePorts = ['vhost-user0', 'vhost-user1', 'vhost-user2', 'vhost-user3'];

/** The generator's two ports, as in the reference setup. */
const generatorPorts: VirtioPort[] = [
  { index: 0, socket: 'vhost-user0', mac: '00:00:00:00:00:05' },
  { index: 1, socket: 'vhost-user1', mac: '00:00:00:00:00:01' },
];

/** The forwarder's two ports, as in the reference setup. */
const forwarderPorts: VirtioPort[] = [
  { index: 2, socket: 'vhost-user2', mac: '00:00:00:00:00:02' },
  { index: 3, socket: 'vhost-user3', mac: '00:00:00:00:00:03' },
];

/**
 * Runs the generator with `commands` and returns its JSON report and OVS's counters of
 * `ports` read while the generator still holds its ports open (OVS forgets a vhost port's
 * counters when its peer leaves): until every count is reached (`timeoutS` given), or
 * until the commands end with `quit`.
 */
async function generate(
  lab: Lab,
  name: string,
  ports: string[],
  commands: string,
  timeoutS?: number,
): Promise<{ report: PktgenReport; ovs: OvsCounters }> {
  const cpu = lab.cpus.generator;
  const app = await lab.start({
    name,
    example: 'pktgen',
    cpu,
    reference: referenceCommandLines.pktgen,
    args: (paths) =>
      generatorArgs(lab.appEal(paths, cpu, 'pktgen', generatorPorts), {
        commands,
        timeoutS,
        sharedCpu: lab.cpus.generatorSharesOvsCpu,
        lingerMs: 6000,
      }),
  });
  // pktgen's one JSON line is its final report (examples/pktgen/report.ts).
  const report = (await Promise.race([app.json, app.runner.wait().then(() => undefined)])) as PktgenReport | undefined;
  if (report === undefined) {
    const exit = await app.runner.wait();
    throw new DpdkError(
      `the generator ended (code ${exit.code}) without a report:\n${app.lines.slice(-20).join('\n')}`,
      { code: 'ERR_LAB', operation: 'lab' },
    );
  }
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

/** Experiments 1 (testpmd-style forwarder) and 2 (l2fwd): the counted run, then full rate. */
export async function forwardingExperiment(lab: Lab, name: '1' | '2'): Promise<ExperimentResult> {
  const result: ExperimentResult = {
    name: name === '1' ? 'experiment 1: testpmd forwards' : 'experiment 2: l2fwd forwards',
    apps: {},
    pass: false,
  };
  await lab.topology(referencePorts, referenceFlows);
  const example = name === '1' ? 'testpmd' : 'l2fwd';
  const cpu = lab.cpus.forwarder;
  const forwarder = await lab.start({
    name: example,
    example,
    cpu,
    reference: referenceCommandLines[example],
    args: (paths) => forwarderArgs(example, lab.appEal(paths, cpu, 'testpmd', forwarderPorts)),
  });
  try {
    await lab.waitConnected(['vhost-user2', 'vhost-user3'], [forwarder]);
    log(`lab: ${result.name}: counted run (port 0 sends 100, port 1 sends 200, at 10% rate)`);
    const before = await lab.ovsCounters(referencePorts);
    const counted = await generate(
      lab,
      'pktgen',
      referencePorts,
      `set all rate 10; set 0 count 100; set 1 count 200; ${settle} str`,
      30,
    );
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
    result.counted = { generator, ovs, checks };

    log(`lab: ${result.name}: full-rate run for ${lab.options.durationS} s`);
    const beforeFull = await lab.ovsCounters(referencePorts);
    const fullRun = await generate(
      lab,
      'pktgen-full',
      referencePorts,
      `set all rate 100; str; delay ${lab.options.durationS * 1000}; stp; quit`,
    );
    const full = fullRun.report;
    const ovsFull = countersSince(fullRun.ovs, beforeFull);
    const received = full.ports.reduce((sum, port) => sum + port.received, 0);
    result.fullRate = {
      generator: full,
      ovs: ovsFull,
      seconds: lab.options.durationS,
      mpps: received / lab.options.durationS / 1e6,
    };
    result.pass = checks.every((check) => check.ok !== false);
  } finally {
    result.apps[forwarder.runner.name] = await lab.stop(forwarder);
  }
  return result;
}

/** What examples/ips.ts reports as its last JSON line. */
interface NetworkFunctionCounters {
  rx?: number;
  passed?: number;
  matched?: number;
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
  const cpu = lab.cpus.forwarder;
  const nf = (name: string, mode: 'inline' | 'detect', sockets: string[]): Promise<StartedApp> =>
    lab.start({
      name,
      example: 'ips',
      cpu,
      args: (paths) =>
        networkFunctionArgs(
          lab.appEal(
            paths,
            cpu,
            name,
            sockets.map((socket, index) => ({ index, socket, mac: `00:00:00:00:01:0${index}` })),
          ),
          { mode, rule },
        ),
    });
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
    const run = await generate(
      lab,
      'pktgen',
      ports,
      `set 0 pps 10000; set 0 dport 53,6666,80; set 0 count 300; ${settle} start 0; delay 3000; stp; quit`,
    );
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
