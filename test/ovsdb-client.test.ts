// The OVSDB client against a real ovsdb-server in a sandbox: every method, transaction
// operation and monitor method, checked against what ovs-vsctl reads back.
import t from 'tap';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { OvsdbClient } from '../lib/ovs/ovsdb/client.js';
import { namedUuid, isUuid } from '../lib/ovs/ovsdb/data.js';
import type { RowChange } from '../lib/ovs/ovsdb/replica.js';
import { vsctl, waitFor } from './ovs-helpers.js';

const db = 'Open_vSwitch';

t.test('OVSDB client against a real ovsdb-server', async (t) => {
  const sandbox = await OvsSandbox.start();
  t.teardown(() => sandbox.stop());
  const client = await OvsdbClient.connect(sandbox.dbTarget, { timeoutMs: 10_000 });
  t.teardown(() => client.close());
  const [root] = (
    await client.transact(db, [{ op: 'select', table: 'Open_vSwitch', where: [], columns: ['_uuid'] }])
  )[0].rows;
  const rootUuid = root!['_uuid'] as string;

  t.test('connection errors', async (t) => {
    await t.rejects(OvsdbClient.connect('udp:1.2.3.4:5'), {
      code: 'EINVAL',
      message: 'bad OVSDB target "udp:1.2.3.4:5": unknown form (expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT)',
    });
    await t.rejects(OvsdbClient.connect(`unix:${sandbox.runDir}/missing.sock`), {
      code: 'ENOENT',
      message: /^cannot connect to unix:.*missing\.sock/,
    });
    await t.rejects(OvsdbClient.connect(sandbox.dbTarget, { retry: true } as never), {
      code: 'EINVAL',
      message: /^Unknown option "retry" for OvsdbClient.connect/,
    });
  });

  t.test('list_dbs, get_schema, echo, get_server_id, set_db_change_aware', async (t) => {
    t.same((await client.listDbs()).sort(), ['Open_vSwitch', '_Server']);
    const schema = await client.getSchema(db);
    t.equal(schema.name, db);
    t.ok(schema.tables.has('Interface'));
    t.same(await client.echo(['ping', 1]), ['ping', 1]);
    t.ok(isUuid(await client.getServerId()));
    await client.setDbChangeAware(true);
    await t.rejects(client.getSchema('Nope'), { code: 'ERR_OVSDB', message: /^server error "unknown database"/ });
  });

  t.test('transact: every operation, what ovs-vsctl reads back', async (t) => {
    const results = await client.transact(db, [
      { op: 'comment', comment: 'dpdk-ts test' },
      { op: 'insert', table: 'Interface', uuidName: 'i', row: { name: 'br9', type: 'internal' } },
      { op: 'insert', table: 'Port', uuidName: 'p', row: { name: 'br9', interfaces: [namedUuid('i')] } },
      {
        op: 'insert',
        table: 'Bridge',
        uuidName: 'b',
        row: { name: 'br9', ports: [namedUuid('p')], other_config: { hwaddr: '00:00:00:00:00:09' } },
      },
      {
        op: 'mutate',
        table: 'Open_vSwitch',
        where: [['_uuid', '==', rootUuid]],
        mutations: [['bridges', 'insert', [namedUuid('b')]]],
      },
      { op: 'select', table: 'Bridge', where: [['name', '==', 'br9']], columns: ['name', 'other_config'] },
      { op: 'commit', durable: false },
    ]);
    t.same(results[0], {});
    t.ok(isUuid(results[3].uuid));
    t.same(results[4], { count: 1 });
    t.same(results[5].rows, [{ name: 'br9', other_config: new Map([['hwaddr', '00:00:00:00:00:09']]) }]);
    t.equal((await vsctl(sandbox, 'get', 'Bridge', 'br9', 'other_config:hwaddr')).trim(), '"00:00:00:00:00:09"');
    t.equal((await vsctl(sandbox, 'get', 'Bridge', 'br9', '_uuid')).trim(), results[3].uuid);

    const [updated, mutated, waited] = await client.transact(db, [
      {
        op: 'update',
        table: 'Bridge',
        where: [['name', '==', 'br9']],
        row: { fail_mode: 'secure', external_ids: new Map([['owner', 'dpdk-ts']]) },
      },
      {
        op: 'mutate',
        table: 'Bridge',
        where: [['name', '==', 'br9']],
        mutations: [['external_ids', 'insert', { extra: 'yes' }]],
      },
      {
        op: 'wait',
        table: 'Bridge',
        where: [['name', '==', 'br9']],
        columns: ['fail_mode'],
        until: '==',
        rows: [{ fail_mode: 'secure' }],
        timeout: 0,
      },
    ]);
    t.same([updated, mutated, waited], [{ count: 1 }, { count: 1 }, {}]);
    t.equal((await vsctl(sandbox, 'get', 'Bridge', 'br9', 'fail_mode')).trim(), 'secure');
    t.equal((await vsctl(sandbox, 'get', 'Bridge', 'br9', 'external_ids')).trim(), '{extra=yes, owner=dpdk-ts}');

    const [deleted] = await client.transact(db, [
      {
        op: 'mutate',
        table: 'Open_vSwitch',
        where: [['_uuid', '==', rootUuid]],
        mutations: [['bridges', 'delete', [results[3].uuid]]],
      },
    ]);
    t.same(deleted, { count: 1 });
    t.equal((await vsctl(sandbox, 'list-br')).trim(), '');
    const [gone] = await client.transact(db, [{ op: 'delete', table: 'Bridge', where: [['name', '==', 'br9']] }]);
    t.same(gone, { count: 0 }, 'garbage collected with its last reference');
  });

  t.test('transact errors: per operation, commit, and checks before sending', async (t) => {
    await t.rejects(client.transact(db, [{ op: 'comment', comment: 'x' }, { op: 'abort' }]), {
      code: 'ERR_OVSDB',
      message: 'operation 1 (abort) failed: server error "aborted" (aborted by request)',
      cause: { error: 'aborted', operationIndex: 1 },
    });
    await t.rejects(client.transact(db, [{ op: 'assert', lock: 'nobody' }]), {
      code: 'ERR_OVSDB',
      cause: { error: 'not owner', operationIndex: 0 },
    });
    await t.rejects(
      client.transact(db, [
        {
          op: 'wait',
          table: 'Open_vSwitch',
          where: [],
          columns: ['next_cfg'],
          until: '==',
          rows: [{ next_cfg: 424242 }],
          timeout: 0,
        },
      ]),
      { code: 'ERR_OVSDB', cause: { error: 'timed out', operationIndex: 0 } },
    );
    const missing = '00000000-1111-2222-3333-444444444444';
    const failure = await client
      .transact(db, [
        { op: 'insert', table: 'Port', uuidName: 'p', row: { name: 'dangling', interfaces: [missing] } },
        { op: 'insert', table: 'Bridge', uuidName: 'b', row: { name: 'brx', ports: [namedUuid('p')] } },
        { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', [namedUuid('b')]]] },
      ])
      .catch((error: unknown) => error);
    t.match(failure, {
      name: 'DpdkError',
      code: 'ERR_OVSDB',
      message: /^the commit failed: server error "referential integrity violation" \(/,
      cause: { error: 'referential integrity violation', operationIndex: 3 },
    });
    t.equal((failure as { cause: { results: unknown[] } }).cause.results.length, 4, 'the extra commit-error entry');
    await t.rejects(client.transact(db, [{ op: 'select', table: 'Bridges', where: [] }]), {
      code: 'EINVAL',
      message: /^no table "Bridges" in database "Open_vSwitch" \(tables: /,
    });
    await t.rejects(client.transact(db, [{ op: 'select', table: 'Bridge', where: [['nam', '==', 'x']] }]), {
      code: 'EINVAL',
      message: /^no column "nam" in table "Bridge" \(columns: /,
    });
    await t.rejects(client.transact(db, [{ op: 'insert', table: 'Bridge', row: { name: 5 } }]), {
      code: 'EINVAL',
      message: 'Bridge.name: expected a string, got 5 (number)',
    });
    await t.rejects(client.transact(db, [{ op: 'select', table: 'Bridge', where: [], colums: [] } as never]), {
      code: 'EINVAL',
      message: 'Unknown option "colums" for transact operation 0 (select) (did you mean "columns"?)',
    });
    await t.rejects(client.transact(db, [{ op: 'merge' } as never]), {
      code: 'EINVAL',
      message: /^operation 0 has unknown op "merge"/,
    });
    await t.rejects(client.transact(db, []), {
      code: 'EINVAL',
      message: 'operations must be a non-empty array, got []',
    });
  });

  t.test('timeouts and AbortSignal cancel a blocked transaction', async (t) => {
    const blocked = {
      op: 'wait',
      table: 'Bridge',
      where: [['name', '==', 'never']],
      columns: ['name'],
      until: '!=',
      rows: [],
      timeout: 60_000,
    } as const;
    await t.rejects(client.transact(db, [blocked], { timeoutMs: 200 }), {
      code: 'ETIMEDOUT',
      message: /^no reply from unix:.* within 200 ms$/,
    });
    const controller = new AbortController();
    const pending = client.transact(db, [blocked], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await t.rejects(pending, { code: 'ECANCELED', message: 'transact was aborted' });
    t.same(await client.echo(['still alive']), ['still alive'], 'the connection survives; late replies are ignored');
  });

  t.test('64-bit integers keep their precision both ways', async (t) => {
    const big = 2n ** 62n + 7n;
    await client.transact(db, [{ op: 'update', table: 'Open_vSwitch', where: [], row: { next_cfg: big } }]);
    t.equal((await vsctl(sandbox, 'get', 'Open_vSwitch', '.', 'next_cfg')).trim(), big.toString());
    await vsctl(sandbox, '--no-wait', 'set', 'Open_vSwitch', '.', 'cur_cfg=9007199254740993');
    const [read] = await client.transact(db, [
      { op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg', 'cur_cfg'] },
    ]);
    t.same(read.rows[0], { next_cfg: big, cur_cfg: 9007199254740993n });
    await client.transact(db, [{ op: 'update', table: 'Open_vSwitch', where: [], row: { next_cfg: 0, cur_cfg: 0 } }]);
  });

  t.test('1000 transactions in flight', async (t) => {
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 1000 }, () =>
        client.transact(db, [{ op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', '+=', 1]] }]),
      ),
    );
    t.equal(results.filter(([result]) => result.count === 1).length, 1000);
    t.equal((await vsctl(sandbox, 'get', 'Open_vSwitch', '.', 'next_cfg')).trim(), '1000');
    t.comment(`1000 transactions in ${Date.now() - started} ms`);
  });

  for (const method of ['monitor', 'monitor_cond', 'monitor_cond_since'] as const) {
    t.test(`${method}: what ovs-vsctl writes, the replica sees`, async (t) => {
      const monitor = await client.monitor(
        db,
        { Bridge: { columns: ['name', 'external_ids', 'ports'] }, Open_vSwitch: {} },
        { method },
      );
      t.equal(monitor.method, method);
      t.equal(monitor.replica.rows('Open_vSwitch').length, 1, 'initial contents');
      const changes: RowChange[] = [];
      monitor.replica.on('change', (batch) => changes.push(...batch));
      await vsctl(
        sandbox,
        '--no-wait',
        'add-br',
        `m-${method}`,
        '--',
        'set',
        'Bridge',
        `m-${method}`,
        'external_ids:k=v',
      );
      await waitFor(
        'the new bridge',
        () => monitor.replica.find('Bridge', (row) => row['name'] === `m-${method}`) !== undefined,
      );
      const row = monitor.replica.find('Bridge', (r) => r['name'] === `m-${method}`)!;
      t.same(row['external_ids'], new Map([['k', 'v']]));
      t.equal((row['ports'] as string[]).length, 1);
      t.match(changes, [{ table: 'Bridge', kind: 'insert', new: { name: `m-${method}` } }]);
      await vsctl(sandbox, '--no-wait', 'set', 'Bridge', `m-${method}`, 'external_ids:k=w');
      await waitFor(
        'the modification',
        () =>
          (monitor.replica.get('Bridge', row['_uuid'] as string)?.['external_ids'] as Map<string, string>).get('k') ===
          'w',
      );
      t.match(changes.at(-1), { kind: 'modify', old: { external_ids: new Map([['k', 'v']]) } });
      await vsctl(sandbox, '--no-wait', 'del-br', `m-${method}`);
      await waitFor('the deletion', () => monitor.replica.get('Bridge', row['_uuid'] as string) === undefined);
      t.ok(
        changes.some((change) => change.table === 'Bridge' && change.kind === 'delete' && change.uuid === row['_uuid']),
      );
      await monitor.cancel();
      await monitor.cancel();
    });
  }

  t.test('monitor_cond conditions, monitor_cond_change, async iterator', async (t) => {
    await vsctl(sandbox, '--no-wait', 'add-br', 'ca', '--', 'add-br', 'cb');
    const monitor = await client.monitor(db, { Bridge: { columns: ['name'], where: [['name', '==', 'ca']] } });
    t.same(
      monitor.replica.rows('Bridge').map((row) => row['name']),
      ['ca'],
    );
    const controller = new AbortController();
    const iterator = monitor.replica.changes(controller.signal);
    const first = iterator.next();
    await monitor.changeConditions({ Bridge: [['name', '==', 'cb']] });
    const batch = (await first).value as RowChange[];
    t.same(batch.map((change) => [change.kind, (change.new ?? change.old)?.['name']]).sort(), [
      ['delete', 'ca'],
      ['insert', 'cb'],
    ]);
    await waitFor(
      'the new condition',
      () => monitor.replica.rows('Bridge').length === 1 && monitor.replica.rows('Bridge')[0]!['name'] === 'cb',
    );
    controller.abort();
    await t.rejects(iterator.next(), { name: 'AbortError' });
    await t.rejects(monitor.changeConditions({ Port: [] }), {
      code: 'EINVAL',
      message: /^table "Port" is not monitored/,
    });
    await t.rejects(client.monitor(db, { Bridge: { columns: ['nam'] } }), {
      code: 'EINVAL',
      message: /^no column "nam" in table "Bridge"/,
    });
    await monitor.cancel();
    await vsctl(sandbox, '--no-wait', 'del-br', 'ca', '--', 'del-br', 'cb');
  });

  t.test('monitor: an optional column changed from one value to another holds the new value', async (t) => {
    await vsctl(sandbox, '--no-wait', 'add-br', 'cf', '--', 'set-fail-mode', 'cf', 'secure');
    const monitor = await client.monitor(db, {
      Bridge: { columns: ['name', 'fail_mode'], where: [['name', '==', 'cf']] },
    });
    const failMode = () => monitor.replica.rows('Bridge')[0]?.['fail_mode'];
    t.equal(failMode(), 'secure');
    await vsctl(sandbox, '--no-wait', 'set-fail-mode', 'cf', 'standalone');
    await waitFor('fail_mode standalone in the replica', () => failMode() === 'standalone');
    await vsctl(sandbox, '--no-wait', 'del-fail-mode', 'cf');
    await waitFor('no fail_mode in the replica', () => failMode() === null);
    await monitor.cancel();
    await vsctl(sandbox, '--no-wait', 'del-br', 'cf');
  });

  t.test('locks: lock, wait, unlock, steal', async (t) => {
    const other = await OvsdbClient.connect(sandbox.dbTarget);
    t.teardown(() => other.close());
    t.equal(await client.lock('lk'), true);
    t.ok(client.holdsLock('lk'));
    await client.transact(db, [{ op: 'assert', lock: 'lk' }]);
    const granted = new Promise<string>((resolve) => other.once('locked', resolve));
    t.equal(await other.lock('lk'), false);
    await client.unlock('lk');
    t.equal(await granted, 'lk');
    t.ok(other.holdsLock('lk'));
    const stolen = new Promise<string>((resolve) => other.once('stolen', resolve));
    t.equal(await client.steal('lk'), true);
    t.equal(await stolen, 'lk');
    t.notOk(other.holdsLock('lk'));
    await client.unlock('lk');
    await other.unlock('lk');
  });

  t.test('closed client', async (t) => {
    const closing = await OvsdbClient.connect(sandbox.dbTarget);
    const inFlight = closing.transact(db, [
      {
        op: 'wait',
        table: 'Bridge',
        where: [['name', '==', 'never']],
        columns: ['name'],
        until: '!=',
        rows: [],
        timeout: 60_000,
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    closing.close();
    closing.close();
    await t.rejects(inFlight, { code: 'ERR_OUTCOME_UNKNOWN' });
    await t.rejects(closing.listDbs(), { code: 'ERR_CLOSED', message: 'the client is closed' });
  });
});
