#!/bin/sh
# Builder image step 1 (as root): Debian packages and the application user.
# Arguments come from the Containerfile's ARGs (PYTHON_PACKAGES).
set -eu
say() { echo "install-packages: $*"; }
# The image's en_US.UTF-8 is generated below; until then the tools run in C.UTF-8.
export LANG=C.UTF-8 LC_ALL=C.UTF-8

# Keep documentation, manual pages and translations out of the image (copyright files stay),
# as the slim base image does (nodoc.dpkg.cfg); in the same way the static libpython and gcc's
# sanitizer runtimes, which no build links (unused-libs.dpkg.cfg).
install -m 0644 /tmp/image-scripts/nodoc.dpkg.cfg /etc/dpkg/dpkg.cfg.d/01-python-s2i-nodoc
install -m 0644 /tmp/image-scripts/unused-libs.dpkg.cfg /etc/dpkg/dpkg.cfg.d/02-python-s2i-unused-libs

python_packages=$(echo "${PYTHON_PACKAGES:-}" | tr ',' ' ')
case ${PACKAGE_SET:-builder} in
  builder)
    packages="
      $python_packages
      ca-certificates
      apache2-bin apache2-dev media-types
      gcc g++ make libc6-dev pkg-config libffi-dev libssl-dev autoconf automake patch
      libpq-dev default-libmysqlclient-dev libsqlite3-dev libxml2-dev libxslt1-dev
      libcurl4-openssl-dev libkrb5-dev libjpeg-dev zlib1g-dev
      git
      libnss-wrapper
      locales
      nodejs npm
      tar gzip bzip2 xz-utils
      curl wget unzip procps lsof rsync
    "
    ;;
  runtime)
    # What a built /opt/app-root needs to run: the interpreter without headers or venv, the
    # shared libpython mod_wsgi links against, Apache's binary and modules (repacked below
    # without perl and libxml2), nss_wrapper, MIME types, the en_US.UTF-8 locale; tar for s2i;
    # the client libraries of PostgreSQL and MySQL/MariaDB, which psycopg2 and mysqlclient
    # built from source link against. No compilers, headers, git or npm.
    runtime_python=
    for p in $python_packages; do
      case $p in *-dev|*-venv) ;; *) runtime_python="$runtime_python $p" ;; esac
    done
    interpreter=$(echo "$python_packages" | tr ' ' '\n' | grep -E '^python[0-9.]+$' | head -n 1)
    packages="
      $runtime_python ${interpreter:+lib$interpreter}
      ca-certificates
      apache2-bin media-types
      libnss-wrapper
      locales
      tar
      libpq5 libmariadb3
    "
    ;;
  *) echo "install-packages: PACKAGE_SET must be builder or runtime" >&2; exit 2 ;;
esac
export DEBIAN_FRONTEND=noninteractive
# DEBIAN_CHECK_VALID_UNTIL=no: accept Release files past their Valid-Until date, for a mirror
# that serves an old snapshot of testing (see docs/images.md; it turns off apt's protection
# against replayed metadata, so only for mirrors you trust).
apt_options=
if [ "${DEBIAN_CHECK_VALID_UNTIL:-yes}" = no ]; then
  say "WARNING: DEBIAN_CHECK_VALID_UNTIL=no: Release files past their Valid-Until date are accepted"
  apt_options="-o Acquire::Check-Valid-Until=false"
  echo 'Acquire::Check-Valid-Until "false";' >/etc/apt/apt.conf.d/99python-s2i-valid-until
fi
say "\$ apt-get $apt_options update"
# shellcheck disable=SC2086 # empty or one option
apt-get $apt_options update -qq
install() {
  say "\$ apt-get install --no-install-recommends" $packages
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  status=0
  apt-get install -y -qq --no-install-recommends $packages >/dev/null 2>/tmp/apt-errors || status=$?
  cat /tmp/apt-errors >&2
  return $status
}
if ! install; then
  # A mirror that lists security updates but cannot serve some of them (seen with partial
  # mirrors and caching proxies): with DEBIAN_SECURITY=auto, install from the release and its
  # point updates alone, so that the Apache binary and its headers (apxs) stay the same version.
  if [ "${DEBIAN_SECURITY:-auto}" = auto ] && grep -q -- '-security.*404' /tmp/apt-errors; then
    say "WARNING: the mirror cannot serve some security updates (above); installing without the"
    say "WARNING: security suite. Rebuild when the mirror is complete, or set DEBIAN_SECURITY=yes to fail."
    printf 'Package: *\nPin: release l=Debian-Security\nPin-Priority: -1\n' \
      >/etc/apt/preferences.d/python-s2i-no-security
    install
    rm /etc/apt/preferences.d/python-s2i-no-security
  else
    exit 1
  fi
fi
rm -f /tmp/apt-errors /etc/apt/apt.conf.d/99python-s2i-valid-until
# npm's own release instead of Debian's npm and its ~300 node-* packages (same layer, so the
# space is really saved).
sh /tmp/image-scripts/npm-release.sh
# Hard dependencies that only an unused file needs (repack-without.sh says why each is safe):
# the runtime image's apache2-bin without perl and libxml2 (with libicu), and on bullseye its
# mime-support without mailcap (perl again); the builder's apache2-dev without debhelper.
repack=/tmp/image-scripts/repack-without.sh
if [ "${PACKAGE_SET:-builder}" = runtime ]; then
  # libxml2's package name follows its soname (libxml2 up to trixie, libxml2-16 on forky).
  libxml2=$(dpkg-query -W -f='${Depends}' apache2-bin | grep -oE 'libxml2[a-z0-9.-]*' | head -n 1)
  sh $repack apache2-bin "perl:any $libxml2" usr/share/bug/apache2-bin/script \
    usr/lib/apache2/modules/mod_proxy_html.so usr/lib/apache2/modules/mod_xml2enc.so
  # bullseye: Python's stdlib depends on mime-support, which brings mailcap and with it perl.
  if dpkg-query -W -f='${Depends}' mime-support 2>/dev/null | grep -q mailcap; then
    sh $repack mime-support mailcap
  fi
  # Every module and the server still resolve their libraries.
  for f in /usr/sbin/apache2 /usr/lib/apache2/modules/*.so; do
    if ldd "$f" | grep -q 'not found'; then
      ldd "$f" >&2
      echo "install-packages: $f has unresolved libraries" >&2
      exit 1
    fi
  done
else
  sh $repack apache2-dev debhelper usr/bin/dh_apache2 \
    usr/share/perl5/Debian/Debhelper/Sequence/apache2.pm \
    usr/share/debhelper/autoscripts/postinst-apache2 usr/share/debhelper/autoscripts/postrm-apache2 \
    usr/share/debhelper/autoscripts/prerm-apache2
  # Static archives beside their shared library: only -static links take them.
  sh /tmp/image-scripts/drop-static-archives.sh
fi
# en_US.UTF-8, the locale of the default OpenShift Python image (LANG/LC_ALL in the
# Containerfile), compiled into /usr/lib/locale/en_US.utf8 (a directory, as C.UTF-8 is: purging
# locales deletes /usr/lib/locale/locale-archive); C.UTF-8 stays available (libc-bin). The
# locale sources (the locales package, 17 MB of /usr/share/i18n) are then purged: localedef
# belongs to libc-bin. A derived image that needs another locale installs locales again.
say "\$ localedef --no-archive -i en_US -f UTF-8 en_US.UTF-8 && apt-get purge --auto-remove locales"
localedef --no-archive -i en_US -f UTF-8 en_US.UTF-8
apt-get purge -y -qq --auto-remove locales >/dev/null
locale -a | grep -qx 'en_US.utf8' || { echo "install-packages: en_US.UTF-8 is not in locale -a" >&2; exit 1; }

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \
       /var/log/apt /var/log/dpkg.log /var/log/alternatives.log

# /bin/sh is bash, as on RHEL: a shell-form CMD then execs `run`, which is PID 1 whatever CMD the
# image was built with (bash-as-sh.sh, docs/init.md).
sh /tmp/image-scripts/bash-as-sh.sh

# fix-permissions DIR [-P], as users of the default OpenShift Python image call it in Dockerfiles.
/usr/bin/install -m 0755 /tmp/image-scripts/fix-permissions /usr/bin/fix-permissions

# The application user of OpenShift builder images: 1001, primary group 0 (root group), so that
# files it creates are usable by the arbitrary UID (always in group 0) the platform runs with.
say "\$ useradd -u 1001 -g 0 -M -d /opt/app-root/src default"
useradd -u 1001 -g 0 -M -d /opt/app-root/src -s /usr/sbin/nologin -c "Default Application User" default
mkdir -p /usr/libexec/s2i
