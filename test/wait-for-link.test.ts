// Port.waitForLink on real vdevs: a vhost-user port whose virtio-user peer connects while
// it waits (the event loop runs meanwhile), ring ports started and not, timeouts, aborts.
import { join } from 'node:path';
import t from 'tap';
import { Mempool, RingPort, Vhost, VirtioUser } from '../lib/index.js';
import { initEal, ringPort, socketDir } from './helpers/dpdk.js';

initEal('waitlink');
const pool = Mempool.create({ name: 'waitlink-pool', size: 4095 });
t.teardown(() => pool.close());

t.test('resolves once the peer has connected, while timers keep running', async (t) => {
  const sock = join(socketDir(t), 'w.sock');
  const vhost = Vhost.create({ iface: sock });
  vhost.configure({ mempool: pool });
  vhost.start();
  t.equal(vhost.link().up, false, 'no peer yet');
  let virtio: ReturnType<typeof VirtioUser.create> | undefined;
  // The peer arrives from a timer: it runs only if waitForLink leaves the event loop free.
  setTimeout(() => {
    virtio = VirtioUser.create({ path: sock });
    virtio.configure({ mempool: pool });
    virtio.start();
  }, 100);
  const status = await vhost.waitForLink({ timeoutMs: 10000 });
  t.ok(virtio, 'the peer was created while waiting');
  t.match(status, { up: true });
  const down = vhost.waitForLink({ up: false, timeoutMs: 10000 });
  virtio?.close();
  t.match(await down, { up: false }, 'up: false waits for the link to go down');
  vhost.close();
});

t.test('a started ring port is up at once', async (t) => {
  const port = ringPort(pool);
  t.match(await port.waitForLink({ timeoutMs: 0 }), { up: true });
  port.close();
});

t.test('times out with ETIMEDOUT naming the port and what was waited for', async (t) => {
  const sock = join(socketDir(t), 't.sock');
  const vhost = Vhost.create({ iface: sock });
  vhost.configure({ mempool: pool });
  vhost.start();
  const started = Date.now();
  await t.rejects(vhost.waitForLink({ timeoutMs: 200 }), {
    name: 'DpdkError',
    code: 'ETIMEDOUT',
    operation: 'Port.waitForLink',
    object: `port ${vhost.id} (${vhost.name})`,
    message: `The link of port ${vhost.id} (${vhost.name}) is still down after 200 ms: waited for it to be up`,
  });
  t.ok(Date.now() - started >= 200, 'after the timeout, not before');
  vhost.close();
});

t.test('a port not started says so when it times out', async (t) => {
  const port = RingPort.create();
  port.configure({ mempool: pool });
  await t.rejects(port.waitForLink({ timeoutMs: 50 }), {
    code: 'ETIMEDOUT',
    message: /waited for it to be up \(the port is not started\)$/,
  });
  port.close();
});

t.test('an abort signal ends the wait with ECANCELED and its reason as cause', async (t) => {
  const sock = join(socketDir(t), 'a.sock');
  const vhost = Vhost.create({ iface: sock });
  vhost.configure({ mempool: pool });
  vhost.start();
  const controller = new AbortController();
  const reason = new Error('no longer needed');
  setTimeout(() => controller.abort(reason), 50);
  const started = Date.now();
  await t.rejects(vhost.waitForLink({ timeoutMs: 10000, signal: controller.signal }), {
    code: 'ECANCELED',
    message: `Waiting for the link of port ${vhost.id} (${vhost.name}) to be up was aborted`,
    cause: reason,
  });
  t.ok(Date.now() - started < 5000, 'at once, not at the timeout');
  await t.rejects(vhost.waitForLink({ signal: controller.signal }), { code: 'ECANCELED' }, 'already aborted');
  vhost.close();
});

t.test('bad options are refused, saying what was given and what is expected', async (t) => {
  const port = ringPort(pool);
  await t.rejects(port.waitForLink({ timeoutMs: -1 }), {
    code: 'EINVAL',
    message: 'timeoutMs must be an integer from 0 to 2147483647, got -1',
  });
  await t.rejects(port.waitForLink({ signal: 'stop' as unknown as AbortSignal }), {
    code: 'EINVAL',
    message: 'signal must be an AbortSignal, got "stop"',
  });
  await t.rejects(port.waitForLink({ timeout: 5 } as never), { code: 'EINVAL', message: /timeout/ });
  port.close();
  await t.rejects(port.waitForLink(), { code: 'ERR_CLOSED' }, 'a closed port');
});
