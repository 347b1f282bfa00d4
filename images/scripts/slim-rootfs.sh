#!/bin/sh
# slim-rootfs.sh DPKG_CFG: remove from the running system every file a dpkg configuration's
# path-exclude lines leave out (less its path-include lines), and install that configuration, so
# that later packages leave them out too. images/base-image makes debian:SUITE-slim this way from
# debian:SUITE, as the official slim images are made.
set -eu
cfg=${1:?usage: slim-rootfs.sh DPKG_CFG}
exclude=$(sed -n 's/^path-exclude=//p' "$cfg")
include=$(sed -n 's/^path-include=//p' "$cfg")
set -f # the patterns are find's, not the shell's
excl=
for p in $exclude; do excl="$excl${excl:+ -o} -path $p"; done
incl=
for p in $include; do incl="$incl${incl:+ -o} -path $p"; done
# shellcheck disable=SC2086 # the expressions are lists of words
find / -xdev ! -type d \( $excl \) ! \( $incl \) -delete
# shellcheck disable=SC2086
find / -xdev -depth -mindepth 2 -type d \( $excl \) -empty -delete
install -m 0644 "$cfg" /etc/dpkg/dpkg.cfg.d/01-python-s2i-nodoc
