#!/usr/bin/env bash
# A private Redis for the Celery worker test (test/tests/apps.rs): Debian's `redis-server`
# package, started on 127.0.0.1:$REDISTEST_PORT (default 56379) with no persistence, as the
# `redis` user when run as root. Idempotent: installs it when missing, starts it when nothing
# answers on the port. The package's own service is left as Debian set it up.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${REDISTEST_PORT:-56379}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "redis: installing Debian's redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
fi

if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
  echo "redis: running on 127.0.0.1:$port"
  exit 0
fi
if [ "$(id -u)" = 0 ] && id redis >/dev/null 2>&1; then
  dir=/var/tmp/python-s2i-redis-$port
  as_user() { setpriv --reuid=redis --regid="$(id -g redis)" --init-groups -- "$@"; }
else
  dir=$PWD/build/redis-$port
  as_user() { "$@"; }
fi
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown redis "$dir" 2>/dev/null || true
echo "redis: starting on 127.0.0.1:$port ($dir)"
as_user redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
  --daemonize yes --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
for _ in $(seq 50); do
  redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && { echo "redis: ready"; exit 0; }
  sleep 0.1
done
echo "redis: did not answer on 127.0.0.1:$port; see $dir/redis.log" >&2
exit 1
