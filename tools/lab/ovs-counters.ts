/**
 * OVS's view of a lab run: packets per flow and per port, read through OpenFlow; the
 * difference of two readings; and the checks the experiments make on them.
 */
import type { OpenFlowClient } from '../../lib/ovs/openflow/client.js';
import { formatInstructions, formatMatch } from '../../lib/ovs/openflow/format.js';

/** One port's counters; null where OVS reports no counter (all ones on the wire). */
export interface OvsPortCounters {
  /** OpenFlow port number. */
  port: number;
  /** Interface name. */
  name: string;
  rx: number | null;
  tx: number | null;
  rxDropped: number | null;
  txDropped: number | null;
}

/** OVS's view of a run: packets per flow and per port. */
export interface OvsCounters {
  /** Per flow (the table-miss flow left out), as `match actions=...` text. */
  flows: { flow: string; packets: number }[];
  /** Per port, in port number order. */
  ports: OvsPortCounters[];
}

// OpenFlow reports a counter the switch does not keep (a vhost port without its peer) as all ones.
function counter(value: bigint): number | null {
  return value === 0xffffffffffffffffn ? null : Number(value);
}

/** Reads the flow counters and the counters of ports 1..names.length (named `names`, in order). */
export async function readOvsCounters(openflow: OpenFlowClient, names: readonly string[]): Promise<OvsCounters> {
  const flows = (await openflow.flowStats())
    .filter((flow) => flow.priority !== 0 || Object.keys(flow.match).length > 0)
    .map((flow) => ({
      flow: `${formatMatch(flow.match, flow.priority)} actions=${formatInstructions(flow.instructions)}`,
      packets: Number(flow.packetCount),
    }));
  const ports = (await openflow.portStats())
    .filter((port) => port.portNo >= 1 && port.portNo <= names.length)
    .sort((a, b) => a.portNo - b.portNo)
    .map((port) => ({
      port: port.portNo,
      name: names[port.portNo - 1],
      rx: counter(port.rxPackets),
      tx: counter(port.txPackets),
      rxDropped: counter(port.rxDropped),
      txDropped: counter(port.txDropped),
    }));
  return { flows, ports };
}

/** What OVS counted between the readings `before` and `after`. */
export function countersSince(after: OvsCounters, before: OvsCounters): OvsCounters {
  return {
    flows: after.flows.map((flow) => ({
      ...flow,
      packets: flow.packets - (before.flows.find((f) => f.flow === flow.flow)?.packets ?? 0),
    })),
    ports: after.ports.map((port) => {
      const old = before.ports.find((p) => p.port === port.port && p.name === port.name);
      const delta = (now: number | null, then: number | null | undefined): number | null =>
        now === null ? null : now - (then ?? 0);
      return {
        ...port,
        rx: delta(port.rx, old?.rx),
        tx: delta(port.tx, old?.tx),
        rxDropped: delta(port.rxDropped, old?.rxDropped),
        txDropped: delta(port.txDropped, old?.txDropped),
      };
    }),
  };
}

/**
 * Whether OVS's ports, in order, received and sent these [rx, tx] counts and dropped none;
 * null when OVS reports no counters for them (then the check cannot be made).
 */
export function portsMatch(ovs: OvsCounters, expected: [number, number][]): boolean | null {
  const ports = expected.map((_, i) => ovs.ports[i]);
  if (ports.some((port) => port === undefined || port.rx === null || port.tx === null)) return null;
  return expected.every(
    ([rx, tx], i) =>
      ports[i].rx === rx && ports[i].tx === tx && (ports[i].rxDropped ?? 0) === 0 && (ports[i].txDropped ?? 0) === 0,
  );
}

/** Packets the flows matching `in_port=<inPort>` counted. */
export function flowPackets(ovs: OvsCounters, inPort: number): number {
  return ovs.flows
    .filter((flow) => new RegExp(`in_port=${inPort}\\b`).test(flow.flow))
    .reduce((sum, flow) => sum + flow.packets, 0);
}
