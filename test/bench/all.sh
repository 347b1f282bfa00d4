#!/usr/bin/env bash
# `make bench` (after `make deps`): every benchmark of the project, each against its baseline in the same run, then
# docs/benchmarks.md regenerated from test/bench/benchmarks.md.in with this run's tables.
# Each section's script prints its table (Markdown) on stdout and progress on stderr.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
results=build/bench/results
mkdir -p "$results" docs/benchmarks

# name | command; images only where podman works.
sections=(
  "init|test/bench/init.sh"
  "startup|test/bench/serve.sh"
  "serving|test/bench/serving.sh docs/benchmarks"
  "build|test/bench/build.sh"
)
if command -v podman >/dev/null 2>&1; then
  # 3.11 always; the other versions when their images are already built (make images).
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/images/containers.conf}
  versions=3.11
  for v in 2.7 3.9 3.13; do
    podman image exists "localhost/python-s2i:$v" 2>/dev/null && versions="$versions $v"
  done
  sections+=("images|BENCH_VERSIONS='${BENCH_VERSIONS:-$versions}' test/bench/images.sh")
fi

# `all.sh SECTION...` reruns only those sections; the page still shows every section's last table.
only=" $* "
ran=()
started=$(date +%s)
for entry in "${sections[@]}"; do
  name=${entry%%|*}
  cmd=${entry#*|}
  if [ $# -gt 0 ] && [[ $only != *" $name "* ]]; then
    continue
  fi
  ran+=("$name")
  echo "== bench: $name ($cmd)" >&2
  t0=$(date +%s)
  if bash -c "$cmd" >"$results/$name.md"; then
    echo "== bench: $name done in $(( $(date +%s) - t0 )) s" >&2
  else
    echo "== bench: $name FAILED (exit $?): its table is missing from the page" >&2
    echo "_This section failed in the last run; see the output of \`make bench\`._" >"$results/$name.md"
  fi
  cat "$results/$name.md"
  echo
done

# The page's header describes the last full run; sections rerun alone since are listed.
if [ $# -eq 0 ]; then
  printf '%s\n' "$(git rev-parse --short HEAD)" "$(date -u +%Y-%m-%d)" "$(( $(date +%s) - started ))" >"$results/run-info"
  : >"$results/reruns"
elif [ ${#ran[@]} -gt 0 ]; then
  echo "- Rerun alone since: ${ran[*]} ($(date -u +%Y-%m-%d), commit \`$(git rev-parse --short HEAD)\`)." >>"$results/reruns"
fi
mapfile -t info <"$results/run-info"
machine="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr), $(. /etc/os-release; echo "$PRETTY_NAME")"
python3 - "$results" "$machine" "${info[0]}" "${info[1]}" "${info[2]}" <<'PY'
import pathlib, re, sys
results, machine, rev, day, seconds = sys.argv[1:]
page = pathlib.Path("test/bench/benchmarks.md.in").read_text()
page = page.replace("{{machine}}", machine).replace("{{rev}}", rev).replace("{{date}}", day)
page = page.replace("{{seconds}}", seconds)
page = page.replace("{{reruns}}", pathlib.Path(results, "reruns").read_text().strip())
for table in pathlib.Path(results).glob("*.md"):
    text = table.read_text().strip()
    if not any(line.startswith("|") for line in text.splitlines()):
        text = "```text\n" + text + "\n```"  # a script's plain-text table, kept aligned
    else:
        text = re.sub(r"^(#+) ", r"\1# ", text, flags=re.M)  # its headings go under the section's
    page = page.replace("{{%s}}" % table.stem, text)
pathlib.Path("docs/benchmarks.md").write_text(page)
PY
echo "make bench: docs/benchmarks.md written ($(( $(date +%s) - started )) s)" >&2
