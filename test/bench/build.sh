#!/usr/bin/env bash
# Build benchmark (`make bench-build`): on a Django + 14 dependencies app
# (test/fixtures/assemble_bench_django), measured side by side in one run:
#   1. baseline: a new virtualenv + plain `pip install -r requirements.txt`, empty pip cache
#   2. cold assemble: new $APP_ROOT, empty caches, no artifacts (uv; includes collectstatic,
#      facts, permissions)
#   3. warm build: save-artifacts of build 2 | tar -x (timed), then assemble in a new
#      $APP_ROOT with those artifacts
#   4. group-0 permission fix on ~50,000 files: assemble's pass vs a find -exec chgrp/chmod
#      script (sclorg's fix-permissions approach), from the same starting modes
# Needs network to PyPI. Uses Debian's /usr/bin/python3 and uv from build/tools/bin
# (test/setup/40-assemble.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
app=$repo/test/fixtures/assemble_bench_django
python=/usr/bin/python3
work=$(mktemp -d /tmp/python-s2i-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export PATH=$repo/build/tools/bin:$PATH PYTHON=$python APP_SERVER=gunicorn
unset UV_CACHE_DIR PIP_CACHE_DIR PIP_FIND_LINKS VIRTUAL_ENV

now() { date +%s.%N; }
declare -A took
timed() { # name command...
  local name=$1; shift
  local start; start=$(now)
  "$@" > "$work/$name.log" 2>&1 || { echo "$name failed, log:"; tail -40 "$work/$name.log"; exit 1; }
  took[$name]=$(awk -v a="$(now)" -v b="$start" 'BEGIN { printf "%.3f", a - b }')
}

command -v uv >/dev/null || { echo "uv is missing from build/tools/bin: run test/setup/40-assemble.sh (make deps)" >&2; exit 1; }
echo "python-s2i build benchmark ($(nproc) cores, $($python --version), $(uv --version))"

baseline() {
  $python -m venv "$work/baseline"
  PIP_CACHE_DIR=$work/pip-cache "$work/baseline/bin/pip" install -r "$app/requirements.txt"
}
timed baseline baseline
# The same build also needs collectstatic: a second baseline row includes it.
cp -a "$app" "$work/baseline-src"
collectstatic() { (cd "$work/baseline-src" && "$work/baseline/bin/python" manage.py collectstatic --noinput); }
timed collectstatic collectstatic
took[baseline_full]=$(awk -v a="${took[baseline]}" -v b="${took[collectstatic]}" 'BEGIN { printf "%.3f", a + b }')

timed cold env APP_ROOT="$work/cold" S2I_ARTIFACTS_DIR="$work/none" "$repo/build/bin/assemble" "$app"

# The warm build is what an incremental build does: the previous build's save-artifacts
# stream unpacked into the new container's artifacts directory (the S2I tool's step), then
# assemble with it. Both are timed; the unpacking is also shown alone.
unpack() {
  rm -rf "$work/artifacts"; mkdir -p "$work/artifacts"
  APP_ROOT="$work/cold" "$repo/build/bin/save-artifacts" | tar -x -C "$work/artifacts"
  # Measured here: assemble removes the archives it has used.
  artifacts_size=$(du -sh "$work/artifacts" | cut -f1)
}
warm() {
  local t0; t0=$(now)
  unpack
  took[unpack]=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
  env APP_ROOT="$work/warm" S2I_ARTIFACTS_DIR="$work/artifacts" "$repo/build/bin/assemble" "$app"
}
timed warm warm
grep -q "Reusing the uv cache" "$work/warm.log" || { echo "warm build did not reuse the artifacts"; exit 1; }

# Permissions: six copies of the cold build's site-packages.
cargo build --quiet --release --locked --example fix-permissions -p s2i-assemble
fixer=$repo/target/release/examples/fix-permissions
tree=$work/perm
mkdir -p "$tree"
for i in 1 2 3 4 5 6; do cp -a "$work/cold/lib" "$tree/lib$i"; done
files=$(find "$tree" | wc -l)
find_script() {
  find "$tree" -exec chgrp 0 {} +
  find "$tree" -exec chmod g+rw {} +
  find "$tree" -type d -exec chmod g+x {} +
}
chmod -R g-rwx "$tree"; sync
timed perm_find find_script
chmod -R g-rwx "$tree"; sync
timed perm_assemble "$fixer" "$tree"
timed perm_find_again find_script
timed perm_assemble_again "$fixer" "$tree"

ratio() { awk -v a="${took[$1]}" -v b="${took[$2]}" 'BEGIN { printf "%.1f", a / b }'; }
printf '\n%-52s %9s %9s %12s\n' "step" "seconds" "vs pip" "vs pip+cs"
printf '%-52s %9.2f %9s %12s\n' "baseline: venv + pip install -r (cold)" "${took[baseline]}" "1.0x" ""
printf '%-52s %9.2f %9s %12s\n' "baseline + manage.py collectstatic" "${took[baseline_full]}" "" "1.0x"
printf '%-52s %9.2f %8sx %11sx\n' "assemble, cold (uv, no caches)" "${took[cold]}" "$(ratio baseline cold)" "$(ratio baseline_full cold)"
printf '%-52s %9.2f %8sx %11sx\n' "warm: unpack artifacts + assemble" "${took[warm]}" "$(ratio baseline warm)" "$(ratio baseline_full warm)"
printf '%-52s %9.2f\n' "  of which save-artifacts | tar -x ($artifacts_size)" "${took[unpack]}"
# The bill of materials: assemble logs what writing it took (docs/assemble.md, "Bill of materials").
sbom=$(sed -nE 's/.*sbom\.cdx\.json \(CycloneDX 1\.6, ([0-9]+) components, ([0-9]+) ms.*/\1 \2/p' "$work/cold.log")
[ -n "$sbom" ] || { echo "the cold build wrote no SBOM"; exit 1; }
printf '%-52s %9.3f\n' "  of cold assemble: the SBOM (${sbom% *} components)" "$(awk -v ms="${sbom#* }" 'BEGIN { print ms / 1000 }')"
echo "(assemble also introspects Django, runs collectstatic, records facts and fixes permissions)"
printf '\n%-52s %9s %9s\n' "permission fix on $files files" "seconds" "speed-up"
printf '%-52s %9.2f %9s\n' "find -exec chgrp/chmod (all modes wrong)" "${took[perm_find]}" "1.0x"
printf '%-52s %9.2f %8sx\n' "assemble's pass (all modes wrong)" "${took[perm_assemble]}" "$(ratio perm_find perm_assemble)"
printf '%-52s %9.2f %9s\n' "find -exec chgrp/chmod (already right)" "${took[perm_find_again]}" "1.0x"
printf '%-52s %9.2f %8sx\n' "assemble's pass (already right)" "${took[perm_assemble_again]}" "$(ratio perm_find_again perm_assemble_again)"
