#!/usr/bin/env bash
# The serving benchmark (issue 6): builds the bench Django site with `assemble`, adds the
# baselines' servers to the same virtualenv, and runs test/bench/serving.py.
# Usage: test/bench/serving.sh [OUT_DIR]   (env: BENCH_DURATION seconds per point, BENCH_CONCURRENCY,
#        BENCH_ONLY configuration name prefixes, BENCH_ENDPOINTS io,cpu,static; BENCH_REUSE=1 keeps
#        the previous run's APP_ROOT instead of assembling again)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/build/bench/serving}
work=$repo/build/bench/serving-work
bin=$repo/build/bin
mkdir -p "$out" "$work"

# Servers run as an unprivileged user when we are root: build where that user can read.
app_root=$work/app-root
if [ "${BENCH_REUSE:-0}" != 1 ] || [ ! -x "$app_root/bin/gunicorn" ]; then
  rm -rf "$app_root"
  echo "\$ APP_ROOT=$app_root PYTHON=/usr/bin/python3 assemble test/fixtures/bench_django" >&2
  APP_ROOT=$app_root PYTHON=/usr/bin/python3 "$bin/assemble" "$repo/test/fixtures/bench_django" >"$work/assemble.log" 2>&1 \
    || { tail -40 "$work/assemble.log" >&2; exit 1; }
  echo "\$ $app_root/bin/python -m pip install -q gunicorn   # the baselines' server" >&2
  "$app_root/bin/python" -m pip install -q gunicorn >&2
fi

plot_venv=$repo/build/bench/plot-venv
if [ ! -x "$plot_venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$plot_venv"
  "$plot_venv/bin/pip" install -q matplotlib >&2
fi
chmod -R go+rX "$work"
"$plot_venv/bin/python" "$repo/test/bench/serving.py" --app-root "$app_root" --run "$bin/run" --out "$out" \
  --duration "${BENCH_DURATION:-5}" --concurrency "${BENCH_CONCURRENCY:-1,8,32,64,128}" \
  --endpoints "${BENCH_ENDPOINTS:-io,cpu,static}" ${BENCH_ONLY:+--only "$BENCH_ONLY"}
