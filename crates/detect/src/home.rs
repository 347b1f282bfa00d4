//! The application home: `APP_HOME`, warpdrive's `.warpdrive/home`, the build record, or the
//! source root. It must be inside the source tree.

use std::path::{Component, Path, PathBuf};

use s2i_facts::Facts;

use crate::source::read_value;
use crate::{DetectError, Env};

/// The application home under `src` (`$APP_ROOT/src`): `APP_HOME`, else `.warpdrive/home`,
/// else the home the build recorded, else `src` itself; with where it came from. The one
/// resolver: assemble calls it (without a record) to know where the app is, run to start it.
///
/// # Errors
/// The home is outside `src` (also through a symlink) or is not a directory.
pub fn app_home(
    src: &Path,
    env: &Env,
    facts: Option<&Facts>,
) -> Result<(PathBuf, String), DetectError> {
    let chosen = if let Some(value) = env.get("APP_HOME") {
        Some((PathBuf::from(value), format!("APP_HOME={value}")))
    } else if let Some(value) = read_value(&src.join(".warpdrive/home"))? {
        Some((PathBuf::from(&value), format!(".warpdrive/home: {value}")))
    } else {
        facts
            .and_then(|f| f.app_home.clone())
            .filter(|p| !p.as_os_str().is_empty() && p != Path::new("."))
            .map(|p| {
                let source = format!("build record: {}", p.display());
                (p, source)
            })
    };
    let chosen = match chosen {
        Some(chosen) => Some(chosen),
        None => crate::workspace::web_member(src, env)?,
    };
    let Some((path, origin)) = chosen else {
        return Ok((src.to_path_buf(), "the source root".to_owned()));
    };
    let home = normalize(&src.join(path));
    if !home.starts_with(normalize(src)) {
        return Err(DetectError::HomeOutsideSource {
            home,
            src: src.to_path_buf(),
            origin,
        });
    }
    if !home.is_dir() {
        return Err(DetectError::HomeMissing { home, origin });
    }
    // Symlinks must not lead out either.
    if let (Ok(real_home), Ok(real_src)) = (home.canonicalize(), src.canonicalize()) {
        if !real_home.starts_with(&real_src) {
            return Err(DetectError::HomeOutsideSource {
                home: real_home,
                src: src.to_path_buf(),
                origin,
            });
        }
    }
    Ok((home, origin))
}

/// Removes `.` and resolves `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_src() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (home, source) = app_home(dir.path(), &Env::default(), None).expect("home");
        assert_eq!(home, dir.path());
        assert_eq!(source, "the source root");
    }

    #[test]
    fn app_home_inside_and_outside() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("web")).expect("mkdir");
        let env = Env::of(&[("APP_HOME", "web")]);
        let (home, _) = app_home(dir.path(), &env, None).expect("home");
        assert_eq!(home, dir.path().join("web"));
        let env = Env::of(&[("APP_HOME", "../..")]);
        let err = app_home(dir.path(), &env, None).expect_err("outside");
        assert!(
            matches!(err, DetectError::HomeOutsideSource { .. }),
            "{err}"
        );
        let env = Env::of(&[("APP_HOME", "nope")]);
        let err = app_home(dir.path(), &env, None).expect_err("missing");
        assert!(matches!(err, DetectError::HomeMissing { .. }), "{err}");
    }
}
