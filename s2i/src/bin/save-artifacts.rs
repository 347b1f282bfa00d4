//! `save-artifacts`: the previous build's caches as a tar on stdout (logs on stderr only).

use std::process::ExitCode;

fn main() -> ExitCode {
    let options = s2i_build::Options::new(None);
    let stdout = std::io::stdout().lock();
    match s2i_build::artifacts::save(&options.state_dir(), stdout) {
        Ok(saved) => {
            if saved.pipe_closed {
                eprintln!("save-artifacts: the reader closed the stream early");
            } else if !saved.caches.is_empty() {
                eprintln!("save-artifacts: saved {}", saved.caches.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!(
                "{}",
                s2i_build::errors::save_artifacts(&e).render(s2i_build::errors::PREFIX)
            );
            ExitCode::FAILURE
        }
    }
}
