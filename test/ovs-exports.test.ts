// What dpdk-ts/ovs exports beside the clients: the one error type, the same class as
// dpdk-ts's, so that `instanceof` holds whichever entry point the caller imported.
import t from 'tap';
import { DpdkError as SdkDpdkError } from '../lib/index.js';
import { DpdkError, OvsdbClient } from '../lib/ovs/index.js';

t.test('DpdkError from dpdk-ts/ovs is the class of dpdk-ts', async (t) => {
  t.equal(DpdkError, SdkDpdkError);
  const error = await OvsdbClient.connect('udp:1.2.3.4:5').catch((caught: unknown) => caught);
  t.ok(error instanceof DpdkError, 'an OVS client error is a DpdkError of dpdk-ts/ovs');
  t.ok(error instanceof SdkDpdkError, 'and of dpdk-ts');
  t.match(error, {
    code: 'EINVAL',
    operation: 'connect',
    message: 'bad OVSDB target "udp:1.2.3.4:5": unknown form (expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT)',
  });
});
