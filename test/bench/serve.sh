#!/usr/bin/env bash
# `make bench-serve`: what `run` costs and what its tuning buys, measured side by side.
#
# 1. Start-up: per server, milliseconds from process start to the first 200 on GET /, when
#    started by `run` vs the same command line (taken from `run --dry-run`) started directly.
#    Median of BENCH_STARTS runs (default 5).
# 2. Throughput: wrk on loopback (BENCH_SECONDS per run, default 5; 2 threads, 32 connections)
#    against a hello-world route and a route that waits 50 ms (I/O bound), for run's auto-tuned
#    default (mod_wsgi-express) and auto-tuned gunicorn vs gunicorn's own defaults (1 sync
#    worker) and mod_wsgi-express's own defaults (1 process x 5 threads).
#
# Needs: build/bin/run (make), the server venv (make deps), wrk, curl. Bounded: ~3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
run=$repo/build/bin/run
venv=$repo/build/test-venvs/servers
starts=${BENCH_STARTS:-5}
seconds=${BENCH_SECONDS:-5}
[ -x "$run" ] || { echo "bench-serve: build/bin/run missing: run make" >&2; exit 1; }
[ -x "$venv/bin/mod_wsgi-express" ] || { echo "bench-serve: $venv missing: run make deps" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench-serve: wrk missing (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/bench-serve.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# An APP_ROOT like the tests': the fixture as src/, the server venv linked in.
app_root() { # NAME FIXTURE
  local root=$work/$1
  mkdir -p "$root"
  for entry in bin lib include pyvenv.cfg; do
    [ -e "$venv/$entry" ] && ln -s "$venv/$entry" "$root/$entry"
  done
  cp -a "test/fixtures/$2" "$root/src"
  chmod -R a+rX "$work"
  echo "$root"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }

wsgi_root=$(app_root wsgi run_wsgi_py)
asgi_root=$(app_root asgi run_asgi)

# The command and environment run would use, from its dry run, as a shell script.
direct_script() { # ROOT PORT ENV...
  local root=$1 port=$2; shift 2
  env "$@" APP_ROOT="$root" PORT="$port" "$run" --dry-run | awk -v dir="$root/src" '
    /^Environment \(set by run\):/ {env=1; next}
    env && /^  / {sub(/^  /, ""); i = index($0, "="); v = substr($0, i + 1); gsub(/\047/, "\047\\\\\047\047", v)
      printf "export %s=\047%s\047\n", substr($0, 1, i - 1), v; next}
    {env=0}
    /^Command:/ {sub(/^Command: +/, ""); cmd=$0}
    END {printf "cd %s\nexec %s\n", dir, cmd}'
}

start_times() { # LABEL ROOT ENV...
  local label=$1 root=$2; shift 2
  local port via_run direct script=$work/direct-$label.sh
  port=$(free_port)
  # One real start writes the generated modules (s2i_wsgi, s2i_waitress) for both variants.
  env "$@" APP_ROOT="$root" PORT="$port" python3 test/bench/first_ok.py "$port" 60 -- "$run" >/dev/null
  # Alternate the two so load from elsewhere hits both alike.
  : >"$work/via_run" && : >"$work/direct"
  for _ in $(seq "$starts"); do
    port=$(free_port)
    env "$@" APP_ROOT="$root" PORT="$port" python3 test/bench/first_ok.py "$port" 60 -- "$run" >>"$work/via_run"
    port=$(free_port)
    direct_script "$root" "$port" "$@" >"$script"
    env "$@" python3 test/bench/first_ok.py "$port" 60 -- bash "$script" >>"$work/direct"
  done
  via_run=$(median <"$work/via_run")
  direct=$(median <"$work/direct")
  printf "%-10s %12s %12s %+10d\n" "$label" "$via_run" "$direct" "$((via_run - direct))"
}

echo "== Start-up: ms from start to first 200 (median of $starts; same command line)"
printf "%-10s %12s %12s %10s\n" server "via run" direct "run adds"
start_times mod_wsgi "$wsgi_root"
start_times gunicorn "$wsgi_root" APP_SERVER=gunicorn
start_times uwsgi "$wsgi_root" APP_SERVER=uwsgi
start_times waitress "$wsgi_root" APP_SERVER=waitress
start_times granian "$wsgi_root" APP_SERVER=granian
start_times hypercorn "$wsgi_root" APP_SERVER=hypercorn
start_times uvicorn "$asgi_root" APP_MODULE=main:app

echo
echo "== run's own work before it execs the server (detection, tuning, files): run --dry-run"
if command -v hyperfine >/dev/null; then
  APP_ROOT="$wsgi_root" hyperfine -N --warmup 5 --runs 200 --style none --export-json "$work/dry.json" \
    "$run --dry-run" >/dev/null 2>&1
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("mean %.2f ms, min %.2f ms (%d runs)" % (r["mean"]*1000, r["min"]*1000, len(r["times"])))' "$work/dry.json"
else
  echo "(hyperfine not installed)"
fi

# Throughput.
serve_bg() { # PORT COMMAND... (own process group; pid recorded for cleanup)
  local port=$1; shift
  setsid "$@" >"$work/server-$port.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/" && { echo "$pid"; return; }
    sleep 0.1
  done
  echo "bench-serve: server on $port did not answer; log:" >&2
  cat "$work/server-$port.log" >&2
  exit 1
}

stop_bg() { # PID
  kill -TERM -- "-$1" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
}

rps() { # PORT PATH
  wrk -t2 -c32 -d"${seconds}s" "http://127.0.0.1:$1$2" | awk '/Requests\/sec/ {printf "%.0f", $2}'
}

user_args=()
[ "$(id -u)" = 0 ] && user_args=(--user nobody --group nogroup)

throughput() { # LABEL COMMAND...
  local label=$1; shift
  local port pid hello io
  port=$(free_port)
  local cmd=("${@//@PORT@/$port}")
  pid=$(serve_bg "$port" "${cmd[@]}")
  hello=$(rps "$port" /)
  io=$(rps "$port" /io)
  stop_bg "$pid"
  printf "%-46s %12s %12s\n" "$label" "$hello" "$io"
}

echo
echo "== Throughput: requests/s, wrk -t2 -c32 -d${seconds}s on loopback ($(nproc) CPUs)"
printf "%-46s %12s %12s\n" configuration "hello" "50 ms I/O"
throughput "run, auto (mod_wsgi-express, tuned)" env APP_ROOT="$wsgi_root" PORT=@PORT@ "$run"
throughput "run, APP_SERVER=gunicorn (tuned)" env APP_ROOT="$wsgi_root" PORT=@PORT@ APP_SERVER=gunicorn "$run"
throughput "run, APP_SERVER=uwsgi (tuned)" env APP_ROOT="$wsgi_root" PORT=@PORT@ APP_SERVER=uwsgi "$run"
throughput "gunicorn defaults (1 sync worker)" \
  env --chdir="$wsgi_root/src" "$venv/bin/gunicorn" --bind 0.0.0.0:@PORT@ wsgi:application
throughput "mod_wsgi-express defaults (1 process x 5)" \
  env --chdir="$wsgi_root/src" "$venv/bin/mod_wsgi-express" start-server --port @PORT@ --locale C.UTF-8 \
  --server-root "$work/mod_wsgi-defaults" "${user_args[@]}" wsgi.py
