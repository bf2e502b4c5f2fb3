// `npm run bench:ovn` (tools/ovn-scale) end to end on a tiny configuration with the real OVN
// daemons (NB and SB ovsdb-server, ovn-northd, one ovn-controller on a dummy ovs-vswitchd, whose
// ports it claims itself): the report's structure and the counts read
// back (ports written to the NB = ports bound in the SB), never its timings.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseOptions, runBenchmark, writeReport } from '../tools/ovn-scale/main.js';
import { measures, type OvnScaleReport } from '../tools/ovn-scale/report.js';

t.test('a tiny run: every point measured, counts match what was written, JSON + Markdown + charts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ovn-scale-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'result.json');
  const options = parseOptions([
    '--chassis',
    '3,5',
    '--ports',
    '20',
    '--repeats',
    '2',
    '--txn',
    '7',
    '--txn-sizes',
    '5',
    '--ports-per-switch',
    '8',
    '--controllers',
    '1',
    '--json',
    json,
  ]);
  const lines: string[] = [];
  const report = await runBenchmark(options, (line) => lines.push(line));
  t.equal(lines.length, 2 * 2 + 1, 'a progress line per run, and one per transaction size');

  t.same(
    report.points.map((point) => [point.chassis, point.ports, point.runs.length]),
    [
      [3, 20, 2],
      [5, 20, 2],
    ],
  );
  for (const point of report.points) {
    for (const run of point.runs) {
      t.equal(run.nbPorts, 20, 'ports in the NB');
      t.equal(run.sbBoundPorts, 20, 'ports bound to a chassis in the SB, by the benchmark and by ovn-controller');
      t.ok(run.logicalFlows > 0 && run.sbRows > run.logicalFlows, 'the replica holds the logical flows and more');
      t.ok(run.hvCatchUpMs >= run.sbCatchUpMs, 'hv_cfg catches up after sb_cfg');
      t.same(Object.keys(run.daemonRssBytes).sort(), ['nb-ovsdb', 'ovn-controller', 'ovn-northd', 'sb-ovsdb']);
    }
    t.same(Object.keys(point.summary).sort(), Object.keys(measures).sort());
  }
  t.same(
    report.transactionSizes.map((size) => [size.transactionSize, size.chassis, size.ports, size.portsPerSecond.length]),
    [[5, 3, 20, 2]],
  );

  const written = await writeReport(report, json);
  t.same(written, [json, join(dir, 'result.md'), join(dir, 'result-growth.svg'), join(dir, 'result-transactions.svg')]);
  t.ok(written.every((path) => existsSync(path)));
  const saved = JSON.parse(readFileSync(json, 'utf8')) as OvnScaleReport;
  t.equal(saved.kind, 'ovn-scale');
  t.equal(saved.points.length, 2);
  const md = readFileSync(join(dir, 'result.md'), 'utf8');
  t.equal(
    md.split('\n').filter((line) => /^\| [35] \| 20 \|.*\| yes \|$/.test(line)).length,
    2,
    'a row per point, counts matching',
  );
  t.match(readFileSync(join(dir, 'result-growth.svg'), 'utf8'), /nb_cfg -&gt; hv_cfg/);
});

t.test('bad command lines are refused with what was wrong', async (t) => {
  t.throws(() => parseOptions(['--chassis', '0']), {
    message: "--chassis takes integers from 1 to 100000, separated by commas, got '0'",
  });
  t.throws(() => parseOptions(['--ports']), { message: '--ports needs a value' });
  t.throws(() => parseOptions(['--chasis', '3']), { message: "unknown option '--chasis'" });
});
