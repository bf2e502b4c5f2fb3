/**
 * Real chassis beside the fake ones: each an {@link OvsSandbox} with `ovs-vswitchd
 * --enable-dummy` (dummy datapath: no kernel module, no DPDK) and an ovn-controller on it,
 * so that `hv_cfg` waits for controllers that really compute and install flows. The logical
 * ports requested on a real chassis get a dummy interface on its `br-int` (written through
 * dpdk-ts's OVSDB client), and ovn-controller claims them itself.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OvsdbClient, namedUuid, type Operation } from '../../lib/ovs/ovsdb/index.js';
import { OvsSandbox } from '../../lib/ovs/sandbox.js';

const execFileAsync = promisify(execFile);

/** The name of real chassis `index`. */
export function realChassisName(index: number): string {
  return `real-${index}`;
}

/** A running controller: its chassis name, the pid of ovn-controller, and how to add ports and stop. */
export interface Controller {
  name: string;
  pid: number;
  /** Adds a dummy interface with `external_ids:iface-id` = each port name to `br-int`, in one transaction. */
  addPorts(ports: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

/** Starts chassis `index`: a dummy ovs-vswitchd with `br-int`, and ovn-controller pointed at `sbTarget`. */
export async function startController(index: number, sbTarget: string): Promise<Controller> {
  const name = realChassisName(index);
  const sandbox = await OvsSandbox.start({ vswitchd: 'dummy', dirPrefix: '/tmp/ovnhv' });
  let client: OvsdbClient | undefined;
  let pid: number | undefined;
  const stop = async (): Promise<void> => {
    client?.close();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    await sandbox.stop();
  };
  try {
    client = await OvsdbClient.connect(sandbox.dbTarget, { reconnect: false, probeIntervalMs: 0 });
    const db = 'Open_vSwitch';
    await client.transact(db, [
      {
        op: 'insert',
        table: 'Interface',
        uuidName: 'i',
        row: { name: 'br-int', type: 'internal' },
      },
      { op: 'insert', table: 'Port', uuidName: 'p', row: { name: 'br-int', interfaces: [namedUuid('i')] } },
      {
        op: 'insert',
        table: 'Bridge',
        uuidName: 'b',
        row: {
          name: 'br-int',
          datapath_type: 'dummy',
          fail_mode: 'secure',
          other_config: { 'disable-in-band': 'true' },
          ports: [namedUuid('p')],
        },
      },
      {
        op: 'update',
        table: 'Open_vSwitch',
        where: [],
        row: {
          external_ids: {
            'system-id': name,
            hostname: name,
            'ovn-remote': sbTarget,
            'ovn-encap-type': 'geneve',
            'ovn-encap-ip': `127.1.${index >> 8}.${index & 255}`,
            'ovn-bridge-datapath-type': 'dummy',
          },
        },
      },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', [namedUuid('b')]]] },
    ]);
    const pidFile = join(sandbox.runDir, 'ovn-controller.pid');
    await execFileAsync(
      'ovn-controller',
      [
        sandbox.dbTarget,
        `--pidfile=${pidFile}`,
        `--log-file=${join(sandbox.runDir, 'ovn-controller.log')}`,
        '--detach',
        '-vconsole:off',
      ],
      { env: { ...sandbox.env, OVN_RUNDIR: sandbox.runDir }, timeout: 20_000 },
    );
    pid = Number(readFileSync(pidFile, 'utf8').trim());
    const connected = client;
    const addPorts = async (ports: readonly string[]): Promise<void> => {
      if (ports.length === 0) return;
      const operations: Operation[] = ports.flatMap((port, i): Operation[] => [
        {
          op: 'insert',
          table: 'Interface',
          uuidName: `i${i}`,
          row: { name: port, type: 'dummy', external_ids: { 'iface-id': port } },
        },
        {
          op: 'insert',
          table: 'Port',
          uuidName: `p${i}`,
          row: { name: port, interfaces: [namedUuid(`i${i}`)] },
        },
      ]);
      operations.push({
        op: 'mutate',
        table: 'Bridge',
        where: [['name', '==', 'br-int']],
        mutations: [['ports', 'insert', ports.map((_, i) => namedUuid(`p${i}`))]],
      });
      await connected.transact(db, operations);
    };
    return { name, pid, addPorts, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
