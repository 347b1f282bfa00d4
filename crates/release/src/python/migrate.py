# Written by python-s2i's `run` and run with the app's virtualenv Python (2.7 to 3.14, Django
# 1.11 onwards): Django's `migrate` under a database lock, so that of several replicas starting
# at once one migrates and the others wait, then find nothing to do (or fail the same way).
#
#   migrate.py APP_DIR SETTINGS_MODULE LOCK_TIMEOUT_SECONDS
#
# The lock is taken through Django's own database settings, on a connection of its own:
#   postgresql      pg_try_advisory_lock(KEY), held by the session
#   mysql/mariadb   GET_LOCK('python-s2i-migrate:<database>', 0)
#   sqlite          flock() on '<database file>.migrate-lock' beside the database file
#   other vendors   no lock (said on stderr)
# Exit status: 0 migrated or nothing to do; 1 the migration failed (traceback above);
# 3 the lock was not free within LOCK_TIMEOUT_SECONDS; 4 Django or the database connection could
# not be set up (traceback above). A signal ends it as signals end Python; the database ends the
# session, which releases the lock and rolls back the migration in progress where DDL is
# transactional.
from __future__ import print_function

import os
import sys
import time
import traceback

EXIT_FAILED = 1
EXIT_TIMEOUT = 3
EXIT_SETUP = 4
# pg_advisory_lock key: the bytes "s2imigr" read as a number; any constant both sides share.
PG_KEY = 0x7332696D696772
LOCK_NAME = "python-s2i-migrate"
REPORT_EVERY = 10.0
POLL = 0.25

now = getattr(time, "monotonic", time.time)


def say(message):
    sys.stderr.write("run: migrate: %s\n" % message)
    sys.stderr.flush()


class Timeout(Exception):
    pass


class NoLock(object):
    """Vendors without a lock: migrate unlocked, and say so."""

    def __init__(self, vendor):
        self.what = "no lock for %s databases" % vendor

    def try_acquire(self):
        return True

    def release(self):
        pass


class ConnectionLock(object):
    """A lock held by a database session of its own, so that whatever the migration does to
    Django's default connection (close it, reconnect) does not release it."""

    def __init__(self, default):
        self.connection = type(default)(dict(default.settings_dict), default.alias)
        self.database = default.settings_dict.get("NAME") or ""

    def query(self, sql, params):
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def release(self):
        try:
            self.query(self.unlock_sql, self.params)
        finally:
            self.connection.close()


class PostgresLock(ConnectionLock):
    lock_sql = "SELECT pg_try_advisory_lock(%s)"
    unlock_sql = "SELECT pg_advisory_unlock(%s)"

    def __init__(self, default):
        ConnectionLock.__init__(self, default)
        self.params = [PG_KEY]
        self.what = "PostgreSQL advisory lock %d on database %s" % (PG_KEY, self.database)

    def try_acquire(self):
        return bool(self.query(self.lock_sql, self.params))


class MysqlLock(ConnectionLock):
    lock_sql = "SELECT GET_LOCK(%s, 0)"
    unlock_sql = "SELECT RELEASE_LOCK(%s)"

    def __init__(self, default):
        ConnectionLock.__init__(self, default)
        # GET_LOCK names are server-wide and at most 64 characters: name the database.
        name = ("%s:%s" % (LOCK_NAME, self.database))[:64]
        self.params = [name]
        self.what = "MySQL GET_LOCK('%s')" % name

    def try_acquire(self):
        return self.query(self.lock_sql, self.params) == 1


class FileLock(object):
    """SQLite: an exclusive flock() on a file beside the database file (every replica sharing
    the file shares the directory)."""

    def __init__(self, database):
        self.path = os.path.abspath(database) + ".migrate-lock"
        self.what = "file lock %s" % self.path
        self.handle = None

    def try_acquire(self):
        import errno
        import fcntl

        if self.handle is None:
            self.handle = open(self.path, "a")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except (IOError, OSError) as e:
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise

    def release(self):
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def sqlite_in_memory(name):
    name = str(name or "")
    return name in ("", ":memory:") or "mode=memory" in name


def lock_for(default):
    vendor = default.vendor
    if vendor == "postgresql":
        return PostgresLock(default)
    if vendor == "mysql":
        return MysqlLock(default)
    if vendor == "sqlite":
        name = default.settings_dict.get("NAME")
        if sqlite_in_memory(name):
            return NoLock("in-memory SQLite")
        return FileLock(str(name))
    return NoLock(vendor)


def acquire(lock, timeout):
    """Takes the lock within `timeout` seconds, reporting the wait; returns the seconds waited."""
    started = now()
    if lock.try_acquire():
        return 0.0
    say(
        "waiting for the %s: another replica is migrating (at most %ds, MIGRATE_LOCK_TIMEOUT)"
        % (lock.what, timeout)
    )
    next_report = REPORT_EVERY
    while True:
        elapsed = now() - started
        if elapsed >= timeout:
            raise Timeout(elapsed)
        if elapsed >= next_report:
            say("still waiting for the %s after %ds" % (lock.what, int(elapsed)))
            next_report += REPORT_EVERY
        time.sleep(POLL)
        if lock.try_acquire():
            return now() - started


def setup(app_dir, settings_module):
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    if hasattr(django, "setup"):
        django.setup()
    from django.db import DEFAULT_DB_ALIAS, connections

    return connections[DEFAULT_DB_ALIAS]


def main(argv):
    app_dir, settings_module, timeout = argv[1], argv[2], int(argv[3])
    try:
        default = setup(app_dir, settings_module)
        lock = lock_for(default)
    except Exception:
        traceback.print_exc()
        say("Django could not be set up with DJANGO_SETTINGS_MODULE=%s" % os.environ.get("DJANGO_SETTINGS_MODULE"))
        return EXIT_SETUP
    if isinstance(lock, NoLock):
        say("%s: migrating unlocked (with several replicas, migrate in a release phase: run --release)" % lock.what)
    try:
        waited = acquire(lock, timeout)
    except Timeout as e:
        say(
            "gave up after %ds: the %s is still held (MIGRATE_LOCK_TIMEOUT=%d)"
            % (int(e.args[0]), lock.what, timeout)
        )
        return EXIT_TIMEOUT
    except Exception:
        traceback.print_exc()
        say("could not take the %s: the database connection failed" % lock.what)
        return EXIT_SETUP
    if not isinstance(lock, NoLock):
        if waited:
            say("got the %s after %.1fs" % (lock.what, waited))
        else:
            say("holding the %s" % lock.what)
    started = now()
    try:
        from django.core.management import call_command

        call_command("migrate", interactive=False)
    except Exception:
        traceback.print_exc()
        say("failed after %.1fs" % (now() - started))
        return EXIT_FAILED
    finally:
        try:
            lock.release()
        except Exception:
            pass
    say("done in %.1fs" % (now() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
