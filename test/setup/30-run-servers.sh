#!/usr/bin/env bash
# The virtualenv the `run` tests and `make bench-serve` serve from: Debian's python3 (so a server
# dropped to another user can load it) with every server `run` knows, plus Django.
# Cached in build/test-venvs/servers; rebuilt when this file's package list changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=build/test-venvs/servers
packages=(
  mod_wsgi gunicorn pyuwsgi waitress uvicorn hypercorn granian
  django starlette pastedeploy
)
stamp="$venv/.packages"
want="${packages[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "server test venv: up to date ($venv)"
  exit 0
fi
echo "server test venv: creating $venv"
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
# Servers dropped to an unprivileged user must be able to read and traverse the venv.
chmod -R a+rX "$venv"
echo "$want" >"$stamp"
echo "server test venv: ready"
