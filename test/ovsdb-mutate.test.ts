// Arithmetic mutations against a real ovsdb-server: the column's range applies to the
// result (RFC 7047 section 5.1), so the client sends any operand of the right type and the
// server's "constraint violation" reaches the caller as a DpdkError.
import t from 'tap';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { OvsdbClient } from '../lib/ovs/ovsdb/client.js';
import { namedUuid } from '../lib/ovs/ovsdb/data.js';
import { vsctl } from './ovs-helpers.js';

const db = 'Open_vSwitch';

t.test('arithmetic mutations: range checked on the result by ovsdb-server', async (t) => {
  const sandbox = await OvsSandbox.start();
  t.teardown(() => sandbox.stop());
  const client = await OvsdbClient.connect(sandbox.dbTarget, { timeoutMs: 10_000 });
  t.teardown(() => client.close());
  // Interface.ingress_policing_rate: integer, minInteger 0. The interface is reachable from
  // the root through a bridge and a port, or the server would collect it at commit.
  await client.transact(db, [
    { op: 'insert', table: 'Interface', uuidName: 'i', row: { name: 'mut0', ingress_policing_rate: 10 } },
    { op: 'insert', table: 'Port', uuidName: 'p', row: { name: 'mut0', interfaces: [namedUuid('i')] } },
    { op: 'insert', table: 'Bridge', uuidName: 'b', row: { name: 'mut0', ports: [namedUuid('p')] } },
    { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', [namedUuid('b')]]] },
  ]);
  const rate = async (): Promise<string> =>
    (await vsctl(sandbox, 'get', 'Interface', 'mut0', 'ingress_policing_rate')).trim();
  const mutate = (mutator: '+=' | '-=', operand: number) =>
    client.transact(db, [
      {
        op: 'mutate',
        table: 'Interface',
        where: [['name', '==', 'mut0']],
        mutations: [['ingress_policing_rate', mutator, operand]],
      },
    ]);

  t.same(await mutate('+=', -5), [{ count: 1 }], 'a negative operand on a column with min 0');
  t.equal(await rate(), '5');
  t.same(await mutate('-=', -7), [{ count: 1 }]);
  t.equal(await rate(), '12');
  await t.rejects(mutate('-=', 13), {
    name: 'DpdkError',
    code: 'ERR_OVSDB',
    operation: 'transact',
    message: /^operation 0 \(mutate\) failed: server error "constraint violation" \(.*-1.*\)$/,
    cause: { error: 'constraint violation', operationIndex: 0 },
  });
  t.equal(await rate(), '12', 'a refused mutation changes nothing');
});
