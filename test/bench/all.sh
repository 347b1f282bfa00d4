#!/usr/bin/env bash
# docs/benchmarks.md, generated whole (`make bench`).
#
#   test/bench/all.sh              every section, then the page: one run, one run id
#   test/bench/all.sh SECTION...   only those sections, then the page (the others keep the
#                                  stamp of the run that measured them)
#   test/bench/all.sh --page       only the page, from the stored results
#   test/bench/all.sh --check      (make lint) fails if a results file is not what its raw data
#                                  renders, if a serving plot was not drawn from serving.json, or
#                                  if docs/benchmarks.md is not exactly what --page writes: a hand
#                                  edit, results without their page, or a section gone stale
#                                  (what it measures changed since) that the page does not mark
#   test/bench/all.sh --check --fresh   also fails on any stale section
#
# The sections, their commands, raw data files and the paths each measures are listed once, in
# test/bench/page.py. Each section's script prints its table (Markdown, or plain text kept in a
# code block) on stdout and progress on stderr; a script that keeps raw data writes it to
# $BENCH_RAW and renders its table from that file alone. Its output is stored in
# docs/benchmarks/results/NAME.md with NAME.stamp beside it (run id, commit, the measured paths
# that had uncommitted changes, date, machine, seconds, status, and what the script wrote to
# $BENCH_MEASURED: the images it measured and the commit each was built from), and the page is
# test/bench/benchmarks.md.in with {{NAME}} replaced by the section's stamp line and table.
# Nothing on the page is typed by hand: what is not a table or a stamp is the template's
# description of the method.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
results=docs/benchmarks/results
page=docs/benchmarks.md
mkdir -p "$results" docs/benchmarks

case "${1:-}" in
  --page) python3 test/bench/page.py page "$page"; echo "all.sh: $page written from $results" >&2; exit 0 ;;
  --check) shift; exec python3 test/bench/page.py check "$@" ;;
esac

# Images: 3.11 always; the other versions when their images are already built (make images).
# Without podman the section fails (and the page says so) rather than vanishing.
versions=3.11
if command -v podman >/dev/null 2>&1; then
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/images/containers.conf}
  for v in $(awk '!/^#/ && NF && $1 != "3.11" {print $1}' images/versions); do
    podman image exists "localhost/python-s2i:$v" 2>/dev/null && versions="$versions $v"
  done
fi
export BENCH_VERSIONS=${BENCH_VERSIONS:-$versions}

run_id="$(date -u +%Y%m%dT%H%M%SZ)"
commit=$(git rev-parse --short HEAD)
commit_full=$(git rev-parse HEAD)
machine="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr), $(. /etc/os-release; echo "$PRETTY_NAME")"
only=" $* "
started=$(date +%s)
for name in $(python3 test/bench/page.py names); do
  if [ $# -gt 0 ] && [[ $only != *" $name "* ]]; then
    continue
  fi
  cmd=$(python3 test/bench/page.py command "$name")
  raw=$(python3 test/bench/page.py raw "$name")
  # What it measures, with uncommitted changes when it starts: the stamp says so (stale).
  mapfile -t paths < <(python3 test/bench/page.py paths "$name")
  dirty=$(git status --porcelain --untracked-files=no -- "${paths[@]}" | awk '{print $NF}' | head -5 | paste -sd' ')
  echo "== bench: $name ($cmd)" >&2
  t0=$(date +%s)
  status=ok
  measured=$(mktemp)
  BENCH_RAW=${raw:+$repo/$raw} BENCH_MEASURED=$measured bash -c "$cmd" >"$results/$name.md" || status="exit $?"
  printf '%s\n' "run=$run_id" "commit=$commit" "commit_full=$commit_full" "dirty=$dirty" \
    "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "machine=$machine, load $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
    "seconds=$(( $(date +%s) - t0 ))" "status=$status" >"$results/$name.stamp"
  cat "$measured" >>"$results/$name.stamp"
  rm -f "$measured"
  echo "== bench: $name: $status in $(( $(date +%s) - t0 )) s" >&2
  cat "$results/$name.md"
  echo
done
python3 test/bench/page.py page "$page"
echo "make bench: $page written ($(( $(date +%s) - started )) s)" >&2
