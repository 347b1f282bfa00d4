#!/bin/sh
# Builder image step 2 (as root): the virtualenv at $APP_ROOT with pip, uv and mod_wsgi-express,
# mod_wsgi compiled against this image's Apache; then group-0 permissions for the arbitrary UID.
# Arguments come from the Containerfile (PYTHON, MOD_WSGI_REQUIREMENT, INSTALL_UV).
set -eu
say() { echo "make-venv: $*"; }
run() { say "\$ $*"; "$@"; }

# A CA bundle given as the build secret `ca-bundle` replaces the trust store for this step only.
if [ -s /run/secrets/ca-bundle ]; then
  say "using the CA bundle of the build secret ca-bundle"
  export PIP_CERT=/run/secrets/ca-bundle SSL_CERT_FILE=/run/secrets/ca-bundle \
         REQUESTS_CA_BUNDLE=/run/secrets/ca-bundle
fi
export PIP_NO_CACHE_DIR=1

if ! command -v "$PYTHON" >/dev/null; then
  echo "make-venv: the interpreter '$PYTHON' is not in the image (PYTHON_PACKAGES or BASE_IMAGE)" >&2
  exit 1
fi
case $("$PYTHON" -c 'import sys; print(sys.version_info[0])') in
  2)
    # Python 2.7 has no venv module: use virtualenv (the last release that creates 2.7
    # environments), run from a throw-away Python 3 environment.
    run python3 -m venv /tmp/virtualenv-tool
    run /tmp/virtualenv-tool/bin/pip install --quiet 'virtualenv<20.22'
    export VIRTUALENV_OVERRIDE_APP_DATA=/tmp/virtualenv-data
    run /tmp/virtualenv-tool/bin/virtualenv --no-periodic-update -p "$PYTHON" "$APP_ROOT"
    rm -rf /tmp/virtualenv-tool /tmp/virtualenv-data
    # python3-venv was only needed for that. (python3 itself stays: on bullseye apache2-dev
    # needs it through debhelper.)
    venv_packages=$(dpkg-query -W -f='${Package} ${Status}\n' 'python3*-venv' 2>/dev/null |
      awk '/install ok installed/ {print $1}')
    if [ -n "$venv_packages" ]; then
      # shellcheck disable=SC2086 # a list of package names
      DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $venv_packages >/dev/null
      rm -rf /var/log/apt /var/log/dpkg.log /var/log/alternatives.log
    fi
    ;;
  *)
    run "$PYTHON" -m venv "$APP_ROOT"
    run "$APP_ROOT/bin/pip" install --quiet --upgrade pip
    ;;
esac

run "$APP_ROOT/bin/pip" install --quiet "$MOD_WSGI_REQUIREMENT"
if [ "${INSTALL_UV:-1}" = 1 ]; then
  run "$APP_ROOT/bin/pip" install --quiet uv
fi
# mod_wsgi must load into this image's Apache: check it now rather than at the first deployment.
module=$("$APP_ROOT/bin/mod_wsgi-express" module-location)
say "mod_wsgi module: $module (built against Apache $(dpkg-query -W -f='${Version}' apache2-bin))"
if ldd "$module" | grep -q 'not found'; then
  ldd "$module" >&2
  echo "make-venv: $module has unresolved libraries" >&2
  exit 1
fi

mkdir -p "$APP_ROOT/src"
chown -R 1001:0 "$APP_ROOT"
chmod -R g+rwX "$APP_ROOT"
