// DPDK + OVS test: a virtio-user server whose vhost-user setup OVS refuses (issue 11). The
// refusal is made real and deterministic by capping ovs-vswitchd's address space (RLIMIT_AS,
// soft limit only) just above what it maps now: OVS's mmap of the app's memory in
// VHOST_USER_SET_MEM_TABLE then fails, OVS nacks the message (REPLY_ACK) and keeps the
// connection, and DPDK's virtio-user logs "Failed to start device" and sets nothing up: the
// same state as OVS failing "dev->guest_pages" for want of memory. Lifting the cap is the cause
// going away; the retry (the app ends the connection, OVS reconnects) must then bring it up.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  Batch,
  buildUdpPacket,
  Mempool,
  VirtioUser,
  type Port,
  type SetupFailure,
  type SetupRetry,
} from '../lib/index.js';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { Vswitch } from '../lib/ovs/vswitch.js';
import { initEal, until } from './helpers/dpdk.js';
import { ovsDpdkSkip } from './helpers/ovs-traffic.js';

const skip = ovsDpdkSkip();

/** ovs-vswitchd's mapped address space now, in bytes. */
function vmSize(pid: number): number {
  const kb = /^VmSize:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (kb === null) throw new Error(`no VmSize for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

/** Sets the soft RLIMIT_AS of `pid` (the hard limit stays). */
function capAddressSpace(pid: number, bytes: number | 'unlimited'): void {
  execFileSync('prlimit', ['--pid', String(pid), `--as=${bytes}:`]);
}

/** Whether a broadcast from `from` reaches `to` through the bridge within `timeoutMs`. */
async function crosses(pool: Mempool, from: Port, to: Port, timeoutMs: number): Promise<boolean> {
  const packet = buildUdpPacket({
    dstMac: 'ff:ff:ff:ff:ff:ff',
    srcMac: '00:00:00:00:00:01',
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
  });
  const batch = new Batch(32);
  try {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      pool.alloc(batch, 1, packet);
      from.txBurst(0, batch);
      batch.free();
      await new Promise((resolve) => setTimeout(resolve, 20));
      to.rxBurst(0, batch);
      const got = batch.count;
      batch.free();
      if (got > 0) return true;
    }
    return false;
  } finally {
    batch.close();
  }
}

t.test(
  'a virtio-user server whose setup OVS refused is retried, and comes up once the cause is gone',
  { skip },
  async (t) => {
    const sandbox = await OvsSandbox.start({
      vswitchd: 'dpdk',
      otherConfig: {
        'dpdk-socket-mem': '128',
        'dpdk-lcore-mask': '0x1',
        'pmd-cpu-mask': '0x2',
        'pmd-maxsleep': '10000',
      },
      timeoutMs: 60_000,
    });
    t.teardown(() => sandbox.stop());
    const vswitch = await Vswitch.connect(sandbox.dbTarget, { timeoutMs: 30_000 });
    t.teardown(() => vswitch.close());
    initEal('vhost-retry', { lcores: '0@0' });
    const pool = Mempool.create({ name: 'vhost-retry', size: 2047 });
    t.teardown(() => pool.close());
    await vswitch.addBridge('br-app', { datapathType: 'netdev' });

    const names = ['app0', 'app1'];
    const paths = names.map((name) => join(sandbox.runDir, `${name}.sock`));
    const servers = names.map((_, i) =>
      VirtioUser.createServer({
        path: paths[i],
        mac: `00:00:00:00:00:0${i + 1}`,
        timeoutMs: 30_000,
        setupRetry: { attempts: 20, delayMs: 200 },
      }),
    );
    for (const [i, name] of names.entries()) {
      await vswitch.addPort('br-app', name, {
        type: 'dpdkvhostuserclient',
        options: { 'vhost-server-path': paths[i] },
      });
    }
    const [app0, app1] = await Promise.all(servers);
    t.teardown(() => app0.close());
    t.teardown(() => app1.close());
    app1.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
    app1.start();
    await app1.waitForLink({ timeoutMs: 10_000 });

    const failures: SetupFailure[] = [];
    const retries: SetupRetry[] = [];
    const recovered: SetupRetry[] = [];
    app0.on('setup-failed', (failure) => failures.push(failure));
    app0.on('setup-retry', (retry) => retries.push(retry));
    app0.on('setup-recovered', (retry) => recovered.push(retry));

    const pid = sandbox.pid('ovs-vswitchd')!;
    const cap = vmSize(pid) + 32 * 1024 * 1024;
    capAddressSpace(pid, cap);
    const capped = Date.now();
    app0.configure({ mempool: pool, rxDescriptors: 256, txDescriptors: 256 });
    app0.start();
    t.ok(
      await until(() => failures.length >= 3, 15_000),
      `the refused setup is reported and retried while the cause lasts (${failures.length} failures, ${retries.length} retries)`,
    );
    t.comment(`app0 link while refused: ${app0.link().up ? 'up' : 'down'}`);
    t.comment(`OVS says: ${JSON.stringify(vswitch.interface('app0'))}`);
    t.match(failures[0], {
      path: paths[0],
      failures: 1,
      retrying: true,
      logged: new RegExp(`\\(${paths[0]}\\) Failed to start device`),
      error: { code: 'ERR_VHOST_SETUP', object: app0.name },
    });
    t.same(
      retries.slice(0, 2).map((r) => r.attempt),
      [1, 2],
      'each retry is numbered',
    );
    t.equal(recovered.length, 0, 'nothing recovers while the cause lasts');
    const ovsLog = readFileSync(join(sandbox.runDir, 'ovs-vswitchd.log'), 'utf8');
    const refusals = ovsLog
      .split('\n')
      .filter((line) => /failed to mmap region|processing .*SET_MEM_TABLE failed/i.test(line));
    t.ok(refusals.length > 0, `OVS logged the refusals (${refusals.length} lines, e.g. ${refusals[0]})`);

    capAddressSpace(pid, 'unlimited');
    t.ok(await until(() => recovered.length > 0, 20_000), 'once the cause is gone, a retry sets the device up');
    t.comment(
      `recovered after ${recovered[0]?.attempt} retries, ${Date.now() - capped} ms after the cap; failures ${failures.length}`,
    );
    await app0.waitForLink({ timeoutMs: 10_000 });
    t.ok(await crosses(pool, app0, app1, 10_000), 'a broadcast from app0 reaches app1 through the bridge');
  },
);
