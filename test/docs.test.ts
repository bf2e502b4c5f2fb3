// `npm run docs`: the TypeDoc API reference of both entry points (dpdk-ts and dpdk-ts/ovs)
// from their TSDoc, built as typedoc.json says, once, into a directory of its own. TypeDoc
// treats its warnings (a public type that is not exported, a broken {@link}, an undocumented
// exported symbol) as errors there; the test also reads them from its output.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const root = join(__dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'dpdk-ts-docs-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));

/** What typedoc printed, with its exit status when it failed. */
async function buildDocs(): Promise<string> {
  const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [typedoc, '--out', out], {
      cwd: root,
      timeout: 600_000,
      maxBuffer: 16 << 20,
      // Plain text: no colour codes around "[warning]".
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    return stdout + stderr;
  } catch (caught) {
    const error = caught as { code?: number; stdout?: string; stderr?: string };
    return `exit ${error.code}\n${error.stdout ?? ''}${error.stderr ?? ''}`;
  }
}

const built = buildDocs();
const page = (path: string): string => readFileSync(join(out, path), 'utf8');

t.test('typedoc builds the reference with no warning and no error', async (t) => {
  const output = await built;
  t.same(
    output.split('\n').filter((line) => /\[(warning|error)\]|^exit /.test(line)),
    [],
    output,
  );
});

t.test('the reference has a page per module and per key class', async (t) => {
  await built;
  const pages = [
    'modules/dpdk-ts.html',
    'modules/dpdk-ts_ovs.html',
    'classes/dpdk-ts.Eal.html',
    'classes/dpdk-ts.Port.html',
    'classes/dpdk-ts.Engine.html',
    'classes/dpdk-ts.Mempool.html',
    'classes/dpdk-ts.LcoreWorker.html',
    'classes/dpdk-ts.Forwarder.html',
    'classes/dpdk-ts_ovs.DpdkError.html',
    'classes/dpdk-ts_ovs.Vswitch.html',
    'classes/dpdk-ts_ovs.ovsdb.OvsdbClient.html',
    'classes/dpdk-ts_ovs.openflow.OpenFlowClient.html',
  ];
  for (const path of pages) t.ok(existsSync(join(out, path)), `${path} exists`);
  t.match(page('classes/dpdk-ts.Eal.html'), 'href="#init"', "Eal's page documents Eal.init");
});

t.test('@internal members are left out of the reference, as out of the .d.ts', async (t) => {
  await built;
  const packetHandle = page('classes/dpdk-ts.PacketHandle.html');
  t.match(packetHandle, 'href="#length"', "PacketHandle's page documents its members");
  t.notMatch(packetHandle, 'href="#of"', 'but not its @internal factory, PacketHandle.of');
});
