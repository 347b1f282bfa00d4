# Written by python-s2i's `run` and run with the app's virtualenv Python (2.7 to 3.14, Django
# 1.11 onwards): Django's `migrate` under a database lock, so that of several replicas starting
# at once one migrates and the others wait, then find nothing to do (or fail the same way).
#
#   migrate.py APP_DIR SETTINGS_MODULE LOCK_TIMEOUT_SECONDS
#
# The lock is taken through Django's own database settings, on a connection of its own:
#   postgresql      pg_try_advisory_xact_lock(KEY) inside a transaction left open on that
#                   connection until the migration ends: a connection pooler in transaction
#                   mode (PgBouncer) keeps one server connection for an open transaction, so the
#                   lock is neither shared with another client nor left behind on a pooled
#                   connection, and it ends with the transaction whatever happens
#   mysql/mariadb   GET_LOCK('python-s2i-migrate:<database>', 0)
#   sqlite          flock() on '<database file>.migrate-lock' beside the database file
#   other vendors   no lock (said on stderr)
# While the migration runs, a watchdog asks the lock's connection every CHECK_EVERY seconds
# whether the lock is still held; when that connection fails (or stops answering for STALE
# seconds) the process ends at once (exit 5): the migration in progress dies with its own
# connection (rolled back where DDL is transactional) instead of running beside the replica that
# takes the lock next. A replica that had to wait for the lock waits SETTLE seconds more once it
# has it, so that a holder that lost it has ended before it starts.
# Exit status: 0 migrated or nothing to do; 1 the migration failed (traceback above);
# 3 the lock was not free within LOCK_TIMEOUT_SECONDS; 4 Django or the database connection could
# not be set up (traceback above); 5 the lock was lost during the migration; 6 SQLite's lock file
# cannot be made (read-only directory) and there are migrations to apply. A signal ends it as
# signals end Python; the database ends the session, which releases the lock and rolls back the
# migration in progress where DDL is transactional.
from __future__ import print_function

import errno
import os
import sys
import threading
import time
import traceback

EXIT_FAILED = 1
EXIT_TIMEOUT = 3
EXIT_SETUP = 4
EXIT_LOCK_LOST = 5
EXIT_READ_ONLY = 6
# pg_advisory_lock key: the bytes "s2imigr" read as a number; any constant both sides share.
PG_KEY = 0x7332696D696772
LOCK_NAME = "python-s2i-migrate"
REPORT_EVERY = 10.0
POLL = 0.25
# The watchdog's period, how long the lock's connection may stay silent, and the wait of a
# replica that got the lock after another held it (longer than a holder needs to notice).
CHECK_EVERY = 0.5
STALE = 5.0
SETTLE = 2 * CHECK_EVERY + 0.5

now = getattr(time, "monotonic", time.time)


def say(message):
    sys.stderr.write("run: migrate: %s\n" % message)
    sys.stderr.flush()


class Timeout(Exception):
    pass


class LockUnavailable(Exception):
    """The lock cannot be taken at all (SQLite: its file cannot be made)."""


class NoLock(object):
    """Vendors without a lock: migrate unlocked, and say so."""

    def __init__(self, vendor):
        self.what = "no lock for %s databases" % vendor

    watched = False

    def try_acquire(self):
        return True

    def release(self):
        pass


class ConnectionLock(object):
    """A lock held by a database connection of its own, so that whatever the migration does to
    Django's default connection (close it, reconnect) does not release it. Queries go through
    the driver's connection (not Django's wrapper), which the watchdog thread may use too."""

    watched = True

    def __init__(self, default):
        self.wrapper = type(default)(dict(default.settings_dict), default.alias)
        self.database = default.settings_dict.get("NAME") or ""
        self.raw = None

    def execute(self, sql, params=None):
        if self.raw is None:
            self.wrapper.ensure_connection()
            self.raw = self.wrapper.connection
        cursor = self.raw.cursor()
        try:
            cursor.execute(sql, params)
            if cursor.description is not None:
                return cursor.fetchone()[0]
            return None
        finally:
            cursor.close()

    def close(self):
        try:
            self.wrapper.close()
        except Exception:
            pass


class PostgresLock(ConnectionLock):
    """A transaction-scoped advisory lock in a transaction left open: correct behind PgBouncer
    in transaction mode, and released by the server when the transaction or connection ends."""

    def __init__(self, default):
        ConnectionLock.__init__(self, default)
        self.params = [PG_KEY]
        self.what = "PostgreSQL advisory lock %d on database %s" % (PG_KEY, self.database)

    def try_acquire(self):
        self.execute("BEGIN")
        if self.execute("SELECT pg_try_advisory_xact_lock(%s)", self.params):
            return True
        # Not ours: end the transaction, so that no server connection is kept while waiting.
        self.execute("ROLLBACK")
        return False

    def still_held(self):
        # Inside the same transaction the lock is granted again (stacked) only to its holder.
        return bool(self.execute("SELECT pg_try_advisory_xact_lock(%s)", self.params))

    def release(self):
        try:
            self.execute("ROLLBACK")
        finally:
            self.close()


class MysqlLock(ConnectionLock):
    def __init__(self, default):
        ConnectionLock.__init__(self, default)
        # GET_LOCK names are server-wide and at most 64 characters: name the database.
        name = ("%s:%s" % (LOCK_NAME, self.database))[:64]
        self.params = [name]
        self.what = "MySQL GET_LOCK('%s')" % name

    def try_acquire(self):
        return self.execute("SELECT GET_LOCK(%s, 0)", self.params) == 1

    def still_held(self):
        return self.execute("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", self.params) == 1

    def release(self):
        try:
            self.execute("SELECT RELEASE_LOCK(%s)", self.params)
        finally:
            self.close()


class Watchdog(object):
    """Ends the process as soon as the lock's connection fails or stops answering: a
    migration must never go on without the lock (another replica may hold it by then)."""

    def __init__(self, lock):
        self.lock = lock
        self.done = threading.Event()
        self.last_ok = now()
        self.threads = [
            threading.Thread(target=self.check, name="migrate-lock-check"),
            threading.Thread(target=self.monitor, name="migrate-lock-monitor"),
        ]

    def start(self):
        for thread in self.threads:
            thread.daemon = True
            thread.start()

    def stop(self):
        self.done.set()
        self.threads[0].join(STALE)

    def check(self):
        while not self.done.wait(CHECK_EVERY):
            try:
                held = self.lock.still_held()
            except Exception as e:
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                self.lost("its connection failed: %s" % first)
                return
            if not held:
                self.lost("the database no longer grants it")
                return
            self.last_ok = now()

    def monitor(self):
        while not self.done.wait(CHECK_EVERY):
            if now() - self.last_ok > STALE:
                self.lost("its connection has not answered for %ds" % STALE)
                return

    def lost(self, why):
        if self.done.is_set():
            return
        say(
            "lost the %s during the migration (%s): stopping now, so that no other replica "
            "migrates beside this one; the migration in progress is rolled back where DDL is "
            "transactional, and the next start continues from there" % (self.lock.what, why)
        )
        os._exit(EXIT_LOCK_LOST)


class FileLock(object):
    """SQLite: an exclusive flock() on a file beside the database file (every replica sharing
    the file shares the directory)."""

    def __init__(self, database):
        self.path = os.path.abspath(database) + ".migrate-lock"
        self.what = "file lock %s" % self.path
        self.handle = None

    watched = False

    def try_acquire(self):
        import fcntl

        if self.handle is None:
            try:
                self.handle = open(self.path, "a")
            except (IOError, OSError) as e:
                if e.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                    raise LockUnavailable("%s cannot be made: %s" % (self.path, e.strerror))
                raise
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


def pending(default):
    """The migrations Django would apply (read without the lock)."""
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(default)
        return executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        default.close()


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
    except LockUnavailable as e:
        try:
            todo = pending(default)
        except Exception:
            traceback.print_exc()
            say("could not read which migrations are applied")
            return EXIT_SETUP
        if not todo:
            say("no migrations to apply; the %s is not needed (%s)" % (lock.what, e))
            return 0
        say(
            "%d migration(s) to apply, but %s: SQLite writes beside the database file (its "
            "journal and this lock), so its directory must be writable to migrate" % (len(todo), e)
        )
        return EXIT_READ_ONLY
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
    watchdog = Watchdog(lock) if lock.watched else None
    if watchdog is not None:
        watchdog.start()
        if waited:
            # The replica that held it may have lost it with its connection: let it notice.
            time.sleep(SETTLE)
    started = now()
    try:
        from django.core.management import call_command

        call_command("migrate", interactive=False)
    except Exception:
        traceback.print_exc()
        say("failed after %.1fs" % (now() - started))
        return EXIT_FAILED
    finally:
        if watchdog is not None:
            watchdog.stop()
        try:
            lock.release()
        except Exception:
            pass
    say("done in %.1fs" % (now() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
