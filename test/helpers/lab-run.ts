// What the lab tests share: running `npm run lab`'s program for its JSON report, checking
// that it left nothing behind, and the exact counts every experiment must report.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { chartPath } from '../../tools/charts/index.js';
import type { FaultResult } from '../../tools/lab/faults.js';

/** Runs a program, resolving with its output. */
export const run = promisify(execFile);
/** The package's root. */
export const root = join(__dirname, '..', '..');

/** What the lab's JSON report holds that the tests read. */
export interface LabReport {
  pass: boolean;
  experiments: {
    name: string;
    pass: boolean;
    error?: string;
    counted?: {
      generator: { ports: { port: number; sent: number; received: number }[] };
      checks: { what: string; ok: boolean }[];
    };
    apps: Record<string, { rx?: number; matched?: number; passed?: number; forwarded?: number } | undefined>;
    forwarders?: {
      kind: string;
      label: string;
      error?: string;
      counted?: { generator: { ports: { port: number; sent: number; received: number }[] } };
      rounds: { receivedMpps: number; offeredMpps: number; zeroLoss: { trials: number } | null }[];
      summary: {
        zeroLossMpps: { median: number } | null;
        receivedMpps: { median: number };
        offeredMpps: { median: number };
        loss: { median: number };
        ratioToC: { median: number; min: number; max: number } | null;
      } | null;
    }[];
    fault?: FaultResult;
  }[];
}

/** The hugepage files and DPDK runtime directories there are now. */
export function leftovers(): string[] {
  const found: string[] = [];
  for (const dir of ['/dev/hugepages', '/var/run/dpdk']) {
    if (existsSync(dir)) found.push(...readdirSync(dir).map((name) => `${dir}/${name}`));
  }
  return found;
}

/** Runs `npm run lab`'s program with `args` and returns its JSON report; `onLine` sees each line it prints as it comes. */
export async function lab(t: Test, args: string[], onLine?: (line: string) => void): Promise<LabReport> {
  const json = join(tmpdir(), `lab-${process.pid}-${Date.now()}.json`);
  // The lab draws its charts beside the JSON.
  t.teardown(() => {
    for (const path of [json, chartPath(json, 'rate'), chartPath(json, 'latency')]) rmSync(path, { force: true });
  });
  const before = new Set(leftovers());
  const running = run(
    process.execPath,
    ['--import', 'tsx', join(root, 'tools/lab/main.ts'), ...args, '--duration', '2', '--rounds', '1', '--json', json],
    { cwd: root, timeout: 900_000, maxBuffer: 64 << 20 },
  );
  const stdout = running.child.stdout;
  if (onLine !== undefined && stdout !== null) createInterface({ input: stdout }).on('line', onLine);
  const result = await running.catch((error: { stdout: string; stderr: string; code: number }) => error);
  const report = JSON.parse(readFileSync(json, 'utf8')) as LabReport;
  if (!report.pass) t.comment(`${result.stdout}\n${result.stderr}`);
  await checkNothingLeft(t, before);
  return report;
}

/**
 * Checks that a lab run left no hugepage file or DPDK runtime directory beyond those in
 * `before` (from {@link leftovers}), and no OVS daemon or app running.
 */
export async function checkNothingLeft(t: Test, before: ReadonlySet<string>): Promise<void> {
  t.same(
    leftovers().filter((path) => !before.has(path)),
    [],
    'no hugepage files or DPDK runtime dirs left behind',
  );
  const { stdout: processes } = await run('ps', ['-eo', 'args']);
  t.notMatch(
    processes,
    /ovs-vswitchd-dpdk unix:\/tmp\/ovs|dist\/examples\/(pktgen|testpmd|l2fwd|ips)\.js|dpdk-testpmd|l2fwd-c\/build/,
    'no OVS daemon or app left running',
  );
}

/** Checks that every experiment of `report` passed with its exact counts (and, with `zeroLoss`, ran its search). */
export function checkExact(t: Test, report: LabReport, names: string[], zeroLoss = false): void {
  t.ok(report.pass, 'the lab reports PASS');
  t.same(
    report.experiments.map((experiment) => experiment.name.split(':')[0]),
    names,
  );
  for (const experiment of report.experiments) {
    t.ok(experiment.pass, `${experiment.name}: PASS${experiment.error === undefined ? '' : ` (${experiment.error})`}`);
    const ports = experiment.counted?.generator.ports ?? [];
    if (experiment.name.startsWith('service chain')) {
      t.match(
        ports,
        [
          { port: 0, sent: 300, received: 0 },
          { port: 1, sent: 0, received: 200 },
        ],
        'chain: 300 sent, 200 passed the IPS',
      );
      t.match(
        experiment.apps,
        { ips: { rx: 300, matched: 100, passed: 200 }, ids: { rx: 300, matched: 100 } },
        'chain: drops and mirrored copies add up',
      );
    } else {
      t.match(
        ports,
        [
          { port: 0, sent: 100, received: 200 },
          { port: 1, sent: 200, received: 100 },
        ],
        `${experiment.name}: exact counts`,
      );
      const forwarders = experiment.forwarders ?? [];
      t.same(
        forwarders.map((forwarder) => forwarder.kind),
        ['c', 'ts', 'native'],
        `${experiment.name}: DPDK's C app, the TypeScript loop and the native engine side by side`,
      );
      for (const forwarder of forwarders) {
        const what = `${experiment.name}: ${forwarder.label}`;
        t.equal(forwarder.error, undefined, `${what}: no error`);
        t.match(
          forwarder.counted?.generator.ports,
          [
            { port: 0, sent: 100, received: 200 },
            { port: 1, sent: 200, received: 100 },
          ],
          `${what}: exact counts`,
        );
        t.equal(forwarder.rounds.length, 1, `${what}: one full-rate round`);
        // Sanity only: speed is compared by the lab's figures, never asserted here.
        t.ok((forwarder.summary?.receivedMpps.median ?? 0) > 0, `${what}: received packets at full rate`);
        t.ok((forwarder.summary?.offeredMpps.median ?? 0) > 0, `${what}: offered packets at full rate`);
        const loss = forwarder.summary?.loss.median ?? -1;
        t.ok(loss >= 0 && loss <= 1, `${what}: loss is a fraction`);
        t.ok((forwarder.summary?.ratioToC?.median ?? 0) > 0, `${what}: a ratio to the C forwarder`);
        if (zeroLoss) {
          // A rate, not a speed: the search ran its trials and reported what it found.
          const search = forwarder.rounds[0]?.zeroLoss;
          t.ok(search !== null && search !== undefined && search.trials > 0, `${what}: a zero-loss search ran`);
          t.ok((forwarder.summary?.zeroLossMpps?.median ?? -1) >= 0, `${what}: a zero-loss rate`);
        }
      }
    }
  }
}

/**
 * Runs `npm run lab -- --fault <fault>` and returns its report and fault run, failing `t`
 * when the run measured none.
 */
export async function runFault(t: Test, fault: string): Promise<{ report: LabReport; fault: FaultResult | undefined }> {
  const report = await lab(t, ['--fault', fault]);
  return { report, fault: faultOf(t, report, fault) };
}

/** The fault run of `report`, failing `t` when the run measured none. */
function faultOf(t: Test, report: LabReport, fault: string): FaultResult | undefined {
  t.same(
    report.experiments.map((experiment) => experiment.name),
    [`fault ${fault}: experiment 1 at 20000 pps per port`],
  );
  const result = report.experiments[0]?.fault;
  if (result === undefined) t.fail(`no fault figures: ${report.experiments[0]?.error}`);
  return result;
}

/** When the first event of `fault` matching `what` happened (ms, pktgen's clock); NaN if none did. */
export const at = (fault: FaultResult, what: RegExp): number =>
  fault.events.find((event) => what.test(event.what))?.atMs ?? Number.NaN;

/** Checks what every fault run must say: the loss adds up, and its checks passed but the loss outside. */
export function checkAccounting(t: Test, fault: FaultResult): void {
  const figures = fault.figures;
  t.equal(figures.sent - figures.received, figures.lost, 'lost = sent - received');
  t.equal(figures.lostBefore + figures.lostDuring + figures.lostAfter, figures.lost, 'before + during + after = lost');
  // Loss outside the window is the lab's figure to report (a loaded machine's CPU waits
  // can cause it), not this test's to fail on.
  t.match(
    fault.checks.filter((check) => !check.what.startsWith('nothing lost')),
    [
      { what: /^the socket directory is 0700 and no socket is world-writable/, ok: true },
      { what: 'traffic resumed on every port', ok: true },
      { what: 'no packet received twice (received <= sent)', ok: true },
      { what: /^the generator (stayed up, the forwarder came back|and the forwarder stayed up)$/, ok: true },
      {
        what: /^mbufs back after the traffic stopped \(in use: generator \d+ before, \d+ after, at most \d+; forwarder \d+ before, \d+ after, at most \d+/,
        ok: true,
      },
    ],
  );
  t.same(
    fault.mbufs.map((each) => each.app),
    ['generator', 'forwarder'],
    "both apps' mbufs read from their metrics",
  );
}
