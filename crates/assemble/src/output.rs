//! The fixed shape of the build log: a header per step, indented info lines, every command
//! quoted before it runs, tool output streamed as it comes, warnings marked.
//!
//! Everything goes to stdout (the build log s2i shows), except tool stderr which stays on
//! stderr; both are indented the same way so the log reads as one.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::unistd::Pid;
// Between SIGTERM and SIGKILL for what a command left running: as for a deploy hook's.
use s2i_init::options::DEFAULT_LEFTOVER_GRACE as LEFTOVER_GRACE;

const INDENT: &str = "       ";
/// How many lines of a tool's output are kept for error messages.
const TAIL_LINES: usize = 60;

/// `-----> Title`: the start of a build step.
pub fn header(title: &str) {
    line(&format!("-----> {title}"));
}

/// An indented information line.
pub fn info(text: &str) {
    for l in text.lines() {
        line(&format!("{INDENT}{l}"));
    }
}

/// A marked warning: the build goes on.
pub fn warning(text: &str) {
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        line(&format!(" !     Warning: {first}"));
    }
    for l in lines {
        line(&format!(" !     {l}"));
    }
}

/// Every line assemble prints goes through here or [`relay`]: URL credentials masked
/// ([`s2i_message::redact`]).
fn line(text: &str) {
    let text = s2i_message::redact(text);
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// `program arg 'arg with space'`: how a command is shown in the log and in errors.
#[must_use]
pub fn quote_command(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// A finished command: its exit status and the last lines it printed (both streams).
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub tail: Vec<String>,
}

/// Quotes `command` in the log (`$ ...`), runs it with its output streamed (indented) and
/// keeps the last lines for error messages.
///
/// # Errors
/// The command could not be started.
pub fn run(command: &mut Command) -> io::Result<Finished> {
    info(&format!("$ {}", quote_command(command)));
    command.stdout(Stdio::piped());
    spawn_streamed(command)
}

/// How a step's command failed: it could not start, or it did not exit 0 (`code` is `None`
/// when a signal ended it; `tail`, the last lines it printed).
#[derive(Debug)]
pub enum Failure {
    Spawn {
        command: String,
        source: io::Error,
    },
    Failed {
        command: String,
        code: Option<i32>,
        tail: Vec<String>,
    },
}

/// [`run`] for a step that must succeed.
///
/// # Errors
/// It could not start, or did not exit 0.
pub fn run_ok(command: &mut Command) -> Result<(), Failure> {
    let quoted = quote_command(command);
    let finished = run(command).map_err(|source| Failure::Spawn {
        command: quoted.clone(),
        source,
    })?;
    if finished.status.success() {
        return Ok(());
    }
    Err(Failure::Failed {
        command: quoted,
        code: finished.status.code(),
        tail: finished.tail,
    })
}

/// Like [`run`], with the command's stdout written to `stdout` instead of the log (for tools
/// whose output is data, e.g. a requirements file).
///
/// # Errors
/// The command could not be started.
pub fn run_to_file(command: &mut Command, path: &std::path::Path) -> io::Result<Finished> {
    info(&format!(
        "$ {} > {}",
        quote_command(command),
        path.display()
    ));
    command.stdout(std::fs::File::create(path)?);
    spawn_streamed(command)
}

/// A command run by [`capture`]: its exit status and its stdout (stderr went to the log).
#[derive(Debug)]
pub struct Captured {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
}

/// Runs `command` with its stdout kept (not shown) and its stderr streamed to the log, with the
/// same process-group handling as [`run`].
///
/// # Errors
/// The command could not be started.
pub fn capture(command: &mut Command) -> io::Result<Captured> {
    command.stdout(Stdio::piped());
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let mut kept = Vec::new();
    let status = supervise(command, &tail, Some(&mut kept))?;
    Ok(Captured {
        status,
        stdout: kept,
    })
}

/// How long the output of a command that has exited may stay open: longer means a process it
/// started in the background still holds it.
pub const DRAIN: Duration = Duration::from_secs(2);

fn spawn_streamed(command: &mut Command) -> io::Result<Finished> {
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
    let status = supervise(command, &tail, None)?;
    let tail = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    Ok(Finished { status, tail })
}

/// Runs `command` as the leader of its own process group (SIGKILL if assemble dies first) with
/// its output relayed, and makes sure nothing it started outlives it: once it has exited, its
/// output gets [`DRAIN`] to close; a process left in its group (`something &` in a hook) is
/// named in a warning and ended (SIGTERM, SIGKILL after [`LEFTOVER_GRACE`]), so a build never
/// waits on it. A process that left the group (`setsid`) and keeps the output open is given up
/// on after that: its output is no longer read.
fn supervise(
    command: &mut Command,
    tail: &Arc<Mutex<VecDeque<String>>>,
    stdout_into: Option<&mut Vec<u8>>,
) -> io::Result<ExitStatus> {
    command
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: runs in the forked child before exec; prctl is async-signal-safe and takes plain
    // integers.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let (done, finished) = mpsc::channel::<Option<Vec<u8>>>();
    let mut open = 0;
    if let Some(out) = child.stdout.take() {
        open += 1;
        if stdout_into.is_some() {
            let done = done.clone();
            thread::spawn(move || {
                let mut out = out;
                let mut bytes = Vec::new();
                let _ = out.read_to_end(&mut bytes);
                let _ = done.send(Some(bytes));
            });
        } else {
            relay(out, false, Arc::clone(tail), done.clone());
        }
    }
    if let Some(err) = child.stderr.take() {
        open += 1;
        relay(err, true, Arc::clone(tail), done.clone());
    }
    drop(done);
    let status = child.wait()?;
    let mut captured = None;
    let mut collect = |open: &mut usize, deadline: Instant| {
        while *open > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match finished.recv_timeout(left) {
                Ok(bytes) => {
                    *open -= 1;
                    if bytes.is_some() {
                        captured = bytes;
                    }
                }
                Err(_) => return,
            }
        }
    };
    collect(&mut open, Instant::now() + DRAIN);
    if s2i_init::group::exists(group) {
        let (count, listed, _) = s2i_init::group::leftovers(group);
        warning(&format!(
            "`{}` exited but left {count} running in its process group {group}{listed}: ending them (SIGTERM, then SIGKILL after {LEFTOVER_GRACE:?}), \
             so the build does not wait on them.\n\
             A build step must not leave background processes (`something &`): the image keeps none of them.",
            quote_command(command),
        ));
        s2i_init::group::end(group, LEFTOVER_GRACE, |grace| {
            let deadline = Instant::now() + grace;
            while s2i_init::group::exists(group) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            !s2i_init::group::exists(group)
        });
        collect(&mut open, Instant::now() + LEFTOVER_GRACE);
    }
    if open > 0 {
        warning(&format!(
            "`{}` exited but its output is still held open by a process outside its group: not read any further",
            quote_command(command)
        ));
    }
    if let (Some(into), Some(bytes)) = (stdout_into, captured) {
        *into = bytes;
    }
    Ok(status)
}

fn relay<R: Read + Send + 'static>(
    stream: R,
    to_stderr: bool,
    tail: Arc<Mutex<VecDeque<String>>>,
    done: mpsc::Sender<Option<Vec<u8>>>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim_end_matches(['\n', '\r']);
            let text = s2i_message::redact(text);
            if to_stderr {
                let mut err = io::stderr().lock();
                let _ = writeln!(err, "{INDENT}{text}");
            } else {
                let mut out = io::stdout().lock();
                let _ = writeln!(out, "{INDENT}{text}");
                let _ = out.flush();
            }
            if let Ok(mut tail) = tail.lock() {
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(text.into_owned());
            }
        }
        let _ = done.send(None);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_shows_spaces_and_quotes() {
        let mut c = Command::new("pip");
        c.args(["install", "-r", "my reqs.txt", "it's"]);
        assert_eq!(quote_command(&c), r"pip install -r 'my reqs.txt' 'it'\''s'");
    }

    #[test]
    fn run_keeps_the_tail_of_both_streams() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; exit 3"]);
        let finished = run(&mut c).expect("sh runs");
        assert_eq!(finished.status.code(), Some(3));
        assert!(finished.tail.contains(&"out".to_owned()));
        assert!(finished.tail.contains(&"err".to_owned()));
    }

    #[test]
    fn background_processes_holding_the_output_do_not_block_and_are_ended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(r#"sleep 1000 & echo $! > "$0"; echo started"#)
            .arg(&pid_file);
        let started = Instant::now();
        let finished = run(&mut c).expect("sh runs");
        assert!(finished.status.success());
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("pid")
            .trim()
            .parse()
            .expect("number");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "sleep still running: {stat}"
        );
    }
}
