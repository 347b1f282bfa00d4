#!/usr/bin/env bash
# Build benchmark (`make bench-build`): on a Django + 14 dependencies app
# (test/fixtures/assemble_bench_django), measured side by side in one run, BENCH_SAMPLES times
# (default 3), the contenders' order alternating from one sample to the next:
#   1. pip (baseline): a new virtualenv + `pip install -r requirements.txt`, empty pip cache,
#      then `manage.py collectstatic` (timed apart: the second row adds it)
#   2. clean assemble: an empty $APP_ROOT, empty caches, no artifacts (uv; includes
#      collectstatic, facts, SBOM, permissions)
#   3. incremental assemble, nothing changed: build 2's save-artifacts stream unpacked as the S2I
#      tool unpacks it (timed, also shown alone), $APP_ROOT emptied as a new build container's
#      is, then assemble in the same $APP_ROOT with those artifacts. The row is refused unless
#      assemble reports the previous dependencies restored whole. Its own time is also shown
#      alone, and as a share of the clean build's (each sample's pair: the goal is <= 25%).
#   4. group-0 permission fix on six copies of build 2's site-packages: assemble's pass against
#      sclorg's fix-permissions (its four `find -P` commands with their `! -gid 0`, `! -perm`
#      filters), from the same starting modes, both when every entry is wrong and when none is
#
# Every sample goes to a raw data file (BENCH_RAW, default build/bench/build.json); the table is
# rendered from that file alone, so `test/bench/build.sh --render FILE` prints it again and
# `make lint` (test/bench/all.sh --check) compares it with docs/benchmarks/results/build.md.
# Needs network to PyPI, Debian's /usr/bin/python3 and uv from build/tools/bin
# (test/setup/40-assemble.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

render() { # RAW: the table, from the raw samples only
  python3 - "$1" <<'PY'
import json, statistics, sys
raw = json.load(open(sys.argv[1]))
s = raw["samples"]
def med(name): return statistics.median(s[name])
def rng(name): return "%.2f-%.2f" % (min(s[name]), max(s[name]))
def ratio(a, b): return "%.1fx" % (med(a) / med(b))
n = len(s["cold"])
print(raw["header"])
print("%d samples per row, the contenders' order alternating per sample; median and range (min-max) in seconds" % n)
print()
print("%-50s %8s %12s %8s %10s" % ("build", "median", "range", "vs pip", "vs pip+cs"))
rows = [
    ("pip: venv + pip install -r (empty cache)", "pip", "1.0x", ""),
    ("pip + manage.py collectstatic", "pip_cs", "", "1.0x"),
    ("assemble, clean (uv, empty caches)", "cold", ratio("pip", "cold"), ratio("pip_cs", "cold")),
    ("assemble, incremental, nothing changed", "incremental", ratio("pip", "incremental"), ratio("pip_cs", "incremental")),
]
for label, name, a, b in rows:
    print("%-50s %8.2f %12s %8s %10s" % (label, med(name), rng(name), a, b))
print("%-50s %8.2f %12s" % ("  of which save-artifacts | tar -x (%s)" % raw["artifacts_size"], med("unpack"), rng("unpack")))
print("%-50s %8.2f %12s" % ("  of which assemble alone", med("incremental_assemble"), rng("incremental_assemble")))
# The goal of issue 21 item 6: at most 25%, each sample's pair taken together.
pairs = [100 * i / c for i, c in zip(s["incremental_assemble"], s["cold"])]
print("%-50s %7.0f%% %12s" % ("assemble's time: unchanged rebuild / clean", statistics.median(pairs),
                              "%.0f-%.0f%%" % (min(pairs), max(pairs))))
print("%-50s %8.3f" % ("  of clean assemble: the SBOM (%d components)" % raw["sbom_components"], statistics.median(s["sbom"])))
print("(assemble also introspects Django, runs collectstatic, records facts and fixes permissions)")
print()
print("%-50s %8s %12s %8s" % ("permission fix on %d entries" % raw["perm_entries"], "median", "range", "speed-up"))
for label, name, base in (
    ("sclorg fix-permissions -P (every entry wrong)", "perm_find", None),
    ("assemble's pass (every entry wrong)", "perm_assemble", "perm_find"),
    ("sclorg fix-permissions -P (already right)", "perm_find_again", None),
    ("assemble's pass (already right)", "perm_assemble_again", "perm_find_again"),
):
    print("%-50s %8.2f %12s %8s" % (label, med(name), rng(name), ratio(base, name) if base else "1.0x"))
PY
}
if [ "${1:-}" = --render ]; then
  render "$2"
  exit
fi

app=$repo/test/fixtures/assemble_bench_django
python=/usr/bin/python3
samples=${BENCH_SAMPLES:-3}
raw=${BENCH_RAW:-$repo/build/bench/build.json}
mkdir -p "$(dirname "$raw")"
work=$(mktemp -d /tmp/python-s2i-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export PATH=$repo/build/tools/bin:$PATH PYTHON=$python APP_SERVER=gunicorn
unset UV_CACHE_DIR PIP_CACHE_DIR PIP_FIND_LINKS VIRTUAL_ENV

command -v uv >/dev/null || { echo "uv is missing from build/tools/bin: run test/setup/40-assemble.sh (make deps)" >&2; exit 1; }
[ -x "$repo/build/bin/assemble" ] || { echo "build/bin/assemble is missing: run make" >&2; exit 1; }

now() { date +%s.%N; }
: >"$work/samples"
timed() { # NAME COMMAND...: runs it, appends "NAME SECONDS" to the samples
  local name=$1; shift
  local start; start=$(now)
  "$@" >"$work/$name.log" 2>&1 || { echo "$name failed, log:"; tail -40 "$work/$name.log"; exit 1; }
  awk -v n="$name" -v a="$(now)" -v b="$start" 'BEGIN { printf "%s %.3f\n", n, a - b }' >>"$work/samples"
}

# Before each row: what earlier rows (and the script's own copies and removals) left to write
# back is written first, or a row pays for the disk traffic of the one before it.
settle() { sync; }

pip_row() { # the venv and the install in one row; collectstatic apart
  rm -rf "$work/pip" "$work/pip-cache" "$work/pip-src"
  settle
  timed pip sh -c "'$python' -m venv '$work/pip' && PIP_CACHE_DIR='$work/pip-cache' '$work/pip/bin/pip' install -r '$app/requirements.txt'"
  cp -a "$app" "$work/pip-src"
  timed collectstatic sh -c "cd '$work/pip-src' && '$work/pip/bin/python' manage.py collectstatic --noinput"
}

# One APP_ROOT path for both builds, as /opt/app-root is in every build container.
root=$work/app-root
assemble_builds() {
  rm -rf "$root" "$work/artifacts"
  settle
  timed cold env APP_ROOT="$root" S2I_ARTIFACTS_DIR="$work/none" "$repo/build/bin/assemble" "$app"
  sed -nE 's/.*sbom\.cdx\.json \(CycloneDX 1\.6, ([0-9]+) components, ([0-9]+) ms.*/sbom_components \1\nsbom \2/p' "$work/cold.log" \
    | awk '$1 == "sbom" { printf "sbom %.3f\n", $2 / 1000; next } { print }' >>"$work/samples"
  grep -q '^sbom ' "$work/samples" || { echo "the clean build wrote no SBOM"; exit 1; }
  # Kept for the permission rows.
  rm -rf "$work/site-copy"; cp -a "$root/lib" "$work/site-copy"
  # The next build of the same source, as S2I runs it: the save-artifacts stream unpacked into
  # the new container's artifacts directory, then assemble in the builder's empty APP_ROOT at
  # the same path.
  mkdir -p "$work/artifacts"
  settle
  timed unpack bash -o pipefail -c "APP_ROOT='$root' '$repo/build/bin/save-artifacts' | tar -x -C '$work/artifacts'"
  du -sh "$work/artifacts" | cut -f1 >"$work/artifacts-size"
  # A new build container's APP_ROOT is empty from the start: the old one is moved aside (a
  # rename) and removed after the row, so its removal is not written back during the row.
  rm -rf "$work/old-root"; mv "$root" "$work/old-root"
  timed incremental_assemble env APP_ROOT="$root" S2I_ARTIFACTS_DIR="$work/artifacts" "$repo/build/bin/assemble" "$app"
  rm -rf "$work/old-root"
  grep -q "Reused:       the previous build's installed dependencies, whole" "$work/incremental_assemble.log" || {
    echo "the incremental build did not restore the previous build's dependencies:"
    grep -E "Reused:|artifacts" "$work/incremental_assemble.log" | head -20; exit 1; }
}

# sclorg's fix-permissions DIR -P, as its Python image's assemble calls it on $APP_ROOT (run as
# root here, so without its -uid filter): its four find commands and their filters.
sclorg_fix() {
  find -P "$1" \! -gid 0 -exec chgrp 0 {} +
  find -P "$1" \! -perm -g+rw -exec chmod g+rw {} +
  find -P "$1" -perm /u+x -a \! -perm /g+x -exec chmod g+x {} +
  find -P "$1" -type d \! -perm /g+x -exec chmod g+x {} +
}
cargo build --quiet --release --locked --example fix-permissions -p s2i-assemble
fixer=$repo/target/release/examples/fix-permissions
tree=$work/perm
every_entry_wrong() { # another group and no group bits, on every entry
  chgrp -hR nogroup "$tree"; chmod -R g-rwx "$tree"; sync
}
perm_rows() { # FIRST SECOND: the pass named first runs first
  for who in "$@"; do
    every_entry_wrong
    case $who in
      find) timed perm_find sclorg_fix "$tree"; timed perm_find_again sclorg_fix "$tree" ;;
      assemble) timed perm_assemble "$fixer" "$tree"; timed perm_assemble_again "$fixer" "$tree" ;;
    esac
  done
}

echo "python-s2i build benchmark: $samples samples" >&2
for i in $(seq "$samples"); do
  if [ $((i % 2)) = 1 ]; then order="pip assemble"; else order="assemble pip"; fi
  echo "sample $i: $order" >&2
  for who in $order; do
    case $who in
      pip) pip_row ;;
      assemble) assemble_builds ;;
    esac
  done
  if [ "$i" = 1 ]; then
    rm -rf "$tree"; mkdir -p "$tree"
    for c in 1 2 3 4 5 6; do cp -a "$work/site-copy" "$tree/lib$c"; done
  fi
  if [ $((i % 2)) = 1 ]; then perm_rows find assemble; else perm_rows assemble find; fi
  echo "order $i $order" >>"$work/samples"
done

python3 - "$work/samples" "$raw" "$(cat "$work/artifacts-size")" "$(find "$tree" | wc -l)" \
  "python-s2i build benchmark ($(nproc) cores, $($python --version), $(uv --version))" <<'PY'
import json, sys
samples_file, raw, size, entries, header = sys.argv[1:]
samples, order, components = {}, [], 0
for line in open(samples_file):
    name, *rest = line.split()
    if name == "order":
        order.append(" ".join(rest[1:]))
    elif name == "sbom_components":
        components = int(rest[0])
    else:
        samples.setdefault(name, []).append(float(rest[0]))
# The second pip row adds collectstatic; the incremental row is the unpacking and assemble.
samples["incremental"] = [round(u + a, 3) for u, a in zip(samples["unpack"], samples["incremental_assemble"])]
samples["pip_cs"] = [round(p + c, 3) for p, c in zip(samples["pip"], samples["collectstatic"])]
json.dump(dict(header=header, order=order, artifacts_size=size, perm_entries=int(entries),
               sbom_components=components, samples=samples), open(raw, "w"), indent=1, sort_keys=True)
PY
render "$raw"
