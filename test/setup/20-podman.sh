#!/usr/bin/env bash
# Container engine for the builder images and the end-to-end tests: podman (rootful) with runc,
# debootstrap to make Debian base images when no registry can be reached, and the network stack
# for published ports. The project's podman settings are images/containers.conf, used through
# CONTAINERS_CONF (set by the Makefile); /etc is not edited.
set -euo pipefail
packages=(podman runc conmon netavark aardvark-dns iptables debootstrap tar curl)
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
