/**
 * Where the soak's packets are lost: every counter on the path that counts a packet it
 * gave up on, read at each sample. On the path generator -> OVS -> forwarder -> OVS ->
 * generator a packet can be dropped by OVS as it sends to a vhost port (the peer's ring
 * full, or a queue not enabled yet: the port's `tx_dropped`, and in OVSDB's statistics
 * `ovs_tx_failure_drops` and the like), by OVS's datapath (no flow: `rx_dropped`), or by an
 * app (`rx_missed`, `rx_nombuf`, `tx_errors`, the forwarder's `dropped`). Pure functions
 * of the readings here; soak.ts reads them.
 */

/** Cumulative drop counters at a sample, by `where counter` (e.g. `OVS vhost-user2 tx_dropped`). */
export type DropCounters = Record<string, number>;

/** The drop counters an app's metrics (Prometheus text) hold, summed over its ports and streams. */
export function appDropCounters(app: string, text: string): DropCounters {
  const counters: DropCounters = {};
  const pattern =
    /^(dpdk_port_rx_missed_total|dpdk_port_rx_nombuf_total|dpdk_port_rx_errors_total|dpdk_port_tx_errors_total|dpdk_forwarder_dropped_packets_total)(?:\{[^}]*\})? (\S+)$/gm;
  for (const match of text.matchAll(pattern)) {
    const name = match[1].replace(/^dpdk_(port|forwarder)_/, '').replace(/_total$/, '');
    const key = `${app} ${name}`;
    counters[key] = (counters[key] ?? 0) + Number(match[2]);
  }
  return counters;
}

/** The drop counters of OVSDB's Interface `statistics` of port `name` (those that count losses). */
export function ovsStatisticsDrops(name: string, statistics: Record<string, number | bigint>): DropCounters {
  const counters: DropCounters = {};
  for (const [key, value] of Object.entries(statistics)) {
    if (/drop|missed|error/.test(key)) counters[`OVSDB ${name} ${key}`] = Number(value);
  }
  return counters;
}

/** What a counter gained between two samples, and when. */
export interface DropIncrease {
  counter: string;
  /** The samples' times (ms since the traffic started) that bound the increase. */
  fromMs: number;
  toMs: number;
  packets: number;
}

/**
 * Each counter's increases between consecutive readings. A counter that falls was reset
 * (its daemon restarted, or its app's port was made anew): what it holds then is new.
 */
export function dropIncreases(readings: readonly { atMs: number; drops: DropCounters }[]): DropIncrease[] {
  const increases: DropIncrease[] = [];
  const last = new Map<string, { atMs: number; value: number }>();
  for (const { atMs, drops } of readings) {
    for (const [counter, value] of Object.entries(drops)) {
      const previous = last.get(counter);
      const gained = previous === undefined ? 0 : value >= previous.value ? value - previous.value : value;
      if (gained > 0) increases.push({ counter, fromMs: previous!.atMs, toMs: atMs, packets: gained });
      last.set(counter, { atMs, value });
    }
  }
  return increases;
}

/** The sum of the increases of each counter. */
export function dropTotals(increases: readonly DropIncrease[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const { counter, packets } of increases) totals[counter] = (totals[counter] ?? 0) + packets;
  return totals;
}

/**
 * Whether a counter counts packets of its own (OpenFlow's port counters, the apps'), or
 * details of those (OVSDB's statistics, whose `ovs_tx_failure_drops` and the like are part
 * of the port's `tx_dropped`): only the former are summed.
 */
export function countsOwnPackets(counter: string): boolean {
  return !counter.startsWith('OVSDB ');
}

/** A window of the soak's clock (ms since the traffic started) in which packets may be lost. */
export interface LossWindow {
  fromMs: number;
  toMs: number;
}

/** The drops counted outside every window, and within them. */
export interface DropAccounting {
  /** Each counter's increases whose samples do not overlap a window, by counter (own counters only). */
  outside: Record<string, number>;
  /** Their sum. */
  outsideTotal: number;
  /** The same of the increases that overlap a window. */
  inWindows: Record<string, number>;
  /** Every increase outside the windows, when (for the report). */
  outsideIncreases: DropIncrease[];
}

/**
 * Splits the drop counters' increases by `windows`: an increase whose samples overlap a
 * window is the window's (the samples bound it, no more), any other one happened outside.
 */
export function accountDrops(increases: readonly DropIncrease[], windows: readonly LossWindow[]): DropAccounting {
  const accounting: DropAccounting = { outside: {}, outsideTotal: 0, inWindows: {}, outsideIncreases: [] };
  for (const increase of increases) {
    const overlaps = windows.some((window) => increase.fromMs <= window.toMs && increase.toMs >= window.fromMs);
    const into = overlaps ? accounting.inWindows : accounting.outside;
    into[increase.counter] = (into[increase.counter] ?? 0) + increase.packets;
    if (overlaps) continue;
    accounting.outsideIncreases.push(increase);
    if (countsOwnPackets(increase.counter)) accounting.outsideTotal += increase.packets;
  }
  return accounting;
}

/**
 * How long each process's threads waited for a CPU while runnable, in ms, summed over its
 * threads (the second field of `/proc/PID/task/TID/schedstat`, ns): a busy poller that
 * waits is not polling, and its rings fill. Undefined when the process is gone.
 */
export function cpuWaitMs(
  pid: number,
  read: (path: string) => string,
  list: (path: string) => string[],
): number | undefined {
  let total = 0;
  try {
    for (const tid of list(`/proc/${pid}/task`)) {
      try {
        total += Number(read(`/proc/${pid}/task/${tid}/schedstat`).split(' ')[1]) / 1e6;
      } catch {
        // The thread ended meanwhile.
      }
    }
  } catch {
    return undefined;
  }
  return Math.round(total);
}
