#!/bin/sh
# Builder image step (as root, with the build's CA bundle): npm's own release instead of
# Debian's npm package. Debian splits npm's dependencies into ~300 node-* packages (~140 MB
# under /usr/share/nodejs); npm's release bundles them in ~25 MB. Debian's npm installs it (the
# ordinary client, from the npm registry) and is then purged; Node.js itself stays Debian's.
# If the registry cannot be reached, Debian's npm stays (with a warning): the image still works.
set -eu
say() { echo "npm-release: $*"; }
command -v npm >/dev/null || { say "no npm in the image: nothing to do"; exit 0; }
# npm's cache goes to /tmp, not to $HOME/.npm: HOME is the application's source directory.
export npm_config_cache=/tmp/npm-release-cache
if [ -s /run/secrets/ca-bundle ]; then
  export NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle
fi
# The newest npm line this Node.js supports: npm 10 needs Node 18.17+, npm 8 Node 12.13+.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -ge 18 ]; then spec='npm@^10'; else spec='npm@^8'; fi
say "\$ npm install --global --prefix /usr/local $spec (Node.js $(node --version))"
if ! npm install --global --prefix /usr/local --no-audit --no-fund --loglevel=error "$spec"; then
  say "WARNING: npm's release could not be installed; keeping Debian's npm"
  rm -rf "$npm_config_cache"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
say "\$ apt-get purge --auto-remove npm"
apt-get purge -y -qq --auto-remove npm >/dev/null
rm -rf /var/log/apt /var/log/dpkg.log /var/log/alternatives.log "$npm_config_cache"
hash -r
say "npm $(/usr/local/bin/npm --version) at /usr/local/bin/npm; Node.js $(node --version) kept"
