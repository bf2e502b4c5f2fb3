// The SVG charts of `npm run bench` and `npm run lab` results (tools/charts), drawn by Vega from
// results of their shape: test/fixtures/charts/bench-result.json (two topologies, four
// forwarders, three rounds, three sweep points) and lab-result.json (experiments 1 and 2 with
// three forwarders, two rounds with zero-loss searches, and a service chain).
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import t from 'tap';
import type { BenchReport } from '../tools/bench/report.js';
import { benchCharts, sweepMarkNames } from '../tools/charts/bench.js';
import { chartPath, chartsOf, writeCharts } from '../tools/charts/index.js';
import { labCharts } from '../tools/charts/lab.js';
import type { Chart } from '../tools/charts/render.js';
import { spreadMarkNames } from '../tools/charts/spread-chart.js';
import type { LabReport } from '../tools/lab/report.js';

const root = join(__dirname, '..');
const fixtures = join(__dirname, 'fixtures', 'charts');
const benchFixture = join(fixtures, 'bench-result.json');
const labFixture = join(fixtures, 'lab-result.json');
const benchReport = (): BenchReport => JSON.parse(readFileSync(benchFixture, 'utf8')) as BenchReport;
const labReport = (): LabReport => JSON.parse(readFileSync(labFixture, 'utf8')) as LabReport;

/** `svg` parsed as XML; throws on anything that is not well-formed, warnings included. */
function parseSvg(svg: string): Document {
  return new DOMParser({
    onError: (level, message) => {
      throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(svg, 'image/svg+xml');
}

function elements(document: Document, tag: string): Element[] {
  return Array.from(document.getElementsByTagName(tag));
}

/** Every text the chart shows (titles, axis titles and labels, legends, mark labels). */
function texts(document: Document): string[] {
  return elements(document, 'text').map((text) => text.textContent ?? '');
}

/** How many marks the chart draws under the mark names ending in `name` (one group per panel). */
function markCount(document: Document, name: string): number {
  const groups = elements(document, 'g').filter((group) =>
    (group.getAttribute('class') ?? '').split(' ').some((part) => part.endsWith(`${name}_marks`)),
  );
  return groups.reduce(
    (total, group) => total + Array.from(group.childNodes).filter((n) => n.nodeType === 1).length,
    0,
  );
}

function chart(charts: Chart[], name: string): Document {
  const found = charts.find((each) => each.name === name);
  if (found === undefined) throw new Error(`no ${name} chart among ${charts.map((each) => each.name).join(', ')}`);
  return parseSvg(found.svg);
}

t.test('a bench result gives a rate chart and a sweep chart, well-formed SVG', async (t) => {
  const charts = await benchCharts(benchReport());
  t.same(
    charts.map((each) => each.name),
    ['rate', 'sweep'],
  );
  for (const each of charts) t.equal(parseSvg(each.svg).documentElement?.tagName, 'svg', `${each.name} is an <svg>`);
});

t.test("the bench rate chart: a panel per topology, each forwarder's rounds, median and p25-p75", async (t) => {
  const document = chart(await benchCharts(benchReport()), 'rate');
  const shown = texts(document);
  for (const name of ['testpmd', 'dpdk-ts TS loop', 'dpdk-ts native Engine', 'dpdk-ts native filter'])
    t.equal(shown.filter((text) => text === name).length, 2, `${name} labels a row in both panels`);
  t.ok(shown.includes('1: 2 x net_null, 1 core'), 'the net_null panel is titled');
  t.ok(shown.includes('2: 2 x vhost-user <- testpmd source on CPU 0'), 'the vhost-user panel is titled');
  t.equal(shown.filter((text) => text === 'Mpps transmitted').length, 2, 'each panel has its axis title');
  // 2 topologies x 4 forwarders, 3 rounds each.
  t.equal(markCount(document, spreadMarkNames.rounds), 24, 'a tick per round');
  t.equal(markCount(document, spreadMarkNames.median), 8, 'a dot per forwarder and topology');
  t.equal(markCount(document, spreadMarkNames.spread), 8, 'a p25-p75 line per forwarder and topology');
  t.equal(markCount(document, spreadMarkNames.label), 8, 'a label per forwarder and topology');
  t.ok(shown.includes('117.17 (100%)'), "testpmd's median on net_null, and its ratio");
  t.ok(shown.includes('7.55 (98%)'), "the TS loop's median on vhost-user, and its ratio to testpmd's");
});

t.test('the bench sweep chart: a line per forwarder, a point per burst size and forwarder', async (t) => {
  const document = chart(await benchCharts(benchReport()), 'sweep');
  const shown = texts(document);
  t.equal(markCount(document, sweepMarkNames.lines), 4, 'one line per forwarder');
  t.equal(markCount(document, sweepMarkNames.points), 12, '3 burst sizes x 4 forwarders');
  t.ok(shown.includes('burst (packets per rx/tx call)'), 'the x axis is titled');
  t.ok(shown.includes('Mpps transmitted'), 'the y axis is titled');
  for (const burst of ['8', '32', '128']) t.ok(shown.includes(burst), `burst ${burst} is on the axis`);
  for (const name of ['testpmd', 'dpdk-ts TS loop', 'dpdk-ts native Engine', 'dpdk-ts native filter'])
    t.ok(shown.includes(name), `the legend names ${name}`);
});

t.test('a bench result without a sweep gives the rate chart only', async (t) => {
  const charts = await benchCharts({ ...benchReport(), sweep: [] });
  t.same(
    charts.map((each) => each.name),
    ['rate'],
  );
});

t.test(
  'the lab rate chart: received and zero-loss Mpps per forwarder, a panel per forwarding experiment',
  async (t) => {
    const document = chart(await labCharts(labReport()), 'rate');
    const shown = texts(document);
    t.ok(shown.includes('experiment 1: testpmd forwards'), 'experiment 1 has a panel');
    t.ok(shown.includes('experiment 2: l2fwd forwards'), 'experiment 2 has a panel');
    t.notOk(
      shown.some((text) => text.startsWith('service chain')),
      'the service chain, which compares no forwarders, has none',
    );
    for (const name of [
      'dpdk-testpmd (C)',
      'dpdk-ts testpmd, TypeScript loop',
      'DPDK l2fwd (C)',
      'dpdk-ts l2fwd, native engine',
    ])
      t.ok(shown.includes(name), `${name} labels a row`);
    t.ok(shown.includes('received at full rate'), 'the legend names the full-rate series');
    t.ok(shown.includes('zero-loss rate'), 'the legend names the zero-loss series');
    t.equal(shown.filter((text) => text === 'Mpps (both generator ports)').length, 2, 'each panel has its axis title');
    // 2 experiments x 3 forwarders x 2 series, 2 rounds each.
    t.equal(markCount(document, spreadMarkNames.rounds), 24, 'a tick per round and series');
    t.equal(markCount(document, spreadMarkNames.median), 12, 'a dot per forwarder and series');
    t.equal(markCount(document, spreadMarkNames.spread), 12, 'a smallest-largest line per forwarder and series');
    t.ok(
      shown.includes('2.707 (62.30x C)'),
      "the native engine's received median, and its ratio to C's in the same rounds",
    );
    t.ok(shown.includes('0.129'), "C's zero-loss median, without a ratio to itself");
  },
);

t.test('the lab latency chart: mean and p99 at full rate and the mean at the zero-loss rate, in us', async (t) => {
  const document = chart(await labCharts(labReport()), 'latency');
  const shown = texts(document);
  for (const series of ['mean at full rate', 'p99 at full rate', 'mean at the zero-loss rate'])
    t.ok(shown.includes(series), `the legend names ${series}`);
  t.equal(shown.filter((text) => text === 'latency (us)').length, 2, 'each panel has its axis title');
  // 2 experiments x 3 forwarders x 3 series.
  t.equal(markCount(document, spreadMarkNames.median), 18, 'a dot per forwarder and series');
  t.equal(markCount(document, spreadMarkNames.rounds), 36, 'a tick per round and series');
  t.ok(shown.includes('7.75 ms'), "C's mean latency at full rate in experiment 1");
  t.ok(shown.includes('195.0 us'), "the native engine's mean latency at full rate in experiment 1");
});

t.test('a lab result in which no experiment compared forwarders has no charts', async (t) => {
  const report = labReport();
  const charts = await labCharts({ ...report, experiments: report.experiments.filter((each) => !each.forwarders) });
  t.same(charts, []);
});

t.test('chartsOf refuses JSON that is neither a bench nor a lab result', async (t) => {
  await t.rejects(chartsOf({ date: '2026-12-01' }), {
    message: 'not a bench result (topologies, sweep), a lab result (experiments) nor an ovn-scale result',
  });
});

t.test('npm run charts -- RESULT.json draws the charts beside each saved result', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'charts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(benchFixture, join(dir, 'latest.json'));
  copyFileSync(labFixture, join(dir, 'lab-results.json'));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(root, 'tools/charts/main.ts'), join(dir, 'latest.json'), join(dir, 'lab-results.json')],
    { cwd: root },
  );
  const expected = [
    join(dir, 'latest-rate.svg'),
    join(dir, 'latest-sweep.svg'),
    join(dir, 'lab-results-rate.svg'),
    join(dir, 'lab-results-latency.svg'),
  ];
  t.same(stdout.trim().split('\n'), expected, 'it prints the files it wrote');
  for (const path of expected) t.ok(existsSync(path), `${path} exists`);
  t.equal(
    readFileSync(join(dir, 'latest-rate.svg'), 'utf8'),
    (await benchCharts(benchReport()))[0].svg,
    'the same SVG',
  );
});

t.test('writeCharts names the file that is no result', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'charts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'other.json');
  await t.rejects(writeCharts(path, { name: 'other' }), {
    message: `${path}: not a bench result (topologies, sweep), a lab result (experiments) nor an ovn-scale result`,
  });
  t.notOk(existsSync(chartPath(path, 'rate')), 'nothing written');
});
