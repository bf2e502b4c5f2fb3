// Unit tests of EAL command-line handling (lib/eal-args.ts): no EAL init, the machine's
// facts (CPUs, NUMA nodes, free hugepage memory) given to prepareEalArgs.
import t from 'tap';
import { formatCpuList } from '../lib/host.js';
import {
  onlineCpus,
  parseCorelist,
  parseCoremask,
  prepareEalArgs,
  splitCommandLine,
  type MachineFacts,
} from '../lib/index.js';

const defaults = ['--in-memory', '--single-file-segments'];
/** A 2-CPU VM with one NUMA node and 1 GiB of free hugepages. */
const smallVm: MachineFacts = { cpus: [0, 1], numaNodes: [0], freeHugepageMb: 1024 };

t.test('splitCommandLine splits at the first --', async (t) => {
  t.same(splitCommandLine(['-l', '0-1', '--', '-p', '0x3', '--', 'x']), {
    eal: ['-l', '0-1'],
    app: ['-p', '0x3', '--', 'x'],
  });
});

t.test('splitCommandLine without -- gives every argument to EAL', async (t) => {
  t.same(splitCommandLine(['-l', '0-1', '--no-pci']), { eal: ['-l', '0-1', '--no-pci'], app: [] });
});

t.test('parseCoremask reads hexadecimal masks with or without 0x', async (t) => {
  t.same(parseCoremask('0xE0'), [5, 6, 7]);
  t.same(parseCoremask('3'), [0, 1]);
  t.same(parseCoremask('0x0'), []);
});

t.test('parseCoremask refuses what is not a mask', async (t) => {
  for (const bad of ['', '0x', 'zz', '0xg1', '-1', '1,2']) t.equal(parseCoremask(bad), undefined, JSON.stringify(bad));
});

t.test('parseCorelist reads CPU lists and ranges', async (t) => {
  t.same(parseCorelist('0-2,5'), [0, 1, 2, 5]);
  t.same(parseCorelist('4'), [4]);
});

// Found by test/fuzz-args.test.ts: '-l 0-169220804' made prepareEalArgs build a 169-million-entry
// list (a fatal V8 "invalid size" crash), and a long -c mask took quadratic BigInt time.
t.test('parseCorelist and parseCoremask refuse CPUs above 8191 instead of filling memory', async (t) => {
  t.equal(parseCorelist('0-169220804'), undefined);
  t.equal(parseCorelist('8192'), undefined);
  t.equal(parseCorelist('8190-8191')?.length, 2);
  t.equal(parseCoremask(`0x1${'0'.repeat(2048)}`), undefined);
  t.same(parseCoremask(`0x8${'0'.repeat(2047)}`), [8191]);
  t.same(parseCoremask(`0x${'0'.repeat(5000)}3`), [0, 1]);
  t.same(prepareEalArgs(['-l', '0-169220804'], { cpus: [0], numaNodes: [0], freeHugepageMb: 0 }).args.slice(0, 2), [
    '-l',
    '0-169220804',
  ]);
});

t.test("formatCpuList folds ranges; onlineCpus lists the machine's CPUs", async (t) => {
  t.equal(formatCpuList([5, 0, 2, 1]), '0-2,5');
  t.equal(formatCpuList([3]), '3');
  t.equal(formatCpuList([]), '');
  const online = onlineCpus();
  t.ok(online.length > 0 && online.every((cpu) => Number.isInteger(cpu) && cpu >= 0), 'CPU ids');
  t.same(parseCorelist(formatCpuList(online)), online, 'the two formats agree');
});

t.test('parseCorelist refuses what is not a list', async (t) => {
  for (const bad of ['', '1-', 'a', '1,,2', '0x3', '1-2-3'])
    t.equal(parseCorelist(bad), undefined, JSON.stringify(bad));
});

t.test('-c 0xE0 on 2 CPUs runs the lcores as an --lcores map, main lcore on the first CPU', async (t) => {
  const prepared = prepareEalArgs(['-c', '0xE0', '-n', '4'], smallVm);
  t.same(prepared.args, ['--lcores', '5@0,6@1,7@1', '-n', '4', ...defaults]);
  t.same(prepared.notes, [
    'EAL lcores 5,6,7 (-c 0xE0) name CPUs this machine lacks (it has 0,1): running them as --lcores 5@0,6@1,7@1',
  ]);
});

t.test('-l 4-6 on 2 CPUs is folded the same way, with --main-lcore honoured', async (t) => {
  const prepared = prepareEalArgs(['-l4-6', '--main-lcore', '6'], smallVm);
  t.same(prepared.args, ['--lcores', '4@1,5@1,6@0', '--main-lcore', '6', ...defaults]);
  t.equal(prepared.notes.length, 1);
});

t.test('lcores on CPUs the machine has are left as given', async (t) => {
  const prepared = prepareEalArgs(['-l', '0-1'], smallVm);
  t.same(prepared.args, ['-l', '0-1', ...defaults]);
  t.same(prepared.notes, []);
});

t.test('--socket-mem naming a missing NUMA socket is left out with a note', async (t) => {
  const prepared = prepareEalArgs(['--socket-mem', '512,512', '--no-pci'], smallVm);
  t.same(prepared.args, ['--no-pci', ...defaults]);
  t.same(prepared.notes, [
    '--socket-mem 512,512 names NUMA socket(s) 1 but this machine has 0: left out, EAL allocates memory as needed',
  ]);
});

t.test('--socket-mem asking for more than the free hugepages is left out with a note', async (t) => {
  const prepared = prepareEalArgs(['--socket-mem=2048'], smallVm);
  t.same(prepared.args, defaults);
  t.same(prepared.notes, [
    '--socket-mem 2048 asks for 2048 MiB but only 1024 MiB of hugepages are free: left out, EAL allocates memory as needed',
  ]);
});

t.test('--socket-mem that fits is kept', async (t) => {
  const prepared = prepareEalArgs(['--socket-mem', '512,0'], smallVm);
  t.same(prepared.args, ['--socket-mem', '512,0', ...defaults]);
  t.same(prepared.notes, []);
});

t.test('the SDK defaults are added and reported in added', async (t) => {
  const prepared = prepareEalArgs(['--no-pci'], smallVm);
  t.same(prepared.args, ['--no-pci', ...defaults]);
  t.same(prepared.added, defaults);
});

t.test('defaults already given are not added again', async (t) => {
  const prepared = prepareEalArgs(['--in-memory'], smallVm);
  t.same(prepared.args, ['--in-memory', '--single-file-segments']);
  t.same(prepared.added, ['--single-file-segments']);
});

t.test('--no-huge gets neither --in-memory nor --single-file-segments', async (t) => {
  t.same(prepareEalArgs(['--no-huge'], smallVm), { args: ['--no-huge'], notes: [], added: [] });
});

t.test('--proc-type gets neither --in-memory nor --single-file-segments', async (t) => {
  t.same(prepareEalArgs(['--proc-type=secondary'], smallVm).added, []);
});

t.test('telemetry stays on, as in DPDK; --no-telemetry turns it off', async (t) => {
  t.same(prepareEalArgs([], smallVm).args, ['--in-memory', '--single-file-segments']);
  t.same(prepareEalArgs(['--no-telemetry'], smallVm).args, ['--no-telemetry', '--in-memory', '--single-file-segments']);
});

t.test('the arguments given are not modified', async (t) => {
  const given = ['-c', '0xE0'];
  prepareEalArgs(given, smallVm);
  t.same(given, ['-c', '0xE0']);
});
