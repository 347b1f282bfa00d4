//! Test helper for `test/tests/init.rs`: a child for the init to supervise.
//!
//! - `init-probe report DIR EXIT_SIGNAL`: blocks every signal, writes
//!   `DIR/ready` (its pid) once it can receive them, then appends the name of every signal it
//!   receives to `DIR/received`, one per line; exits 0 after receiving EXIT_SIGNAL.
//! - `init-probe kill-self SIGNAL`: kills itself with SIGNAL (exits 99 if it survives).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;

use nix::sys::signal::{raise, SigSet, SigmaskHow, Signal};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["report", dir, exit_signal] => report(Path::new(dir), signal(exit_signal)),
        ["kill-self", name] => {
            raise(signal(name)).expect("raise");
            ExitCode::from(99)
        }
        _ => {
            eprintln!("usage: init-probe report DIR EXIT_SIGNAL | init-probe kill-self SIGNAL");
            ExitCode::from(2)
        }
    }
}

fn signal(name: &str) -> Signal {
    let full = if name.starts_with("SIG") {
        name.to_owned()
    } else {
        format!("SIG{name}")
    };
    Signal::from_str(&full).unwrap_or_else(|_| panic!("not a signal: {name}"))
}

fn report(dir: &Path, exit_signal: Signal) -> ExitCode {
    // Every signal, not only the ones the init should forward: anything the init sends is
    // recorded, and nothing it sends can kill or stop the probe unseen.
    let set = SigSet::all();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).expect("block");
    let ready = dir.join("ready");
    let partial = dir.join("ready.partial");
    fs::write(&partial, std::process::id().to_string()).expect("write ready");
    fs::rename(&partial, &ready).expect("rename ready");
    let mut received = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("received"))
        .expect("open received");
    loop {
        let signal = set.wait().expect("sigwait");
        writeln!(received, "{}", signal.as_str()).expect("append received");
        if signal == exit_signal {
            return ExitCode::SUCCESS;
        }
    }
}
