#!/usr/bin/env bash
# make bench-init: run as an init, side by side with tini, tini-static and no init, in one run.
#   1. wall time of `X -- true` (median of many runs, hyperfine, no shell in between)
#   2. peak RSS (VmHWM) of the init while it supervises a sleeping child
#   3. size of each static executable in build/bin (and of tini for comparison)
# Needs: build/bin (make), hyperfine, tini, python3. Ends only the processes it starts, by pid.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=build/bin
RUNS=${BENCH_RUNS:-500}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

for tool in hyperfine tini tini-static python3; do
  command -v "$tool" >/dev/null || { echo "bench-init: $tool is missing (make deps installs it)" >&2; exit 1; }
done
[ -x "$BIN/run" ] || { echo "bench-init: $BIN/run is missing: run make first" >&2; exit 1; }

# -- 1. wall time --------------------------------------------------------------------------
# tini -s: a child subreaper like run when not PID 1, so both do the same work. The machine is
# shared, so the commands are timed in ROUNDS interleaved rounds and the median of the rounds'
# medians is shown: a burst of load then hits every command alike.
ROUNDS=${BENCH_ROUNDS:-3}
names=('true (no init)' 'run -- true' 'tini -s -- true' 'tini-static -s -- true')
commands=('true' "$BIN/run -- true" 'tini -s -- true' 'tini-static -s -- true')
for round in $(seq "$ROUNDS"); do
  args=()
  for i in "${!names[@]}"; do
    command -v "${commands[$i]%% *}" >/dev/null || continue
    args+=(--command-name "${names[$i]}" "${commands[$i]}")
  done
  hyperfine --shell=none --warmup 20 --runs "$((RUNS / ROUNDS))" --style none \
    --export-json "$tmp/time-$round.json" "${args[@]}" >/dev/null 2>&1
done

median_us() {  # NAME -> median over rounds of the median wall time, in microseconds
  python3 -c 'import glob, json, statistics, sys
medians = [r["median"] for f in glob.glob(sys.argv[1] + "/time-*.json")
           for r in json.load(open(f))["results"] if r["command"] == sys.argv[2]]
print("%.0f" % (statistics.median(medians) * 1e6) if medians else "-")' "$tmp" "$1"
}

# -- 2. peak RSS while supervising ------------------------------------------------------------
# Starts WRAPPER... sleep 300 in the background, waits until its child `sleep` exists, reads
# the wrapper's VmHWM, then ends it by pid.
peak_rss_kib() {
  "$@" &
  local pid=$! child="" i
  pids+=("$pid")
  for i in $(seq 500); do
    child=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
    [ -n "$child" ] && [ "$(readlink "/proc/${child%% *}/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ] && break
    sleep 0.01
  done
  [ -n "$child" ] || { echo "bench-init: $* started no child" >&2; exit 1; }
  awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"
  kill -KILL "$pid" ${child} 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
rss_run=$(peak_rss_kib "$BIN/run" -- sleep 300)
rss_tini=$(peak_rss_kib tini -s -- sleep 300)
rss_tini_static=$(peak_rss_kib tini-static -s -- sleep 300 2>/dev/null || echo "-")
# The usual hand-written wrapper: forward TERM, wait for the child.
rss_sh=$(peak_rss_kib sh -c 'trap "kill -TERM \$child" TERM INT; sleep 300 & child=$!; wait $child')

# -- 3. sizes -----------------------------------------------------------------------------------
size_kib() { echo $(( $(stat -c %s "$1") / 1024 )); }

t_true=$(median_us 'true (no init)')
t_run=$(median_us 'run -- true')
t_tini=$(median_us 'tini -s -- true')
t_tini_static=$(median_us 'tini-static -s -- true')

echo
echo "run as an init vs tini, tini-static and no init ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); $RUNS runs of each command in $ROUNDS rounds)"
printf '%-42s %12s\n' "measure" "value"
printf '%-42s %12s\n' "------------------------------------------" "------------"
printf '%-42s %9s us\n' "wall time: true (no init), median" "$t_true"
printf '%-42s %9s us\n' "wall time: run -- true, median" "$t_run"
printf '%-42s %9s us\n' "wall time: tini -s -- true, median" "$t_tini"
printf '%-42s %9s us\n' "wall time: tini-static -s -- true, median" "$t_tini_static"
printf '%-42s %9s us\n' "  run minus tini" "$((t_run - t_tini))"
if [ "$t_tini_static" != "-" ]; then
  printf '%-42s %9s us\n' "  run minus tini-static" "$((t_run - t_tini_static))"
fi
printf '%-42s %8s KiB\n' "peak RSS: run supervising sleep" "$rss_run"
printf '%-42s %8s KiB\n' "peak RSS: tini (dynamic)" "$rss_tini"
if command -v tini-static >/dev/null; then
  printf '%-42s %8s KiB\n' "peak RSS: tini-static" "$rss_tini_static"
fi
printf '%-42s %8s KiB\n' "peak RSS: sh trap wrapper" "$rss_sh"
for f in "$BIN"/*; do
  printf '%-42s %8s KiB\n' "size: $f" "$(size_kib "$f")"
done
printf '%-42s %8s KiB\n' "size: tini (dynamic)" "$(size_kib "$(command -v tini)")"
if command -v tini-static >/dev/null; then
  printf '%-42s %8s KiB\n' "size: tini-static" "$(size_kib "$(command -v tini-static)")"
fi
