// Test doubles for OpenFlow: a scripted fake switch on a unix socket, and a proxy that records
// what a client (ours or ovs-ofctl) sends to a real switch.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { encodeHello, encodeMessage, FrameDecoder, OFPT, type OpenFlowMessage } from '../../lib/ovs/openflow/codec.js';

/** What a fake switch does with each message a client sends; return true when handled. */
export type FakeSwitchHandler = (message: OpenFlowMessage, socket: Socket) => boolean | void;

/** A unix-socket listener that speaks just enough OpenFlow 1.3 to script a switch. */
export interface FakeSwitch {
  /** `unix:PATH` of the listening socket. */
  readonly target: string;
  /** The socket path. */
  readonly path: string;
  /** Every message received, in order, with its raw bytes. */
  readonly received: { message: OpenFlowMessage; raw: Buffer }[];
  /** Stops listening, destroys connections and removes the directory. */
  close(): Promise<void>;
}

const OFPMP_TABLE_FEATURES = 12;

/** A TABLE_FEATURES multipart reply body: one property-less `ofp_table_features` for table 0. */
function tableFeaturesReplyBody(): Buffer {
  const body = Buffer.alloc(8 + 64);
  body.writeUInt16BE(OFPMP_TABLE_FEATURES, 0);
  body.writeUInt16BE(64, 8);
  body.write('table0', 16, 'latin1');
  body.writeUInt32BE(1000, 8 + 60);
  return body;
}

/** A FEATURES_REPLY body: datapath 1, no buffers, 254 tables. */
export function featuresReplyBody(): Buffer {
  const body = Buffer.alloc(24);
  body.writeBigUInt64BE(1n, 0);
  body.writeUInt8(254, 12);
  return body;
}

/** Listens on `path` (in `dir`) and returns the FakeSwitch handle that closes it all. */
async function listen(
  server: Server,
  dir: string,
  path: string,
  sockets: Set<Socket>,
  received: FakeSwitch['received'],
): Promise<FakeSwitch> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    target: `unix:${path}`,
    path,
    received,
    async close() {
      for (const socket of sockets) {
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Listens on a fresh unix socket. Unless `handler` handles a message, the switch
 * greets with an OpenFlow 1.3 HELLO when the client's HELLO arrives, and answers
 * features, barrier, echo and multipart requests (with empty replies; table features
 * with one table, as `ovs-ofctl` rejects an empty one) as a switch would.
 * `greet: false` leaves the HELLO to the handler too.
 */
export async function startFakeSwitch(
  handler: FakeSwitchHandler = () => false,
  options: { greet?: boolean } = {},
): Promise<FakeSwitch> {
  const dir = await mkdtemp('/tmp/offake');
  const path = `${dir}/switch.sock`;
  const received: FakeSwitch['received'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk) => {
      for (const message of decoder.push(chunk)) {
        const raw = encodeMessage(message.type, message.xid, message.body, message.version);
        received.push({ message, raw });
        if (handler(message, socket) === true) {
          continue;
        }
        switch (message.type) {
          case OFPT.HELLO:
            if (options.greet !== false) {
              socket.write(encodeHello(1));
            }
            break;
          case OFPT.FEATURES_REQUEST:
            socket.write(encodeMessage(OFPT.FEATURES_REPLY, message.xid, featuresReplyBody()));
            break;
          case OFPT.BARRIER_REQUEST:
            socket.write(encodeMessage(OFPT.BARRIER_REPLY, message.xid));
            break;
          case OFPT.ECHO_REQUEST:
            socket.write(encodeMessage(OFPT.ECHO_REPLY, message.xid, message.body));
            break;
          case OFPT.MULTIPART_REQUEST: {
            if (message.body.readUInt16BE(0) === OFPMP_TABLE_FEATURES) {
              socket.write(encodeMessage(OFPT.MULTIPART_REPLY, message.xid, tableFeaturesReplyBody()));
              break;
            }
            const header = Buffer.alloc(8);
            message.body.copy(header, 0, 0, 2);
            socket.write(encodeMessage(OFPT.MULTIPART_REPLY, message.xid, header));
            break;
          }
        }
      }
    });
  });
  return listen(server, dir, path, sockets, received);
}

/**
 * A unix-socket listener that relays every connection to `upstreamPath` (a real
 * switch) and records the messages clients send, so that what `ovs-ofctl` puts on the
 * wire can be compared with our encodings while the real switch answers.
 */
export async function startRecordingProxy(upstreamPath: string): Promise<FakeSwitch> {
  const dir = await mkdtemp('/tmp/ofproxy');
  const path = `${dir}/proxy.sock`;
  const received: FakeSwitch['received'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ path: upstreamPath });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on('error', () => undefined);
    }
    const decoder = new FrameDecoder();
    client.on('data', (chunk) => {
      for (const message of decoder.push(chunk)) {
        received.push({ message, raw: encodeMessage(message.type, message.xid, message.body, message.version) });
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
  });
  return listen(server, dir, path, sockets, received);
}
