// OvsdbClient over TLS (ssl: targets) against ovsdb-server with certificates made here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { OvsSandbox } from '../lib/ovs/sandbox.js';
import { OvsdbClient } from '../lib/ovs/ovsdb/client.js';
import { makeCertificates } from './helpers/tls-certs.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('ssl: and tcp: targets', async (t) => {
  const dir = mkdtempSync('/tmp/ovscert');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  makeCertificates(dir, 'ca', ['server', 'client']);
  makeCertificates(dir, 'otherca', ['intruder']);
  const sslPort = await freePort();
  const tcpPort = await freePort();
  const sandbox = await OvsSandbox.start({
    remotes: [`pssl:${sslPort}:127.0.0.1`, `ptcp:${tcpPort}:127.0.0.1`],
    tls: {
      privateKeyFile: join(dir, 'server.key'),
      certificateFile: join(dir, 'server.pem'),
      caCertFile: join(dir, 'ca.pem'),
    },
  });
  t.teardown(() => sandbox.stop());
  const read = (name: string) => readFileSync(join(dir, name));

  const client = await OvsdbClient.connect(`ssl:127.0.0.1:${sslPort}`, {
    tls: { key: read('client.key'), cert: read('client.pem'), ca: read('ca.pem') },
  });
  t.teardown(() => client.close());
  t.same((await client.listDbs()).sort(), ['Open_vSwitch', '_Server']);
  const [result] = await client.transact('Open_vSwitch', [
    { op: 'select', table: 'Open_vSwitch', where: [], columns: ['_uuid'] },
  ]);
  t.equal(result.rows.length, 1);

  const tcp = await OvsdbClient.connect(`tcp:127.0.0.1:${tcpPort}`);
  t.teardown(() => tcp.close());
  t.same(await tcp.echo(['tcp']), ['tcp']);

  await t.rejects(
    OvsdbClient.connect(`ssl:127.0.0.1:${sslPort}`, {
      tls: { key: read('intruder.key'), cert: read('intruder.pem'), ca: read('otherca.pem') },
    }),
    { name: 'DpdkError', operation: 'connect', message: new RegExp(`^cannot connect to ssl:127.0.0.1:${sslPort}: `) },
    'a server certificate from another CA is refused',
  );
  await t.rejects(OvsdbClient.connect(`ssl:127.0.0.1:${sslPort}`), {
    code: 'EINVAL',
    message: `ssl:127.0.0.1:${sslPort} needs the tls option (key, cert, ca)`,
  });
  await t.rejects(
    OvsdbClient.connect(`ssl:127.0.0.1:${sslPort}`, { tls: { key: '', cert: '', ca: '', verify: false } as never }),
    {
      code: 'EINVAL',
      message: 'Unknown option "verify" for connect tls (expected one of: key, cert, ca, checkServerName)',
    },
  );
});
