// FlowKeeper against a real ovsdb-server + ovs-vswitchd (dummy datapath): the desired flows
// come back after ovs-vswitchd is killed or exits and is started again, as ovs-ofctl reads them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { FlowKeeper } from '../lib/ovs/openflow/flow-keeper.js';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { appctl, vsctl, waitFor } from './ovs-helpers.js';

const execFileAsync = promisify(execFile);

const desired = [
  'priority=10,in_port=p1,ip,actions=output:p2',
  'priority=10,in_port=p2,ip,actions=output:p1',
  'table=1,priority=5,arp,actions=drop',
];

let sandbox: OvsSandbox;
let target: string;

/** `ovs-ofctl dump-flows` lines, without durations and counters (which a reinstall resets). */
async function dump(): Promise<string[]> {
  const { stdout } = await execFileAsync('ovs-ofctl', ['-O', 'OpenFlow13', '--names', 'dump-flows', 'br0'], {
    env: sandbox.env,
  });
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(' cookie='))
    .map((line) => line.replace(/ duration=[\d.]+s,| n_packets=\d+,| n_bytes=\d+,/g, '').trim())
    .sort();
}

/** Waits until ovs-vswitchd is up again and br0's management socket answers. */
async function restartVswitchd(): Promise<void> {
  await sandbox.startVswitchd();
  await waitFor('br0.mgmt', async () => (await dump().catch(() => undefined)) !== undefined, 10_000);
}

const opts = { reconnect: { initialDelayMs: 20, maxDelayMs: 200 }, keepaliveMs: 1000 };

t.before(async () => {
  sandbox = await OvsSandbox.start({ vswitchd: 'dummy' });
  await vsctl(
    sandbox,
    'add-br',
    'br0',
    '--',
    'set',
    'bridge',
    'br0',
    'datapath_type=dummy',
    '--',
    'add-port',
    'br0',
    'p1',
    '--',
    'set',
    'interface',
    'p1',
    'type=dummy',
    'ofport_request=1',
    '--',
    'add-port',
    'br0',
    'p2',
    '--',
    'set',
    'interface',
    'p2',
    'type=dummy',
    'ofport_request=2',
  );
  target = `unix:${sandbox.mgmtSocket('br0')}`;
});
t.teardown(() => sandbox?.stop());

t.test('desired flows come back after ovs-vswitchd is killed and restarted', async (t) => {
  const keeper = new FlowKeeper(target, desired, opts);
  t.teardown(() => keeper.close());
  t.match(await keeper.waitInstalled(), { added: 3, deleted: 1, modified: 0 }, 'NORMAL removed, 3 added');
  const before = await dump();
  t.equal(before.length, 3);

  const disconnected = new Promise((resolve) => keeper.once('disconnected', resolve));
  await sandbox.killDaemon('ovs-vswitchd', 'SIGKILL');
  t.match(await disconnected, { code: 'ECONNRESET' });
  t.equal(keeper.connected, false);
  const installed = keeper.waitInstalled({ timeoutMs: 20_000 });
  await restartVswitchd();
  t.match(await installed, { added: 3, deleted: 1 }, 'reinstalled over the restarted bridge');
  t.same(await dump(), before, 'ovs-ofctl dumps the same flows');
});

t.test('a clean ovs-appctl exit and restart likewise', async (t) => {
  const keeper = new FlowKeeper(target, desired, opts);
  t.teardown(() => keeper.close());
  await keeper.waitInstalled();
  const before = await dump();
  const disconnected = new Promise((resolve) => keeper.once('disconnected', resolve));
  const pid = sandbox.pid('ovs-vswitchd');
  await appctl(sandbox, 'ovs-vswitchd', 'exit');
  await disconnected;
  await waitFor('ovs-vswitchd to exit', () => sandbox.pid('ovs-vswitchd') !== pid);
  const installed = keeper.waitInstalled({ timeoutMs: 20_000 });
  await restartVswitchd();
  await installed;
  t.same(await dump(), before);
});

t.test('setFlows while disconnected is applied on reconnect', async (t) => {
  const keeper = new FlowKeeper(target, desired, opts);
  t.teardown(() => keeper.close());
  await keeper.waitInstalled();
  const disconnected = new Promise((resolve) => keeper.once('disconnected', resolve));
  await sandbox.killDaemon('ovs-vswitchd', 'SIGKILL');
  await disconnected;
  await t.rejects(keeper.setFlows(['in_port=nosuch,actions=drop']), {
    code: 'EINVAL',
    message: /unknown port "nosuch"/,
  });
  t.same(keeper.flows, desired, 'a port the bridge had not is refused while disconnected too');
  const next = ['priority=7,in_port=p1,actions=output:p2'];
  t.equal(await keeper.setFlows(next), undefined, 'accepted while disconnected');
  t.same(keeper.flows, next);
  const installed = keeper.waitInstalled({ timeoutMs: 20_000 });
  await restartVswitchd();
  t.match(await installed, { added: 1, deleted: 1 });
  t.same(await dump(), ['cookie=0x0, table=0, priority=7,in_port=p1 actions=output:p2']);
});

t.test('a bad flow is refused with its parse error and the previous state stays', async (t) => {
  const keeper = new FlowKeeper(target, desired, opts);
  t.teardown(() => keeper.close());
  await keeper.waitInstalled();
  const before = await dump();
  await t.rejects(keeper.setFlows(['priority=1,actions=drop', 'in_port=nosuch,actions=drop']), {
    code: 'EINVAL',
    flowIndex: 1,
    flow: 'in_port=nosuch,actions=drop',
    message: /^flow 2 of 2: .*unknown port "nosuch"/,
  });
  await t.rejects(keeper.setFlows(['priority=1,actoins=drop']), { code: 'EINVAL', flowIndex: 0 });
  t.same(keeper.flows, desired);
  t.same(await dump(), before, 'nothing was sent');
  t.match(await keeper.setFlows([...desired, 'priority=3,actions=drop']), { added: 1, deleted: 0, unchanged: 3 });
});

t.test('checkIntervalMs puts back flows deleted behind its back', async (t) => {
  const keeper = new FlowKeeper(target, desired, { ...opts, checkIntervalMs: 100 });
  t.teardown(() => keeper.close());
  await keeper.waitInstalled();
  const before = await dump();
  const installed = keeper.waitInstalled();
  await execFileAsync('ovs-ofctl', ['-O', 'OpenFlow13', 'del-flows', 'br0', 'table=1'], { env: sandbox.env });
  t.match(await installed, { added: 1, deleted: 0, modified: 0, unchanged: 2 });
  t.same(await dump(), before);
});

t.test('options and flows are validated', async (t) => {
  t.throws(() => new FlowKeeper(target, desired, { keepAliveMs: 5 } as never), {
    code: 'EINVAL',
    message: 'Unknown option "keepAliveMs" for FlowKeeper (did you mean "keepaliveMs"?)',
  });
  t.throws(() => new FlowKeeper(target, 'actions=drop' as never), {
    code: 'EINVAL',
    message: 'flows must be an array of flow strings (possibly empty), got "actions=drop"',
  });
  t.throws(() => new FlowKeeper('br0', desired), { code: 'EINVAL' });
});

t.test('close stops reconnecting and leaves the flows; idempotent', async (t) => {
  const keeper = new FlowKeeper(target, desired, opts);
  await keeper.waitInstalled();
  await sandbox.killDaemon('ovs-vswitchd', 'SIGKILL');
  await waitFor('the drop', () => !keeper.connected);
  let attempts = 0;
  keeper.on('connectFailed', () => attempts++);
  await waitFor('a failed attempt', () => attempts > 0);
  await keeper.close();
  await keeper.close();
  const seen = attempts;
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(attempts, seen, 'no attempt after close');
  await t.rejects(keeper.setFlows([]), { code: 'ERR_CLOSED' });
  await t.rejects(keeper.waitInstalled(), { code: 'ERR_CLOSED' });
  await restartVswitchd();
  // A restarted bridge has only NORMAL: nobody reinstalled.
  t.same(await dump(), ['cookie=0x0, table=0, priority=0 actions=NORMAL']);
});

t.test('a closed keeper leaves no timer behind: the process exits', async (t) => {
  const script = `
    const { FlowKeeper } = require('./lib/ovs/openflow/flow-keeper.ts');
    const keeper = new FlowKeeper(${JSON.stringify(target)}, [], { keepaliveMs: 100, checkIntervalMs: 100 });
    keeper.waitInstalled().then(() => keeper.close());
  `;
  const started = Date.now();
  await execFileAsync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: `${__dirname}/..`,
    timeout: 15_000,
  });
  t.ok(Date.now() - started < 15_000, 'exited by itself');
});
