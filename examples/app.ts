/**
 * What the command-line programs share: the examples' start (command line split at `--`,
 * application options parsed, EAL initialized with the prepared arguments), UsageError,
 * the one error for a bad command-line argument, `--metrics HOST:PORT` and `--pcap`'s packet
 * capture.
 */
import { Registry } from 'prom-client';
import {
  DpdkError,
  DpdkMetrics,
  Eal,
  Port,
  prepareEalArgs,
  serveMetrics,
  splitCommandLine,
  type Capture,
  type CaptureDirection,
} from '../lib/index.js';

/** A bad command-line argument: the program prints it with its usage and exits with 2. */
export class UsageError extends Error {}

/** What {@link startApp} gives back: the application's options and, with `--metrics`, its exporter. */
export interface StartedApp<Options> {
  options: Options;
  metrics: AppMetrics | undefined;
}

/**
 * How every example starts: splits the command line at `--`, parses the application's part
 * (a UsageError prints the message and usage: exit code 2; 'help' prints the usage: 0),
 * serves `--metrics` (an address in use ends the run here, before DPDK starts or a vhost peer
 * connects: 1), then initializes EAL with the prepared EAL arguments, printing what was
 * adapted (a refusal: 1); virtio-user servers among them (`server=1`) wait for their
 * vhost-user clients without blocking the event loop. Returns the options and the metrics
 * exporter, or the exit code to end with.
 */
export async function startApp<Options extends { metrics?: MetricsAddress }>(
  name: string,
  usage: string,
  parse: (args: string[]) => Options | 'help',
): Promise<StartedApp<Options> | number> {
  const { eal, app } = splitCommandLine(process.argv.slice(2));
  let options: Options | 'help';
  try {
    options = parse(app);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${name}: ${error.message}\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    console.log(usage);
    return 0;
  }
  const prepared = prepareEalArgs(eal);
  for (const note of prepared.notes) console.error(`${name}: note: ${note}`);
  let metrics: AppMetrics | undefined;
  try {
    if (options.metrics !== undefined) metrics = await serveAppMetrics(name, options.metrics);
    await Eal.initAsync(prepared.args);
    reportVhostSetup(name);
  } catch (error) {
    await metrics?.close();
    console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  return { options, metrics };
}

/**
 * Prints the setup refusals, retries and recoveries of the virtio-user servers EAL was given
 * (`Eal.initAsync` retries a setup the vhost-user peer refuses; see `setupRetry`).
 */
export function reportVhostSetup(name: string): void {
  for (const id of Port.ids()) {
    const port = Port.get(id);
    port.on('setup-failed', (failure) => console.error(`${name}: ${failure.error.message}`));
    port.on('setup-retry', ({ path, attempt }) =>
      console.error(`${name}: ${path}: retry ${attempt}: ended the connection so that the peer connects again`),
    );
    port.on('setup-recovered', ({ path, attempt, elapsedMs }) =>
      console.error(
        `${name}: ${path}: the device is set up, ${elapsedMs} ms after it was refused (${attempt} retries)`,
      ),
    );
  }
}

/**
 * Prints each link change of `ports` as `NAME: port ID (DEVICE) link up|down`: what an
 * operator (or a test) waits for before sending, since a vhost port refuses packets until
 * its peer has set it up.
 */
export function reportLinks(name: string, ports: readonly Port[]): void {
  for (const port of ports) {
    port.on('link', ({ up }) => console.log(`${name}: port ${port.id} (${port.name}) link ${up ? 'up' : 'down'}`));
  }
}

/** Rows as aligned columns, two spaces apart, without trailing spaces (missing cells are empty). */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `--pcap FILE` with `--pcap-direction`: what every forwarding example captures. */
export interface PcapOption {
  /** The file, or with several ports the name each port's file is made from (see {@link startPcap}). */
  path: string;
  direction: CaptureDirection;
}

/** The usage lines of `--pcap` and `--pcap-direction`. */
export const pcapUsage = `  --pcap FILE                capture the ports' packets to pcapng FILE (with several ports, one file
                             per port: FILE-portN.pcapng); read it with tcpdump -r, tshark -r, Wireshark
  --pcap-direction DIR       rx, tx or both (default both)`;

/** The value of `--pcap-direction`. Throws UsageError for another. */
export function parsePcapDirection(text: string): CaptureDirection {
  if (text !== 'rx' && text !== 'tx' && text !== 'both') {
    throw new UsageError(`--pcap-direction must be rx, tx or both, got '${text}'`);
  }
  return text;
}

/**
 * Starts `--pcap`'s captures on `ports` (nothing without `--pcap`) and returns what stops them,
 * printing what each captured. A capture that cannot start is reported and the program
 * forwards without it: a capture is an aid, not the job.
 */
export function startPcap(name: string, pcap: PcapOption | undefined, ports: readonly Port[]): () => void {
  if (pcap === undefined) return () => undefined;
  const captures: Capture[] = [];
  for (const port of ports) {
    const path = ports.length === 1 ? pcap.path : pcap.path.replace(/(\.pcapng|\.pcap)?$/, `-port${port.id}$1`);
    try {
      captures.push(port.capture({ path, direction: pcap.direction }));
      console.error(`${name}: capturing port ${port.id} (${pcap.direction}) to ${path}`);
    } catch (error) {
      if (!(error instanceof DpdkError)) throw error;
      console.error(`${name}: ${error.message}; forwarding without capturing port ${port.id}`);
    }
  }
  return () => {
    for (const capture of captures.splice(0)) {
      try {
        const { captured, dropped, filteredOut } = capture.stop();
        console.error(
          `${name}: ${capture.path}: ${captured} packet(s) captured, ${dropped} dropped, ${filteredOut} filtered out`,
        );
      } catch (error) {
        console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
}

/** Where `--metrics HOST:PORT` serves Prometheus metrics. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/** The usage line of `--metrics`, the same in every example. */
export const metricsUsage = `  --metrics HOST:PORT        serve Prometheus metrics at http://HOST:PORT/metrics (ports, forwarding
                             loops, mempool); :PORT listens on every interface, [::1]:PORT for IPv6`;

/** Parses `--metrics`'s value: `127.0.0.1:9464`, `[::1]:9464`, `:9464` (every interface). Throws UsageError. */
export function parseMetricsAddress(text: string | undefined): MetricsAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text ?? '');
  const port = Number(match?.[3]);
  if (match === null || port > 65535) {
    throw new UsageError(
      `--metrics must be HOST:PORT with a port from 0 to 65535 (127.0.0.1:9464, [::1]:9464, :9464), got ${JSON.stringify(text)}`,
    );
  }
  return { host: match[1] ?? (match[2] === '' ? '0.0.0.0' : match[2]), port };
}

/** The SDK's metrics served for `--metrics`: add the loops and pools to `metrics`, close at exit. */
export interface AppMetrics {
  metrics: DpdkMetrics;
  close(): Promise<void>;
}

/**
 * Serves the SDK's metrics (every port; the loops and pools the program adds) at `address`,
 * in a registry of the program's own. A failure to listen is the DpdkError that says why
 * (the program ends, before forwarding); a later failure is printed and forwarding goes on.
 */
export async function serveAppMetrics(program: string, address: MetricsAddress): Promise<AppMetrics> {
  const registry = new Registry();
  const metrics = new DpdkMetrics({ registry });
  try {
    const server = await serveMetrics({
      ...address,
      registry,
      onError: (error) => console.error(`${program}: warning: ${error.message}`),
    });
    console.error(`${program}: serving Prometheus metrics at ${server.url}`);
    return {
      metrics,
      close: async () => {
        await server.close();
        metrics.close();
      },
    };
  } catch (error) {
    metrics.close();
    throw error;
  }
}
