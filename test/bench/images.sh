#!/usr/bin/env bash
# Figures of the builder images, measured in one run (make bench-images):
#   1. image size per Python version, next to its Debian base image (the floor), uncompressed
#      and gzip-compressed (what a registry stores and a node pulls);
#   2. s2i builds (hyperfine) in three flows: the real s2i CLI through a Docker API (a podman
#      service of its own), s2i --as-dockerfile + podman build, and images/s2i-build: clean,
#      incremental with the source unchanged, incremental with one dependency added, and the
#      flow's floor (incremental, with a builder whose assemble does nothing), for the demo
#      Django app and a Django app with ~40 installed distributions
#      (test/fixtures/assemble_bench_django);
#   3. container start to the first HTTP 200: the demo app (run + mod_wsgi-express + Django),
#      the same image with its .pyc files deleted, and the same image running
#      `python -m http.server` (podman's own start-up, the floor);
#   4. the built application images' sizes, on the builder and on the runtime image
#      (images/s2i-build --runtime-image).
#   5. the goals of issue 11, judged from the figures of 2-4.
# Environment: BENCH_VERSIONS (default: every version of images/versions; images built if missing),
# BENCH_PYTHON (builder for 2-4, default 3.11; BENCH_BUILDER names another), BENCH_IMAGE_PREFIX
# (default localhost/python-s2i: images are PREFIX:VERSION and PREFIX:VERSION-runtime), BENCH_RUNS (default 3),
# BENCH_APPS (the apps of sections 2 and 4, default "demo django-40-deps"), BENCH_COMPRESSED=0
# to skip the compressed sizes (they take ~20 s per image), BENCH_STORAGE=default to run sections
# 2-4 on podman's own storage instead of a journaled ext4 of their own (as root, loop-mounted).
# It appends to BENCH_MEASURED (when set, by test/bench/all.sh) an "image NAME=REVISION" line per
# builder and runtime image it measured: the org.opencontainers.image.revision label images/build
# sets, so the page can tell images older than the code.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/images/containers.conf}
versions=${BENCH_VERSIONS:-$(awk '!/^#/ && NF {print $1}' images/versions | tr '\n' ' ')}
python=${BENCH_PYTHON:-3.11}
runs=${BENCH_RUNS:-3}
apps=${BENCH_APPS:-demo django-40-deps}
[[ " $apps " == *" demo "* ]] || { echo "BENCH_APPS must include demo (sections 3 and 5 use its image)" >&2; exit 2; }
builder=${BENCH_BUILDER:-${BENCH_IMAGE_PREFIX:-localhost/python-s2i}:$python}
app=localhost/python-s2i-bench-django
bundle=${CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
ca=()
[ -n "$bundle" ] && [ -s "$bundle" ] && ca=(--ca-bundle "$bundle")
measured() { # IMAGE: records the commit IMAGE was built from
  [ -n "${BENCH_MEASURED:-}" ] || return 0
  local rev
  rev=$(podman image inspect --format '{{index .Labels "org.opencontainers.image.revision"}}' "$1" 2>/dev/null)
  echo "image $1=${rev:-none}" >>"$BENCH_MEASURED"
}
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
  measured "$image"
  runtime=$image-runtime
  podman image exists "$runtime" || images/build "$v" runtime >/dev/null 2>&1 || { echo "cannot build $runtime" >&2; exit 1; }
  compressed=-
  [ "${BENCH_COMPRESSED:-1}" = 1 ] && compressed=$(gz_size "$runtime")
  printf '| %-26s | %-8s | %12s | %15s | %15s |\n' "$runtime" "$suite" "$(size "$runtime")" "$compressed" "$(size "$base")"
  measured "$runtime"
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
echo "## 2. s2i builds with $builder: three ways to build, each against its floor"
echo
echo "The real s2i CLI ($(s2i version 2>/dev/null || echo "s2i: not installed")) in both its flows, and images/s2i-build, $runs run(s) each:"
echo
echo "- **s2i (Docker API)**: \`s2i build\` through the Docker API of a podman service started for this run;"
echo "- **s2i --as-dockerfile + podman build**: the Dockerfile s2i writes (what OpenShift 4, Shipwright and Tekton build with buildah), built by \`podman build\`;"
echo "- **images/s2i-build**: the project's script, podman only."
echo
echo "\"one dependency changed\" adds one small requirement to requirements.txt (which still asks for every"
echo "package it asked for, so assemble restores the previous dependencies and installs it over them). Each"
echo "incremental run starts from the same previous image (built once from the unchanged source with"
echo "images/s2i-build, re-tagged before the run). **floor** is the same flow's incremental build from that"
echo "image with a builder whose assemble does nothing (it only removes the artifacts it was given): what the"
echo "flow costs whatever assemble does. \"over the floor\" is a build's mean minus its flow's floor. Every"
echo "run starts after a \`sync\`, so it does not pay for writing back what the run before it wrote."
echo
podman image exists "$builder" || images/build "$python" >/dev/null
measured "$builder"
work=$(mktemp -d /tmp/python-s2i-bench-images.XXXXXX)
made=$work/images # every image id the section makes, removed at the end
: >"$made"
service=
storage=
cleanup() {
  [ -n "$service" ] && kill "$service" 2>/dev/null && wait "$service" 2>/dev/null
  podman rm -f -t 0 $(cat "$work/containers" 2>/dev/null) >/dev/null 2>&1 || true
  sort -u "$made" | xargs -r podman rmi -f >/dev/null 2>&1 || true
  if [ -n "$storage" ]; then
    umount "$storage" 2>/dev/null || umount -l "$storage"
    rm -rf "$storage" "$storage.img" "/run/containers/$(basename "$storage")"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
runtime=${BENCH_RUNTIME:-$builder-runtime}
podman image exists "$runtime" || images/build "$python" runtime >/dev/null
# Podman's storage for sections 2-4: a journaled ext4 (a sparse file of /var/tmp, loop-mounted),
# as build nodes have (ext4 with its journal, or XFS). This machine's root filesystem is an ext4
# without a journal: there the kernel skips every inode freed in the last 30 s or so when it
# allocates one (ext4's recently_deleted), so a build creating thousands of files right after the
# previous build's container was removed spends most of its time in the inode allocator. The
# builder and runtime images are copied in. BENCH_STORAGE=default measures podman's own storage.
if [ "${BENCH_STORAGE:-journaled}" = journaled ]; then
  storage=$(mktemp -d /var/tmp/python-s2i-bench-storage.XXXXXX)
  truncate -s 60G "$storage.img"
  # Inode tables and journal written now, not by the kernel in the background during the runs.
  if mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$storage.img" && mount -o loop "$storage.img" "$storage"; then
    printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "/run/containers/%s"\n' \
      "$storage" "$(basename "$storage")" >"$work/storage.conf"
    for image in "$builder" "$runtime"; do
      podman save "$image" | CONTAINERS_STORAGE_CONF=$work/storage.conf podman load -q >/dev/null
    done
    export CONTAINERS_STORAGE_CONF=$work/storage.conf
    echo "Podman's storage here (sections 2 to 4) is a journaled ext4, loop-mounted from a file of /var/tmp, as"
    echo "on build nodes: on this machine's root filesystem, an ext4 without a journal, creating thousands of files"
    echo "within half a minute of a removal of thousands of others (the previous build's container) costs several"
    echo "times more in the kernel's inode allocator (BENCH_STORAGE=default measures it there)."
  else
    rm -rf "$storage" "$storage.img"
    storage=
    echo "Podman's own storage (a journaled ext4 could not be loop-mounted here)."
  fi
else
  echo "Podman's own storage (BENCH_STORAGE=default)."
fi
echo
# The Docker API s2i needs: a podman service of this run's own, on its own socket.
sock=$work/podman.sock
podman system service --time=0 "unix://$sock" >"$work/service.log" 2>&1 &
service=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$work/service.log" >&2; echo "the podman service did not start" >&2; exit 1; }
# The floor's builder: the same image, with an assemble that does nothing.
floor_builder=localhost/python-s2i-bench-floor-$$:$python
user=$(podman image inspect --format '{{.Config.User}}' "$builder")
printf '%s\n' "FROM $builder" "USER 0" \
  "RUN printf '#!/bin/sh\n# The floor of a build: nothing is assembled (the artifacts given are removed, as assemble does once it used them).\nrm -rf /tmp/artifacts/* 2>/dev/null\nexit 0\n' >/usr/libexec/s2i/assemble" \
  "USER ${user:-1001}" >"$work/Containerfile.floor"
mkdir "$work/floor-context"
podman build -q -t "$floor_builder" -f "$work/Containerfile.floor" "$work/floor-context" >>"$made"
# One build: FLOW KIND SOURCE BUILDER OUTPUT, its log in $work/last.log; assemble's own time
# (its "Build finished in" line; 0 for the floor) goes to $work/assemble as "FLOW KIND SECONDS".
cat >"$work/build" <<SH
#!/usr/bin/env bash
set -eo pipefail
flow=\$1 kind=\$2 source=\$3 builder=\$4 out=\$5
incremental=()
[ "\$kind" = clean ] || incremental=(--incremental)
log=$work/last.log
case \$flow in
  api)
    volume=()
    [ -n "$bundle" ] && [ -s "$bundle" ] && volume=(-v "$bundle:/etc/ssl/certs/ca-certificates.crt:ro")
    DOCKER_HOST=unix://$sock s2i build "\${incremental[@]}" --pull-policy never --incremental-pull-policy never \\
      "\${volume[@]}" "\$source" "\$builder" "\$out" >\$log 2>&1 ;;
  dockerfile)
    dir=\$(mktemp -d $work/dockerfile.XXXXXX)
    volume=()
    [ -n "$bundle" ] && [ -s "$bundle" ] && volume=(-v "$bundle:/etc/ssl/certs/ca-certificates.crt:ro")
    s2i build "\${incremental[@]}" --as-dockerfile "\$dir/Dockerfile" "\$source" "\$builder" "\$out" >\$log 2>&1
    podman build --layers=false "\${volume[@]}" -t "\$out" "\$dir" >>\$log 2>&1
    rm -rf "\$dir" ;;
  script)
    "$repo/images/s2i-build" ${ca[*]} "\${incremental[@]}" "\$source" "\$builder" "\$out" >\$log 2>&1 ;;
esac || { tail -40 \$log >&2; exit 1; }
podman image inspect --format '{{.Id}}' "\$out" >>"$made"
seconds=\$(sed -n 's/.*Build finished in \([0-9.]*\)\(m\{0,1\}s\).*/\1 \2/p' \$log | tail -n 1 |
  awk '{ print (\$2 == "ms" ? \$1 / 1000 : \$1) }')
echo "\$flow \$kind \${seconds:-0}" >>$work/assemble
SH
chmod +x "$work/build"
# images/s2i-build recording the image it made (sections 3 and 4).
cat >"$work/s2i" <<SH
#!/usr/bin/env bash
set -eo pipefail
"$repo/images/s2i-build" ${ca[*]} "\$@"
podman image inspect --format '{{.Id}}' "\${@: -1}" >>"$made"
SH
chmod +x "$work/s2i"
flows="api dockerfile script"
builds() { # NAME SOURCE EXTRA_REQUIREMENT
  local name=$1 source=$2 extra=$3 out=localhost/python-s2i-bench-$1 flow
  cp -a "$source" "$work/$name"
  cp -a "$source" "$work/$name-changed"
  printf '%s\n' "$extra" >>"$work/$name-changed/requirements.txt"
  "$work/s2i" "$work/$name" "$builder" "$out-previous" >"$work/$name-previous.log" 2>&1 ||
    { tail -30 "$work/$name-previous.log" >&2; exit 1; }
  for flow in $flows; do
    : >"$work/assemble"
    # Each run starts after a sync: no run pays for writing back what the one before it wrote
    # (creating the restored files costs several times more while the disk is busy).
    hyperfine --style basic --runs "$runs" --export-json "$work/$name-$flow.json" \
      --prepare "podman rmi -f $out >/dev/null 2>&1; sync" -n "clean" \
      "$work/build $flow clean $work/$name $builder $out" \
      --prepare "podman tag $out-previous $out && sync" -n "incremental, unchanged" \
      "$work/build $flow unchanged $work/$name $builder $out" \
      --prepare "podman tag $out-previous $out && sync" -n "incremental, one dependency changed" \
      "$work/build $flow changed $work/$name-changed $builder $out" \
      --prepare "podman tag $out-previous $out && sync" -n "floor" \
      "$work/build $flow floor $work/$name $floor_builder $out" >"$work/$name-$flow-hyperfine.log" 2>&1 ||
      { tail -30 "$work/$name-$flow-hyperfine.log" >&2; echo "the $flow builds of $name failed" >&2; exit 1; }
    mv "$work/assemble" "$work/$name-$flow.assemble"
  done
  python3 - "$work" "$name" $flows <<'PY'
import json, sys
work, name, flows = sys.argv[1], sys.argv[2], sys.argv[3:]
titles = {"api": "s2i (Docker API)", "dockerfile": "s2i --as-dockerfile + podman build", "script": "images/s2i-build"}
kinds = ["clean", "unchanged", "changed", "floor"]
goals = []
for flow in flows:
    results = json.load(open(f"{work}/{name}-{flow}.json"))["results"]
    assemble = {k: [] for k in kinds}
    for line in open(f"{work}/{name}-{flow}.assemble"):
        _, kind, seconds = line.split()
        assemble[kind].append(float(seconds))
    clean, floor = results[0]["mean"], results[3]["mean"]
    mean = lambda xs: sum(xs) / len(xs) if xs else None
    clean_own = mean(assemble["clean"])
    for kind, r in zip(kinds, results):
        own = mean(assemble[kind]) if kind != "floor" else None
        # assemble's own time as a share of the clean build's (issue 21: <= 25% unchanged).
        share = f"{100 * own / clean_own:.0f}%" if own is not None and clean_own and kind != "clean" else "-"
        own = f"{own:.1f} s" if own is not None else "-"
        over = f"+{r['mean'] - floor:.1f} s" if kind in ("unchanged", "changed") else "-"
        print(f"| {name} | {titles[flow]} | {r['command']} | {r['mean']:.1f} s | {min(r['times']):.1f} s | "
              f"{max(r['times']):.1f} s | {100 * r['mean'] / clean:.0f}% | {own} | {share} | {over} |")
    # For section 5: per flow, the incremental builds' and the floor's means as percentages of
    # the clean one.
    goals.append(f"{flow} " + " ".join(f"{100 * r['mean'] / clean:.0f}" for r in results[1:]))
with open(f"{work}/{name}.percent", "w") as f:
    f.write("\n".join(goals) + "\n")
PY
}
echo "| app | flow | build | mean | min | max | of clean | assemble | assemble of clean's | over the floor |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for name in $apps; do
  case $name in
    demo) builds demo test/fixtures/demo_django "six==1.16.0" ;;
    django-40-deps) builds django-40-deps test/fixtures/assemble_bench_django "six==1.16.0" ;;
    *) echo "BENCH_APPS: no app $name (demo, django-40-deps)" >&2; exit 2 ;;
  esac
done
echo
if [[ " $apps " == *" django-40-deps "* ]]; then
  installed=$(podman run --rm --entrypoint /opt/app-root/bin/python localhost/python-s2i-bench-django-40-deps-previous \
    -c 'import importlib.metadata as m; print(len(list(m.distributions())))' 2>/dev/null || echo "?")
  echo "django-40-deps is test/fixtures/assemble_bench_django: $installed distributions installed in its image (pip, uv and mod_wsgi included)."
fi
[ "$apps" = "demo django-40-deps" ] || echo "Only $apps measured in this run (BENCH_APPS); the full run measures demo and django-40-deps."
echo "\"assemble\" is assemble's own time in the same builds (its \"Build finished in\" line); \"assemble of clean's\""
echo "is that time as a share of the clean build's assemble time in the same flow (an unchanged rebuild's goal: <= 25%)."
echo
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
for image in $(printf 'localhost/python-s2i-bench-%s-previous ' $apps); do
  printf '| %-44s | %12s | %15s |\n' "$image ($builder)" "$(size "$image")" "$(( $(size "$image") - $(size "$builder") ))"
done
measured "$runtime"
for name in $apps; do
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
titles=(api "s2i (Docker API)" dockerfile "s2i --as-dockerfile" script "images/s2i-build")
for name in $apps; do
  while read -r flow unchanged changed floor_pc; do
    for ((i = 0; i < ${#titles[@]}; i += 2)); do [ "${titles[i]}" = "$flow" ] && title=${titles[i + 1]}; done
    outside="the flow's floor (section 2): $floor_pc% of the clean build"
    goal "$name, $title: incremental build, unchanged" "$unchanged% of clean" "<= 30%" "$((unchanged <= 30))" "$outside"
    goal "$name, $title: incremental build, one dependency changed" "$changed% of clean" "<= 60%" "$((changed <= 60))" "$outside"
  done <"$work/$name.percent"
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
