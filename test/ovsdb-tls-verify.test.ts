// What an ssl: OvsdbClient accepts as the server: a certificate signed by its CA and in date,
// whatever name it carries (as Open vSwitch does), or with checkServerName the right name too.
// The server here is a plain TLS server with openssl's certificates: the checks happen in the
// client's handshake, before any OVSDB message (test/ovsdb-tls.test.ts runs ovsdb-server).
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import t from 'tap';
import { OvsdbClient } from '../lib/ovs/ovsdb/client.js';
import { makeCertificates, readCert } from './helpers/tls-certs.js';

const dir = mkdtempSync(join(tmpdir(), 'dts-tlsv-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const read = (name: string): Buffer => readCert(dir, name);

makeCertificates(dir, 'ca', ['server', { name: 'expired', days: -1 }, 'client']);
makeCertificates(dir, 'otherca', ['intruder']);

/** A TLS server on 127.0.0.1 presenting `cert`, asking for the client's certificate; its ssl: target. */
async function serve(t: { teardown(fn: () => void): void }, cert: string): Promise<string> {
  const server = tls.createServer({
    key: read(`${cert}.key`),
    cert: read(`${cert}.pem`),
    requestCert: true,
    ca: read('ca.pem'),
  });
  server.on('tlsClientError', () => {}); // the client refusing the handshake is what is tested
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return `ssl:127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const clientTls = { key: read('client.key'), cert: read('client.pem'), ca: read('ca.pem') };

t.test('a server certificate signed by the CA is accepted whatever its name, as OVS does', async (t) => {
  const target = await serve(t, 'server');
  const client = await OvsdbClient.connect(target, { tls: clientTls, reconnect: false, probeIntervalMs: 0 });
  client.close();
});

t.test('a server certificate from another CA is refused', async (t) => {
  const target = await serve(t, 'intruder');
  await t.rejects(OvsdbClient.connect(target, { tls: clientTls }), {
    name: 'DpdkError',
    code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    operation: 'connect',
    message: `cannot connect to ${target}: unable to verify the first certificate`,
  });
});

t.test('an expired server certificate is refused', async (t) => {
  const target = await serve(t, 'expired');
  await t.rejects(OvsdbClient.connect(target, { tls: clientTls }), {
    name: 'DpdkError',
    code: 'CERT_HAS_EXPIRED',
    message: `cannot connect to ${target}: certificate has expired`,
  });
});

t.test('with checkServerName, a certificate that does not name the host is refused', async (t) => {
  const target = await serve(t, 'server');
  await t.rejects(OvsdbClient.connect(target, { tls: { ...clientTls, checkServerName: true } }), {
    name: 'DpdkError',
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    message: `cannot connect to ${target}: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: `,
  });
});
