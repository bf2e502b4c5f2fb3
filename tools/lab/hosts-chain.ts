/**
 * The service chain across three simulated hosts (`--hosts 3 --experiment chain`): the
 * chain of experiments.ts's `chainExperiment` (pktgen port 0 -> inline IPS -> port 1, a
 * detector seeing copies) built with OVN 23.03's own mechanisms (tools/lab/ovn-chain.ts):
 * pktgen on chassis 1, the IPS (examples/ips.ts inline, `--eth-dst/--eth-src`) on chassis 2
 * behind a router policy `reroute`, the detector (examples/ips.ts detect, `--decap gre`) on
 * chassis 3 fed by an OVN Mirror of gen0 (GRE to an underlay address chassis 3 hands to it).
 */
import { DpdkError } from '../../lib/errors.js';
import { join } from 'node:path';
import { generate, settle, startNetworkFunction, type Check, type ExperimentResult } from './experiments.js';
import { log, type Lab, type StartedApp } from './lab.js';
import { countersSince } from './ovs-counters.js';
import {
  buildOvnChain,
  chainCountersSince,
  chainOvsCounters,
  ovnChain,
  type ChainOvsCounters,
  type ChainSockets,
} from './ovn-chain.js';

const rule = 'udp,tp_dst=6666';

/** What an IPS reported: from its last stats line, or from its JSON summary at exit. */
interface NfCounts {
  rx: number;
  matched: number;
  passed: number;
}

/** The IPS's (`ips: rx N passed N dropped N ...`) or the detector's (`ids: rx N matched N`) last stats line. */
function lastStats(app: StartedApp): NfCounts {
  for (let i = app.lines.length - 1; i >= 0; i--) {
    const line = app.lines[i]!;
    const inline = /ips: rx (\d+) passed (\d+) dropped (\d+)/.exec(line);
    if (inline !== null) return { rx: Number(inline[1]), passed: Number(inline[2]), matched: Number(inline[3]) };
    const detect = /ids: rx (\d+) matched (\d+)/.exec(line);
    if (detect !== null) return { rx: Number(detect[1]), matched: Number(detect[2]), passed: 0 };
  }
  return { rx: 0, matched: 0, passed: 0 };
}

function since(after: unknown, before: NfCounts): NfCounts | undefined {
  const summary = after as Partial<NfCounts> | undefined;
  if (summary?.rx === undefined) return undefined;
  return {
    rx: summary.rx - before.rx,
    matched: (summary.matched ?? 0) - before.matched,
    passed: (summary.passed ?? 0) - before.passed,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** pktgen's settings for the chain: port 0 addresses lr0's port, from gen0's IP to gen1's. */
const addressing = [
  `set 0 dst mac ${ovnChain.ports.gen0.routerMac}`,
  `set 0 src ip ${ovnChain.ports.gen0.ip}`,
  `set 0 dst ip ${ovnChain.ports.gen1.ip}`,
].join('; ');

/**
 * The chain across chassis: builds it on `lab.ovn`, starts the IPS and the detector (their
 * stats every second, so that what the probes left in their counters can be taken off),
 * probes until a frame crosses the chain and its copy reaches the detector, then pktgen
 * port 0 sends 300 (UDP 53, 6666, 80 in turn) at 1 Kpps: the mirror doubles what chassis 1
 * puts on the kernel veth underlay, whose socket buffer dropped Geneve at 10% of the line
 * rate. Checked as chainExperiment checks, and at OVS's ports on each chassis
 * (tools/lab/ovn-chain.ts's counters).
 */
export async function hostsChainExperiment(lab: Lab): Promise<ExperimentResult> {
  const result: ExperimentResult = {
    name: 'service chain across 3 chassis: router policy reroute to the inline IPS, OVN mirror (GRE) to the detector',
    apps: {},
    pass: false,
  };
  const fabric = lab.ovn;
  const chain = ovnChain.ports;
  const socket = (name: string): string => join(fabric.socketDir, name);
  const sockets: ChainSockets = {
    gen0: socket(chain.gen0.lsp),
    gen1: socket(chain.gen1.lsp),
    nfIn: socket(chain.nfIn.lsp),
    nfOut: socket(chain.nfOut.lsp),
    detector: socket(ovnChain.detector.port),
  };
  await buildOvnChain(fabric.sandbox, sockets);
  log(
    `lab: ${result.name}: ${chain.gen0.lsp} and ${chain.gen1.lsp} on ${fabric.chassis(1).name}, the IPS on ${fabric.chassis(2).name}, the detector on ${fabric.chassis(3).name}'s br-phy`,
  );
  const nf = (name: string, mode: 'inline' | 'detect', ports: string[], extra: string[]): Promise<StartedApp> =>
    startNetworkFunction(
      lab,
      name,
      ports.map((port, index) => ({
        index,
        socket: port,
        mac: mode === 'detect' ? ovnChain.detector.mac : index === 0 ? chain.nfIn.mac : chain.nfOut.mac,
      })),
      { mode, rule, statsPeriodSeconds: 1, extra },
    );
  const ips = await nf(
    'ips',
    'inline',
    [chain.nfIn.lsp, chain.nfOut.lsp],
    ['--eth-dst', chain.nfOut.routerMac, '--eth-src', chain.nfOut.mac],
  );
  const ids = await nf('ids', 'detect', [ovnChain.detector.port], ['--decap', 'gre']);
  try {
    await lab.waitConnected([chain.nfIn.lsp, chain.nfOut.lsp], [ips, ids]);
    const chassis3 = fabric.chassis(3);
    for (const deadline = Date.now() + 30_000; chassis3.vswitch.interface(ovnChain.detector.port).connected !== true;) {
      if (Date.now() > deadline)
        throw new DpdkError(`${chassis3.name} does not see the detector connected`, {
          code: 'ERR_LAB',
          operation: 'lab',
        });
      await sleep(100);
    }
    // OVN says installed before OVS has enabled the apps' queues: probe until a frame
    // crosses the whole chain and its mirrored copy reaches the detector.
    let delivered = false;
    for (let attempt = 1; attempt <= 5 && !delivered; attempt++) {
      const seen = lastStats(ids).rx;
      const { report } = await generate(lab, 'pktgen-probe', null, {
        setup: `${addressing}; set 0 dport 53; set 0 count 4; set 0 pps 100`,
        run: `${settle}; start 0; delay 3000; stp; quit`,
      });
      await sleep(1500);
      delivered = report.ports[1]?.received === 4 && lastStats(ids).rx >= seen + 4;
      log(
        `lab: probe ${attempt}: port 1 got ${report.ports[1]?.received ?? 0} of 4, the detector ${lastStats(ids).rx - seen}`,
      );
    }
    if (!delivered)
      throw new DpdkError('the chain across chassis did not deliver 4 probe frames in 5 probes', {
        code: 'ERR_LAB',
        operation: 'lab',
      });
    // No traffic from here to the run: the stats lines of a second from now are the baseline.
    await sleep(1500);
    const baseline = { ips: lastStats(ips), ids: lastStats(ids) };
    const before: ChainOvsCounters = await chainOvsCounters(fabric.sandbox);
    const appPorts = [chain.gen0.lsp, chain.gen1.lsp, chain.nfIn.lsp, chain.nfOut.lsp];
    const beforeApps = await lab.ovsCounters(appPorts);
    log(`lab: ${result.name}: port 0 sends 300 packets at 1 Kpps, UDP to ports 53, 6666 and 80 in turn`);
    const run = await generate(lab, 'pktgen', appPorts, {
      setup: `${addressing}; set 0 pps 1000; set 0 dport 53,6666,80; set 0 count 300`,
      run: `${settle}; start 0; delay 5000; stp; quit`,
    });
    // pktgen's ports are read while it lingers (in generate): once it exits, OVS's counters
    // of its vhost ports are gone (the lab's first run read 0 for them afterwards).
    const ovs = chainCountersSince(await chainOvsCounters(fabric.sandbox), before);
    const apps = countersSince(run.ovs, beforeApps);
    const app = (port: string) => apps.ports.find((entry) => entry.name === `${fabric.chassis(1).name} ${port}`);
    result.apps.ips = await lab.stop(ips);
    result.apps.ids = await lab.stop(ids);
    const inline = since(result.apps.ips, baseline.ips);
    const detect = since(result.apps.ids, baseline.ids);
    const [p0, p1] = run.report.ports;
    const c = [1, 2, 3].map((index) => fabric.chassis(index).name);
    const checks: Check[] = [
      { what: 'generator port 0 sent 300', ok: p0?.sent === 300 },
      {
        what: `the inline IPS on ${c[1]} received 300, dropped 100, passed 200`,
        ok: inline?.rx === 300 && inline.matched === 100 && inline.passed === 200,
      },
      { what: 'port 1 received the 200 passed packets', ok: p1?.received === 200 },
      {
        what: `the detector on ${c[2]} got all 300 mirrored copies and matched 100 inside GRE`,
        ok: detect?.rx === 300 && detect.matched === 100,
      },
      {
        what: `${c[0]}: gen0 took in 300, gen1 sent 200; ${c[1]}: nf-in sent 300, nf-out took in 200`,
        ok:
          app(chain.gen0.lsp)?.rx === 300 &&
          app(chain.gen1.lsp)?.tx === 200 &&
          ovs.chassis2.nfIn.tx === 300 &&
          ovs.chassis2.nfOut.rx === 200,
      },
      {
        what: `Geneve: ${c[1]} received 300 from ${c[0]}, ${c[0]} received 200 from ${c[1]}`,
        ok: ovs.chassis2.geneveToChassis1.rx === 300 && ovs.chassis1.geneveToChassis2.rx === 200,
      },
      {
        what: `mirror: ${c[2]}'s br-phy flow for the sink matched 300 and its detector port sent 300`,
        ok: ovs.chassis3.sinkFlow === 300 && ovs.chassis3.detector.tx === 300,
      },
    ];
    result.counted = { generator: run.report, ovs: run.ovs, checks };
    result.pass = checks.every((check) => check.ok !== false);
    log(`lab: ${result.name}: ${JSON.stringify({ inline, detect, ovs })}`);
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
