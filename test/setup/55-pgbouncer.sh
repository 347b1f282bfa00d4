#!/usr/bin/env bash
# A PgBouncer in transaction pooling mode in front of the tests' PostgreSQL
# (test/setup/50-postgresql.sh, which this script runs first), for the migrate tests
# (test/tests/migrate.rs): Debian's `pgbouncer` package, started on 127.0.0.1:$PGBOUNCER_PORT
# (default 56432) with a configuration of its own, as a non-root user (`postgres` when run as
# root, else the current user): pool_mode = transaction, every database forwarded to
# 127.0.0.1:$PGTEST_PORT as user postgres, trust authentication. Idempotent: installs what is
# missing, starts it when it is not running.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/setup/50-postgresql.sh >/dev/null
pg_port=${PGTEST_PORT:-55432}
port=${PGBOUNCER_PORT:-56432}

if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "pgbouncer: installing Debian's pgbouncer"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends pgbouncer
fi
pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

if [ "$(id -u)" = 0 ]; then
  user=postgres
  dir=/var/tmp/python-s2i-pgbouncer-$port
else
  user=$(id -un)
  dir=$PWD/build/pgbouncer-$port
fi

if pg_isready -q -h 127.0.0.1 -p "$port" -d pgbouncer -U postgres 2>/dev/null \
  && psql -h 127.0.0.1 -p "$port" -U postgres -d pgbouncer -Atc 'SHOW CONFIG' 2>/dev/null | grep -q '^pool_mode|transaction|'; then
  echo "pgbouncer: running on 127.0.0.1:$port (transaction pooling)"
  exit 0
fi

mkdir -p "$dir"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pg_port user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = 20
max_client_conn = 200
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
echo '"postgres" ""' >"$dir/userlist.txt"
chown -R "$user" "$dir"
echo "pgbouncer: starting on 127.0.0.1:$port (transaction pooling, $dir)"
if [ "$(id -u)" = 0 ]; then
  "$pgbouncer" -d -u "$user" "$dir/pgbouncer.ini"
else
  "$pgbouncer" -d "$dir/pgbouncer.ini"
fi
for _ in $(seq 50); do
  pg_isready -q -h 127.0.0.1 -p "$port" -U postgres -d postgres && break
  sleep 0.2
done
psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'SELECT 1' >/dev/null
echo "pgbouncer: ready"
