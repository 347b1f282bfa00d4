#!/bin/sh
# repack-without.sh PACKAGE DEPENDENCIES FILES...: replace the installed Debian PACKAGE by the
# same package without FILES (paths without their leading /) and without the DEPENDENCIES
# (space-separated names as its Depends line writes them) that only those files need; then purge
# what nothing depends on any more. Run as root during an image build, apt lists present.
#
# The images use it where a package's hard dependency costs far more than the file that needs it
# (docs/images.md, "What is in an image"):
#   runtime: apache2-bin without perl:any (its reportbug script) and libxml2 (mod_proxy_html
#            and mod_xml2enc, which mod_wsgi-express never loads): perl, libxml2 and libicu go;
#   runtime on bullseye: mime-support (a transitional package Python's stdlib depends on there)
#            without mailcap, whose run-mailcap is a perl script: perl goes (Python's mimetypes
#            reads /etc/mime.types, from media-types, which stays);
#   builder: apache2-dev without debhelper (dh_apache2, the debhelper add-on for Debian's own
#            Apache module packages): debhelper, dpkg-dev, libtool, gettext, file and man-db go;
#            apxs stays (autoconf, automake and patch are asked for by name, as sclorg has them).
# Everything else of the package is Debian's, unchanged (mod_wsgi, built against apache2-dev in
# the builder, loads into the runtime's apache2-bin of the same version). The repacked version
# sorts just below Debian's (VERSION~pys2i1), so `apt-get install`/`upgrade` in a derived image
# puts Debian's package back, with its dependencies; `dpkg -s PACKAGE` says what was changed.
set -eu
package=${1:?usage: repack-without.sh PACKAGE DEPENDENCIES FILES...}
dependencies=${2?usage: repack-without.sh PACKAGE DEPENDENCIES FILES...}
shift 2
say() { echo "repack-without: $*"; }
version=$(dpkg-query -W -f='${Version}' "$package")
work=$(mktemp -d /tmp/repack.XXXXXX)
chown _apt "$work" 2>/dev/null || true # apt downloads as _apt
cd "$work"
say "\$ apt-get download $package=$version"
apt-get download -qq -o Acquire::Retries=3 "$package=$version" >/dev/null
dpkg-deb -R "${package}_"*.deb pkg
for f in "$@"; do
  [ -e "pkg/$f" ] || { echo "repack-without: $package $version has no /$f" >&2; exit 1; }
  rm -f "pkg/$f"
  sed -i "\\#  $f\$#d" pkg/DEBIAN/md5sums
done
for d in $dependencies; do
  # "d", "d (>= x)" or "d:any" as one item of the comma-separated Depends line.
  sed -i -E "/^Depends:/{s/ $d( \([^)]*\))?,//; s/, $d( \([^)]*\))?\$//}" pkg/DEBIAN/control
  if grep -E "^Depends:.* $d( |,|\$)" pkg/DEBIAN/control >&2; then
    echo "repack-without: $d is still in the Depends line above" >&2
    exit 1
  fi
done
sed -i -e "s/^Version: .*/Version: $version~pys2i1/" \
       -e "/^Description:/a\\ Repacked by python-s2i: ${*:+without $*, so }without the dependencies $dependencies." \
       pkg/DEBIAN/control
dpkg-deb -b -Zxz pkg repacked.deb >/dev/null
# autoremove, not purge: what another package still depends on stays; suggestions do not keep
# anything (coreutils and others suggest perl).
autoremove="apt-get autoremove --purge -o APT::AutoRemove::SuggestsImportant=false"
say "\$ dpkg -i $package $version~pys2i1 (without $dependencies) && $autoremove"
dpkg -i repacked.deb >/dev/null 2>&1
# shellcheck disable=SC2086 # the command's words
DEBIAN_FRONTEND=noninteractive $autoremove -y -qq >/dev/null
cd /
rm -rf "$work"
left=
for d in $dependencies; do
  name=${d%:any}
  if dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'ok installed'; then left="$left $name"; fi
done
say "$package $version~pys2i1 installed; still needed by other packages:${left:- nothing}"
