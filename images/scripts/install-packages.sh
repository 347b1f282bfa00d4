#!/bin/sh
# Builder image step 1 (as root): Debian packages and the application user.
# Arguments come from the Containerfile's ARGs (PYTHON_PACKAGES).
set -eu
say() { echo "install-packages: $*"; }
# The image's en_US.UTF-8 is generated below; until then the tools run in C.UTF-8.
export LANG=C.UTF-8 LC_ALL=C.UTF-8

# Keep documentation and manual pages out of the image (copyright files stay).
cat >/etc/dpkg/dpkg.cfg.d/01-python-s2i-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/linda/*
CFG

python_packages=$(echo "${PYTHON_PACKAGES:-}" | tr ',' ' ')
case ${PACKAGE_SET:-builder} in
  builder)
    packages="
      $python_packages
      ca-certificates
      apache2-bin apache2-dev media-types
      gcc g++ make libc6-dev pkg-config libffi-dev libssl-dev
      git
      libnss-wrapper
      locales
      nodejs npm
      tar gzip bzip2 xz-utils
    "
    ;;
  runtime)
    # What a built /opt/app-root needs to run: the interpreter without headers or venv, the
    # shared libpython mod_wsgi links against, Apache's binary and modules, nss_wrapper, MIME
    # types, the en_US.UTF-8 locale; tar for s2i. No compilers, headers, git or npm.
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
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \
       /var/log/apt /var/log/dpkg.log /var/log/alternatives.log

# en_US.UTF-8, the locale of the default OpenShift Python image (LANG/LC_ALL in the
# Containerfile); C.UTF-8 stays available (built into glibc).
say "\$ locale-gen en_US.UTF-8"
echo 'en_US.UTF-8 UTF-8' >/etc/locale.gen
locale-gen >/dev/null

# fix-permissions DIR [-P], as users of the default OpenShift Python image call it in Dockerfiles.
/usr/bin/install -m 0755 /tmp/image-scripts/fix-permissions /usr/bin/fix-permissions

# The application user of OpenShift builder images: 1001, primary group 0 (root group), so that
# files it creates are usable by the arbitrary UID (always in group 0) the platform runs with.
say "\$ useradd -u 1001 -g 0 -M -d /opt/app-root/src default"
useradd -u 1001 -g 0 -M -d /opt/app-root/src -s /usr/sbin/nologin -c "Default Application User" default
mkdir -p /usr/libexec/s2i
