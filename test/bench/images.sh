#!/usr/bin/env bash
# Figures of the builder images, measured in one run (make bench-images):
#   1. image size per Python version, next to its Debian base image (the floor), uncompressed
#      and gzip-compressed (what a registry stores and a node pulls);
#   2. s2i builds (images/s2i-build, hyperfine): clean, incremental with the source unchanged,
#      incremental with one dependency added, for the demo Django app and for a Django app with
#      ~40 installed distributions (test/fixtures/assemble_bench_django);
#   3. container start to the first HTTP 200: the demo app (run + mod_wsgi-express + Django),
#      the same image with its .pyc files deleted, and the same image running
#      `python -m http.server` (podman's own start-up, the floor);
#   4. the built application images' sizes, on the builder and on the runtime image
#      (images/s2i-build --runtime-image).
#   5. the goals of issue 11, judged from the figures of 2-4.
# Environment: BENCH_VERSIONS (default: every version of images/versions; images built if missing),
# BENCH_PYTHON (builder for 2-4, default 3.11; BENCH_BUILDER names another), BENCH_IMAGE_PREFIX
# (default localhost/python-s2i: images are PREFIX:VERSION and PREFIX:VERSION-runtime), BENCH_RUNS (default 3), BENCH_COMPRESSED=0
# to skip the compressed sizes (they take ~20 s per image).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/images/containers.conf}
versions=${BENCH_VERSIONS:-$(awk '!/^#/ && NF {print $1}' images/versions | tr '\n' ' ')}
python=${BENCH_PYTHON:-3.11}
runs=${BENCH_RUNS:-3}
builder=${BENCH_BUILDER:-${BENCH_IMAGE_PREFIX:-localhost/python-s2i}:$python}
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
  image=${BENCH_IMAGE_PREFIX:-localhost/python-s2i}:$v
  podman image exists "$image" || images/build "$v" >/dev/null 2>&1 || { echo "cannot build $image" >&2; exit 1; }
  base=docker.io/library/debian:$suite-slim # the default BASE_IMAGE of images/build
  compressed=-
  [ "${BENCH_COMPRESSED:-1}" = 1 ] && compressed=$(gz_size "$image")
  printf '| %-26s | %-8s | %12s | %15s | %15s |\n' "$image" "$suite" "$(size "$image")" "$compressed" "$(size "$base")"
  runtime=$image-runtime
  podman image exists "$runtime" || images/build "$v" runtime >/dev/null 2>&1 || { echo "cannot build $runtime" >&2; exit 1; }
  compressed=-
  [ "${BENCH_COMPRESSED:-1}" = 1 ] && compressed=$(gz_size "$runtime")
  printf '| %-26s | %-8s | %12s | %15s | %15s |\n' "$runtime" "$suite" "$(size "$runtime")" "$compressed" "$(size "$base")"
done
echo
echo "### The largest packages of $builder and its runtime image (MB on disk)"
echo
echo "What each package's files take in the image (dpkg's Installed-Size counts the documentation"
echo "and libraries the images leave out), with the installed packages that depend on it."
echo
# Bytes of the regular files of each installed package (a hard link counted once), by the
# image's own Python.
pkg_sizes='
import glob, os, stat
seen = set()
for lst in glob.glob("/var/lib/dpkg/info/*.list"):
    total = 0
    for line in open(lst):
        try:
            st = os.lstat(line.rstrip("\n"))
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    print("%d %s" % (total, os.path.basename(lst)[:-5].split(":")[0]))
'
largest() { # IMAGE: its 15 largest packages
  podman run --rm --user 0 --entrypoint /bin/sh "$1" -c '
    py=$(ls /usr/bin/python[23]* | grep -E "[0-9]$" | head -n 1)
    "$py" -c "$0" | sort -rn | head -15 | while read -r bytes p; do
      by=$(apt-cache rdepends --installed --no-suggests --no-recommends --no-conflicts --no-breaks \
           --no-replaces --no-enhances "$p" 2>/dev/null | tail -n +3 | tr -d " |" | sort -u | head -3 | tr "\n" " ")
      awk -v b="$bytes" -v p="$p" -v by="${by:-(installed for itself)}" "BEGIN { printf \"| %s | %.1f | %s |\n\", p, b / 1e6, by }"
    done' "$pkg_sizes"
}
for image in "$builder" "$builder-runtime"; do
  echo "$image:"
  echo
  echo "| package | MB | needed by |"
  echo "| --- | ---: | --- |"
  largest "$image"
  echo
done
echo "Published sizes of the default OpenShift Python images (sclorg, ubi9/python-3XX) could not be"
echo "retrieved here (no registry is reachable); compare with \`podman image inspect\` where they are."

echo
echo "## 2. s2i builds with $builder: clean, incremental (unchanged), incremental (one dependency changed)"
echo
echo "Through images/s2i-build (the s2i CLI is $(command -v s2i >/dev/null && echo "present: not measured here" || echo "not installed here")), $runs runs each."
echo "\"one dependency changed\" adds one small requirement to requirements.txt (which still asks for every"
echo "package it asked for, so assemble restores the previous dependencies and installs it over them); each"
echo "incremental run starts from the same previous image (built once from the unchanged source, re-tagged"
echo "before the run)."
echo
podman image exists "$builder" || images/build "$python" >/dev/null
work=$(mktemp -d /tmp/python-s2i-bench-images.XXXXXX)
made=$work/images # every image id the section makes, removed at the end
: >"$made"
cleanup() {
  podman rm -f -t 0 $(cat "$work/containers" 2>/dev/null) >/dev/null 2>&1 || true
  sort -u "$made" | xargs -r podman rmi -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/s2i" <<SH
#!/usr/bin/env bash
# s2i-build, recording the image it made and where the build's time went: a line
# "OUTPUT KIND ARTIFACTS BUILD ASSEMBLE COMMIT" (seconds) in $work/phases
set -eo pipefail
log=\$(mktemp)
"$repo/images/s2i-build" ${ca[*]} "\$@" >"\$log" 2>&1 || { cat "\$log" >&2; rm -f "\$log"; exit 1; }
cat "\$log" >&2
podman image inspect --format '{{.Id}}' "\${@: -1}" >>"$made"
kind=clean
case " \$* " in *" --incremental "*) kind=unchanged ;; esac
[ "\$kind" = unchanged ] && [[ "\${@: -3:1}" == *-changed ]] && kind=changed
awk -v out="\${@: -1}" -v kind="\$kind" '
  /Build finished in/ { sub(/s\$/, "", \$NF); assemble = \$NF }
  /^s2i-build: took/ { gsub(/[:,]/, ""); artifacts = \$6; build = \$10; commit = \$NF == "s" ? \$(NF - 1) : \$NF }
  END { print out, kind, artifacts, build, assemble, commit }' "\$log" >>"$work/phases"
rm -f "\$log"
SH
chmod +x "$work/s2i"
builds() { # NAME SOURCE EXTRA_REQUIREMENT
  local name=$1 source=$2 extra=$3 out=localhost/python-s2i-bench-$1
  cp -a "$source" "$work/$name"
  cp -a "$source" "$work/$name-changed"
  printf '%s\n' "$extra" >>"$work/$name-changed/requirements.txt"
  "$work/s2i" "$work/$name" "$builder" "$out-previous" >"$work/$name-previous.log" 2>&1 ||
    { tail -30 "$work/$name-previous.log" >&2; exit 1; }
  hyperfine --style basic --runs "$runs" --export-json "$work/$name.json" \
    --prepare "podman rmi -f $out >/dev/null 2>&1 || true" -n "clean" \
    "$work/s2i $work/$name $builder $out" \
    --prepare "podman tag $out-previous $out" -n "incremental, unchanged" \
    "$work/s2i --incremental $work/$name $builder $out" \
    --prepare "podman tag $out-previous $out" -n "incremental, one dependency changed" \
    "$work/s2i --incremental $work/$name-changed $builder $out" >"$work/$name-hyperfine.log" 2>&1 ||
    { tail -30 "$work/$name-hyperfine.log" >&2; echo "the builds of $name failed" >&2; exit 1; }
  python3 - "$work/$name.json" "$name" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
clean = results[0]["mean"]
for r in results:
    print(f"| {sys.argv[2]} | {r['command']} | {r['mean']:.1f} s | {min(r['times']):.1f} s | "
          f"{max(r['times']):.1f} s | {100 * r['mean'] / clean:.0f}% |")
# For section 5: each incremental build's mean as a percentage of the clean one.
with open(sys.argv[1] + ".percent", "w") as f:
    f.write(" ".join(f"{100 * r['mean'] / clean:.0f}" for r in results[1:]) + "\n")
PY
}
echo "| app | build | mean | min | max | of clean |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
builds demo test/fixtures/demo_django "six==1.16.0"
builds django-40-deps test/fixtures/assemble_bench_django "six==1.16.0"
installed=$(podman run --rm --entrypoint /opt/app-root/bin/python localhost/python-s2i-bench-django-40-deps-previous \
  -c 'import importlib.metadata as m; print(len(list(m.distributions())))' 2>/dev/null || echo "?")
echo
echo "django-40-deps is test/fixtures/assemble_bench_django: $installed distributions installed in its image (pip, uv and mod_wsgi included)."
echo
echo "Where the time of the builds above went (means of the same runs, from the phase times images/s2i-build prints):"
echo "artifacts is save-artifacts in the previous image and their unpacking; the build container"
echo "is its start, the source and artifacts streamed in, and assemble (its own time in the next column)."
echo
python3 - "$work/phases" "$work" <<'PY'
import collections, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    out, kind, *figures = line.split()
    if out.endswith("-previous"):
        continue
    rows[(out.rsplit("-bench-", 1)[-1], kind)].append([float(f) for f in figures])
names = {"clean": "clean", "unchanged": "incremental, unchanged", "changed": "incremental, one dependency changed"}
print("| app | build | artifacts | build container | of which assemble | commit |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
means = {}
for (app, kind), runs in rows.items():
    means[(app, kind)] = [sum(column) / len(column) for column in zip(*runs)]
    print(f"| {app} | {names[kind]} | " + " | ".join(f"{m:.1f} s" for m in means[(app, kind)]) + " |")
print()
for app in dict.fromkeys(app for app, _ in means):
    clean, unchanged = means.get((app, "clean")), means.get((app, "unchanged"))
    if clean and unchanged:
        artifacts, build, assemble, commit = unchanged
        outside = artifacts + build - assemble + commit
        floor = 100 * outside / (clean[0] + clean[1] + clean[3])
        # For section 5: the floor as a percentage of the clean build.
        with open(f"{sys.argv[2]}/{app}.floor", "w") as f:
            f.write(f"{floor:.0f}\n")
        print(f"{app}: outside assemble (artifacts, the container, the commit) an unchanged incremental build "
              f"takes {outside:.1f} s, {floor:.0f}% of the clean build's time: "
              "the floor of an incremental s2i build on this machine, whatever assemble does.")
PY

echo
echo "## 3. Container start to first 200 ($runs runs each, median)"
echo
first_200() { # [-e NAME=VALUE]... IMAGE [CMD...]: milliseconds from podman run to the first 200 on /
  local env=() image port name start end
  while [ "$1" = -e ]; do env+=(-e "$2"); shift 2; done
  image=$1
  shift
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  name=python-s2i-bench-$$-$RANDOM
  echo "$name" >>"$work/containers"
  start=$(date +%s%N)
  podman run -d --name "$name" --user 1000680000:0 -p "127.0.0.1:$port:8080" "${env[@]+"${env[@]}"}" "$image" "$@" >/dev/null
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do sleep 0.02; done
  end=$(date +%s%N)
  podman rm -f -t 0 "$name" >/dev/null
  echo $(((end - start) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
app=localhost/python-s2i-bench-demo-previous
# The same app without the bytecode the build compiled (what a build without it gives).
nopyc=localhost/python-s2i-bench-demo-nopyc
container=python-s2i-bench-nopyc-$$
echo "$container" >>"$work/containers"
podman run --name "$container" --user 0 --entrypoint /bin/sh "$app" -c \
  "find /opt/app-root -name '*.pyc' -not -path '/opt/app-root/.python-s2i/cache/*' -delete" >/dev/null
podman commit -q --change 'USER 1001' --change 'CMD ["/usr/libexec/s2i/run"]' --change 'ENTRYPOINT []' "$container" "$nopyc" >>"$made"
podman rm -f "$container" >/dev/null
printf '| %-62s | %10s |\n' "container" "median ms"
printf '|%s|%s|\n' ---------------------------------------------------------------- ------------
floor=$(for _ in $(seq "$runs"); do first_200 "$app" python -m http.server 8080; done | median)
printf '| %-62s | %10s |\n' "same image, python -m http.server (podman start-up floor)" "$floor"
demo=$(for _ in $(seq "$runs"); do first_200 "$app"; done | median)
printf '| %-62s | %10s |\n' "demo Django app: run -> mod_wsgi-express -> Django" "$demo"
demo_nopyc=$(for _ in $(seq "$runs"); do first_200 "$nopyc"; done | median)
printf '| %-62s | %10s |\n' "the same without the build's bytecode (.pyc deleted)" "$demo_nopyc"
# What the start-up migrate (on by default, as in the default image) costs of the above.
demo_nomigrate=$(for _ in $(seq "$runs"); do first_200 -e DISABLE_MIGRATE=1 "$app"; done | median)
printf '| %-62s | %10s |\n' "the demo app with DISABLE_MIGRATE=1 (no migrate at start)" "$demo_nomigrate"
echo
echo "Start to first 200 over the floor: $((demo - floor)) ms with the build's bytecode, $((demo_nopyc - floor)) ms without, $((demo_nomigrate - floor)) ms without the start-up migrate."

echo
echo "## 4. Application image sizes"
echo
printf '| %-44s | %12s | %15s |\n' image uncompressed "over its base"
printf '|%s|%s|%s|\n' ---------------------------------------------- -------------- -----------------
for image in localhost/python-s2i-bench-demo-previous localhost/python-s2i-bench-django-40-deps-previous; do
  printf '| %-44s | %12s | %15s |\n' "$image ($builder)" "$(size "$image")" "$(( $(size "$image") - $(size "$builder") ))"
done
runtime=${BENCH_RUNTIME:-$builder-runtime}
podman image exists "$runtime" || images/build "$python" runtime >/dev/null
for name in demo django-40-deps; do
  out=localhost/python-s2i-bench-$name-runtime
  "$work/s2i" --runtime-image "$runtime" "$work/$name" "$builder" "$out" >"$work/$name-runtime.log" 2>&1 ||
    { tail -30 "$work/$name-runtime.log" >&2; exit 1; }
  printf '| %-44s | %12s | %15s |\n' "$out ($runtime)" "$(size "$out")" "$(( $(size "$out") - $(size "$runtime") ))"
done

echo
echo "## 5. Goals (issue 11), judged from the figures above"
echo
goal() { # WHAT MEASURED GOAL MET LIMIT: LIMIT (from this run's figures) is shown when not met
  if [ "$4" = 1 ]; then
    printf '| %s | %s | %s | yes | - |\n' "$1" "$2" "$3"
  else
    printf '| %s | %s | %s | no | %s |\n' "$1" "$2" "$3" "$5"
  fi
}
echo "| what | measured | goal | met | what limits it |"
echo "| --- | --- | --- | --- | --- |"
for name in demo django-40-deps; do
  read -r unchanged changed <"$work/$name.json.percent"
  floor_pc=$(cat "$work/$name.floor" 2>/dev/null || echo "?")
  outside="what the build costs outside assemble (section 2): $floor_pc% of the clean build"
  goal "$name: incremental s2i build, unchanged" "$unchanged% of clean" "<= 30%" "$((unchanged <= 30))" "$outside"
  goal "$name: incremental s2i build, one dependency changed" "$changed% of clean" "<= 60%" "$((changed <= 60))" "$outside"
done
goal "demo: start to first 200" "$demo ms (floor $floor ms)" "<= floor + 250 ms" "$((demo <= floor + 250))" \
  "the start-up migrate (section 3): $((demo - demo_nomigrate)) ms; without it, floor + $((demo_nomigrate - floor)) ms"
builder_mb=$(size "$builder")
# Node.js and npm (libnode, npm's release, Debian's node modules), which the default image ships too.
node_mb=$(podman run --rm --entrypoint /bin/sh "$builder" -c \
  'du -cm /usr/lib/*/libnode.so.* /usr/local/lib/node_modules /usr/share/nodejs /usr/bin/node 2>/dev/null | tail -n 1 | cut -f 1')
goal "builder $builder" "$builder_mb MB" "<= 550 MB" "$((builder_mb <= 550))" \
  "Node.js and npm, for frontend builds as in the default image: $node_mb MB (without them: $((builder_mb - node_mb)) MB)"
demo_runtime_mb=$(size localhost/python-s2i-bench-demo-runtime)
goal "demo app on $runtime" "$demo_runtime_mb MB" "<= 250 MB" "$((demo_runtime_mb <= 250))" "-"
