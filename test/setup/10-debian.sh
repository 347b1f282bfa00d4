#!/usr/bin/env bash
# Debian packages the build and the tests need. Installs only what is missing.
set -euo pipefail
packages=(
  file          # the static-link check
  util-linux    # unshare: run as PID 1 of a fresh PID namespace
  procps        # ps, to look for zombies
  zstd          # tar --zstd: the tests read and plant the compressed build artifacts
  tini          # the init baseline in benchmarks
  python3-venv python3-dev   # Debian's python3: a venv servers running as another user can load
  apache2-bin apache2-dev    # mod_wsgi-express is built against this Apache
  build-essential            # wheels with C code (mod_wsgi, uwsgi)
  pkg-config libpq-dev default-libmysqlclient-dev libxml2-dev  # the drivers and libxml2 fixtures, as in the builder image
  libnss-wrapper             # passwd entries for arbitrary UIDs
  wrk hyperfine              # load generator and command timer for benchmarks
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "Debian packages: all present"
  exit 0
fi
echo "Debian packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
