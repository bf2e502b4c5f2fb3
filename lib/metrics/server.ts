/** serveMetrics: a prom-client Registry over HTTP (node:http), for Prometheus to scrape. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register as defaultRegistry, type Registry } from 'prom-client';
import { DpdkError, invalidArgument } from '../errors.js';
import { checkInteger, checkOptions, checkString, describe } from '../validate.js';

/** Options of {@link serveMetrics}. */
export interface MetricsServerOptions {
  /** The address to listen on: `127.0.0.1` (this machine only), `0.0.0.0` or `::` (every interface), a host name. */
  host: string;
  /** The TCP port, 0 to 65535 (0: a free one, see {@link MetricsServer.port}). Prometheus exporters commonly use 9100-9999. */
  port: number;
  /** The registry to serve. Default: prom-client's global `register` (where {@link DpdkMetrics} registers by default). */
  registry?: Registry;
  /**
   * Called with what goes wrong once the server listens (a scrape whose collection threw,
   * the listening socket failing): the application keeps running and the server keeps
   * answering. Default: `process.emitWarning`.
   */
  onError?: (error: DpdkError) => void;
}

/** A running metrics server (see {@link serveMetrics}). */
export interface MetricsServer {
  /** The host it listens on, as given. */
  readonly host: string;
  /** The TCP port it listens on (the one chosen when 0 was given). */
  readonly port: number;
  /** The scrape URL, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** Stops listening and closes open connections. Safe to call twice. */
  close(): Promise<void>;
}

const optionKeys = ['host', 'port', 'registry', 'onError'] as const satisfies readonly (keyof MetricsServerOptions)[];

/** `host:port`, with an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// What to do about a listen failure, by error code.
const listenFixes: Record<string, string> = {
  EADDRINUSE:
    'the address is already in use (another exporter, or another instance of this application): choose another port, or stop the process listening there',
  EACCES: 'permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port from 1024',
  EADDRNOTAVAIL: 'the host is not an address of this machine: use one of its addresses, 127.0.0.1 or 0.0.0.0',
  ENOTFOUND: 'the host name does not resolve: use an address such as 127.0.0.1 or 0.0.0.0',
};

/**
 * Serves `registry` over HTTP at `/metrics` (GET or HEAD), in the registry's content
 * type (Prometheus text by default, OpenMetrics if the registry is set so), for Prometheus
 * to scrape. Resolves once listening. Every value is read at the scrape (see
 * {@link DpdkMetrics}); a scrape that fails answers 500 and is reported to `onError`, the
 * application keeps running.
 *
 * @throws DpdkError with the listen failure's code (`EADDRINUSE`, `EACCES`,
 * `EADDRNOTAVAIL`, `ENOTFOUND`, ...) naming `host:port` and what to do; `EINVAL` for bad options.
 */
export async function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const op = 'serveMetrics';
  checkOptions<MetricsServerOptions>(op, options, optionKeys);
  const host = checkString(op, 'host', options.host);
  const requestedPort = checkInteger(op, 'port', options.port, 0, 65535);
  const registry = options.registry ?? defaultRegistry;
  if (typeof registry !== 'object' || registry === null || typeof registry.metrics !== 'function') {
    invalidArgument(op, `registry must be a prom-client Registry, got ${describe(registry)}`);
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    invalidArgument(op, `onError must be a function, got ${describe(options.onError)}`);
  }
  const onError = options.onError ?? ((error: DpdkError) => process.emitWarning(error));
  const address = hostPort(host, requestedPort);

  const server = createServer((request, response) => void answer(registry, request, response, onError, address));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? 'EIO';
      const fix = listenFixes[code] ?? error.message;
      reject(
        new DpdkError(`Cannot serve metrics on ${address}: ${fix}`, {
          code,
          operation: op,
          object: address,
          cause: error,
        }),
      );
    });
    server.listen(requestedPort, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const listening = hostPort(host, port);
  server.on('error', (error) => {
    onError(
      new DpdkError(`The metrics server on ${listening} failed: ${error.message}`, metricsFailure(listening, error)),
    );
  });
  return new MetricsHandle(server, host, port, `http://${listening}/metrics`);
}

class MetricsHandle implements MetricsServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly #server: Server;
  #closing: Promise<void> | undefined;

  constructor(server: Server, host: string, port: number, url: string) {
    this.#server = server;
    this.host = host;
    this.port = port;
    this.url = url;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      // Prometheus keeps its scrape connection open between scrapes.
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}

async function answer(
  registry: Registry,
  request: IncomingMessage,
  response: ServerResponse,
  onError: (error: DpdkError) => void,
  address: string,
): Promise<void> {
  const path = (request.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics') {
    response
      .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
      .end('Not found: metrics are at /metrics\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end();
    return;
  }
  let body: string;
  try {
    body = await registry.metrics();
  } catch (error) {
    const failure = new DpdkError(
      `Collecting metrics for a scrape on ${address} failed: ${error instanceof Error ? error.message : String(error)}`,
      metricsFailure(address, error),
    );
    onError(failure);
    response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${failure.message}\n`);
    return;
  }
  response.writeHead(200, { 'Content-Type': registry.contentType });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function metricsFailure(
  object: string,
  cause: unknown,
): { code: string; operation: string; object: string; cause: unknown } {
  return { code: 'ERR_METRICS', operation: 'serveMetrics', object, cause };
}
