/**
 * The flow corpus (test/fixtures/openflow-corpus/*.txt) judged against the installed
 * `ovs-ofctl -O OpenFlow13`: each flow is offered to ovs-ofctl and to dpdk-ts on a
 * fresh table of a dummy-datapath ovs-vswitchd, and the outcomes compared (refused by
 * both, or installed identically as ovs-ofctl's and dpdk-ts's dumps show it). The
 * bytes dpdk-ts sends are compared with what `ovs-ofctl parse-flow` encodes, too.
 *
 *   flock /tmp/dpdk-ts-test.lock node --import tsx tools/openflow-corpus.ts [-v] [FILE...]
 *
 * prints each flow that differs (with -v, every flow) and the figures. Not shipped.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { DpdkError } from '../lib/errors.js';
import { OpenFlowClient } from '../lib/ovs/openflow/client.js';
import { OFPTT_ALL } from '../lib/ovs/openflow/codec.js';
import { encodeFlowMod } from '../lib/ovs/openflow/flow-mod.js';
import { parseFlowMod } from '../lib/ovs/openflow/flow-syntax.js';
import { portMapOf } from '../lib/ovs/openflow/flow-table.js';
import { formatFlowStatsReplies } from '../lib/ovs/openflow/format-replies.js';
import { startOvsDummy, type OvsDummy } from '../test/helpers/ovs-dummy.js';

const run = promisify(execFile);

/** The directory of the corpus files. */
export const corpusDir = join(__dirname, '..', 'test', 'fixtures', 'openflow-corpus');

/** One flow of the corpus and where it is written. */
export interface CorpusFlow {
  file: string;
  line: number;
  flow: string;
  /**
   * The switch's TLV table for this flow, in `ovs-ofctl add-tlv-map` syntax: set by a
   * `#! tlv-map MAP` line of its file (for the flows after it), for `tun_metadataN` flows.
   */
  tlvMap?: string;
}

/** How dpdk-ts did on one flow, judged by ovs-ofctl. */
export type Verdict =
  /** Both installed it and every dump reads the same. */
  | 'identical'
  /** Both refused it. */
  | 'refused-both'
  /** ovs-ofctl refused it, dpdk-ts installed it. */
  | 'wrongly-accepted'
  /** ovs-ofctl installed it, dpdk-ts refused it. */
  | 'wrongly-refused'
  /** Both installed it, but a dump reads differently. */
  | 'differs'
  /** dpdk-ts threw something other than a DpdkError. */
  | 'crash';

/** The judgement of one flow. */
export interface CorpusResult extends CorpusFlow {
  verdict: Verdict;
  /** ovs-ofctl's dump line, or its refusal. */
  theirs: string;
  /** The switch's dump of what dpdk-ts installed and dpdk-ts's own dump, or dpdk-ts's refusal. */
  ours: string;
  /** Whether dpdk-ts encoded the flow mod byte for byte as `ovs-ofctl parse-flow` (undefined: not both encoded). */
  sameBytes?: boolean;
}

/** The corpus's flows: one a line, `#` comments and blank lines skipped. */
export async function loadCorpus(files?: readonly string[]): Promise<CorpusFlow[]> {
  const paths =
    files ?? (await readdir(corpusDir)).filter((name) => name.endsWith('.txt')).map((name) => join(corpusDir, name));
  const flows: CorpusFlow[] = [];
  for (const path of [...paths].sort()) {
    const lines = (await readFile(path, 'utf8')).split('\n');
    let tlvMap: string | undefined;
    lines.forEach((text, index) => {
      const flow = text.trim();
      const directive = /^#!\s*tlv-map\s+(\S+)$/.exec(flow);
      if (directive) {
        tlvMap = directive[1];
      } else if (flow !== '' && !flow.startsWith('#')) {
        flows.push({ file: basename(path), line: index + 1, flow, ...(tlvMap === undefined ? {} : { tlvMap }) });
      }
    });
  }
  return flows;
}

/**
 * A line of the hex dump `ovs-ofctl` prints of a flow stats reply it cannot decode, with the
 * first entry's duration and counters (reply bytes 20-27 and 48-63) masked as `..`: they
 * change from one dump to the next, as `duration=` does in a decoded one; so does the xid
 * (bytes 4-7), that of the request of whoever dumps (ovs-ofctl or dpdk-ts).
 */
function maskHexDumpLine(line: string): string {
  const hex = /^([0-9a-f]{8}) {2}(.{47})/.exec(line);
  if (!hex) {
    return line;
  }
  const offset = parseInt(hex[1]!, 16);
  const bytes = hex[2]!.split(/[ -]/);
  const masked = bytes.map((byte, index) => {
    const at = offset + index;
    return byte !== '' && ((at >= 4 && at < 8) || (at >= 20 && at < 28) || (at >= 48 && at < 64)) ? '..' : byte;
  });
  return `${hex[1]}  ${masked.slice(0, 8).join(' ')}-${masked.slice(8).join(' ')}`.trimEnd();
}

/** Dump lines without header, durations and counters: comparable across tools and runs. */
function normalizeDump(text: string): string {
  return (
    text
      .split('\n')
      // A decode error may follow a reply's header on its line (when its first flow is the one).
      .map((line) => line.replace(/^OFPST_FLOW reply \(OF1\.3\) \(xid=0x[0-9a-f]+\):( flags=\[more\])? ?/, ''))
      .filter((line) => line.trim() !== '' && !line.startsWith('OFPST_'))
      .map(maskHexDumpLine)
      .map((line) =>
        line
          .trim()
          .replace(/duration=[\d.]+s, /, '')
          .replace(/n_packets=\d+, n_bytes=\d+, /, ''),
      )
      .sort()
      .join('\n')
  );
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? ((error as { stderr?: string }).stderr ?? error.message) : String(error);
  return text.trim().split('\n')[0] ?? '';
}

/** The flow mod `ovs-ofctl parse-flow` encodes (xid 1), or undefined when it refuses the flow. */
async function ofctlBytes(flow: string): Promise<Buffer | undefined> {
  try {
    const { stdout } = await run('ovs-ofctl', ['-O', 'OpenFlow13', '-mmmmm', 'parse-flow', flow]);
    const hex = stdout
      .split('\n')
      .filter((line) => /^[0-9a-f]{8} {2}/.test(line))
      .map((line) => line.slice(10, 58).replace(/[\s-]/g, ''))
      .join('');
    return Buffer.from(hex, 'hex');
  } catch {
    return undefined;
  }
}

/**
 * Judges each flow on `bridge` of `ovs` (which must have ports 1..4 and take
 * OpenFlow 1.3), emptying the bridge's tables before each.
 */
export async function judgeCorpus(
  ovs: OvsDummy,
  bridge: string,
  flows: readonly CorpusFlow[],
): Promise<CorpusResult[]> {
  const client = await OpenFlowClient.connect(ovs.mgmt(bridge));
  const clear = (): Promise<void> => client.flowMod({ command: 'delete', tableId: OFPTT_ALL });
  // Port names resolve against the bridge as ovs-ofctl resolves them (its port descriptions).
  const portMap = await portMapOf(client, {});
  const results: CorpusResult[] = [];
  let tlvMap: string | undefined;
  try {
    for (const entry of flows) {
      await clear();
      if (entry.tlvMap !== tlvMap) {
        await ovs.ofctl('del-tlv-map', bridge);
        if (entry.tlvMap !== undefined) {
          await ovs.ofctl('add-tlv-map', bridge, entry.tlvMap);
        }
        tlvMap = entry.tlvMap;
      }
      let theirs: string;
      let theyAccepted = true;
      try {
        await ovs.ofctl('add-flow', bridge, entry.flow);
        theirs = normalizeDump(await ovs.ofctl('dump-flows', bridge));
      } catch (error) {
        theyAccepted = false;
        theirs = `refused: ${firstLine(error)}`;
      }
      await clear();
      let ours: string;
      let verdict: Verdict;
      let sameBytes: boolean | undefined;
      try {
        const flowMod = parseFlowMod(entry.flow, { command: 'add', portMap });
        const expected = await ofctlBytes(entry.flow);
        if (expected) {
          sameBytes = encodeFlowMod(1, flowMod).equals(expected);
        }
        await client.flowMod(flowMod);
        const switchView = normalizeDump(await ovs.ofctl('dump-flows', bridge));
        const ownView = normalizeDump(formatFlowStatsReplies(await client.flowStatsReplies()).join('\n'));
        ours = switchView === ownView ? switchView : `${switchView}\n(dpdk-ts dump: ${ownView})`;
        verdict = !theyAccepted
          ? 'wrongly-accepted'
          : switchView === theirs && ownView === theirs
            ? 'identical'
            : 'differs';
      } catch (error) {
        ours = `refused: ${firstLine(error)}`;
        verdict = !(error instanceof DpdkError) ? 'crash' : theyAccepted ? 'wrongly-refused' : 'refused-both';
      }
      results.push({ ...entry, verdict, theirs, ours, ...(sameBytes === undefined ? {} : { sameBytes }) });
    }
  } finally {
    if (tlvMap !== undefined) {
      await clear();
      await ovs.ofctl('del-tlv-map', bridge);
    }
    await client.close();
  }
  return results;
}

/** The figures of a judged corpus. */
export interface CorpusSummary {
  total: number;
  /** Identical or refused by both, as a percentage of all flows (one decimal). */
  identicalPercent: number;
  counts: Record<Verdict, number>;
  /** Flows both encoded, and of those, the ones dpdk-ts encoded byte for byte as ovs-ofctl. */
  encodedByBoth: number;
  sameBytes: number;
}

/** Counts the verdicts of `results`. */
export function summarize(results: readonly CorpusResult[]): CorpusSummary {
  const counts: Record<Verdict, number> = {
    identical: 0,
    'refused-both': 0,
    'wrongly-accepted': 0,
    'wrongly-refused': 0,
    differs: 0,
    crash: 0,
  };
  for (const result of results) {
    counts[result.verdict]++;
  }
  const same = counts.identical + counts['refused-both'];
  return {
    total: results.length,
    identicalPercent: results.length === 0 ? 0 : Math.round((1000 * same) / results.length) / 10,
    counts,
    encodedByBoth: results.filter((result) => result.sameBytes !== undefined).length,
    sameBytes: results.filter((result) => result.sameBytes === true).length,
  };
}

/** The one-line report of a summary. */
export function formatSummary(summary: CorpusSummary): string {
  const { counts } = summary;
  return (
    `${summary.identicalPercent}% identical to ovs-ofctl (${counts.identical} installed identically, ` +
    `${counts['refused-both']} refused by both, of ${summary.total}); ` +
    `wrongly accepted ${counts['wrongly-accepted']}, wrongly refused ${counts['wrongly-refused']}, ` +
    `differ ${counts.differs}, crashes ${counts.crash}; ` +
    `bytes identical ${summary.sameBytes} of ${summary.encodedByBoth} encoded by both`
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const verbose = args.includes('-v');
  const files = args.filter((arg) => arg !== '-v');
  const flows = await loadCorpus(files.length > 0 ? files : undefined);
  const ovs = await startOvsDummy();
  try {
    await ovs.addBridge('br0', { protocols: 'OpenFlow13' });
    const results = await judgeCorpus(ovs, 'br0', flows);
    for (const result of results) {
      const good = result.verdict === 'identical' || result.verdict === 'refused-both';
      if (verbose || !good || result.sameBytes === false) {
        const bytes = result.sameBytes === false ? ' (bytes differ)' : '';
        console.log(`${result.file}:${result.line}: ${result.verdict}${bytes}: ${result.flow}`);
        console.log(`  ovs-ofctl: ${result.theirs.replaceAll('\n', '\n             ')}`);
        console.log(`  dpdk-ts:   ${result.ours.replaceAll('\n', '\n             ')}`);
      }
    }
    console.log(formatSummary(summarize(results)));
  } finally {
    await ovs.stop();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`openflow-corpus: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
