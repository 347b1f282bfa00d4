//! `run -- COMMAND` as a container init: every case of shared/reference/init.md, each run twice:
//! as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`, signals sent from
//! outside the namespace) and as an ordinary process (child subreaper).
//!
//! Needs root (for `unshare`), `sh`, `grep`, `sleep`. Handshakes go through files the child
//! writes; waits poll with generous timeouts so a loaded 2-core machine does not fail them.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use python_s2i_tests::{bin, clean_command, Running};

/// How long any wait may take before the test fails (the machine may be busy).
const PATIENCE: Duration = Duration::from_secs(60);

/// The signals init.md says must be forwarded, written out here rather than taken from the
/// library, so that a signal dropped from the library's list fails this test.
const FORWARDED: [Signal; 9] = [
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGTERM,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// PID 1 of a new PID namespace.
    Pid1,
    /// An ordinary process: a child subreaper.
    NotPid1,
}

/// Generates one test per mode from `fn name(mode: Mode)`.
macro_rules! in_both_modes {
    ($($name:ident),* $(,)?) => {
        mod as_pid1 { $( #[test] fn $name() { super::$name(super::Mode::Pid1) } )* }
        mod not_pid1 { $( #[test] fn $name() { super::$name(super::Mode::NotPid1) } )* }
    };
}

in_both_modes!(
    exit_codes_pass_through,
    death_by_signal_gives_128_plus_n,
    every_forwarded_signal_reaches_the_child,
    term_is_translated_by_the_library,
    orphans_leave_no_zombie,
    term_ignoring_child_is_killed_after_the_grace_period,
    int_also_starts_the_grace_period,
    missing_program_is_127_and_not_executable_is_126,
    child_inherits_no_blocked_or_ignored_signal,
    run_writes_nothing_to_stdout_and_says_its_role_in_debug,
    leftovers_of_the_group_are_ended_when_the_main_child_exits,
    bad_stop_grace_period_is_refused,
    interactive_child_can_read_the_terminal,
    other_signals_are_dropped,
    later_stop_signals_do_not_restart_the_grace_clock,
    started_with_sigchld_ignored_it_still_sees_its_child_end,
);

/// A test helper program built with the tests (`test/src/bin/`).
fn helper(name: &str) -> PathBuf {
    match name {
        "init-probe" => PathBuf::from(env!("CARGO_BIN_EXE_init-probe")),
        "init-translated" => PathBuf::from(env!("CARGO_BIN_EXE_init-translated")),
        _ => panic!("no helper {name}"),
    }
}

/// The command that starts `init` (a path) with `args`, in `mode`.
fn command(mode: Mode, init: &Path, args: &[&str]) -> Command {
    let mut command = match mode {
        Mode::Pid1 => {
            let mut c = clean_command("unshare");
            c.args(["--pid", "--fork", "--mount-proc"]).arg(init);
            c
        }
        Mode::NotPid1 => clean_command(init),
    };
    command.args(args);
    command
}

fn run(mode: Mode, args: &[&str]) -> Command {
    command(mode, &bin("run"), args)
}

/// Runs to completion with stdin closed, capturing stdout and stderr.
fn output(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A started init and the pid signals must be sent to (run itself, inside unshare's namespace
/// when PID 1).
struct Started {
    running: Running,
    mode: Mode,
}

impl Started {
    fn spawn(mut command: Command, mode: Mode) -> Self {
        command.stdin(Stdio::null());
        Self {
            running: Running::spawn(&mut command),
            mode,
        }
    }

    /// The init's pid as seen from here. For unshare, its only child (the namespace's PID 1).
    fn init_pid(&self) -> Pid {
        match self.mode {
            Mode::NotPid1 => self.running.pid(),
            Mode::Pid1 => {
                let unshare = self.running.pid();
                let pid = wait_for(&format!("the child of unshare {unshare}"), || {
                    children(unshare).first().copied()
                });
                pid
            }
        }
    }

    fn signal(&self, signal: Signal) {
        kill(self.init_pid(), signal).unwrap_or_else(|e| panic!("kill -{signal}: {e}"));
    }

    fn wait(&mut self) -> ExitStatus {
        self.running
            .wait_timeout(PATIENCE)
            .unwrap_or_else(|| panic!("the init did not exit within {PATIENCE:?}"))
    }
}

/// Polls `probe` every 20 ms until it gives a value; fails after [`PATIENCE`].
fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The children of `pid` (from /proc/PID/task/PID/children).
fn children(pid: Pid) -> Vec<Pid> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok().map(Pid::from_raw))
        .collect()
}

/// The state letter of `pid` (R, S, Z...), if it exists.
fn state(pid: Pid) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

fn wait_for_file(path: &Path) -> String {
    wait_for(&path.display().to_string(), || {
        fs::read_to_string(path).ok()
    })
}

fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| panic!("the init was killed: {status:?}"))
}

// ---- the cases -------------------------------------------------------------------------------

fn exit_codes_pass_through(mode: Mode) {
    for code in 0..=255 {
        let out = output(&mut run(
            mode,
            &["--", "sh", "-c", "exit $1", "sh", &code.to_string()],
        ));
        assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty());
    }
}

fn death_by_signal_gives_128_plus_n(mode: Mode) {
    let probe = helper("init-probe");
    let probe = probe.to_str().expect("utf-8 path");
    for signal in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGKILL,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGALRM,
        Signal::SIGTERM,
    ] {
        let out = output(&mut run(mode, &["--", probe, "kill-self", signal.as_str()]));
        assert_eq!(
            out.status.code(),
            Some(128 + signal as i32),
            "{signal}: {}",
            text(&out.stderr)
        );
    }
}

/// Starts `init -- init-probe report DIR EXIT_SIGNAL` and waits until the probe is ready.
fn start_probe(mode: Mode, init: &Path, dir: &Path, exit_signal: &str) -> Started {
    let probe = helper("init-probe");
    let dir_arg = dir.to_str().expect("utf-8 path");
    let probe_arg = probe.to_str().expect("utf-8 path");
    let started = Started::spawn(
        command(
            mode,
            init,
            &["--", probe_arg, "report", dir_arg, exit_signal],
        ),
        mode,
    );
    wait_for_file(&dir.join("ready"));
    started
}

fn received(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("received"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn every_forwarded_signal_reaches_the_child(mode: Mode) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut started = start_probe(mode, &bin("run"), dir.path(), "TERM");
    for (i, signal) in FORWARDED.iter().enumerate() {
        started.signal(*signal);
        let seen = wait_for(&format!("{signal} to reach the child"), || {
            let seen = received(dir.path());
            (seen.len() > i).then_some(seen)
        });
        assert_eq!(seen[i], signal.as_str(), "received so far: {seen:?}");
    }
    assert_eq!(exit_code(started.wait()), 0, "the probe exits 0 after TERM");
}

fn term_is_translated_by_the_library(mode: Mode) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut started = start_probe(mode, &helper("init-translated"), dir.path(), "WINCH");
    started.signal(Signal::SIGHUP);
    wait_for("HUP to reach the child", || {
        (received(dir.path()).len() == 1).then_some(())
    });
    started.signal(Signal::SIGTERM);
    assert_eq!(exit_code(started.wait()), 0);
    assert_eq!(
        received(dir.path()),
        ["SIGHUP", "SIGWINCH"],
        "TERM arrives as WINCH, HUP as is"
    );
}

fn orphans_leave_no_zombie(mode: Mode) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let script = format!(
        "(for i in $(seq 100); do sleep 5 & done); echo > {}; exec sleep 1000",
        ready.display()
    );
    let mut started = Started::spawn(run(mode, &["--", "sh", "-c", &script]), mode);
    wait_for_file(&ready);
    let init = started.init_pid();
    // The subshell has exited: its 100 sleeps are orphans, reparented to the init.
    let orphans = children(init).len().saturating_sub(1);
    assert!(
        orphans >= 50,
        "only {orphans} orphans were reparented to run"
    );
    let left = wait_for("every orphan to be reaped", || {
        let left = children(init);
        (left.len() == 1).then_some(left)
    });
    assert_ne!(state(left[0]), Some('Z'), "the main child is a zombie");
    started.signal(Signal::SIGTERM);
    assert_eq!(exit_code(started.wait()), 128 + Signal::SIGTERM as i32);
}

/// Starts a child that ignores `ignored` (a shell trap list), sends `signal` once it is ready
/// and checks it is killed after a 1 s grace period with exit 137.
fn killed_after_grace(mode: Mode, ignored: &str, signal: Signal) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let background = dir.path().join("background");
    // The grandchild (same group, same trap) must die with it.
    let script = format!(
        "trap '' {ignored}; sleep 1000 & echo $! > {}; echo > {}; exec sleep 1000",
        background.display(),
        ready.display()
    );
    let mut command = run(mode, &["--", "sh", "-c", &script]);
    command.env("STOP_GRACE_PERIOD", "1").stderr(Stdio::piped());
    let mut started = Started::spawn(command, mode);
    wait_for_file(&ready);
    let sent = Instant::now();
    started.signal(signal);
    let status = started.wait();
    let elapsed = sent.elapsed();
    assert_eq!(exit_code(status), 137);
    assert!(
        elapsed >= Duration::from_secs(1),
        "killed after {elapsed:?}, before the grace period"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        started.running.child.stderr.as_mut().expect("piped stderr"),
        &mut stderr,
    )
    .expect("read stderr");
    assert!(stderr.contains("did not stop within 1s"), "{stderr}");
    assert!(stderr.contains("STOP_GRACE_PERIOD"), "{stderr}");
    if mode == Mode::NotPid1 {
        assert_gone(&background);
    }
}

/// init.md: "anything else (TSTP, CONT, ALRM, PIPE, PWR, real-time…)": "nothing: blocked and
/// dropped", and `run` itself is not stopped by TSTP. WINCH, forwarded, is sent last: pending
/// signals are delivered lowest number first, and WINCH (28) is above every dropped one, so
/// anything forwarded by mistake would be recorded before it.
fn other_signals_are_dropped(mode: Mode) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut started = start_probe(mode, &bin("run"), dir.path(), "TERM");
    let init = started.init_pid();
    for signal in [
        Signal::SIGTSTP,
        Signal::SIGALRM,
        Signal::SIGPIPE,
        Signal::SIGPWR,
        Signal::SIGURG,
        Signal::SIGVTALRM,
    ] {
        started.signal(signal);
    }
    started.signal(Signal::SIGWINCH);
    wait_for("WINCH to reach the child", || {
        (!received(dir.path()).is_empty()).then_some(())
    });
    assert_ne!(state(init), Some('T'), "TSTP stopped the init");
    started.signal(Signal::SIGTERM);
    assert_eq!(exit_code(started.wait()), 0);
    assert_eq!(
        received(dir.path()),
        ["SIGWINCH", "SIGTERM"],
        "only the forwarded signals reach the child"
    );
}

/// init.md: "Further stop signals are forwarded but do not restart the clock." A child that
/// ignores TERM and INT gets TERM, then INT and TERM again 3 s later: with a 4 s grace period
/// it is killed 4 s after the first signal (7 s or more if the clock restarted).
fn later_stop_signals_do_not_restart_the_grace_clock(mode: Mode) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let script = format!(
        "trap '' TERM INT; echo > {}; exec sleep 1000",
        ready.display()
    );
    let mut command = run(mode, &["--", "sh", "-c", &script]);
    command.env("STOP_GRACE_PERIOD", "4").stderr(Stdio::piped());
    let mut started = Started::spawn(command, mode);
    wait_for_file(&ready);
    let sent = Instant::now();
    started.signal(Signal::SIGTERM);
    // The point of the test is the time between the signals: wait on the clock.
    thread::sleep(Duration::from_secs(3).saturating_sub(sent.elapsed()));
    assert!(
        matches!(started.running.child.try_wait(), Ok(None)),
        "the init ended before its 4 s grace period"
    );
    started.signal(Signal::SIGINT);
    started.signal(Signal::SIGTERM);
    let status = started.wait();
    let elapsed = sent.elapsed();
    assert_eq!(exit_code(status), 137);
    assert!(
        elapsed >= Duration::from_secs(4) && elapsed < Duration::from_millis(6500),
        "killed {elapsed:?} after the first TERM: the later signals restarted the clock"
    );
}

/// init.md: `STOP_GRACE_PERIOD` "Default `20`": the figure written out, not the library's
/// constant. Once, not as PID 1 (it takes 20 s).
#[test]
fn default_grace_period_is_20_seconds() {
    let mode = Mode::NotPid1;
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let script = format!("trap '' TERM; echo > {}; exec sleep 1000", ready.display());
    let mut command = run(mode, &["--", "sh", "-c", &script]);
    command.stderr(Stdio::piped());
    let mut started = Started::spawn(command, mode);
    wait_for_file(&ready);
    let sent = Instant::now();
    started.signal(Signal::SIGTERM);
    let status = started.wait();
    let elapsed = sent.elapsed();
    assert_eq!(exit_code(status), 137);
    assert!(
        elapsed >= Duration::from_secs(20) && elapsed < Duration::from_secs(24),
        "killed {elapsed:?} after TERM, not 20 s"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        started.running.child.stderr.as_mut().expect("piped stderr"),
        &mut stderr,
    )
    .expect("read stderr");
    assert!(stderr.contains("did not stop within 20s"), "{stderr}");
}

/// The process whose pid is in `pid_file` no longer exists (not even as a zombie).
fn assert_gone(pid_file: &Path) {
    let pid: i32 = fs::read_to_string(pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    let pid = Pid::from_raw(pid);
    assert_eq!(
        kill(pid, None),
        Err(Errno::ESRCH),
        "{} ({pid}) is still there (state {:?})",
        pid_file.display(),
        state(pid)
    );
}

fn term_ignoring_child_is_killed_after_the_grace_period(mode: Mode) {
    killed_after_grace(mode, "TERM", Signal::SIGTERM);
}

fn int_also_starts_the_grace_period(mode: Mode) {
    killed_after_grace(mode, "INT", Signal::SIGINT);
}

fn missing_program_is_127_and_not_executable_is_126(mode: Mode) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain-file");
    fs::write(&plain, "#!/bin/sh\necho hi\n").expect("write");
    fs::set_permissions(&plain, fs::Permissions::from_mode(0o644)).expect("chmod");
    let missing = dir.path().join("missing");
    let cases = [
        (missing.display().to_string(), 127, "not found"),
        (
            "no-such-command-python-s2i".to_owned(),
            127,
            "command not found in PATH",
        ),
        (plain.display().to_string(), 126, "not executable"),
        (dir.path().display().to_string(), 126, "not executable"),
    ];
    for (program, code, reason) in cases {
        let out = output(&mut run(mode, &["--", &program, "arg"]));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{program}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{program}: stdout {:?}",
            text(&out.stdout)
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("run: cannot run "), "{stderr}");
        assert!(
            stderr.contains(&program) && stderr.contains(reason),
            "{stderr}"
        );
    }
}

fn child_inherits_no_blocked_or_ignored_signal(mode: Mode) {
    // run starts with signals ignored (as under nohup or a shell trap) and blocks every signal
    // itself; the child must see none of that.
    let run_path = bin("run");
    let script = format!(
        "trap '' HUP INT QUIT PIPE USR1 TERM; exec {} -- grep -E '^Sig(Blk|Ign):' /proc/self/status",
        run_path.display()
    );
    let mut sh = match mode {
        Mode::Pid1 => {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "sh", "-c", &script]);
            c
        }
        Mode::NotPid1 => {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        }
    };
    let out = output(&mut sh);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        stdout, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
        "the child's signal state"
    );
}

fn run_writes_nothing_to_stdout_and_says_its_role_in_debug(mode: Mode) {
    let out = output(run(mode, &["--", "true"]).env("RUN_DEBUG", "1"));
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "stdout: {:?}", text(&out.stdout));
    let stderr = text(&out.stderr);
    let role = match mode {
        Mode::Pid1 => "running as PID 1",
        Mode::NotPid1 => "registered as child subreaper",
    };
    assert!(stderr.contains(role), "{stderr}");
    assert!(
        stderr.lines().all(|l| l.starts_with("run: debug: ")),
        "{stderr}"
    );

    let quiet = output(&mut run(mode, &["--", "true"]));
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "{quiet:?}"
    );

    let echoed = output(&mut run(mode, &["--", "echo", "from the child"]));
    assert_eq!(
        text(&echoed.stdout),
        "from the child\n",
        "only the child's output"
    );

    let usage = output(&mut run(mode, &["--"]));
    assert_eq!(usage.status.code(), Some(2));
    assert!(usage.stdout.is_empty());
    assert!(text(&usage.stderr).contains("needs a command"), "{usage:?}");
}

fn leftovers_of_the_group_are_ended_when_the_main_child_exits(mode: Mode) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    // One leftover that ends on TERM, one that ignores it (needs the KILL); the main child
    // exits 3 once both are running.
    let script = format!(
        "sleep 1000 & echo $! > {d}/plain; \
         (trap '' TERM; echo > {d}/stubborn-ready; exec sleep 1000) & echo $! > {d}/stubborn; \
         while [ ! -e {d}/stubborn-ready ]; do sleep 0.05; done; exit 3"
    );
    let mut started = Started::spawn(run(mode, &["--", "sh", "-c", &script]), mode);
    let status = started.wait();
    assert_eq!(exit_code(status), 3, "the main child's code");
    if mode == Mode::NotPid1 {
        // (As PID 1, the namespace's end would kill them anyway.)
        for name in ["plain", "stubborn"] {
            assert_gone(&dir.path().join(name));
        }
    }
}

/// `run` killed outright (SIGKILL, the OOM killer) when it is not PID 1 takes its child along
/// through the child's parent-death signal, though the child runs in its own process group
/// (servers started by `run` would otherwise keep serving, orphaned). As PID 1 the kernel ends
/// the whole namespace, so this case exists only outside one.
#[test]
fn child_dies_when_the_init_is_killed() {
    let mode = Mode::NotPid1;
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("child");
    let script = format!("echo $$ > {}; exec sleep 1000", pid_file.display());
    let mut started = Started::spawn(run(mode, &["--", "sh", "-c", &script]), mode);
    wait_for_file(&pid_file);
    started.signal(Signal::SIGKILL);
    started.wait();
    wait_for("the child to be gone", || {
        let pid = Pid::from_raw(fs::read_to_string(&pid_file).ok()?.trim().parse().ok()?);
        (kill(pid, None) == Err(Errno::ESRCH) || state(pid) == Some('Z')).then_some(())
    });
}

fn bad_stop_grace_period_is_refused(mode: Mode) {
    for value in ["soon", "-5", "20s"] {
        let out = output(run(mode, &["--", "true"]).env("STOP_GRACE_PERIOD", value));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr.contains(&format!("STOP_GRACE_PERIOD=\"{value}\"")),
            "{stderr}"
        );
        assert!(stderr.contains("e.g. STOP_GRACE_PERIOD=20"), "{stderr}");
    }
}

fn interactive_child_can_read_the_terminal(mode: Mode) {
    // Under a terminal (script(1) makes one), the child's new process group must become the
    // foreground group, or reading the terminal stops it with SIGTTIN and everything hangs.
    let init = match mode {
        Mode::Pid1 => "unshare --pid --fork --mount-proc ",
        Mode::NotPid1 => "",
    };
    let inner = format!(
        "{init}{} -- sh -c 'read line; echo got:$line'",
        bin("run").display()
    );
    let mut script = Command::new("script");
    script
        .args(["-qec", &inner, "/dev/null"])
        .stdout(Stdio::piped());
    script.stdin(Stdio::piped());
    let mut running = Running::spawn(&mut script);
    std::io::Write::write_all(
        running.child.stdin.as_mut().expect("piped stdin"),
        b"hello\n",
    )
    .expect("type a line");
    let status = running
        .wait_timeout(PATIENCE)
        .expect("the child reading the terminal hung (stopped by SIGTTIN?)");
    let mut stdout = String::new();
    std::io::Read::read_to_string(
        running.child.stdout.as_mut().expect("piped stdout"),
        &mut stdout,
    )
    .expect("read stdout");
    assert!(status.success(), "{status:?}: {stdout}");
    assert!(stdout.contains("got:hello"), "{stdout:?}");
}

fn started_with_sigchld_ignored_it_still_sees_its_child_end(mode: Mode) {
    // A parent that ignores SIGCHLD (and others) passes that on through exec: the kernel then
    // reaps run's child itself and sends no SIGCHLD, so an init that kept the disposition would
    // wait forever (past any grace period). bash, because dash refuses to ignore CHLD.
    let script = format!(
        "trap '' CHLD HUP INT QUIT PIPE USR1 USR2 TERM TTIN TTOU WINCH; exec {} -- sh -c 'sleep 0.2; exit 3'",
        bin("run").display()
    );
    let mut command = match mode {
        Mode::Pid1 => {
            let mut c = clean_command("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "bash", "-c", &script]);
            c
        }
        Mode::NotPid1 => {
            let mut c = clean_command("bash");
            c.args(["-c", &script]);
            c
        }
    };
    command.env("STOP_GRACE_PERIOD", "2").stdout(Stdio::null());
    let mut started = Started::spawn(command, mode);
    let status = started
        .running
        .wait_timeout(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("run started with SIGCHLD ignored did not exit within 20s"));
    assert_eq!(exit_code(status), 3, "the child's exit code");
}
