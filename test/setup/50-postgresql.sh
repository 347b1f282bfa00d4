#!/usr/bin/env bash
# A private PostgreSQL for the migrate tests (test/tests/migrate.rs): Debian's `postgresql`
# package, a cluster of its own made with initdb and started with pg_ctl on 127.0.0.1:$PGTEST_PORT
# (default 55432) as a non-root user (`postgres` when run as root, else the current user), trust
# authentication for local TCP connections. Idempotent: installs what is missing, creates the
# cluster once, starts it when it is not running. The tests create one database each.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${PGTEST_PORT:-55432}

if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q 'install ok installed'; then
  echo "postgresql: installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The package's own cluster is not wanted: the tests run their own.
  mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  apt-get install -y -qq --no-install-recommends postgresql postgresql-client
fi
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

if [ "$(id -u)" = 0 ]; then
  user=postgres
  data=${PGTEST_DATA:-/var/tmp/python-s2i-postgresql-$port}
  as_user() { setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"; }
else
  user=$(id -un)
  data=${PGTEST_DATA:-$PWD/build/postgresql-$port}
  as_user() { "$@"; }
fi

if [ ! -f "$data/PG_VERSION" ]; then
  echo "postgresql: creating a cluster in $data (owner $user)"
  rm -rf "$data"
  mkdir -p "$data"
  chown "$user" "$data"
  chmod 700 "$data"
  as_user "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi

if as_user "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  echo "postgresql: running on 127.0.0.1:$port ($data)"
else
  echo "postgresql: starting on 127.0.0.1:$port ($data)"
  as_user "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $data -c max_connections=200 -c fsync=off" start >/dev/null
fi
"$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'SELECT version()'
