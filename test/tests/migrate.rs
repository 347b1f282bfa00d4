//! Django migrations with several replicas, the release phase and the probes, against a real
//! PostgreSQL (`test/setup/50-postgresql.sh`, 127.0.0.1:$PGTEST_PORT, default 55432) and SQLite.
//!
//! The fixture `test/fixtures/migrate_django` (a `shop` project, an `inventory` app whose data
//! migration loads a catalogue row by row, `SEED_ROW_SECONDS` per row) is built once by the real
//! `assemble` (uv, PyPI, gunicorn) into `build/test-migrate/app-root`; every test then starts
//! real `run` processes on it, each replica on its own port, against a database of its own.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use python_s2i_tests::{
    bin, clean_command, fixture, free_port, get, repo, wait_for_ok, PortWatch, Running,
};
use tempfile::TempDir;

/// Starting Django and gunicorn on a busy 2-core machine can take a while.
const START: Duration = Duration::from_secs(120);
/// The catalogue has three rows: the data migration takes 3 x this.
const SLOW_ROW: &str = "2";

/// The fixture's own variables in the outer environment, removed besides the settings
/// [`clean_command`] removes.
const FIXTURE: [&str; 3] = ["DATABASE_URL", "SEED_FILE", "SEED_ROW_SECONDS"];

/// `program` without the outer environment's settings ([`clean_command`]) and the fixture's.
fn clean(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = clean_command(program);
    for name in FIXTURE {
        command.env_remove(name);
    }
    command
}

fn pg_port() -> String {
    std::env::var("PGTEST_PORT").unwrap_or_else(|_| "55432".into())
}

/// The PgBouncer in transaction mode in front of it (`test/setup/55-pgbouncer.sh`).
fn pgbouncer_port() -> String {
    std::env::var("PGBOUNCER_PORT").unwrap_or_else(|_| "56432".into())
}

/// The fixture built by `assemble` once per test run.
fn app_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = repo().join("build/test-migrate");
        let root = base.join("app-root");
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&base).expect("mkdir");
        let cache = repo().join("build/test-cache");
        let path = format!(
            "{}:{}",
            repo().join("build/tools/bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = clean(bin("assemble"));
        let out = command
            .arg(fixture("migrate_django"))
            .env("APP_ROOT", &root)
            .env("PATH", path)
            .env("PYTHON", "/usr/bin/python3")
            .env("UV_CACHE_DIR", cache.join("uv"))
            .env("PIP_CACHE_DIR", cache.join("pip"))
            .env("S2I_ARTIFACTS_DIR", base.join("no-artifacts"))
            .env("APP_SERVER", "gunicorn")
            .output()
            .expect("run assemble");
        assert!(
            out.status.success(),
            "assemble failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        root
    })
}

/// A database of the test's own.
enum Database {
    Postgres { name: String },
    Sqlite { _dir: TempDir, path: PathBuf },
}

fn psql(database: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &pg_port(), "-U", "postgres", "-d"])
        .arg(database)
        .args(["-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Database {
    fn postgres(test: &str) -> Self {
        let name = format!("migrate_{test}_{}", std::process::id());
        if let Err(e) = psql("postgres", "SELECT 1") {
            panic!(
                "PostgreSQL is not reachable on 127.0.0.1:{}: run `make deps` (test/setup/50-postgresql.sh)\n{e}",
                pg_port()
            );
        }
        psql("postgres", &format!("DROP DATABASE IF EXISTS {name}")).expect("drop");
        psql("postgres", &format!("CREATE DATABASE {name}")).expect("create");
        Self::Postgres { name }
    }

    fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("migrate-sqlite-")
            .tempdir()
            .expect("tempdir");
        let path = dir.path().join("shop.sqlite3");
        Self::Sqlite { _dir: dir, path }
    }

    fn url(&self) -> String {
        match self {
            Self::Postgres { name } => {
                format!("postgres://postgres@127.0.0.1:{}/{name}", pg_port())
            }
            Self::Sqlite { path, .. } => format!("sqlite:///{}", path.display()),
        }
    }

    fn lock_word(&self) -> &'static str {
        match self {
            Self::Postgres { .. } => "PostgreSQL advisory lock",
            Self::Sqlite { .. } => "file lock",
        }
    }

    /// One value: the first column of the first row.
    fn query(&self, sql: &str) -> String {
        match self {
            Self::Postgres { name } => psql(name, sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
            Self::Sqlite { path, .. } => {
                let out = Command::new("/usr/bin/python3")
                    .args([
                        "-c",
                        "import sqlite3, sys\nrow = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()\nprint(row[0] if row else '')",
                    ])
                    .arg(path)
                    .arg(sql)
                    .output()
                    .expect("python3 sqlite3");
                assert!(
                    out.status.success(),
                    "{sql}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stdout).trim().to_owned()
            }
        }
    }

    fn applied(&self, app: &str, name: &str) -> u32 {
        self.query(&format!(
            "SELECT count(*) FROM django_migrations WHERE app = '{app}' AND name = '{name}'"
        ))
        .parse()
        .expect("count")
    }

    fn table_exists(&self, table: &str) -> bool {
        let sql = match self {
            Self::Postgres { .. } => {
                format!("SELECT count(*) FROM pg_tables WHERE tablename = '{table}'")
            }
            Self::Sqlite { .. } => {
                format!(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
                )
            }
        };
        self.query(&sql) == "1"
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Self::Postgres { name } = self {
            let _ = psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// Collects a pipe into a shared string as it arrives (partial lines too: Django prints
/// "Applying X..." before running X).
fn collect(
    mut pipe: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<String>>,
    closed: Arc<AtomicUsize>,
) {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            into.lock()
                .expect("log lock")
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        closed.fetch_add(1, Ordering::SeqCst);
    });
}

/// `run` (or `run ARG`) on the fixture, its output collected.
struct Replica {
    running: Running,
    port: u16,
    log: Arc<Mutex<String>>,
    /// How many of stdout and stderr reached their end.
    closed: Arc<AtomicUsize>,
}

fn run_command(db: &Database, port: u16, envs: &[(&str, &str)]) -> Command {
    let mut command = clean(bin("run"));
    command
        .env("APP_ROOT", app_root())
        .env("PORT", port.to_string())
        .env("DATABASE_URL", db.url())
        .env("WEB_CONCURRENCY", "1")
        .env("STOP_GRACE_PERIOD", "10")
        .current_dir(app_root());
    for (k, v) in envs {
        command.env(k, v);
    }
    command
}

impl Replica {
    fn start(db: &Database, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = run_command(db, port, envs);
        command.args(args);
        Self::spawn(command, port)
    }

    /// Starts `command` (a `run` listening on `port`), its output collected.
    fn spawn(mut command: Command, port: u16) -> Self {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut running = Running::spawn(&mut command);
        let log = Arc::new(Mutex::new(String::new()));
        let closed = Arc::new(AtomicUsize::new(0));
        collect(
            running.child.stdout.take().expect("stdout"),
            Arc::clone(&log),
            Arc::clone(&closed),
        );
        collect(
            running.child.stderr.take().expect("stderr"),
            Arc::clone(&log),
            Arc::clone(&closed),
        );
        Self {
            running,
            port,
            log,
            closed,
        }
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Waits until the log contains `needle` (the marker of a phase).
    fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("{needle:?} never appeared in the log:\n{}", self.log());
    }

    fn wait_ok(&self) -> String {
        match wait_for_ok(self.port, "/", START) {
            Ok(r) => r.body,
            Err(e) => panic!(
                "no 200 on port {}: {e}\n--- log:\n{}",
                self.port,
                self.log()
            ),
        }
    }

    /// Waits for `run` to exit and for its output to be read to the end.
    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = self.running.wait_timeout(timeout);
        let status =
            status.unwrap_or_else(|| panic!("run did not exit within {timeout:?}\n{}", self.log()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.closed.load(Ordering::SeqCst) < 2 {
            assert!(
                Instant::now() < deadline,
                "run exited but something still holds its output open\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
        status
    }

    /// Runs `run --check-ready` / `--check-live` as the platform's exec probe would.
    fn probe(&self, db: &Database, flag: &str) -> (bool, String) {
        let out = run_command(db, self.port, &[])
            .arg(flag)
            .output()
            .expect("run probe");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if matches!(self.running.child.try_wait(), Ok(None)) {
            self.running.signal(Signal::SIGTERM);
            let _ = self.running.wait_timeout(Duration::from_secs(30));
        }
    }
}

/// Lines that must not appear in a healthy replica's log.
fn assert_no_error(log: &str) {
    for bad in ["Traceback", "ERROR:", "[ERROR]", "django.db.utils."] {
        assert!(!log.contains(bad), "{bad:?} in the log:\n{log}");
    }
}

const SEED: &str = "Applying inventory.0002_seed_products... OK";
const BODY: &str = "3 products: Tea cup, Green tea, Black tea";

// ---------------------------------------------------------------- three replicas at once

fn three_replicas_migrate_once_and_all_serve(db: &Database) {
    let replicas: Vec<Replica> = (0..3)
        .map(|_| Replica::start(db, &[], &[("SEED_ROW_SECONDS", SLOW_ROW)]))
        .collect();
    for r in &replicas {
        assert_eq!(r.wait_ok(), BODY, "{}", r.log());
    }
    let logs: Vec<String> = replicas.iter().map(Replica::log).collect();
    let all = logs.join("\n======== next replica\n");
    for log in &logs {
        assert_no_error(log);
    }
    assert_eq!(
        logs.iter().filter(|l| l.contains(SEED)).count(),
        1,
        "exactly one replica applies the data migration:\n{all}"
    );
    let waited = format!("got the {}", db.lock_word());
    assert!(
        logs.iter().filter(|l| l.contains(&waited)).count() >= 1,
        "another replica waited for the lock:\n{all}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("No migrations to apply."))
            .count(),
        2,
        "the others found nothing to do:\n{all}"
    );
    assert_eq!(db.applied("inventory", "0002_seed_products"), 1, "{all}");
    assert_eq!(
        db.query("SELECT count(*) FROM inventory_product"),
        "3",
        "{all}"
    );
}

#[test]
fn postgresql_three_replicas_migrate_once_and_all_serve() {
    three_replicas_migrate_once_and_all_serve(&Database::postgres("three"));
}

#[test]
fn sqlite_three_replicas_migrate_once_and_all_serve() {
    three_replicas_migrate_once_and_all_serve(&Database::sqlite());
}

// ---------------------------------------------------------------- a failing migration

fn failing_migration_stops_every_replica(db: &Database) {
    let missing = "/nonexistent/catalogue.csv";
    // Each replica's port is watched while it runs: after it has exited, a refused
    // connection proves nothing.
    let replicas: Vec<(Replica, PortWatch)> = (0..3)
        .map(|_| {
            let replica = Replica::start(db, &[], &[("SEED_FILE", missing)]);
            let watch = PortWatch::start(replica.port);
            (replica, watch)
        })
        .collect();
    for (mut r, watch) in replicas {
        let status = r.wait_exit(START);
        let served = watch.stop();
        let log = r.log();
        assert_eq!(status.code(), Some(1), "{log}");
        assert!(log.contains("FileNotFoundError"), "{log}");
        assert!(log.contains(missing), "{log}");
        assert!(
            log.contains(
                "run: ERROR: Django's database migration failed; the server was not started."
            ),
            "{log}"
        );
        assert!(!log.contains("Listening at"), "a server started:\n{log}");
        assert_eq!(
            served, None,
            "something accepted connections on {} while run was alive:\n{log}",
            r.port
        );
    }
    assert_eq!(db.applied("inventory", "0002_seed_products"), 0);
}

#[test]
fn postgresql_failing_migration_stops_every_replica() {
    failing_migration_stops_every_replica(&Database::postgres("failing"));
}

#[test]
fn sqlite_failing_migration_stops_every_replica() {
    failing_migration_stops_every_replica(&Database::sqlite());
}

// ---------------------------------------------------------------- the release phase

fn release_phase_then_start_without_migrate(db: &Database) {
    // The pre-deployment hook inherits the deployment's DISABLE_MIGRATE=1: it migrates anyway.
    let mut release = Replica::start(db, &["--release"], &[("DISABLE_MIGRATE", "1")]);
    let status = release.wait_exit(START);
    let log = release.log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert_no_error(&log);
    assert!(log.contains(SEED), "{log}");
    assert!(
        log.contains("release hook: creating the cache table"),
        "{log}"
    );
    // Then the Procfile's release: line, after the migration.
    assert!(
        log.contains("Procfile release: `python manage.py showmigrations inventory`")
            && log.contains("[X] 0002_seed_products"),
        "{log}"
    );
    assert!(log.contains("run: release phase done"), "{log}");
    assert!(
        !log.contains("Listening at"),
        "--release started a server:\n{log}"
    );
    assert!(
        db.table_exists("shop_cache"),
        "the release hook did not run\n{log}"
    );
    assert_eq!(db.applied("inventory", "0002_seed_products"), 1);

    let start = Replica::start(db, &[], &[("DISABLE_MIGRATE", "1")]);
    assert_eq!(start.wait_ok(), BODY);
    let log = start.log();
    assert_no_error(&log);
    assert!(
        log.contains("migrate: skipped (DISABLE_MIGRATE=1)"),
        "{log}"
    );
    assert!(!log.contains("Operations to perform"), "{log}");
}

#[test]
fn postgresql_release_phase_then_start_without_migrate() {
    release_phase_then_start_without_migrate(&Database::postgres("release"));
}

#[test]
fn sqlite_release_phase_then_start_without_migrate() {
    release_phase_then_start_without_migrate(&Database::sqlite());
}

/// A failing release phase exits non-zero, so the platform stops the deployment.
#[test]
fn postgresql_release_phase_fails_with_the_migration() {
    let db = Database::postgres("release_fails");
    let mut release = Replica::start(&db, &["--release"], &[("SEED_FILE", "/nonexistent.csv")]);
    let status = release.wait_exit(START);
    let log = release.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("FileNotFoundError"), "{log}");
    assert!(
        !log.contains("release hook:"),
        "the hook ran after a failed migration:\n{log}"
    );
}

// ---------------------------------------------------------------- readiness and liveness

fn ready_only_after_migrations_and_an_answer(db: &Database) {
    let replica = Replica::start(db, &[], &[("SEED_ROW_SECONDS", SLOW_ROW)]);
    replica.wait_for_log(&format!("holding the {}", db.lock_word()), START);
    let (ready, why) = replica.probe(db, "--check-ready");
    assert!(!ready, "ready during the migration: {why}");
    assert!(why.contains("migrating"), "{why}");
    let (live, why) = replica.probe(db, "--check-live");
    assert!(live, "not live during the migration: {why}");
    assert!(
        !replica.log().contains("migrate: done"),
        "the migration ended before the probes ran; they proved nothing:\n{}",
        replica.log()
    );
    assert_eq!(replica.wait_ok(), BODY);
    let (ready, why) = replica.probe(db, "--check-ready");
    assert!(ready, "not ready while serving: {why}\n{}", replica.log());
    assert!(why.contains("answered 200"), "{why}");
    let (live, why) = replica.probe(db, "--check-live");
    assert!(live, "{why}");
}

#[test]
fn postgresql_ready_only_after_migrations_and_an_answer() {
    ready_only_after_migrations_and_an_answer(&Database::postgres("ready"));
}

#[test]
fn sqlite_ready_only_after_migrations_and_an_answer() {
    ready_only_after_migrations_and_an_answer(&Database::sqlite());
}

/// Probes of a container where nothing runs, and of a server that answers 500.
#[test]
fn probes_fail_without_a_start_and_on_a_500() {
    let db = Database::sqlite();
    let port = free_port();
    let out = run_command(&db, port, &[])
        .arg("--check-ready")
        .output()
        .expect("probe");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no start recorded"));
    // The schema is missing (migrate disabled on a fresh database): the app answers 500.
    let replica = Replica::start(&db, &[], &[("DISABLE_MIGRATE", "1")]);
    let deadline = Instant::now() + START;
    while get(replica.port, "/").is_err() {
        assert!(
            Instant::now() < deadline,
            "never answered\n{}",
            replica.log()
        );
        thread::sleep(Duration::from_millis(100));
    }
    let (ready, why) = replica.probe(&db, "--check-ready");
    assert!(!ready, "ready on a 500: {why}");
    assert!(why.contains("answered 500"), "{why}\n{}", replica.log());
}

// ---------------------------------------------------------------- bounds and signals

/// A replica does not wait for ever: past MIGRATE_LOCK_TIMEOUT it stops, saying why.
#[test]
fn postgresql_lock_wait_is_bounded() {
    let db = Database::postgres("bounded");
    let first = Replica::start(&db, &[], &[("SEED_ROW_SECONDS", "5")]);
    first.wait_for_log("holding the PostgreSQL advisory lock", START);
    let mut second = Replica::start(&db, &[], &[("MIGRATE_LOCK_TIMEOUT", "2")]);
    let status = second.wait_exit(START);
    let log = second.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("waiting for the PostgreSQL advisory lock"),
        "{log}"
    );
    assert!(log.contains("gave up after 2s"), "{log}");
    assert!(
        log.contains("run: ERROR: Gave up waiting for another replica's migration"),
        "{log}"
    );
    assert!(
        !first.log().contains("migrate: done"),
        "the first replica finished before the second gave up: nothing was proven\n{}",
        first.log()
    );
    assert_eq!(first.wait_ok(), BODY);
}

/// SIGTERM during the migration ends it (the init forwards it), the server never starts, the
/// lock and the half-done migration die with the session: the next start migrates.
#[test]
fn postgresql_term_during_migrate_ends_it_and_the_next_start_migrates() {
    let db = Database::postgres("term");
    let mut first = Replica::start(&db, &[], &[("SEED_ROW_SECONDS", "10")]);
    first.wait_for_log("holding the PostgreSQL advisory lock", START);
    first.wait_for_log("Applying inventory.0002_seed_products...", START);
    let sent = Instant::now();
    first.running.signal(Signal::SIGTERM);
    let status = first.wait_exit(Duration::from_secs(15));
    let log = first.log();
    assert_eq!(status.code(), Some(143), "{log}");
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "took {:?}",
        sent.elapsed()
    );
    assert!(!log.contains("Listening at"), "{log}");
    assert_eq!(db.applied("inventory", "0002_seed_products"), 0, "{log}");
    assert_eq!(db.query("SELECT count(*) FROM inventory_product"), "0");

    let second = Replica::start(&db, &[], &[]);
    assert_eq!(second.wait_ok(), BODY, "{}", second.log());
    let log = second.log();
    assert!(log.contains(SEED), "{log}");
    assert!(
        !log.contains("waiting for the"),
        "the lock outlived the session:\n{log}"
    );
}

/// A database that cannot be reached stops the start with the connection error and the fix.
#[test]
fn unreachable_database_stops_the_start_with_the_error() {
    let db = Database::sqlite();
    let mut replica = Replica::start(
        &db,
        &[],
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere")],
    );
    let status = replica.wait_exit(START);
    let log = replica.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("OperationalError"), "{log}");
    assert!(
        log.contains("run: ERROR: Django could not reach the database"),
        "{log}"
    );
    assert!(!log.contains("Listening at"), "{log}");
}

// ---------------------------------------------------------------- poolers and lost locks

impl Database {
    /// The URL through PgBouncer in transaction mode.
    fn via_pgbouncer(&self) -> String {
        let Self::Postgres { name } = self else {
            panic!("PgBouncer stands in front of PostgreSQL only");
        };
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &pgbouncer_port(), "-U", "postgres"])
            .args(["-d", "pgbouncer", "-Atc", "SHOW CONFIG"])
            .output()
            .expect("psql");
        let config = String::from_utf8_lossy(&out.stdout);
        assert!(
            config.lines().any(|l| l.starts_with("pool_mode|transaction|")),
            "no PgBouncer in transaction mode on 127.0.0.1:{}: run `make deps` (test/setup/55-pgbouncer.sh)\n{}",
            pgbouncer_port(),
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", pgbouncer_port())
    }

    /// Advisory locks held in this database (straight to PostgreSQL, not through the pooler).
    fn advisory_locks(&self) -> u32 {
        self.query(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .parse()
        .expect("count")
    }
}

impl Replica {
    /// Waits until the replica either waits for the lock or holds it; true when it waits.
    fn waits_for_the_lock(&self) -> bool {
        let deadline = Instant::now() + START;
        loop {
            let log = self.log();
            if log.contains("waiting for the") {
                return true;
            }
            if log.contains("holding the") || log.contains("got the") {
                return false;
            }
            assert!(Instant::now() < deadline, "never reached the lock:\n{log}");
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Behind PgBouncer in transaction pooling, the lock is one replica's while it migrates (a
/// session lock would sit on a pooled server connection that the next client gets, lock
/// included), and nothing of it is left on the pool afterwards.
#[test]
fn postgresql_behind_pgbouncer_in_transaction_mode_the_lock_holds_and_is_not_left_behind() {
    let db = Database::postgres("pgbouncer");
    let url = db.via_pgbouncer();
    let first = Replica::start(
        &db,
        &[],
        &[("DATABASE_URL", &url), ("SEED_ROW_SECONDS", SLOW_ROW)],
    );
    first.wait_for_log("holding the PostgreSQL advisory lock", START);
    first.wait_for_log("Applying inventory.0002_seed_products...", START);
    let second = Replica::start(&db, &[], &[("DATABASE_URL", &url)]);
    assert!(
        second.waits_for_the_lock(),
        "the second replica got the lock while the first one migrates:\n{}\n======== first\n{}",
        second.log(),
        first.log()
    );
    assert_eq!(first.wait_ok(), BODY, "{}", first.log());
    assert_eq!(second.wait_ok(), BODY, "{}", second.log());
    let (first_log, second_log) = (first.log(), second.log());
    assert_no_error(&first_log);
    assert_no_error(&second_log);
    assert!(first_log.contains(SEED), "{first_log}");
    assert!(
        second_log.contains("No migrations to apply."),
        "{second_log}"
    );
    assert_eq!(db.applied("inventory", "0002_seed_products"), 1);
    assert_eq!(db.query("SELECT count(*) FROM inventory_product"), "3");
    assert_eq!(
        db.advisory_locks(),
        0,
        "a migration lock was left on a pooled server connection"
    );
    // The next deployment takes the lock at once.
    let mut release = Replica::start(
        &db,
        &["--release"],
        &[("DATABASE_URL", &url), ("MIGRATE_LOCK_TIMEOUT", "5")],
    );
    let status = release.wait_exit(START);
    let log = release.log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(!log.contains("waiting for the"), "{log}");
}

/// The lock's connection dies while the first replica migrates: that replica stops at once
/// (its migration rolled back), and the one waiting migrates alone, once.
#[test]
fn postgresql_lock_connection_lost_mid_migration_stops_that_migration() {
    let db = Database::postgres("lock_lost");
    let mut first = Replica::start(&db, &[], &[("SEED_ROW_SECONDS", "3")]);
    first.wait_for_log("holding the PostgreSQL advisory lock", START);
    first.wait_for_log("Applying inventory.0002_seed_products...", START);
    let second = Replica::start(&db, &[], &[]);
    assert!(second.waits_for_the_lock(), "{}", second.log());
    let killed = db.query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' \
         AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    assert_eq!(killed, "1", "the lock's connection\n{}", first.log());
    let status = first.wait_exit(START);
    let log = first.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("lost the PostgreSQL advisory lock"), "{log}");
    assert!(
        log.contains("run: ERROR: The migration lock's database connection was lost"),
        "{log}"
    );
    assert!(!log.contains("Listening at"), "{log}");
    assert_eq!(second.wait_ok(), BODY, "{}", second.log());
    let second_log = second.log();
    assert!(second_log.contains(SEED), "{second_log}");
    assert_eq!(db.applied("inventory", "0002_seed_products"), 1);
    assert_eq!(db.query("SELECT count(*) FROM inventory_product"), "3");
}

/// SQLite in a directory that cannot be written (a read-only volume), already migrated: the
/// start needs no lock and serves (root ignores modes, so the directory is a read-only bind
/// mount in a mount namespace of its own).
#[test]
fn sqlite_read_only_directory_with_nothing_to_migrate_starts() {
    if !nix::unistd::getuid().is_root() {
        python_s2i_tests::cannot_run("needs root for unshare --mount");
        return;
    }
    let db = Database::sqlite();
    let Database::Sqlite { path, .. } = &db else {
        unreachable!()
    };
    let dir = path.parent().expect("dir").to_path_buf();
    let mut migrate = Replica::start(&db, &["--release"], &[]);
    let status = migrate.wait_exit(START);
    assert_eq!(status.code(), Some(0), "{}", migrate.log());

    let port = free_port();
    let run = run_command(&db, port, &[]);
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "sh",
            "-c",
            r#"mount --bind -o ro "$0" "$0" && exec "$@""#,
        ])
        .arg(&dir)
        .arg(bin("run"));
    command.envs(run.get_envs().filter_map(|(k, v)| Some((k, v?))));
    for (k, v) in run.get_envs() {
        if v.is_none() {
            command.env_remove(k);
        }
    }
    command.current_dir(app_root());
    let replica = Replica::spawn(command, port);
    assert_eq!(replica.wait_ok(), BODY, "{}", replica.log());
    let log = replica.log();
    assert!(
        log.contains("no migrations to apply; the file lock"),
        "{log}"
    );
    assert!(log.contains("Read-only file system"), "{log}");
    assert!(!log.contains("connection failed"), "{log}");
}

/// The environment of the migrate step, read from /proc while it migrates.
fn environment_of_the_migration(port: u16) -> Option<Vec<Vec<u8>>> {
    let marker = format!("PORT={port}").into_bytes();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let dir = entry.path();
        let Ok(cmdline) = fs::read(dir.join("cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).contains(".python-s2i/run/migrate.py") {
            continue;
        }
        let Ok(environ) = fs::read(dir.join("environ")) else {
            continue;
        };
        let vars: Vec<Vec<u8>> = environ.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
        if vars.contains(&marker) {
            return Some(vars);
        }
    }
    None
}

/// What the platform set reaches the migration as it was set (quotes are part of a secret, a
/// value that is not UTF-8 keeps its bytes), as it reaches the server and the hooks
/// (test/tests/run.rs).
#[test]
fn migrate_gets_the_environment_as_it_was_set() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let db = Database::sqlite();
    let port = free_port();
    let mut command = run_command(&db, port, &[("SEED_ROW_SECONDS", "1")]);
    command
        .env("SECRET", "'abc'")
        .env("NOT_UTF8", OsStr::from_bytes(b"caf\xe9 \"x\""));
    let replica = Replica::spawn(command, port);
    replica.wait_for_log("Applying inventory.0002_seed_products...", START);
    let vars = environment_of_the_migration(port)
        .unwrap_or_else(|| panic!("no migrate.py process\n{}", replica.log()));
    // Only the two variables in a failure message: the rest is the test machine's environment.
    let seen: Vec<String> = vars
        .iter()
        .filter(|v| v.starts_with(b"SECRET=") || v.starts_with(b"NOT_UTF8="))
        .map(|v| format!("{:?}", String::from_utf8_lossy(v)))
        .collect();
    assert!(vars.contains(&b"SECRET='abc'".to_vec()), "{seen:?}");
    assert!(
        vars.contains(&b"NOT_UTF8=caf\xe9 \"x\"".to_vec()),
        "{seen:?}"
    );
    assert_eq!(replica.wait_ok(), BODY, "{}", replica.log());
}
