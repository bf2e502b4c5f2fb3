// The leak check of `npm run test:asan`: tools/asan/leak-loop.ts (every native object
// created, used and closed in a loop) run twice on the sanitizer build, with few and with
// many iterations. What a loop iteration leaks shows as growth:
// - malloc/new: LeakSanitizer's report at each run's exit, compared stack by stack. Node,
//   V8 and DPDK's EAL keep some memory until exit by design, and LeakSanitizer does not
//   scan the V8 heap nor DPDK's hugepage memory, so a run's report is not empty; but what
//   they keep does not depend on the iteration count, and a leak per iteration does.
// - DPDK's own memory (rte_malloc, memzones, mempools, ports), which LeakSanitizer does not
//   see: counted by DPDK's telemetry after the first and after the last iteration.
//
//   DPDK_TS_ADDON=build-asan/Release/dpdk_ts.node LD_PRELOAD=... node --import tsx tools/asan/leak-check.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const few = 2;
const many = Number(process.env.LEAK_CHECK_ITERATIONS ?? 12);
const loop = join(__dirname, 'leak-loop.ts');

interface Run {
  /** Objects leaked, by allocation stack (function names only), in stacks our code is in. */
  leaks: Map<string, number>;
  /** LeakSanitizer's summary line. */
  summary: string;
  /** DPDK's holdings after the first and the last iteration. */
  dpdk: { first: Record<string, number>; last: Record<string, number>; newMemzones: string[] };
}

/** The function names of a report's stack frames ("#3 0x7f.. in dpdkts::Port::Close() (/x+0x1)"). */
function frames(block: string): string[] {
  return [...block.matchAll(/^\s+#\d+ 0x[0-9a-f]+ in (.+?)(?: \/\S+| \(\S+\))?$/gm)].map((m) => m[1]);
}

function runLoop(iterations: number): Run {
  const logs = mkdtempSync(join(tmpdir(), 'dts-lsan-'));
  try {
    const stdout = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', loop, String(iterations)], {
      encoding: 'utf8',
      env: {
        ...process.env,
        ASAN_OPTIONS: `log_path=${logs}/lsan:detect_leaks=1:allow_user_segv_handler=1:exitcode=0`,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const dpdk = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Run['dpdk'];
    const text = readdirSync(logs)
      .map((file) => readFileSync(join(logs, file), 'utf8'))
      .join('\n');
    if (/ERROR: AddressSanitizer|runtime error:/.test(text)) throw new Error(`sanitizer report:\n${text}`);
    const leaks = new Map<string, number>();
    for (const block of text.split(/\n(?=(?:Direct|Indirect) leak of)/)) {
      const head = /^(?:Direct|Indirect) leak of \d+ byte\(s\) in (\d+) object\(s\)/.exec(block);
      if (head === null || !/dpdk_ts\.node|librte_/.test(block)) continue;
      const key = frames(block).join(' < ');
      leaks.set(key, (leaks.get(key) ?? 0) + Number(head[1]));
    }
    const summary = /SUMMARY: AddressSanitizer: .*/.exec(text)?.[0] ?? 'no leak reported';
    return { leaks, summary, dpdk };
  } finally {
    rmSync(logs, { recursive: true, force: true });
  }
}

const small = runLoop(few);
const large = runLoop(many);
const problems: string[] = [];
for (const [stack, count] of large.leaks) {
  const before = small.leaks.get(stack) ?? 0;
  if (count > before)
    problems.push(`${count - before} more leaked object(s) after ${many - few} more iterations, allocated at ${stack}`);
}
for (const [key, value] of Object.entries(large.dpdk.last)) {
  const first = large.dpdk.first[key];
  if (value !== first) problems.push(`DPDK ${key}: ${first} after 1 iteration, ${value} after ${many}`);
}
if (large.dpdk.last.memzones !== large.dpdk.first.memzones) {
  problems.push(`the last memzones: ${large.dpdk.newMemzones.join(', ')}`);
}
console.log(`leak check: ${few} iterations: ${small.summary}`);
console.log(`leak check: ${many} iterations: ${large.summary}`);
console.log(
  `leak check: DPDK after 1 and ${many} iterations: ${JSON.stringify(large.dpdk.first)} ${JSON.stringify(large.dpdk.last)}`,
);
if (problems.length > 0) {
  for (const problem of problems) console.error(`leak check: ${problem}`);
  process.exit(1);
}
console.log('leak check: no growth');
