#!/usr/bin/env bash
# make bench-init: run as an init, side by side with tini, tini-static and no init, in one run.
#   1. wall time of `X -- true` (median of many runs, hyperfine, no shell in between)
#   2. peak RSS (VmHWM) of the init while it supervises a sleeping child
#   3. size of each static executable in build/bin (and of tini for comparison)
# Needs: build/bin (make), hyperfine, tini, python3. Ends only the processes it starts, by pid.
# The measurements go to a raw data file (BENCH_RAW, default build/bench/init.json) and the
# table is rendered from it alone: `test/bench/init.sh --render FILE` prints it again, and
# `make lint` (test/bench/all.sh --check) compares it with docs/benchmarks/results/init.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

render() { # RAW
  python3 - "$1" <<'PY'
import json, statistics, sys
raw = json.load(open(sys.argv[1]))
def median_us(name):
    medians = [r[name] for r in raw["round_medians"] if name in r]
    return "%.0f" % (statistics.median(medians) * 1e6) if medians else "-"
t = {name: median_us(name) for name in ("true (no init)", "run -- true", "tini -s -- true", "tini-static -s -- true")}
print()
print("run as an init vs tini, tini-static and no init (%s cores, load %s; %s runs of each command in %s rounds)"
      % (raw["cores"], raw["load"], raw["runs"], raw["rounds"]))
print("%-42s %12s" % ("measure", "value"))
print("%-42s %12s" % ("-" * 42, "-" * 12))
for name in t:
    print("%-42s %9s us" % ("wall time: %s, median" % name, t[name]))
print("%-42s %9s us" % ("  run minus tini", int(t["run -- true"]) - int(t["tini -s -- true"])))
if t["tini-static -s -- true"] != "-":
    print("%-42s %9s us" % ("  run minus tini-static", int(t["run -- true"]) - int(t["tini-static -s -- true"])))
for label, value in raw["rss_kib"]:
    print("%-42s %8s KiB" % ("peak RSS: " + label, value))
for label, value in raw["size_kib"]:
    print("%-42s %8s KiB" % ("size: " + label, value))
PY
}
if [ "${1:-}" = --render ]; then
  render "$2"
  exit
fi
raw=${BENCH_RAW:-build/bench/init.json}
mkdir -p "$(dirname "$raw")"
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

sizes=$tmp/sizes
: >"$sizes"
for f in "$BIN"/*; do echo "$f $(size_kib "$f")" >>"$sizes"; done
echo "tini (dynamic) $(size_kib "$(command -v tini)")" >>"$sizes"
if command -v tini-static >/dev/null; then
  echo "tini-static $(size_kib "$(command -v tini-static)")" >>"$sizes"
fi
rss=("run supervising sleep=$rss_run" "tini (dynamic)=$rss_tini")
command -v tini-static >/dev/null && rss+=("tini-static=$rss_tini_static")
rss+=("sh trap wrapper=$rss_sh")
python3 - "$tmp" "$raw" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$RUNS" "$ROUNDS" "$sizes" "${rss[@]}" <<'PY'
import glob, json, sys
tmp, raw, cores, load, runs, rounds, sizes, *rss = sys.argv[1:]
round_medians = [{r["command"]: r["median"] for r in json.load(open(f))["results"]}
                 for f in sorted(glob.glob(tmp + "/time-*.json"))]
json.dump(dict(cores=int(cores), load=load, runs=int(runs), rounds=int(rounds), round_medians=round_medians,
               rss_kib=[[label, int(v) if v.isdigit() else v] for label, _, v in (r.rpartition("=") for r in rss)],
               size_kib=[[label, int(v)] for label, _, v in (l.rstrip("\n").rpartition(" ") for l in open(sizes))]),
          open(raw, "w"), indent=1)
PY
render "$raw"
