/**
 * EAL and hugepage memory: a request larger than what is free is refused before DPDK starts
 * (EAL cannot be initialized again after it fails past its argument checks), and EAL's own
 * refusals for want of memory say what to reserve.
 */
import { DpdkError } from './errors.js';
import { hugepagePools, hugepages } from './host.js';

/**
 * What EAL arguments ask to preallocate on hugepages: MiB and the option that asks, as the
 * caller wrote it (`memoryMb` or `-m`, `socketMem` or `--socket-mem`), or undefined when they ask for nothing (EAL then takes memory as it
 * goes) or use no hugepages, or name a hugetlbfs mount of their own.
 */
function requestedHugepageMb(args: readonly string[], typed: boolean): { mb: number; option: string } | undefined {
  let requested: { mb: number; option: string } | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--no-huge' || arg === '--huge-dir' || arg.startsWith('--huge-dir=')) return undefined;
    const memory = /^-m(\d+)?$/.exec(arg);
    const socketMem = /^--socket-mem(?:=(.*))?$/.exec(arg);
    if (memory !== null) {
      const value = memory[1] ?? args[++i] ?? '';
      if (/^\d+$/.test(value)) requested = { mb: Number(value), option: typed ? 'memoryMb' : '-m' };
    } else if (socketMem !== null) {
      const value = socketMem[1] ?? args[++i] ?? '';
      if (/^\d+(,\d+)*$/.test(value)) {
        const mb = value.split(',').reduce((sum, part) => sum + Number(part), 0);
        requested = { mb, option: typed ? 'socketMem' : '--socket-mem' };
      }
    }
  }
  return requested;
}

/**
 * How to get `neededMb` of hugepages when `freeMb` are free: what is free of each size, and the
 * `echo` that reserves enough pages of the default size (or of the one size there is). Without
 * `neededMb`, the file to write the number of pages to.
 */
function reserveAdvice(neededMb?: number, freeMb = 0): string {
  const pools = hugepagePools();
  const { pageKb } = hugepages();
  const pool = pools.find((p) => p.pageKb === pageKb) ?? pools[0];
  if (pool === undefined) return 'this machine has no hugepages: reserve some and mount hugetlbfs';
  const sizes = pools.map((p) => `${(p.free * p.pageKb) / 1024} MB of ${p.pageKb} kB`).join(', ');
  if (neededMb === undefined)
    return `${sizes} hugepages are free; reserve more by writing a page count to ${pool.path}`;
  const reserve = pool.total + Math.ceil(Math.max(0, neededMb - freeMb) / (pool.pageKb / 1024));
  return `${sizes} hugepages are free; reserve more with echo ${reserve} > ${pool.path}`;
}

/**
 * Refuses, before DPDK starts, EAL arguments that ask to preallocate more hugepage memory than
 * is free: EAL would fail after it has set up threads and state that it cannot undo, and
 * could not be initialized again in this process.
 */
export function checkHugepageMemory(op: string, args: readonly string[], typed: boolean): void {
  const requested = requestedHugepageMb(args, typed);
  if (requested === undefined) return;
  const freeMb = hugepagePools().reduce((sum, p) => sum + (p.free * p.pageKb) / 1024, 0);
  if (requested.mb <= freeMb) return;
  const what = requested.option;
  throw new DpdkError(
    `${what} asks for ${requested.mb} MB of hugepages but ${reserveAdvice(requested.mb, freeMb)}, ` +
      `or lower ${what}, or ${typed ? 'pass noHuge: true' : 'pass --no-huge'}`,
    { code: 'ENOMEM', operation: op },
  );
}

/**
 * Adds what to do to EAL's refusals for want of memory. Others got hugepages between the check
 * above and EAL's allocation, or EAL needed more than it was asked for.
 */
export function withMemoryAdvice(error: unknown, typed: boolean): never {
  if (
    error instanceof DpdkError &&
    error.code !== 'ERR_EAL_INIT_FAILED' &&
    /hugepage|huge page|Cannot init memory/i.test(error.message)
  ) {
    const asked = /Requested: (\d+)MB, available: (\d+)MB/.exec(error.message);
    const advice =
      asked === null
        ? reserveAdvice()
        : `${reserveAdvice(Number(asked[1]), Number(asked[2]))}, or lower ${typed ? 'memoryMb' : '-m'}`;
    throw new DpdkError(`${error.message}. ${advice}, or ${typed ? 'pass noHuge: true' : 'pass --no-huge'}`, {
      code: error.code,
      errno: error.errno,
      operation: error.operation,
      cause: error,
    });
  }
  throw error;
}

/** What EAL was given for memory, kept by {@link rememberEalMemory} for {@link withPoolMemoryAdvice}. */
let ealMemory: { noHuge: boolean; mb: number | undefined; option: string } | undefined;

/** Keeps what the EAL arguments `args` (that EAL accepted) say about memory. */
export function rememberEalMemory(args: readonly string[], typed: boolean): void {
  let mb: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const memory = /^-m(\d+)?$/.exec(args[i]);
    if (memory !== null) mb = Number(memory[1] ?? args[++i]);
  }
  ealMemory = { noHuge: args.includes('--no-huge'), mb, option: typed ? 'memoryMb' : '-m' };
}

/**
 * Adds what to reserve to a mempool creation refused for want of memory: `size` mbufs of
 * `dataRoomSize` bytes need about that many MB (each mbuf also carries its 128-byte header and
 * DPDK's per-object header). Without hugepages, the `-m` EAL was given is all it has.
 */
export function withPoolMemoryAdvice(error: unknown, size: number, dataRoomSize: number): never {
  if (!(error instanceof DpdkError) || error.code !== 'ENOMEM' || ealMemory === undefined) throw error;
  const neededMb = Math.ceil((size * (dataRoomSize + 128 + 64)) / 2 ** 20);
  const { noHuge, mb, option } = ealMemory;
  const advice = noHuge
    ? `EAL runs without hugepages on the ${mb ?? 64} MB ${option} gave it: raise ${option} ` +
      `(to at least ${neededMb + (mb ?? 64)} MB to be safe), or create a smaller pool`
    : `${reserveAdvice(neededMb)}, or create a smaller pool`;
  throw new DpdkError(`${error.message}. The pool needs about ${neededMb} MB; ${advice}`, {
    code: error.code,
    errno: error.errno,
    operation: error.operation,
    object: error.object,
    cause: error,
  });
}
