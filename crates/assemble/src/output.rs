//! The fixed shape of the build log: a header per step, indented info lines, every command
//! quoted before it runs, tool output streamed as it comes, warnings marked.
//!
//! Everything goes to stdout (the build log s2i shows), except tool stderr which stays on
//! stderr; both are indented the same way so the log reads as one.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

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

fn line(text: &str) {
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

fn spawn_streamed(command: &mut Command) -> io::Result<Finished> {
    let mut child = command
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
    let stdout = child
        .stdout
        .take()
        .map(|s| relay(s, false, Arc::clone(&tail)));
    let stderr = child
        .stderr
        .take()
        .map(|s| relay(s, true, Arc::clone(&tail)));
    let status = child.wait()?;
    for handle in [stdout, stderr].into_iter().flatten() {
        let _ = handle.join();
    }
    let tail = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    Ok(Finished { status, tail })
}

fn relay<R: Read + Send + 'static>(
    stream: R,
    to_stderr: bool,
    tail: Arc<Mutex<VecDeque<String>>>,
) -> thread::JoinHandle<()> {
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
                tail.push_back(text.to_owned());
            }
        }
    })
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
}
