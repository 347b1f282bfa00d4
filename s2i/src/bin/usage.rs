//! `usage`: how to use the builder image (also what `s2i usage IMAGE` shows).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let env = s2i_env::Env::from_process();
    let image = env.get("S2I_IMAGE_NAME").unwrap_or("python-s2i:3.11");
    let mut out = std::io::stdout().lock();
    // A closed pipe (`usage | head`) is not an error.
    let _ = out.write_all(s2i_build::usage::text(image).as_bytes());
    let _ = out.flush();
    ExitCode::SUCCESS
}
