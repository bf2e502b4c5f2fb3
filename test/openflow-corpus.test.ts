// The flow corpus (test/fixtures/openflow-corpus) judged by the installed ovs-ofctl on a real
// dummy-datapath ovs-vswitchd: dpdk-ts must never install a flow ovs-ofctl refuses, never crash,
// and must stay at or above the share of flows it handles identically (tools/openflow-corpus.ts).
import t from 'tap';
import { formatSummary, judgeCorpus, loadCorpus, summarize } from '../tools/openflow-corpus.js';
import { startOvsDummy, type OvsDummy } from './helpers/ovs-dummy.js';

/** The regression floor: the identical percentage reached so far (raise it as the corpus improves). */
const identicalFloor = 99.0;

let ovs: OvsDummy;

t.before(async () => {
  ovs = await startOvsDummy();
  await ovs.addBridge('br0', { protocols: 'OpenFlow13' });
});

t.teardown(async () => {
  await ovs?.stop();
});

t.test('every corpus flow is refused or installed as ovs-ofctl does, with no crash', async (t) => {
  const results = await judgeCorpus(ovs, 'br0', await loadCorpus());
  const summary = summarize(results);
  t.comment(formatSummary(summary));
  const wronglyAccepted = results.filter((result) => result.verdict === 'wrongly-accepted');
  t.same(
    wronglyAccepted.map((result) => `${result.file}:${result.line}: ${result.flow}: ${result.theirs}`),
    [],
    'no flow ovs-ofctl refuses is installed',
  );
  const crashes = results.filter((result) => result.verdict === 'crash');
  t.same(
    crashes.map((result) => `${result.file}:${result.line}: ${result.flow}: ${result.ours}`),
    [],
    'no crash',
  );
  t.ok(
    summary.identicalPercent >= identicalFloor,
    `${summary.identicalPercent}% identical, at least ${identicalFloor}%`,
  );
});
