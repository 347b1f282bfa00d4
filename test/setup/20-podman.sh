#!/usr/bin/env bash
# Container engine for the builder images and the end-to-end tests: podman (rootful) with runc,
# debootstrap to make Debian base images when no registry can be reached, and the network stack
# for published ports; HAProxy (Debian's package) for the rolling-restart test; the real s2i CLI
# (openshift/source-to-image), built by ../shared/tools/install-s2i beside the repository when it
# is not on PATH (under CI=true, no s2i is a failure). The project's podman settings are images/containers.conf, used through
# CONTAINERS_CONF (set by the Makefile); /etc is not edited.
set -euo pipefail
packages=(podman runc conmon netavark aardvark-dns iptables debootstrap tar curl haproxy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "podman packages: all present"
else
  echo "podman packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
conf=$(cd "$(dirname "$0")/../.." && pwd)/images/containers.conf
CONTAINERS_CONF=$conf podman info --format 'podman {{.Version.Version}}: runtime {{.Host.OCIRuntime.Name}}, network {{.Host.NetworkBackend}}, storage {{.Store.GraphDriverName}}'

# The real s2i CLI (README: where users get it). The tests run it for every build path.
repo=$(cd "$(dirname "$0")/../.." && pwd)
if command -v s2i >/dev/null; then
  echo "s2i: $(command -v s2i) ($(s2i version 2>/dev/null))"
elif [ -x "$repo/../shared/tools/install-s2i" ]; then
  echo "s2i: not on PATH, building it with ../shared/tools/install-s2i"
  "$repo/../shared/tools/install-s2i"
elif [ "${CI:-}" = true ]; then
  echo "s2i: not on PATH and no ../shared/tools/install-s2i beside the repository (CI=true: a failure)" >&2
  exit 1
else
  echo "s2i: not on PATH; the tests that run it will fail (see README: the s2i CLI)" >&2
fi
