/**
 * One measured run of one point (chassis, ports) on a fresh central: fake chassis, the
 * NB writes, northd and the chassis catching up (`nb_cfg` -> `sb_cfg` -> `hv_cfg`), the
 * ports claimed and reported up, then a replica of the whole southbound database in this
 * process (its heap and RSS) and the daemons' RSS.
 */
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { OvsdbClient, type Replica } from '../../lib/ovs/ovsdb/index.js';
import { OvnCentral } from '../../lib/ovn/central.js';
import { OvnNorthbound } from '../../lib/ovn/northbound.js';
import { startController, type Controller } from './controllers.js';
import { acknowledgeNbCfg, claimPorts, createFakeChassis, fakeChassisName } from './fake-chassis.js';
import { portName, switchCount, writePorts, writeTopology, type Workload } from './workload.js';

/** What one run measured. */
export interface RunResult {
  /** Milliseconds to write all ports to the NB, and the rate. */
  writeMs: number;
  portsPerSecond: number;
  /** Milliseconds from the nb_cfg bump after the writes until sb_cfg, then hv_cfg, matched it. */
  sbCatchUpMs: number;
  hvCatchUpMs: number;
  /** Milliseconds from the first claim until northd reported every port up in the NB. */
  bindMs: number;
  /** Counts read back: ports in the NB, port bindings with a chassis in the SB, logical flows. */
  nbPorts: number;
  sbBoundPorts: number;
  logicalFlows: number;
  /** Rows of the whole southbound replica, and its cost in this process. */
  sbRows: number;
  replicaMs: number;
  replicaHeapBytes: number;
  replicaRssBytes: number;
  /** Resident memory of each central daemon (and the largest ovn-controller's) at the end of the run, in bytes. */
  daemonRssBytes: Record<string, number>;
}

/** Timeout of each wait for the central to catch up, in milliseconds. */
const catchUpTimeoutMs = 300_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? NaN : Number(match[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** Resolves when `predicate` holds on `replica` (checked on every change), or fails naming `what`. */
async function until(replica: Replica, what: string, predicate: () => boolean): Promise<void> {
  if (predicate()) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      replica.off('change', check);
      reject(new Error(`${what} did not happen within ${catchUpTimeoutMs / 1000} s`));
    }, catchUpTimeoutMs);
    function check(): void {
      if (!predicate()) return;
      clearTimeout(timer);
      replica.off('change', check);
      resolve();
    }
    replica.on('change', check);
  });
}

/**
 * Runs one point: `chassis` fake chassis and `controllers` real ones, the workload's ports
 * spread over all of them.
 */
export async function runPoint(
  chassis: number,
  workload: Omit<Workload, 'chassis'>,
  controllers = 0,
): Promise<RunResult> {
  const central = await OvnCentral.start({ dirPrefix: '/tmp/ovnsc' });
  const clients: OvsdbClient[] = [];
  const running: Controller[] = [];
  const connect = async (target: string): Promise<OvsdbClient> => {
    const client = await OvsdbClient.connect(target, { reconnect: false, probeIntervalMs: 0, timeoutMs: 120_000 });
    clients.push(client);
    return client;
  };
  try {
    const nb = await connect(central.nbTarget);
    const sb = await connect(central.sbTarget);
    // The typed northbound client for the waits (its replica holds NB_Global and the ports);
    // the ports themselves are written in bulk through the OVSDB client, per transaction size.
    const nbApi = await OvnNorthbound.open(nb, { timeoutMs: catchUpTimeoutMs });
    const nbView = nbApi.replica;
    const global = () => nbView.rows('NB_Global')[0] ?? {};
    await createFakeChassis(sb, chassis);
    const stopAcknowledging = await acknowledgeNbCfg(sb);
    const bindings = await sb.monitor('OVN_Southbound', {
      Port_Binding: { columns: ['logical_port', 'requested_chassis', 'chassis'] },
      Chassis: { columns: ['name', 'external_ids'] },
    });
    for (let index = 0; index < controllers; index++) running.push(await startController(index, central.sbTarget));
    await until(bindings.replica, `${controllers} ovn-controller(s) registering their chassis`, () =>
      running.every((controller) => bindings.replica.find('Chassis', (row) => row['name'] === controller.name)),
    );

    const names = [...running.map((controller) => controller.name)];
    for (let index = 0; index < chassis; index++) names.push(fakeChassisName(index));
    const full: Workload = { ...workload, chassis: names };
    const switches = await writeTopology(nb, full);
    const writeMs = await writePorts(nb, full, switches);
    for (const [index, controller] of running.entries()) {
      const ports = Array.from({ length: workload.ports }, (_, port) => port).filter(
        (port) => port % names.length === index,
      );
      await controller.addPorts(ports.map(portName));
    }

    const bumped = performance.now();
    const cfg = await nbApi.sync({ wait: 'sb' });
    const sbCatchUpMs = performance.now() - bumped;
    await until(nbView, `the chassis catching up (hv_cfg ${cfg})`, () => Number(global()['hv_cfg']) >= cfg);
    const hvCatchUpMs = performance.now() - bumped;

    const claimed = performance.now();
    await claimPorts(sb, bindings);
    const isUp = (row: { [column: string]: unknown }): boolean =>
      row['up'] === true || String(row['name']).endsWith('-lr');
    await until(nbView, `northd reporting ${workload.ports} ports up`, () =>
      nbView.rows('Logical_Switch_Port').every(isUp),
    );
    const bindMs = performance.now() - claimed;
    await stopAcknowledging();

    const nbPorts = nbView.rows('Logical_Switch_Port').length - switchCount(full);
    // Columns at their default (no chassis) are left out of rows the server sends.
    const sbBoundPorts = bindings.replica
      .rows('Port_Binding')
      .filter((row) => typeof row['chassis'] === 'string').length;
    await bindings.cancel();

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;
    const replicaStarted = performance.now();
    const schema = await sb.getSchema('OVN_Southbound');
    const everything = await sb.monitor(
      'OVN_Southbound',
      Object.fromEntries([...schema.tables.keys()].map((t) => [t, {}])),
    );
    const replicaMs = performance.now() - replicaStarted;
    gc();
    const replicaHeapBytes = process.memoryUsage().heapUsed - heapBefore;
    const replicaRssBytes = process.memoryUsage().rss - rssBefore;
    const sbRows = [...schema.tables.keys()].reduce((sum, table) => sum + everything.replica.table(table).size, 0);
    const logicalFlows = everything.replica.table('Logical_Flow').size;
    await everything.cancel();

    const daemonRssBytes: Record<string, number> = {};
    for (const daemon of ['nb-ovsdb', 'sb-ovsdb', 'ovn-northd'] as const) {
      const pid = central.pid(daemon);
      daemonRssBytes[daemon] = pid === undefined ? NaN : rssOf(pid);
    }
    if (running.length > 0) daemonRssBytes['ovn-controller'] = Math.max(...running.map((c) => rssOf(c.pid)));
    return {
      writeMs,
      portsPerSecond: (workload.ports / writeMs) * 1000,
      sbCatchUpMs,
      hvCatchUpMs,
      bindMs,
      nbPorts,
      sbBoundPorts,
      logicalFlows,
      sbRows,
      replicaMs,
      replicaHeapBytes,
      replicaRssBytes,
      daemonRssBytes,
    };
  } finally {
    for (const client of clients) client.close();
    for (const controller of running) await controller.stop();
    await central.close();
  }
}
