#!/usr/bin/env bash
# npm run test:asan [-- test/FILE.test.ts ...]: the native test files (or those given) on an
# addon built with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/, CMake option
# DPDK_TS_SANITIZE), then the leak check (tools/asan/leak-check.ts). Fails on any test failure
# and on any sanitizer report, from any process the tests start.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/progress.sh
source tools/progress.sh

addon=build-asan/Release/dpdk_ts.node
if [ ! -f "$addon" ] || [ -n "$(find native CMakeLists.txt -newer "$addon" 2>/dev/null | head -1)" ]; then
  run_step "building the sanitizer addon (build-asan)" \
    npx cmake-js compile --out build-asan --CDDPDK_TS_SANITIZE=ON
fi

if [ $# -gt 0 ]; then
  files=("$@")
else
  files=(test/native.test.ts test/eal.test.ts test/mempool.test.ts test/batch.test.ts test/port.test.ts
    test/vdev.test.ts test/vdev-nohuge.test.ts test/vdev-server.test.ts test/engine.test.ts
    test/engine-backpressure.test.ts test/engine-filter.test.ts test/lcore.test.ts test/capture.test.ts
    test/telemetry.test.ts test/exit.test.ts test/interop-testpmd.test.ts test/interop-testpmd-nohuge.test.ts)
fi

logs=$(mktemp -d /tmp/dts-asan-XXXXXX)
trap 'rm -rf "$logs"' EXIT
# The SDK loads this addon instead of build/'s (lib/native.ts); every process the tests start
# inherits it, and the preloaded ASan runtime, which must come first because node is not
# instrumented. Reports go to files (log_path, one per process that reports), so that none is
# lost in a child's swallowed stderr.
export DPDK_TS_ADDON="$PWD/$addon"
LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
export LD_PRELOAD
# detect_leaks=0: node, DPDK's EAL and dpdk-testpmd keep memory until exit by design, so
# LeakSanitizer's exit report for a test process lists what no close() owns; the leak check
# below compares loops instead. allow_user_segv_handler=1: V8 handles SIGSEGV for WebAssembly
# bounds checks. Sanitizer reports halt the process at the first one.
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=0:allow_user_segv_handler=1:halt_on_error=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"

failed=()
for file in "${files[@]}"; do
  start=$SECONDS
  # DPDK_TS_TEST_LOCK: a lock file that each test file runs under, where tests share a machine.
  if flock "${DPDK_TS_TEST_LOCK:-/dev/null}" node_modules/.bin/tap --reporter=terse "$file"; then
    status=ok
  else
    status=FAILED
    failed+=("$file")
  fi
  echo "test:asan: $file $status ($((SECONDS - start)) s)"
done

reports=("$logs"/*)
if [ -e "${reports[0]}" ]; then
  for report in "${reports[@]}"; do
    echo "==== $(basename "$report")"
    cat "$report"
  done
  echo "test:asan: ${#reports[@]} sanitizer report(s) above" >&2
  exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "test:asan: failed: ${failed[*]}" >&2
  exit 1
fi
echo "test:asan: ${#files[@]} files, no sanitizer report"
[ $# -gt 0 ] || flock "${DPDK_TS_TEST_LOCK:-/dev/null}" node --import tsx tools/asan/leak-check.ts
