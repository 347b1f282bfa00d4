#!/bin/sh
# Runtime image step (as root, after the packages are installed, apt lists still present):
# Debian's apache2-bin, repacked without the only files that need perl and libxml2, so that
# perl (46 MB) and libxml2 with libicu (38 MB) leave the image. In apache2-bin, perl:any is
# there for the reportbug script (/usr/share/bug/apache2-bin/script), and libxml2 for
# mod_proxy_html and mod_xml2enc; mod_wsgi-express loads neither. The binary, every other
# module and the version's files are Debian's, unchanged (mod_wsgi, built in the builder image
# against the same apache2-bin, loads into it).
# The repacked version sorts just below Debian's (VERSION~pys2i1): an `apt-get install apache2`
# or `apt-get upgrade` in a derived image installs Debian's package again, with perl and libxml2.
set -eu
say() { echo "apache2-bin-without-perl: $*"; }
work=$(mktemp -d /tmp/apache2-bin.XXXXXX)
version=$(dpkg-query -W -f='${Version}' apache2-bin)
chown _apt "$work" 2>/dev/null || true # apt downloads as _apt
cd "$work"
say "\$ apt-get download apache2-bin=$version"
apt-get download -qq "apache2-bin=$version" >/dev/null
dpkg-deb -R apache2-bin_*.deb pkg
removed="usr/lib/apache2/modules/mod_proxy_html.so usr/lib/apache2/modules/mod_xml2enc.so usr/share/bug/apache2-bin/script"
for f in $removed; do
  rm -f "pkg/$f"
  sed -i "\\#  $f\$#d" pkg/DEBIAN/md5sums
done
# Depends without perl:any and libxml2; the new version and what was changed, in the package's
# own description (dpkg -s apache2-bin).
sed -i -e '/^Depends:/{s/perl:any, //; s/, libxml2 ([^)]*)//; s/libxml2 ([^)]*), //}' \
       -e "s/^Version: .*/Version: $version~pys2i1/" \
       -e '/^Description:/a\ Repacked by python-s2i for its runtime image: without mod_proxy_html,\n mod_xml2enc and the reportbug script, so without perl and libxml2.' \
       pkg/DEBIAN/control
if grep -E '^Depends:.*(perl|libxml2)' pkg/DEBIAN/control; then
  echo "apache2-bin-without-perl: the Depends line still names perl or libxml2 (above)" >&2
  exit 1
fi
dpkg-deb -b -Zxz pkg apache2-bin-without-perl.deb >/dev/null
# autoremove, not purge: a package that still depends on perl or libxml2 keeps them (and fails
# below); suggestions do not keep them (coreutils and others suggest perl).
autoremove="apt-get autoremove --purge -o APT::AutoRemove::SuggestsImportant=false"
say "\$ dpkg -i apache2-bin $version~pys2i1 && $autoremove"
dpkg -i apache2-bin-without-perl.deb >/dev/null 2>&1
# shellcheck disable=SC2086 # the command's words
DEBIAN_FRONTEND=noninteractive $autoremove -y -qq >/dev/null
cd /
rm -rf "$work"
# Every module and the server still resolve their libraries.
for f in /usr/sbin/apache2 /usr/lib/apache2/modules/*.so; do
  if ldd "$f" | grep -q 'not found'; then
    ldd "$f" >&2
    echo "apache2-bin-without-perl: $f has unresolved libraries" >&2
    exit 1
  fi
done
left=$(dpkg-query -W -f='${Package}\n' | grep -E '^(perl|libperl.*|perl-modules.*|libxml2|libicu.*)$' | tr '\n' ' ') || true
if [ -n "$left" ]; then
  echo "apache2-bin-without-perl: still installed: $left(another package needs them)" >&2
  exit 1
fi
say "apache2-bin $version~pys2i1 installed; perl, libxml2 and libicu removed (perl-base, essential, stays)"
