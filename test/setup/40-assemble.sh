#!/usr/bin/env bash
# What the assemble tests need: uv in build/tools/bin (assemble finds it on PATH; one test runs
# without it so assemble installs uv itself), git for `git+file://` requirements, npm for the
# frontend builds (Debian's npm, unless Node.js with its npm is installed already).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v git >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends git; }
command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; }
tools=build/tools
if [ ! -x "$tools/uv/bin/uv" ]; then
  echo "assemble tests: installing uv into $tools/uv"
  /usr/bin/python3 -m venv "$tools/uv"
  "$tools/uv/bin/pip" install -q uv
fi
mkdir -p "$tools/bin"
ln -sf ../uv/bin/uv "$tools/bin/uv"
"$tools/bin/uv" --version
