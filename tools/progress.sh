# Sourced by tools/setup.sh: run_step shows a long step's progress (package installs take
# minutes) instead of silence.
#
#   run_step "installing clang-format" apt-get install -y clang-format
#
# prints "dpdk-ts setup: STEP ...", then while the command runs, its elapsed seconds and
# the last line it printed: on a terminal as one status line redrawn every 2 s, elsewhere
# (CI's log, a pipe) as a line every PROGRESS_HEARTBEAT_S seconds (default 15), and at the
# end how long it took. The command's output goes to a temporary log, printed (its end)
# when the command fails; run_step returns the command's status.
run_step() {
  local step=$1
  shift
  local tty=0
  [ -t 1 ] && tty=1
  local beat=${PROGRESS_HEARTBEAT_S:-$([ $tty = 1 ] && echo 2 || echo 15)}
  local log
  log=$(mktemp)
  echo "dpdk-ts setup: $step ..."
  # Microseconds since the epoch (bash 5's EPOCHREALTIME): SECONDS counts whole seconds from
  # the shell's start, which makes elapsed times up to a second off.
  local start=${EPOCHREALTIME//[!0-9]/}
  "$@" >"$log" 2>&1 &
  local pid=$!
  local next=$((start + beat * 1000000)) now last status elapsed
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    now=${EPOCHREALTIME//[!0-9]/}
    if [ "$now" -ge "$next" ]; then
      next=$((next + beat * 1000000))
      # apt redraws its progress with carriage returns: they end lines too.
      last=$(tail -c 400 "$log" | tr '\r' '\n' | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-100 || true)
      elapsed=$(((now - start) / 1000000))
      status="dpdk-ts setup: $step: $elapsed s${last:+: $last}"
      if [ $tty = 1 ]; then
        printf '\r%s\033[K' "${status:0:$(($(tput cols 2>/dev/null || echo 80) - 1))}"
      else
        echo "$status"
      fi
    fi
  done
  local rc=0
  wait "$pid" || rc=$?
  if [ $tty = 1 ]; then printf '\r\033[K'; fi
  elapsed=$(((${EPOCHREALTIME//[!0-9]/} - start) / 100000))
  elapsed="$((elapsed / 10)).$((elapsed % 10))"
  if [ $rc = 0 ]; then
    echo "dpdk-ts setup: $step: done in $elapsed s"
  else
    echo "dpdk-ts setup: $step: failed after $elapsed s (exit $rc); its output ended with:" >&2
    tail -n 20 "$log" >&2
  fi
  rm -f "$log"
  return $rc
}
