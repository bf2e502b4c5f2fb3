/**
 * `npm run lab -- --fault ovs-restart|container-restart|ovsdb-restart`: experiment 1's
 * topology (generator -> OVS -> forwarder -> OVS -> generator) under steady traffic, with
 * the fault injected in the middle. The generator samples its ports' counters every
 * {@link timelineIntervalMs} (pktgen `--timeline`), from which fault-figures.ts says how
 * long traffic stopped and how many packets were lost then, and before and after; the lab
 * records what it did and saw meanwhile (the daemon back, the flows reinstalled by a
 * {@link FlowKeeper}, the ports connected again) and each link change, the generator's
 * (its ports' `'link'` events) and OVS's (its interfaces' vhost status).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DpdkError } from '../../lib/errors.js';
import { FlowKeeper } from '../../lib/ovs/openflow/flow-keeper.js';
import type { PktgenReport, Timeline } from '../../examples/pktgen/report.js';
import { mbufsInUse, scrapeMetrics, virtioQueueSize } from './app-metrics.js';
import { generatorArgs, referenceCommandLines } from './app-args.js';
import {
  forwarderPorts,
  generatorPorts,
  referenceFlows,
  referencePorts,
  yields,
  type Check,
  type ExperimentResult,
} from './experiments.js';
import { faultFigures, nothingLostOutside, type FaultFigures } from './fault-figures.js';
import { labForwarders, type LabForwarder } from './forwarders.js';
import { log, packageRoot, type Lab, type LabApp, type StartedApp } from './lab.js';
import type { FaultName } from './options.js';
import { probePath } from './probe-path.js';

/** How often the generator samples its counters during a fault run: the outage's resolution. */
export const timelineIntervalMs = 10;

/** The generator's report file, in the socket directory. */
const reportFile = 'fault-pktgen.json';

/** Seconds of steady traffic before the fault, and after the lab saw everything back. */
const steadyS = 3;
/** How long a killed daemon stays down before the lab starts it again. */
const downMs = 1000;

/** Something the lab did or saw during a fault run. */
export interface FaultEvent {
  /** Milliseconds since the generator started (the timeline's clock). */
  atMs: number;
  what: string;
}

/** A link change seen during a fault run. */
export interface LinkEvent {
  atMs: number;
  /** `generator port N` (its port's `'link'` event) or `OVS <interface>` (its vhost status). */
  port: string;
  up: boolean;
}

/** What a fault run measured. */
export interface FaultResult {
  fault: FaultName;
  /** The forwarder that ran (experiment 1's native engine). */
  forwarder: string;
  /** Each generator port's rate, packets per second; 0 for the line rate (full rate). */
  ratePps: number;
  figures: FaultFigures;
  /**
   * Packets the generator gave up rather than sent late, having fallen behind its rate (its
   * tx queues full while OVS was gone, its lcore descheduled): not sent, so not lost either.
   */
  skipped: number;
  /** The generator's samples and link changes, as it recorded them. */
  timeline: Timeline;
  events: FaultEvent[];
  links: LinkEvent[];
  /** Each app's mbufs in use before the traffic and after it stopped (from its metrics). */
  mbufs: FaultMbufs[];
  checks: Check[];
}

/**
 * An app's mbufs in use before the traffic started (its rings filled) and after it stopped,
 * and the most `after` may be: `before` plus what its tx queues may hold until their next
 * send. Null where its metrics could not be read.
 */
export interface FaultMbufs {
  app: 'generator' | 'forwarder';
  before: number | null;
  after: number | null;
  allowed: number | null;
}

/** The app's mbufs in use, from its metrics; null when they cannot be read. */
async function appMbufs(app: StartedApp): Promise<number | null> {
  if (app.metricsUrl === undefined) return null;
  try {
    return mbufsInUse(await scrapeMetrics(app.metricsUrl));
  } catch {
    return null;
  }
}

/** The forwarder of fault runs: experiment 1's dpdk-ts native engine. */
export function faultForwarder(lab: Lab): LabForwarder {
  return labForwarders('1', ['native'], packageRoot, yields(lab, 'forwarder'))[0];
}

/** Starts the forwarder as app `name` (with `env` added to its environment); resolves once OVS sees its ports connected. */
export async function startForwarder(
  lab: Lab,
  forwarder: LabForwarder,
  name: string,
  env?: LabApp['env'],
): Promise<StartedApp> {
  const cpu = lab.cpus.forwarder;
  const app = await lab.start({
    name,
    program: forwarder.program,
    cpu,
    args: (paths) => forwarder.args(lab.appEal(paths, cpu, 'testpmd', forwarderPorts)),
    ...(env === undefined ? {} : { env }),
  });
  await lab.waitConnected(
    forwarderPorts.map((port) => port.socket),
    [app],
  );
  return app;
}

/**
 * Watches OVS's view of the bridge's vhost ports (connected or not, from the OVSDB
 * replica) every 50 ms and records each change; returns the function that stops it.
 */
function watchOvsLinks(lab: Lab, links: LinkEvent[]): () => void {
  const last = new Map<string, boolean>();
  const poll = (): void => {
    for (const name of referencePorts) {
      let status: string | undefined;
      try {
        status = lab.vswitch.interface(name).status['status'];
      } catch {
        continue;
      }
      // No status is no news: a restarted ovsdb-server has lost the ephemeral column until
      // ovs-vswitchd writes it again (seen as all four ports "down" for 1.4 s while
      // traffic flowed).
      if (status === undefined) continue;
      const up = status === 'connected';
      if (last.has(name) && last.get(name) !== up) links.push({ atMs: Date.now(), port: `OVS ${name}`, up });
      last.set(name, up);
    }
  };
  poll();
  const timer = setInterval(poll, 50);
  return () => clearInterval(timer);
}

/** The last warnings and errors of ovs-vswitchd's log, for a port that did not come back. */
function vswitchdLogTail(lab: Lab): string {
  try {
    const lines = readFileSync(lab.ovs.logFile('ovs-vswitchd'), 'utf8').split('\n');
    return lines
      .filter((line) => /\|(WARN|ERR|EMER)\||vhost|VHOST/.test(line))
      .slice(-25)
      .join('\n');
  } catch (error) {
    return `(unreadable: ${(error as Error).message})`;
  }
}

/** Kills `daemon` (SIGKILL: a crash), waits {@link downMs}, and starts it again. */
export async function restartDaemon(
  lab: Lab,
  daemon: 'ovs-vswitchd' | 'ovsdb-server',
  event: (what: string) => void,
): Promise<void> {
  await lab.ovs.killDaemon(daemon, 'SIGKILL');
  event(`${daemon} killed (SIGKILL)`);
  await new Promise((resolve) => setTimeout(resolve, downMs));
  if (daemon === 'ovs-vswitchd') await lab.ovs.startVswitchd();
  else await lab.ovs.startOvsdbServer();
  event(`${daemon} started again`);
}

/**
 * One fault run: the forwarder and the generator (at `ratePps` per port, 0 for the line
 * rate) up, {@link steadyS} s of traffic, the fault, the lab waiting until the ports are
 * connected again, {@link steadyS} s more; then the figures and the checks.
 */
export async function faultExperiment(lab: Lab, fault: FaultName, ratePps: number): Promise<ExperimentResult> {
  const rate = ratePps === 0 ? 'line rate' : `${ratePps} pps per port`;
  const result: ExperimentResult = { name: `fault ${fault}: experiment 1 at ${rate}`, apps: {}, pass: false };
  await lab.topology(referencePorts, referenceFlows);
  // The flows as desired state: reinstalled whenever ovs-vswitchd comes back.
  const keeper = new FlowKeeper(lab.openflowTarget, referenceFlows, { keepaliveMs: 1000 });
  // Times are kept on the host's clock, then counted from the generator's start: a
  // container reads the same clock.
  const events: FaultEvent[] = [];
  const links: LinkEvent[] = [];
  const runStart = Date.now();
  const event = (what: string): void => {
    events.push({ atMs: Date.now(), what });
    log(`lab: ${fault}: ${((Date.now() - runStart) / 1000).toFixed(3)} s: ${what}`);
  };
  const onInstalled = (): void => event('flows installed (FlowKeeper)');
  const onOpenFlowLost = (): void => event('OpenFlow connection to ovs-vswitchd lost');
  const onOvsdbLost = (): void => event('OVSDB connection lost');
  const onOvsdbBack = (): void => event('OVSDB reconnected, monitors restored');
  const reconnected = new Promise<void>((resolve) => lab.vswitch.client.once('reconnected', () => resolve()));
  keeper.on('installed', onInstalled);
  keeper.on('disconnected', onOpenFlowLost);
  lab.vswitch.client.on('disconnected', onOvsdbLost);
  lab.vswitch.client.on('reconnected', onOvsdbBack);
  const forwarder = faultForwarder(lab);
  let app = await startForwarder(lab, forwarder, `${forwarder.name}-fault`);
  // Whether a forwarder the fault was not aimed at ended anyway: the first one unless the
  // fault kills it, and the one started after it.
  let forwarderEnded = false;
  const watchForwarder = (started: StartedApp): void => {
    void started.runner.wait().then(() => {
      forwarderEnded = true;
    });
  };
  if (fault !== 'container-restart') watchForwarder(app);
  const stopWatching = watchOvsLinks(lab, links);
  // ovs-vswitchd's last log lines when its status did not show every port connected.
  let notConnected: string | undefined;
  const cpu = lab.cpus.generator;
  rmSync(join(lab.socketDir, reportFile), { force: true });
  const generator = await lab.start({
    name: 'pktgen-fault',
    program: { example: 'pktgen' },
    cpu,
    reference: referenceCommandLines.pktgen,
    interactive: true,
    args: (paths) => [
      ...generatorArgs(lab.appEal(paths, cpu, 'pktgen', generatorPorts), {
        commands: ratePps === 0 ? 'set all rate 100' : `set all pps ${ratePps}`,
        sharedCpu: yields(lab, 'generator'),
        lingerMs: 0,
      }),
      '--timeline',
      String(timelineIntervalMs),
      // The report, with its timeline, goes to a file in the socket directory (the one the
      // container may write that the host reads): as one line on stdout a long run's
      // report did not reach the lab.
      '--json',
      join(paths.socketDir, reportFile),
    ],
  });
  // Whether the generator ended before the lab told it to.
  let generatorEnded = false;
  void generator.runner.wait().then(() => {
    generatorEnded = true;
  });
  try {
    await lab.waitConnected(
      generatorPorts.map((port) => port.socket),
      [generator],
    );
    // The run starts once the path delivers, not a fixed time after OVS says connected.
    event(await probePath(generator));
    // After a container-restart the new forwarder (same image and arguments) is held to the
    // first one's baseline.
    const mbufsBefore = { generator: await appMbufs(generator), forwarder: await appMbufs(app) };
    generator.runner.write('str\n');
    await new Promise((resolve) => setTimeout(resolve, 1000 + steadyS * 1000));
    const faultAt = Date.now();
    event(`fault: ${fault}`);
    if (fault === 'ovs-restart') {
      await restartDaemon(lab, 'ovs-vswitchd', event);
      await keeper.waitInstalled({ timeoutMs: 30000 });
    } else if (fault === 'ovsdb-restart') {
      await restartDaemon(lab, 'ovsdb-server', event);
    } else {
      const exit = await lab.crash(app);
      event(`forwarder container killed (exit ${exit.signal ?? exit.code})`);
      // A killed app leaves its server sockets behind, and virtio-user's bind() then fails
      // in the next one ("no ports"): remove them, as an app's entrypoint would.
      for (const port of forwarderPorts) rmSync(join(lab.socketDir, port.socket), { force: true });
      event("the killed forwarder's socket files removed");
      // A killed container is removed (the lab's containers are): a new one from the same
      // image and arguments stands for `docker start`.
      app = await startForwarder(lab, forwarder, `${forwarder.name}-fault2`);
      watchForwarder(app);
      event('forwarder started again');
    }
    if (fault === 'ovsdb-restart') {
      // The replica says what the old server said until the client has resynced, and the
      // vhost status is an ephemeral column that ovs-vswitchd writes again after that.
      await reconnected;
    }
    // OVS's vhost status is a sign, not the truth: after an ovs-vswitchd restart it was
    // seen to leave a port "disconnected" for good while its queues were enabled and
    // packets flowed. The generator's samples say whether traffic resumed.
    await lab.waitConnected(referencePorts, [generator, app], 10_000).then(
      () => event('OVS sees every port connected'),
      (error: unknown) => {
        event(`OVS's status: ${(error as Error).message}`);
        notConnected = vswitchdLogTail(lab);
      },
    );
    const modes = lab.socketModes();
    await new Promise((resolve) => setTimeout(resolve, steadyS * 1000));
    const stayedUp = !generatorEnded && !forwarderEnded;
    generator.runner.write('stp\n');
    // What was in flight arrives or is dropped, and the rx rings are refilled.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const mbufsAfter = { generator: await appMbufs(generator), forwarder: await appMbufs(app) };
    const mbufs: FaultMbufs[] = (['generator', 'forwarder'] as const).map((name) => {
      const before = mbufsBefore[name];
      const ports = name === 'generator' ? generatorPorts : forwarderPorts;
      const allowed = before === null ? null : before + ports.length * virtioQueueSize;
      return { app: name, before, after: mbufsAfter[name], allowed };
    });
    generator.runner.write('quit\n');
    await generator.runner.wait();
    let report: PktgenReport | undefined;
    try {
      report = JSON.parse(readFileSync(join(lab.socketDir, reportFile), 'utf8')) as PktgenReport;
    } catch {
      report = undefined;
    }
    if (report?.timeline === undefined) {
      throw new DpdkError(`the generator ended without a timeline:\n${generator.lines.slice(-20).join('\n')}`, {
        code: 'ERR_LAB',
        operation: 'lab',
      });
    }
    const start = report.timeline.startedAtMs;
    for (const each of [...events, ...links]) each.atMs -= start;
    const sent = report.ports.reduce((sum, port) => sum + port.sent, 0);
    const received = report.ports.reduce((sum, port) => sum + port.received, 0);
    const skipped = report.ports.reduce((sum, port) => sum + port.txSkipped, 0);
    const figures = faultFigures(report.timeline, faultAt - start, sent, received);
    for (const change of report.timeline.links)
      links.push({ atMs: change.atMs, port: `generator port ${change.port}`, up: change.up });
    links.sort((a, b) => a.atMs - b.atMs);
    const octal = (mode: number): string => mode.toString(8).padStart(4, '0');
    const checks: Check[] = [
      {
        what:
          `the socket directory is ${octal(modes.dir)} and no socket is world-writable ` +
          `(${Object.entries(modes.sockets)
            .map(([name, mode]) => `${name} ${octal(mode)}`)
            .join(', ')})`,
        ok: (modes.dir & 0o077) === 0 && Object.values(modes.sockets).every((mode) => (mode & 0o002) === 0),
      },
      { what: 'traffic resumed on every port', ok: figures.outageMs !== null },
      // More received than sent: OVS forwarded some packets twice (NORMAL floods them).
      { what: 'no packet received twice (received <= sent)', ok: figures.received <= figures.sent },
      {
        what: `nothing lost outside the fault's window (± ${figures.inFlightTolerance} in flight at its edges)`,
        ok: nothingLostOutside(figures),
      },
      {
        what:
          fault === 'container-restart'
            ? 'the generator stayed up, the forwarder came back'
            : 'the generator and the forwarder stayed up',
        ok: stayedUp,
      },
      {
        what:
          'mbufs back after the traffic stopped (in use: ' +
          mbufs
            .map((each) =>
              each.before === null || each.after === null
                ? `${each.app} unread`
                : `${each.app} ${each.before} before, ${each.after} after, at most ${each.allowed}`,
            )
            .join('; ') +
          (fault === 'container-restart' ? "; the new forwarder against the first one's before" : '') +
          ')',
        ok: mbufs.every((each) => each.after !== null && each.allowed !== null && each.after <= each.allowed),
      },
    ];
    if (notConnected !== undefined) log(`lab: ${fault}: ovs-vswitchd's log ends with:\n${notConnected}`);
    result.fault = {
      fault,
      forwarder: forwarder.label,
      ratePps,
      figures,
      skipped,
      timeline: report.timeline,
      events,
      links,
      mbufs,
      checks,
    };
    result.pass = checks.every((check) => check.ok !== false);
  } finally {
    stopWatching();
    keeper.off('installed', onInstalled);
    keeper.off('disconnected', onOpenFlowLost);
    lab.vswitch.client.off('disconnected', onOvsdbLost);
    lab.vswitch.client.off('reconnected', onOvsdbBack);
    await keeper.close();
    result.apps[forwarder.label] = await lab.stop(app);
    await lab.stop(generator);
  }
  return result;
}
