#!/usr/bin/env bash
# Figures of the builder images, measured in one run (make bench-images):
#   1. image size per Python version, next to its Debian base image (the floor), uncompressed
#      and gzip-compressed (what a registry stores and a node pulls);
#   2. clean vs incremental s2i build of the demo Django app (images/s2i-build, hyperfine);
#   3. container start to the first HTTP 200: the demo app (run + mod_wsgi-express + Django)
#      vs the same image running `python -m http.server` (podman's own start-up, the floor).
# Environment: BENCH_VERSIONS (default "2.7 3.9 3.11 3.13": images built if missing),
# BENCH_PYTHON (builder for 2 and 3, default 3.11; BENCH_BUILDER names another), BENCH_RUNS (default 3), BENCH_COMPRESSED=0
# to skip the compressed sizes (they take ~20 s per image).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/images/containers.conf}
versions=${BENCH_VERSIONS:-2.7 3.9 3.11 3.13}
python=${BENCH_PYTHON:-3.11}
runs=${BENCH_RUNS:-3}
builder=${BENCH_BUILDER:-localhost/python-s2i:$python}
app=localhost/python-s2i-bench-django
bundle=${CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
ca=()
[ -n "$bundle" ] && [ -s "$bundle" ] && ca=(--ca-bundle "$bundle")
mb() { awk '{printf "%.0f", $1 / 1e6}'; }
size() { podman image inspect --format '{{.Size}}' "$1" | mb; }
gz_size() { podman save --format docker-archive "$1" 2>/dev/null | gzip -6 | wc -c | mb; }

echo "## 1. Image sizes (MB = 10^6 bytes)"
echo
printf '| %-26s | %-8s | %12s | %15s | %15s |\n' image suite uncompressed "gzip (pulled)" "base image"
printf '|%s|%s|%s|%s|%s|\n' ---------------------------- ---------- -------------- ----------------- -----------------
for v in $versions; do
  suite=$(awk -v v="$v" '!/^#/ && $1 == v {print $2}' images/versions)
  image=localhost/python-s2i:$v
  podman image exists "$image" || images/build "$v" >/dev/null 2>&1 || { echo "cannot build $image" >&2; exit 1; }
  base=docker.io/library/debian:$suite
  compressed=-
  [ "${BENCH_COMPRESSED:-1}" = 1 ] && compressed=$(gz_size "$image")
  printf '| %-26s | %-8s | %12s | %15s | %15s |\n' "$image" "$suite" "$(size "$image")" "$compressed" "$(size "$base")"
done
echo
echo "Published sizes of the default OpenShift Python images (sclorg, ubi9/python-3XX) could not be"
echo "retrieved here (no registry is reachable); compare with \`podman image inspect\` where they are."

echo
echo "## 2. s2i build of test/fixtures/demo_django with $builder ($runs runs each)"
echo
podman image exists "$builder" || images/build "$python" >/dev/null
build="images/s2i-build ${ca[*]} test/fixtures/demo_django $builder $app"
hyperfine --style basic --runs "$runs" --export-markdown /tmp/bench-images-build.md \
  --prepare "podman rmi -f $app >/dev/null 2>&1 || true" -n "clean build" "$build" \
  --prepare "podman image exists $app || $build" -n "incremental build" \
  "images/s2i-build --incremental ${ca[*]} test/fixtures/demo_django $builder $app" >/dev/null 2>&1 ||
  { echo "the builds failed; run $build to see why" >&2; exit 1; }
cat /tmp/bench-images-build.md

echo
echo "## 3. Container start to first 200 ($runs runs each, median)"
echo
first_200() { # IMAGE [CMD...]: milliseconds from podman run to the first 200 on /
  local image=$1 port name start end
  shift
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  name=python-s2i-bench-$$-$RANDOM
  start=$(date +%s%N)
  podman run -d --name "$name" --user 1000680000:0 -p "127.0.0.1:$port:8080" "$image" "$@" >/dev/null
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do sleep 0.02; done
  end=$(date +%s%N)
  podman rm -f -t 0 "$name" >/dev/null
  echo $(((end - start) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
printf '| %-58s | %10s |\n' "container" "median ms"
printf '|%s|%s|\n' ------------------------------------------------------------ ------------
floor=$(for _ in $(seq "$runs"); do first_200 "$app" python -m http.server 8080; done | median)
printf '| %-58s | %10s |\n' "same image, python -m http.server (podman start-up floor)" "$floor"
demo=$(for _ in $(seq "$runs"); do first_200 "$app"; done | median)
printf '| %-58s | %10s |\n' "demo Django app: run -> mod_wsgi-express -> Django" "$demo"
podman rmi -f "$app" >/dev/null 2>&1 || true
