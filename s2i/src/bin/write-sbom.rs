//! `write-sbom`: writes `$APP_ROOT/.python-s2i/sbom.cdx.json` again for the image it runs in
//! (its Debian packages and interpreter, the distributions of the virtualenv, the app as the
//! build record names it). A runtime image's `assemble-runtime` runs it after s2i copied the
//! built application there; in an image `FROM` an app image that changed the virtualenv, run it
//! after the change. The writer is the one assemble calls (`s2i_sbom`).

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    if std::env::args_os().len() > 1 {
        eprintln!(
            "usage: write-sbom   (writes $APP_ROOT/.python-s2i/sbom.cdx.json for this image; `run --sbom` prints it)"
        );
        return ExitCode::from(2);
    }
    let env = s2i_env::Env::from_process();
    let app_root = env.app_root();
    let started = Instant::now();
    match s2i_sbom::write_for_image(&app_root, &env) {
        Ok((path, count)) => {
            println!(
                "Wrote {} (CycloneDX 1.6, {count} components, {} ms; `run --sbom` prints it)",
                path.display(),
                started.elapsed().as_millis()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("write-sbom: error: no bill of materials was written: {e}");
            ExitCode::FAILURE
        }
    }
}
