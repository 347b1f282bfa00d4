#!/usr/bin/env bash
# What the supply-chain tests need on the host (test/tests/supply.rs): pypiserver with passlib
# (a real package index behind basic auth, on loopback), setuptools and wheel (to build the
# package it serves), cyclonedx-python-lib with its JSON schema validator (the SBOM is checked
# against the CycloneDX 1.6 schema).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=build/tools/supply
if [ ! -x "$venv/bin/pypi-server" ] || ! "$venv/bin/python" -c 'import cyclonedx.validation.json, passlib, wheel, setuptools, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 77)' 2>/dev/null; then
  echo "supply tests: installing pypiserver and cyclonedx-python-lib into $venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'pypiserver>=2' passlib 'setuptools>=77' wheel 'cyclonedx-python-lib[json-validation]>=8'
fi
"$venv/bin/pypi-server" --version
