// OvsdbClient reconnection: drops, daemon restarts and database changes, with monitors
// resynchronized and locks taken again.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { OvsdbClient } from '../lib/ovs/ovsdb/client.js';
import { appctl, vsctl, waitFor } from './ovs-helpers.js';

const execFileAsync = promisify(execFile);
const db = 'Open_vSwitch';
const bridgeNames = (client: { replica: { rows(table: string): { [k: string]: unknown }[] } }): string[] =>
  client.replica
    .rows('Bridge')
    .map((row) => row['name'] as string)
    .sort();

t.test('ovsdb-server killed and restarted mid-monitor (standalone database: full resync)', async (t) => {
  const sandbox = await OvsSandbox.start();
  t.teardown(() => sandbox.stop());
  const client = await OvsdbClient.connect(sandbox.dbTarget, {
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    probeIntervalMs: 1000,
  });
  t.teardown(() => client.close());
  await vsctl(sandbox, '--no-wait', 'add-br', 'keep', '--', 'add-br', 'gone');
  const monitor = await client.monitor(db, { Bridge: { columns: ['name', 'external_ids'] } });
  t.same(bridgeNames(monitor), ['gone', 'keep']);
  t.equal(await client.lock('leader'), true);

  const inFlight = client
    .transact(db, [
      {
        op: 'wait',
        table: 'Bridge',
        where: [['name', '==', 'never']],
        columns: ['name'],
        until: '!=',
        rows: [],
        timeout: 60_000,
      },
    ])
    .catch((error: unknown) => error);
  const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await sandbox.killDaemon('ovsdb-server', 'SIGKILL');
  t.match(await disconnected, { code: 'ECONNRESET' });
  t.match(await inFlight, {
    code: 'ERR_OUTCOME_UNKNOWN',
    message: /^the connection dropped with the transaction in flight; it may or may not have been committed/,
  });
  t.notOk(client.isConnected);

  // While the server is down, change the database file directly.
  const { stdout } = await execFileAsync('ovsdb-tool', [
    'query',
    sandbox.dbPath,
    JSON.stringify([db, { op: 'select', table: 'Bridge', where: [['name', '==', 'gone']], columns: ['_uuid'] }]),
  ]);
  const goneUuid = (JSON.parse(stdout) as [{ rows: [{ _uuid: [string, string] }] }])[0].rows[0]._uuid[1];
  await execFileAsync('ovsdb-tool', [
    'transact',
    sandbox.dbPath,
    JSON.stringify([
      db,
      {
        op: 'mutate',
        table: 'Open_vSwitch',
        where: [],
        mutations: [['bridges', 'delete', ['set', [['uuid', goneUuid]]]]],
      },
      {
        op: 'update',
        table: 'Bridge',
        where: [['name', '==', 'keep']],
        row: { external_ids: ['map', [['offline', 'edit']]] },
      },
    ]),
  ]);

  const resynced = new Promise((resolve) => monitor.once('resynced', resolve));
  const reconnected = new Promise<void>((resolve) => client.once('reconnected', () => resolve()));
  const relocked = new Promise((resolve) => client.once('locked', resolve));
  await sandbox.startOvsdbServer();
  await reconnected;
  t.equal(await resynced, 'full', 'a standalone server keeps no transaction history: the replica is replaced');
  t.equal(await relocked, 'leader', 'locks are taken again');
  t.ok(client.holdsLock('leader'));
  t.same(bridgeNames(monitor), ['keep']);
  t.same(
    monitor.replica.find('Bridge', (row) => row['name'] === 'keep')?.['external_ids'],
    new Map([['offline', 'edit']]),
  );

  await vsctl(sandbox, '--no-wait', 'add-br', 'after');
  await waitFor('updates after the reconnect', () => bridgeNames(monitor).includes('after'));
  t.same(bridgeNames(monitor), ['after', 'keep']);
});

t.test('clustered database: monitor_cond_since resumes from the last transaction id', async (t) => {
  const sandbox = await OvsSandbox.start({ clustered: true });
  t.teardown(() => sandbox.stop());
  const client = await OvsdbClient.connect(sandbox.dbTarget, { reconnect: { initialDelayMs: 500, maxDelayMs: 1000 } });
  t.teardown(() => client.close());
  await vsctl(sandbox, '--no-wait', 'add-br', 'one');
  const monitor = await client.monitor(db, { Bridge: { columns: ['name'] } });
  t.equal(monitor.method, 'monitor_cond_since');
  await vsctl(sandbox, '--no-wait', 'add-br', 'two');
  await waitFor('bridge two', () => bridgeNames(monitor).includes('two'));
  t.ok(
    monitor.replica.lastTxnId !== undefined && monitor.replica.lastTxnId !== '00000000-0000-0000-0000-000000000000',
    'update3 carries the transaction id',
  );

  const changes: string[] = [];
  monitor.replica.on('change', (batch) =>
    changes.push(...batch.map((change) => `${change.kind} ${String((change.new ?? change.old)?.['name'])}`)),
  );
  const resynced = new Promise((resolve) => monitor.once('resynced', resolve));
  client.dropConnection();
  await vsctl(sandbox, '--no-wait', 'add-br', 'three');
  t.equal(await resynced, 'changes', 'only the missed changes were sent');
  t.same(changes, ['insert three']);
  t.same(bridgeNames(monitor), ['one', 'three', 'two']);

  // ovsdb-server 3.1 answers found=false when the missed transactions delete rows: full resync.
  const again = new Promise((resolve) => monitor.once('resynced', resolve));
  client.dropConnection();
  await vsctl(sandbox, '--no-wait', 'del-br', 'one');
  t.ok(['changes', 'full'].includes((await again) as string));
  t.same(bridgeNames(monitor), ['three', 'two']);
  t.ok(changes.includes('delete one'), 'the deletion is reported as a change either way');

  const restarted = new Promise((resolve) => monitor.once('resynced', resolve));
  await sandbox.killDaemon('ovsdb-server', 'SIGKILL');
  await sandbox.startOvsdbServer();
  const kind = await restarted;
  t.ok(kind === 'changes' || kind === 'full', `after a server restart: ${String(kind)} resync`);
  await vsctl(sandbox, '--no-wait', 'add-br', 'four');
  await waitFor('bridge four', () => bridgeNames(monitor).includes('four'));
  t.same(bridgeNames(monitor), ['four', 'three', 'two']);
});

t.test('without reconnect the client closes', async (t) => {
  const sandbox = await OvsSandbox.start();
  t.teardown(() => sandbox.stop());
  const client = await OvsdbClient.connect(sandbox.dbTarget, { reconnect: false });
  const closed = new Promise<void>((resolve) => client.once('closed', () => resolve()));
  await sandbox.killDaemon('ovsdb-server', 'SIGKILL');
  await closed;
  await t.rejects(client.listDbs(), { code: 'ERR_CLOSED' });
});

t.test('fallback to plain monitor, server-forced reconnect, monitor_canceled', async (t) => {
  const sandbox = await OvsSandbox.start();
  t.teardown(() => sandbox.stop());
  // Before connecting: disable-monitor-cond also drops the connections the server has,
  // which would race with the first request.
  await appctl(sandbox, 'ovsdb-server', 'ovsdb-server/disable-monitor-cond');
  const client = await OvsdbClient.connect(sandbox.dbTarget, { reconnect: { initialDelayMs: 50 } });
  t.teardown(() => client.close());
  const monitor = await client.monitor(db, { Bridge: { columns: ['name'] } });
  t.equal(monitor.method, 'monitor', 'monitor_cond_since and monitor_cond refused: plain monitor');
  await t.rejects(client.monitor(db, { Bridge: { where: [['name', '==', 'x']] } }), {
    code: 'ENOTSUP',
    message: 'the server supports neither monitor_cond nor monitor_cond_since, so "where" conditions cannot be used',
  });
  await t.rejects(monitor.changeConditions({ Bridge: [] }), { code: 'ENOTSUP' });
  await vsctl(sandbox, '--no-wait', 'add-br', 'plain');
  await waitFor('the plain monitor update', () => bridgeNames(monitor).includes('plain'));

  await client.setDbChangeAware(true);
  const resynced = new Promise((resolve) => monitor.once('resynced', resolve));
  await appctl(sandbox, 'ovsdb-server', 'ovsdb-server/reconnect');
  t.equal(await resynced, 'full');
  t.same(bridgeNames(monitor), ['plain']);

  const canceled = new Promise<void>((resolve) => monitor.once('canceled', () => resolve()));
  await appctl(sandbox, 'ovsdb-server', 'ovsdb-server/remove-db', db);
  await canceled;
  t.ok(monitor.canceled);
  t.ok(client.isConnected, 'a db-change-aware client stays connected');
  t.same(await client.listDbs(), ['_Server']);
});
