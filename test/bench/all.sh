#!/usr/bin/env bash
# docs/benchmarks.md, generated whole (`make bench`).
#
#   test/bench/all.sh              every section, then the page: one run, one run id
#   test/bench/all.sh SECTION...   only those sections, then the page (the others keep the
#                                  stamp of the run that measured them)
#   test/bench/all.sh --page       only the page, from the stored results
#   test/bench/all.sh --check      fails if docs/benchmarks.md is not exactly what --page
#                                  writes (a hand edit, or results without their page)
#
# Each section's script prints its table (Markdown, or plain text kept in a code block) on
# stdout and progress on stderr. Its output is stored in docs/benchmarks/results/NAME.md with
# NAME.stamp beside it (run id, commit, date, machine, seconds, status), and the page is
# test/bench/benchmarks.md.in with {{NAME}} replaced by the section's stamp line and table.
# Nothing on the page is typed by hand: what is not a table or a stamp is the template's
# description of the method.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
results=docs/benchmarks/results
template=test/bench/benchmarks.md.in
page=docs/benchmarks.md
mkdir -p "$results" docs/benchmarks

# name | command. The images section needs podman.
sections=(
  "init|test/bench/init.sh"
  "startup|test/bench/serve.sh"
  "serving|test/bench/serving.sh docs/benchmarks && printf '\n![requests/s against concurrency, %s](benchmarks/serving-%s.png)\n' 'I/O-bound view' io 'CPU-bound view' cpu 'static file' static"
  "build|test/bench/build.sh"
)
# Images: 3.11 always; the other versions when their images are already built (make images).
# Without podman the section fails (and the page says so) rather than vanishing.
versions=3.11
if command -v podman >/dev/null 2>&1; then
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/images/containers.conf}
  for v in $(awk '!/^#/ && NF && $1 != "3.11" {print $1}' images/versions); do
    podman image exists "localhost/python-s2i:$v" 2>/dev/null && versions="$versions $v"
  done
fi
sections+=("images|BENCH_VERSIONS='${BENCH_VERSIONS:-$versions}' test/bench/images.sh")

render() { # OUT: the page from the template and the stored results
  python3 - "$results" "$template" "$1" <<'PY'
import pathlib, re, sys
results, template, out = (pathlib.Path(a) for a in sys.argv[1:])
page = template.read_text()
names = re.findall(r"^\{\{(\w+)\}\}$", page, flags=re.M)
stamps = {}
for name in names:
    stamp_file = results / (name + ".stamp")
    table_file = results / (name + ".md")
    if not stamp_file.is_file() or not table_file.is_file():
        body = "_Not measured yet: run `make bench`._"
    else:
        stamp = dict(line.split("=", 1) for line in stamp_file.read_text().splitlines() if "=" in line)
        stamps[name] = stamp
        line = "_Measured {date} (run `{run}`), commit `{commit}`, {machine}; {seconds} s._".format(**stamp)
        if stamp.get("status") != "ok":
            line += "\n\n**This section failed in that run (" + stamp["status"] + "); the output below is what it printed.**"
        text = table_file.read_text().strip()
        if not any(l.startswith("|") for l in text.splitlines()):
            text = "```text\n" + text + "\n```"  # a script's plain-text table, kept aligned
        else:
            text = re.sub(r"^(#+) ", r"\1# ", text, flags=re.M)  # its headings go under the section's
        body = line + "\n\n" + text
    page = page.replace("{{%s}}" % name, body)
runs = sorted({s["run"] for s in stamps.values()})
missing = [n for n in names if n not in stamps]
if not runs:
    summary = "No section has been measured with this generator yet: run `make bench`."
elif len(runs) == 1 and not missing:
    summary = "Every section below comes from one run, `%s`." % runs[0]
else:
    summary = "The sections below come from %d run(s) (%s)%s; each section says which." % (
        len(runs), ", ".join("`%s`" % r for r in runs),
        "; not measured yet: " + ", ".join(missing) if missing else "")
page = page.replace("{{runs}}", summary)
out.write_text(page)
PY
}

case "${1:-}" in
  --page) render "$page"; echo "all.sh: $page written from $results" >&2; exit 0 ;;
  --check)
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    render "$tmp"
    if ! diff -u "$page" "$tmp" >&2; then
      echo "all.sh --check: $page differs from what test/bench/all.sh --page writes from $results" >&2
      echo "  (the page is generated: change $template or rerun the benchmark, never the page)" >&2
      exit 1
    fi
    exit 0 ;;
esac

run_id="$(date -u +%Y%m%dT%H%M%SZ)"
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- 2>/dev/null || commit="$commit + uncommitted changes"
machine="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr), $(. /etc/os-release; echo "$PRETTY_NAME")"
only=" $* "
started=$(date +%s)
for entry in "${sections[@]}"; do
  name=${entry%%|*}
  cmd=${entry#*|}
  if [ $# -gt 0 ] && [[ $only != *" $name "* ]]; then
    continue
  fi
  echo "== bench: $name ($cmd)" >&2
  t0=$(date +%s)
  status=ok
  bash -c "$cmd" >"$results/$name.md" || status="exit $?"
  printf '%s\n' "run=$run_id" "commit=$commit" "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "machine=$machine, load $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
    "seconds=$(( $(date +%s) - t0 ))" "status=$status" >"$results/$name.stamp"
  echo "== bench: $name: $status in $(( $(date +%s) - t0 )) s" >&2
  cat "$results/$name.md"
  echo
done
render "$page"
echo "make bench: $page written ($(( $(date +%s) - started )) s)" >&2
