// OvsdbClient against a fake, hostile OVSDB server: protocol errors, malformed JSON and
// schemas, oversized messages and unanswered probes.
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { OvsdbClient } from '../lib/ovs/ovsdb/client.js';
import { DpdkError } from '../lib/errors.js';
import { JsonStreamParser, type JsonValue } from '../lib/ovs/ovsdb/json-stream.js';

type Handler = (message: { [key: string]: JsonValue }, socket: net.Socket) => void;

/** A fake OVSDB server on a unix socket: `handler` answers each request as the test wants. */
async function fakeServer(
  t: { teardown(fn: () => unknown): void },
  handler: Handler,
  onConnect?: (socket: net.Socket) => void,
): Promise<{ target: string; received: JsonValue[] }> {
  const dir = mkdtempSync('/tmp/ovsfake');
  const path = join(dir, 'db.sock');
  const received: JsonValue[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = new JsonStreamParser();
    socket.on('data', (chunk) => {
      for (const message of parser.push(chunk)) {
        received.push(message);
        handler(message as { [key: string]: JsonValue }, socket);
      }
    });
    onConnect?.(socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  return { target: `unix:${path}`, received };
}

const reply = (socket: net.Socket, id: JsonValue, result: JsonValue, error: JsonValue = null): void => {
  socket.write(JSON.stringify({ id, result, error }));
};

t.test('unknown ids and non-object messages are protocol errors; the connection goes on', async (t) => {
  const { target } = await fakeServer(t, (message, socket) => {
    if (message['method'] === 'list_dbs') {
      socket.write('{"id":9999,"result":[],"error":null}[1,2,3]{"id":"x","result":null}');
      reply(socket, message['id']!, ['Fake']);
    }
  });
  const client = await OvsdbClient.connect(target, { reconnect: false, probeIntervalMs: 0 });
  t.teardown(() => client.close());
  const errors: DpdkError[] = [];
  client.on('protocolError', (error) => errors.push(error));
  t.same(await client.listDbs(), ['Fake']);
  t.match(errors, [
    { code: 'EPROTO', message: /reply with id 9999 that no request has$/ },
    { code: 'EPROTO', message: /a message that is not a JSON object$/ },
    { code: 'EPROTO', message: /reply with id "x" that no request has$/ },
  ]);
  t.same(await client.listDbs(), ['Fake'], 'still usable');
});

t.test('server errors, bad results, echo and unknown requests from the server', async (t) => {
  const { target, received } = await fakeServer(t, (message, socket) => {
    const id = message['id']!;
    if (message['method'] === 'get_schema')
      reply(socket, id, null, { error: 'unknown database', details: 'no database named X' });
    if (message['method'] === 'list_dbs') reply(socket, id, 'not a list');
    if (message['method'] === 'get_server_id') {
      socket.write(JSON.stringify({ method: 'echo', params: ['from server', 1], id: 'e1' }));
      socket.write(JSON.stringify({ method: 'frobnicate', params: [], id: 'f1' }));
      reply(socket, id, 'b7c9d5a1-0000-4000-8000-000000000000');
    }
  });
  const client = await OvsdbClient.connect(target, { reconnect: false, probeIntervalMs: 0 });
  t.teardown(() => client.close());
  await t.rejects(client.getSchema('X'), {
    code: 'ERR_OVSDB',
    message: 'server error "unknown database" (no database named X)',
    cause: { error: 'unknown database', details: 'no database named X' },
  });
  await t.rejects(client.listDbs(), {
    code: 'EPROTO',
    message: /^bad reply from unix:.*: the result is not an array of strings$/,
  });
  await client.getServerId();
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(
    received.filter((m) => (m as { id?: unknown }).id === 'e1'),
    [{ result: ['from server', 1], error: null, id: 'e1' }],
    'echo answered',
  );
  t.same(
    received.filter((m) => (m as { id?: unknown }).id === 'f1'),
    [{ result: null, error: 'unknown method frobnicate', id: 'f1' }],
  );
});

t.test('broken JSON closes the connection with EPROTO', async (t) => {
  const { target } = await fakeServer(t, (message, socket) => {
    if (message['method'] === 'list_dbs') socket.write('{"id":1,"result":[tru');
    if (message['method'] === 'echo') socket.write(']}');
  });
  const client = await OvsdbClient.connect(target, { reconnect: false, probeIntervalMs: 0 });
  const closed = new Promise<void>((resolve) => client.once('closed', () => resolve()));
  const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
  const pending = client.listDbs().catch((error: unknown) => error);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await client.echo().catch(() => undefined);
  t.match(await pending, { code: 'EPROTO', message: /^malformed JSON message: / });
  t.match(await disconnected, { code: 'EPROTO' });
  await closed;
});

t.test('a huge message is refused with EMSGSIZE, memory stays bounded', async (t) => {
  const chunk = 'x'.repeat(1024 * 1024);
  let stop = false;
  const { target } = await fakeServer(t, (message, socket) => {
    if (message['method'] !== 'list_dbs') return;
    socket.write('{"id":1,"result":["');
    const pump = (): void => {
      while (!stop && socket.writable && socket.write(chunk));
      if (!stop && socket.writable) socket.once('drain', pump);
    };
    pump();
  });
  const client = await OvsdbClient.connect(target, {
    reconnect: false,
    probeIntervalMs: 0,
    maxMessageBytes: 8 * 1024 * 1024,
  });
  const before = process.memoryUsage().arrayBuffers;
  await t.rejects(client.listDbs(), {
    code: 'EMSGSIZE',
    message: /^message too large: more than 8388608 bytes \(maxMessageBytes\)/,
  });
  stop = true;
  const grown = process.memoryUsage().arrayBuffers - before;
  t.ok(grown < 64 * 1024 * 1024, `array buffers grew by ${Math.round(grown / 1048576)} MiB`);
  t.notOk(client.isConnected);
});

t.test('an unanswered inactivity probe drops the connection with ETIMEDOUT', async (t) => {
  const { target, received } = await fakeServer(t, () => undefined);
  const client = await OvsdbClient.connect(target, { reconnect: false, probeIntervalMs: 200 });
  const disconnected = await new Promise((resolve) => client.once('disconnected', resolve));
  t.match(disconnected, {
    code: 'ETIMEDOUT',
    message: /^no reply to the inactivity probe from unix:.* within 200 ms$/,
  });
  t.match(received, [{ method: 'echo', params: ['probe'] }]);
});

t.test('malformed schema and malformed updates', async (t) => {
  const { target } = await fakeServer(t, (message, socket) => {
    const id = message['id']!;
    if (message['method'] === 'get_schema' && (message['params'] as JsonValue[])[0] === 'Bad') {
      reply(socket, id, { name: 'Bad', tables: { T: { columns: { c: { type: 'float' } } } } });
    } else if (message['method'] === 'get_schema') {
      reply(socket, id, { name: 'X', tables: { T: { columns: { c: { type: 'string' } } } } });
    } else if (message['method'] === 'monitor_cond_since') {
      reply(socket, id, [
        false,
        '00000000-0000-0000-0000-000000000000',
        { T: { 'aaaaaaaa-0000-4000-8000-000000000000': { initial: { c: 'one' } } } },
      ]);
      const update = (rows: JsonValue): string =>
        JSON.stringify({
          method: 'update3',
          params: ['monitor-1', 'bbbbbbbb-0000-4000-8000-000000000000', rows],
          id: null,
        });
      socket.write(update({ T: { 'cccccccc-0000-4000-8000-000000000000': { modify: { c: 'x' } } } }));
      socket.write(update({ T: { 'aaaaaaaa-0000-4000-8000-000000000000': { modify: { c: 5 } } } }));
      socket.write(update({ Nope: {} }));
      socket.write(JSON.stringify({ method: 'update2', params: ['monitor-77', {}], id: null }));
      socket.write(update({ T: { 'aaaaaaaa-0000-4000-8000-000000000000': { modify: { c: 'two' } } } }));
    }
  });
  const client = await OvsdbClient.connect(target, { reconnect: false, probeIntervalMs: 0 });
  t.teardown(() => client.close());
  await t.rejects(client.getSchema('Bad'), {
    code: 'EPROTO',
    message: 'invalid OVSDB schema: T.c: unknown atomic type "float"',
  });
  const errors: DpdkError[] = [];
  client.on('protocolError', (error) => errors.push(error));
  const monitor = await client.monitor('X', { T: {} });
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Updates of monitor-1 wait until its initial contents are applied, so the stray one comes first.
  t.match(errors, [
    { code: 'EPROTO', message: /an update for unknown monitor monitor-77$/ },
    { code: 'EPROTO', message: /"modify" of row T cccccccc-0000-4000-8000-000000000000, which is not in the replica$/ },
    { code: 'EPROTO', message: 'T.c: the server sent 5 for a string' },
    { code: 'EPROTO', message: 'bad monitor update: unknown table "Nope"' },
  ]);
  t.same(
    monitor.replica.rows('T'),
    [{ c: 'two', _uuid: 'aaaaaaaa-0000-4000-8000-000000000000' }],
    'valid updates still apply',
  );
});
