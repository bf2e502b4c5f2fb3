// OvnCentral: the OVN_Northbound and OVN_Southbound ovsdb-servers and ovn-northd in a
// private directory, judged by the installed ovn-nbctl and ovn-sbctl.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { OvnCentral } from '../lib/ovn/central.js';
import { isAlive } from '../lib/ovs/daemon.js';
import { waitFor } from './ovs-helpers.js';

const execFileAsync = promisify(execFile);

/** Runs ovn-nbctl or ovn-sbctl against the central (the reference tools as judges). */
async function ctl(central: OvnCentral, tool: 'ovn-nbctl' | 'ovn-sbctl', ...args: string[]): Promise<string> {
  const db = tool === 'ovn-nbctl' ? central.nbTarget : central.sbTarget;
  const { stdout } = await execFileAsync(tool, [`--db=${db}`, '--timeout=5', ...args], { env: central.env });
  return stdout;
}

t.test('start runs both databases and northd, which translates NB into SB', async (t) => {
  const central = await OvnCentral.start();
  t.teardown(() => central.close());
  t.ok(central.pid('nb-ovsdb'), 'NB ovsdb-server runs');
  t.ok(central.pid('sb-ovsdb'), 'SB ovsdb-server runs');
  t.ok(central.pid('ovn-northd'), 'ovn-northd runs');
  await ctl(central, 'ovn-nbctl', 'ls-add', 'sw0');
  // Returns only once northd has caught up with the new nb_cfg.
  await ctl(central, 'ovn-nbctl', '--wait=sb', 'sync');
  const datapaths = await ctl(central, 'ovn-sbctl', '--bare', '--columns=external_ids', 'list', 'Datapath_Binding');
  t.match(datapaths, 'name=sw0');
});

t.test('the global rows exist, as after ovn-nbctl init and ovn-sbctl init', async (t) => {
  const central = await OvnCentral.start({ northd: false });
  t.teardown(() => central.close());
  t.equal((await ctl(central, 'ovn-nbctl', 'get', 'NB_Global', '.', 'nb_cfg')).trim(), '0');
  t.equal((await ctl(central, 'ovn-sbctl', 'get', 'SB_Global', '.', 'nb_cfg')).trim(), '0');
});

t.test('sockets and control sockets live in the private directory', async (t) => {
  const central = await OvnCentral.start({ northd: false });
  t.teardown(() => central.close());
  t.equal(central.nbSocket, join(central.runDir, 'ovnnb_db.sock'));
  t.equal(central.sbSocket, join(central.runDir, 'ovnsb_db.sock'));
  t.ok(existsSync(central.nbSocket) && existsSync(central.sbSocket));
  const target = central.controlSocket('sb-ovsdb');
  t.ok(target !== undefined);
  const { stdout } = await execFileAsync('ovs-appctl', ['-t', target as string, 'ovsdb-server/list-dbs']);
  t.match(stdout, /^OVN_Southbound$/m);
});

t.test('without northd, sync --wait=sb does not complete until northd starts', async (t) => {
  const central = await OvnCentral.start({ northd: false });
  t.teardown(() => central.close());
  t.equal(central.pid('ovn-northd'), undefined);
  await t.rejects(execFileAsync('ovn-nbctl', [`--db=${central.nbTarget}`, '--timeout=1', '--wait=sb', 'sync']));
  await central.startNorthd();
  t.ok(central.pid('ovn-northd'));
  await ctl(central, 'ovn-nbctl', '--wait=sb', 'sync');
});

t.test('stopNorthd stops only northd; startNorthd brings it back', async (t) => {
  const central = await OvnCentral.start();
  t.teardown(() => central.close());
  const pid = central.pid('ovn-northd') as number;
  await central.stopNorthd();
  t.notOk(isAlive(pid), 'northd is gone');
  t.equal(central.pid('ovn-northd'), undefined);
  t.ok(central.pid('nb-ovsdb') && central.pid('sb-ovsdb'), 'the databases still run');
  await central.startNorthd();
  await ctl(central, 'ovn-nbctl', '--wait=sb', 'sync');
});

t.test('close stops the daemons and removes the directory, and can run twice', async (t) => {
  const central = await OvnCentral.start();
  const pids = (['nb-ovsdb', 'sb-ovsdb', 'ovn-northd'] as const).map((daemon) => central.pid(daemon) as number);
  await central.close();
  await central.close();
  t.same(
    pids.map((pid) => isAlive(pid)),
    [false, false, false],
  );
  t.notOk(existsSync(central.runDir));
});

t.test('after close, starting a daemon is refused', async (t) => {
  const central = await OvnCentral.start({ northd: false });
  await central.close();
  await t.rejects(central.startNorthd(), {
    code: 'ERR_CLOSED',
    operation: 'OvnCentral.startNorthd',
    message: 'OvnCentral is closed',
  });
});

t.test('SIGTERM of the process stops the daemons and removes the directory', async (t) => {
  const script = `
    const { OvnCentral } = require('./lib/ovn/central.ts');
    OvnCentral.start().then((c) => {
      console.log(JSON.stringify({ dir: c.runDir, pids: ['nb-ovsdb', 'sb-ovsdb', 'ovn-northd'].map((d) => c.pid(d)) }));
    });`;
  const child = spawn(process.execPath, ['--import=tsx', '-e', script], {
    cwd: join(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) => child.stdout.once('data', (data: Buffer) => resolve(`${data}`)));
  const { dir, pids } = JSON.parse(line) as { dir: string; pids: number[] };
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  await waitFor('daemons gone', () => pids.every((pid) => !isAlive(pid)));
  t.notOk(existsSync(dir));
});

t.test('bad options are refused before anything starts', async (t) => {
  await t.rejects(OvnCentral.start({ nortd: false } as never), {
    code: 'EINVAL',
    operation: 'OvnCentral.start',
    message: 'Unknown option "nortd" for OvnCentral.start (did you mean "northd"?)',
  });
  await t.rejects(OvnCentral.start({ northd: 'no' } as never), {
    code: 'EINVAL',
    message: 'northd must be true or false, got "no"',
  });
  await t.rejects(OvnCentral.start({ timeoutMs: 0 }), {
    code: 'EINVAL',
    message: 'timeoutMs must be a positive number of milliseconds, got 0',
  });
  await t.rejects(OvnCentral.start({ dirPrefix: `/tmp/${'x'.repeat(90)}` }), {
    code: 'EINVAL',
    message:
      /^dirPrefix \(with "XXXXXX\/ovnnb_db.sock"\) is 115 bytes long but a unix socket path can have at most 107/,
  });
});
