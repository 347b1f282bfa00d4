//! Lines the init writes: only ever to stderr, and a failed write (a closed stderr) is ignored
//! rather than a reason to panic.

use std::fmt::Arguments;
use std::io::Write;

/// Writes `run: MESSAGE` to stderr.
pub fn line(message: Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "run: {message}");
}

/// Writes `run: debug: MESSAGE` to stderr when `enabled`.
pub fn debug(enabled: bool, message: Arguments<'_>) {
    if enabled {
        let _ = writeln!(std::io::stderr().lock(), "run: debug: {message}");
    }
}
