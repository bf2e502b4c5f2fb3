// OpenFlowClient over TLS (ssl: targets) to a real ovs-vswitchd listening with `pssl:` on a
// bridge (`ovs-vsctl set-ssl`, `set-controller BRIDGE pssl:PORT:127.0.0.1`): the switch's
// certificate must be signed by the client's CA and in date, and with checkServerName name
// the host; whatever is refused is a DpdkError with TLS's own code, before any OpenFlow.
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DpdkError } from '../lib/errors.js';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import { startOvsDummy } from './helpers/ovs-dummy.js';
import { makeCertificates, readCert } from './helpers/tls-certs.js';

const dir = mkdtempSync(join(tmpdir(), 'dts-oftls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
makeCertificates(dir, 'ca', ['switch', { name: 'expired', days: -1 }, 'controller']);
makeCertificates(dir, 'otherca', ['intruder']);
const read = (name: string): Buffer => readCert(dir, name);
const controller = { key: read('controller.key'), cert: read('controller.pem'), ca: read('ca.pem') };

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Connects until the outcome is no longer `ECONNREFUSED` (the switch opens its listener, or
 * loads new certificates, a moment after the database says so); the client or the error.
 */
async function connectOnce(
  target: string,
  tls: typeof controller & { checkServerName?: boolean },
  until: (outcome: OpenFlowClient | DpdkError) => boolean = () => true,
): Promise<OpenFlowClient | DpdkError> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    let outcome: OpenFlowClient | DpdkError;
    try {
      outcome = await OpenFlowClient.connect(target, { tls, timeoutMs: 5000 });
    } catch (error) {
      if (!(error instanceof DpdkError)) throw error;
      outcome = error;
    }
    const refused = outcome instanceof DpdkError && outcome.code === 'ECONNREFUSED';
    if ((!refused && until(outcome)) || Date.now() > deadline) return outcome;
    if (outcome instanceof OpenFlowClient) await outcome.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test('an ssl: connection to ovs-vswitchd verifies the switch certificate', async (t) => {
  const ovs = await startOvsDummy();
  t.teardown(() => ovs.stop());
  await ovs.vsctl('set-ssl', join(dir, 'switch.key'), join(dir, 'switch.pem'), join(dir, 'ca.pem'));
  await ovs.addBridge('br0', { protocols: 'OpenFlow13', ports: 2 });
  const port = await freePort();
  await ovs.vsctl('set-controller', 'br0', `pssl:${port}:127.0.0.1`);
  const target = `ssl:127.0.0.1:${port}`;

  t.test('its CA: connected, OpenFlow works', async (t) => {
    const client = await connectOnce(target, controller);
    if (!(client instanceof OpenFlowClient)) throw client;
    t.teardown(() => client.close());
    t.ok(client.features.datapathId > 0n, `the switch's datapath id: ${client.features.datapathId}`);
    const ports = await client.portDescriptions();
    t.same(ports.map((each) => each.name).sort(), ['br0', 'p1', 'p2']);
    await client.echo();
  });

  t.test('another CA: the switch certificate is refused', async (t) => {
    const error = await connectOnce(target, { ...controller, ca: read('otherca.pem') });
    t.type(error, DpdkError);
    // OVS sends its CA's certificate after its own: a chain that ends in a self-signed
    // certificate the client does not trust (a bare TLS server's is UNABLE_TO_VERIFY_LEAF_SIGNATURE).
    t.match(error, {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      operation: 'OpenFlowClient.connect',
      object: target,
      message: `cannot connect to ${target}: self-signed certificate in certificate chain`,
    });
  });

  t.test('checkServerName: a certificate that does not name the host is refused', async (t) => {
    const error = await connectOnce(target, { ...controller, checkServerName: true });
    t.type(error, DpdkError);
    t.match(error, {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      operation: 'OpenFlowClient.connect',
      message: `cannot connect to ${target}: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: `,
    });
  });

  t.test('ssl: without tls material is refused before connecting', async (t) => {
    await t.rejects(OpenFlowClient.connect(target), {
      name: 'DpdkError',
      code: 'EINVAL',
      message: `${target} needs the tls option (key, cert, ca)`,
    });
    await t.rejects(OpenFlowClient.connect(target, { tls: { ...controller, verify: false } as never }), {
      code: 'EINVAL',
      message:
        /Unknown option "verify" for OpenFlowClient\.connect tls \(expected one of: key, cert, ca, checkServerName\)/,
    });
  });

  t.test('an expired switch certificate is refused', async (t) => {
    // OVS loads the new certificate when the SSL row changes; until then it shows the old one.
    await ovs.vsctl('set-ssl', join(dir, 'expired.key'), join(dir, 'expired.pem'), join(dir, 'ca.pem'));
    const error = await connectOnce(target, controller, (outcome) => !(outcome instanceof OpenFlowClient));
    if (error instanceof OpenFlowClient) await error.close();
    t.type(error, DpdkError);
    t.match(error, {
      code: 'CERT_HAS_EXPIRED',
      operation: 'OpenFlowClient.connect',
      message: `cannot connect to ${target}: certificate has expired`,
    });
  });
});

t.test('ssl: targets parse as tcp: ones do', async (t) => {
  const { parseTarget } = await import('../lib/ovs/openflow/target.js');
  t.same(parseTarget('ssl:10.0.0.1:6634'), { kind: 'ssl', host: '10.0.0.1', port: 6634 });
  t.same(parseTarget('ssl:switch.example'), { kind: 'ssl', host: 'switch.example', port: 6653 });
  t.same(parseTarget('ssl:[::1]:6634'), { kind: 'ssl', host: '::1', port: 6634 });
  t.throws(() => parseTarget('ssl:::1'), { code: 'EINVAL', message: /is not ssl:HOST\[:PORT\]/ });
});
