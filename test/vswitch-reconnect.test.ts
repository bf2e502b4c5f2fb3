// Vswitch across an ovsdb-server restart: writes in flight end as ERR_OUTCOME_UNKNOWN, the
// replica is resynchronized by the client's reconnection, and close() while reconnecting ends.
import t from 'tap';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { Vswitch } from '../lib/ovs/vswitch.js';
import { vsctl, waitFor } from './ovs-helpers.js';

const connectOptions = {
  noWait: true,
  timeoutMs: 10_000,
  client: { reconnect: { initialDelayMs: 50, maxDelayMs: 200 }, probeIntervalMs: 1000 },
};

/** Settles within `ms` or fails: a call that hangs would otherwise hang the test. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

t.test('a write in flight when ovsdb-server is killed ends as ERR_OUTCOME_UNKNOWN', async (t) => {
  const sandbox = await OvsSandbox.start();
  t.teardown(() => sandbox.stop());
  const vswitch = await Vswitch.connect(sandbox.dbTarget, connectOptions);
  t.teardown(() => vswitch.close());
  await vswitch.init();
  // A stopped server holds the transaction unanswered: it is surely in flight when killed.
  process.kill(sandbox.pid('ovsdb-server')!, 'SIGSTOP');
  const inFlight = vswitch.addBridge('br-flight').catch((error: unknown) => error);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await sandbox.killDaemon('ovsdb-server', 'SIGKILL');
  t.match(await within(5000, inFlight), {
    code: 'ERR_OUTCOME_UNKNOWN',
    message: /^the connection dropped with the transaction in flight; it may or may not have been committed/,
  });
});

t.test('after ovsdb-server restarts the replica is current and writes succeed', async (t) => {
  const sandbox = await OvsSandbox.start();
  t.teardown(() => sandbox.stop());
  const vswitch = await Vswitch.connect(sandbox.dbTarget, connectOptions);
  t.teardown(() => vswitch.close());
  await vswitch.init();
  await vswitch.addBridge('br-before');
  t.same(vswitch.listBridges(), ['br-before']);

  const disconnected = new Promise((resolve) => vswitch.client.once('disconnected', resolve));
  await sandbox.killDaemon('ovsdb-server', 'SIGKILL');
  await disconnected;
  const reconnected = new Promise<void>((resolve) => vswitch.client.once('reconnected', () => resolve()));
  await sandbox.startOvsdbServer();
  await within(10_000, reconnected);

  await vsctl(sandbox, '--no-wait', 'add-br', 'br-vsctl');
  await waitFor('the bridge added by ovs-vsctl', () => vswitch.listBridges().includes('br-vsctl'));
  t.same(vswitch.listBridges(), ['br-before', 'br-vsctl']);
  await vswitch.addPort('br-vsctl', 'p-after', { type: 'internal' });
  await vswitch.addBridge('br-after');
  t.same(vswitch.listBridges(), ['br-after', 'br-before', 'br-vsctl']);
  t.same(vswitch.listPorts('br-vsctl'), ['p-after'], 'like ovs-vsctl list-ports: the local port is left out');
  t.match(await vsctl(sandbox, 'list-br'), /^br-after\nbr-before\nbr-vsctl\n$/);
});

t.test('close() while the client is reconnecting ends, and later writes fail with ERR_CLOSED', async (t) => {
  const sandbox = await OvsSandbox.start();
  t.teardown(() => sandbox.stop());
  const vswitch = await Vswitch.connect(sandbox.dbTarget, connectOptions);
  await vswitch.init();
  const disconnected = new Promise((resolve) => vswitch.client.once('disconnected', resolve));
  await sandbox.killDaemon('ovsdb-server', 'SIGKILL');
  await disconnected;
  const failed = new Promise((resolve) => vswitch.client.once('reconnectFailed', resolve));
  await within(5000, failed);
  const closed = new Promise<void>((resolve) => vswitch.client.once('closed', () => resolve()));
  vswitch.close();
  await within(5000, closed);
  t.notOk(vswitch.client.isConnected);
  await t.rejects(within(5000, vswitch.addBridge('br-closed')), { code: 'ERR_CLOSED' });
});
