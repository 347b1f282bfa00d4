#!/bin/sh
# Builder image step (as root, after the packages are installed): remove the static archives
# that sit beside their shared library (libc.a, libcrypto.a, libstdc++.a, ... 33 MB on
# bookworm). The linker takes lib*.a over lib*.so only when told to link statically (-static,
# -static-libstdc++), which no wheel or mod_wsgi build does; RHEL ships them apart, in -static
# packages, so the default OpenShift Python image has none either.
# Archives without a shared library stay: ordinary linking needs them (libc_nonshared.a,
# libgcc.a, the empty libpthread.a and libdl.a of glibc 2.34+, libstdc++fs.a, ...).
# An archive that is a linker script (libm.a: GROUP(libm-2.36.a libmvec.a)) goes with the
# archives it names. Each removed path is also excluded for dpkg, so that an upgrade of its
# package in a derived image does not bring it back (docs/images.md, "What is in an image").
set -eu
cfg=/etc/dpkg/dpkg.cfg.d/03-python-s2i-static-archives
say() { echo "drop-static-archives: $*"; }

# The archives to remove, one path per line.
list=$(mktemp)
find /usr/lib /usr/local/lib -name 'lib*.a' \( -type f -o -type l \) | sort | while read -r a; do
  [ -e "${a%.a}.so" ] || continue
  echo "$a"
  # A linker script instead of an ar archive: the archives it names go too.
  if ! head -c 7 "$a" | grep -q '^!<arch>'; then
    grep -oE '[^ ()]+\.a' "$a" | while read -r named; do
      case $named in /*) ;; *) named=$(dirname "$a")/$named ;; esac
      if [ -e "$named" ]; then echo "$named"; fi
    done
  fi
done | sort -u >"$list"

bytes=0
{
  echo "# Static archives beside their shared library (drop-static-archives.sh)."
  while read -r a; do
    echo "path-exclude=$a"
  done <"$list"
} >"$cfg"
while read -r a; do
  bytes=$((bytes + $(stat -c %s "$a")))
  rm -f "$a"
done <"$list"
say "removed $(wc -l <"$list") archives, $((bytes / 1000000)) MB; kept $(find /usr/lib /usr/local/lib -name 'lib*.a' | wc -l) without a shared library"
rm -f "$list"
