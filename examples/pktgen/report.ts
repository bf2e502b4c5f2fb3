/**
 * What pktgen.ts reports: per port in its tables, and as JSON (`--json PATH|-`) for
 * programs such as the lab and the tests, which read it through these types.
 */
import type { LatencyStats } from '../../lib/index.js';

/** What the JSON output and the tables report for a port. */
export interface PortReport {
  port: number;
  name: string;
  mac: string;
  lcore: number;
  linkUp: boolean;
  state: 'idle' | 'sending' | 'done' | 'stopped';
  /** Packets sent: what the port accepted. */
  sent: number;
  /**
   * Packets the generator built and gave up on: 0, since a full tx queue is waited for
   * (see `txBlocked`); kept so that reports read the same as before.
   */
  dropped: number;
  /**
   * Packets a full tx queue refused at first and the generator sent later (backpressure
   * from the port's peer, not loss; each packet counts once).
   */
  txBlocked: number;
  /** Packets received on this port. */
  received: number;
  /** The port whose packets this port receives. */
  peer: number;
  /** Flows: UDP source ports sent in turn. */
  flows: number;
  /** UDP destination ports, each combined with every flow. */
  dports: number[];
  /** What the peer sent and this port did not receive (in flight while running). */
  missing: number;
  /** Rates over the last second while running. */
  txPps: number;
  rxPps: number;
  /** The configured send rate. */
  ratePps: number;
  /** Latency of the packets received here, from their timestamps. */
  latency: LatencyStats | null;
}

/** The JSON report pktgen.ts writes at the end of a run (`--json`). */
export interface PktgenReport {
  /**
   * True when every port that was sending finished its count, false when `--timeout` ended
   * the run first, null when the run had no count to reach (interactive `quit`, no `--wait-done`).
   */
  complete: boolean | null;
  /** Milliseconds from the first start to the report. */
  elapsedMs: number;
  /** The line rate that percent rates are taken of, in Mbit/s. */
  lineRateMbps: number;
  /** One entry per port, in port order. */
  ports: PortReport[];
}
