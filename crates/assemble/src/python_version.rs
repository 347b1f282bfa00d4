//! The Python version the project asks for, checked against the image's interpreter before
//! anything is installed.
//!
//! Read from, in this order: `.python-version` (pyenv, uv, Heroku), `runtime.txt` (Heroku,
//! `python-3.13.1`), `Pipfile.lock` (`_meta.requires.python_version` / `python_full_version`),
//! `uv.lock` (`requires-python`), `pyproject.toml` (`[project] requires-python`). An exact
//! version is compared on `major.minor` (the patch level is the image's business); a range
//! (PEP 440 specifiers, parsed with `pep440_rs`) is satisfied when the interpreter's
//! `major.minor` is in it, whatever the patch level. A mismatch stops the build naming the file,
//! what it asks for and the python-s2i image that has it; `S2I_IGNORE_PYTHON_VERSION` makes it a
//! warning.

use std::fmt;
use std::fs;
use std::path::Path;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

/// The builder images' Python versions, from `images/versions` (one source of truth).
const IMAGE_VERSIONS: &str = include_str!("../../../images/versions");

/// The variable that turns a mismatch into a warning.
pub const IGNORE_VARIABLE: &str = "S2I_IGNORE_PYTHON_VERSION";

/// What one file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// `major.minor` (the patch level, if given, is ignored).
    Exact { major: u64, minor: u64 },
    /// PEP 440 specifiers, e.g. `>=3.10,<3.13`.
    Range(String),
}

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact { major, minor } => write!(f, "Python {major}.{minor}"),
            Self::Range(spec) => write!(f, "Python {spec}"),
        }
    }
}

/// A version request found in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The file, relative to the app home (`.python-version`, `pyproject.toml`, ...).
    pub file: &'static str,
    /// The text as written there.
    pub raw: String,
    pub wanted: Wanted,
}

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub request: Request,
    /// Whether the interpreter fits.
    pub fits: bool,
    /// The python-s2i image versions that fit the request, oldest first.
    pub images: Vec<String>,
}

/// A request the interpreter does not satisfy: the build stops (or warns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub checked: Checked,
    /// The interpreter's `major.minor.patch`.
    pub interpreter: String,
}

impl Mismatch {
    /// `python-s2i:3.13`, or what to say when no image fits.
    #[must_use]
    pub fn image_advice(&self) -> String {
        match self.checked.images.last() {
            Some(v) => format!("python-s2i:{v}"),
            None => format!(
                "none: the python-s2i images are for Python {}",
                image_versions().join(", ")
            ),
        }
    }
}

/// The Python versions of the builder images (`images/versions`), in file order.
#[must_use]
pub fn image_versions() -> Vec<String> {
    IMAGE_VERSIONS
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Every request found in `app`, in the order of the module documentation. Unreadable or
/// unparsable files are skipped with the reason in the second list (shown as notes).
#[must_use]
pub fn requests(app: &Path) -> (Vec<Request>, Vec<String>) {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    let read = |name: &str| fs::read_to_string(app.join(name)).ok();
    if let Some(text) = read(".python-version") {
        // pyenv/uv: the first non-comment line; `3.13`, `3.13.1`, `cpython-3.13`, `cpython@3.13`.
        if let Some(line) = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
        {
            push_exact(&mut found, &mut notes, ".python-version", line);
        }
    }
    if let Some(text) = read("runtime.txt") {
        let line = text.trim();
        push_exact(&mut found, &mut notes, "runtime.txt", line);
    }
    if let Some(text) = read("Pipfile.lock") {
        let meta = serde_json::from_str::<serde_json::Value>(&text).ok();
        let requires = meta.as_ref().and_then(|m| m.pointer("/_meta/requires"));
        let value = requires.and_then(|r| {
            r.get("python_full_version")
                .or_else(|| r.get("python_version"))
                .and_then(|v| v.as_str())
        });
        if let Some(value) = value {
            push_exact(&mut found, &mut notes, "Pipfile.lock", value);
        }
    }
    for (file, table) in [("uv.lock", None), ("pyproject.toml", Some("project"))] {
        let Some(text) = read(file) else { continue };
        let Ok(doc) = text.parse::<toml::Table>() else {
            continue;
        };
        let holder = match table {
            Some(t) => doc.get(t).and_then(|v| v.as_table()),
            None => Some(&doc),
        };
        let Some(spec) = holder
            .and_then(|t| t.get("requires-python"))
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        match VersionSpecifiers::from_str(spec) {
            Ok(_) => found.push(Request {
                file,
                raw: spec.to_owned(),
                wanted: Wanted::Range(spec.to_owned()),
            }),
            Err(e) => notes.push(format!(
                "{file}: requires-python {spec:?} is not a version range ({e}); not checked"
            )),
        }
    }
    (found, notes)
}

fn push_exact(found: &mut Vec<Request>, notes: &mut Vec<String>, file: &'static str, raw: &str) {
    match parse_exact(raw) {
        Some((major, minor)) => found.push(Request {
            file,
            raw: raw.to_owned(),
            wanted: Wanted::Exact { major, minor },
        }),
        None => notes.push(format!(
            "{file} says {raw:?}, which is not a CPython version: not checked"
        )),
    }
}

/// `3.13`, `3.13.1`, `python-3.13.1`, `cpython-3.13`, `cpython@3.13`, `3.13t`? -> (3, 13).
fn parse_exact(raw: &str) -> Option<(u64, u64)> {
    let lower = raw.trim().to_ascii_lowercase();
    let version = ["python-", "cpython-", "cpython@", "cpython", "python"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(&lower);
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    if parts.any(|p| p.parse::<u64>().is_err()) {
        return None;
    }
    Some((major, minor))
}

/// Whether a `major.minor` interpreter satisfies `wanted`, ignoring the patch level: some patch
/// release of that minor version is in the range (checked at `.0`, the interpreter's own patch
/// and a high patch number).
fn fits(wanted: &Wanted, major: u64, minor: u64, patch: u64) -> bool {
    match wanted {
        Wanted::Exact { major: m, minor: n } => (*m, *n) == (major, minor),
        Wanted::Range(spec) => VersionSpecifiers::from_str(spec).is_ok_and(|specs| {
            [0, patch, 999]
                .into_iter()
                .any(|p| specs.contains(&Version::new([major, minor, p])))
        }),
    }
}

/// Checks every request against the interpreter (`major.minor.patch`).
#[must_use]
pub fn check(requests: &[Request], interpreter: (u64, u64, u64)) -> Vec<Checked> {
    let (major, minor, patch) = interpreter;
    requests
        .iter()
        .map(|request| {
            let images = image_versions()
                .into_iter()
                .filter(|v| parse_exact(v).is_some_and(|(ma, mi)| fits(&request.wanted, ma, mi, 0)))
                .collect();
            Checked {
                fits: fits(&request.wanted, major, minor, patch),
                request: request.clone(),
                images,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    #[test]
    fn the_image_list_comes_from_images_versions() {
        let versions = image_versions();
        assert!(versions.contains(&"3.11".to_owned()), "{versions:?}");
        assert!(versions.contains(&"3.14".to_owned()), "{versions:?}");
        assert!(!versions.iter().any(|v| v.starts_with('#')));
    }

    #[test]
    fn exact_versions_in_their_spellings() {
        for (raw, want) in [
            ("3.13", Some((3, 13))),
            ("3.13.1", Some((3, 13))),
            ("python-3.12.4", Some((3, 12))),
            ("cpython@3.11", Some((3, 11))),
            ("cpython-3.14", Some((3, 14))),
            ("pypy3.10", None),
            ("system", None),
        ] {
            assert_eq!(parse_exact(raw), want, "{raw}");
        }
    }

    #[test]
    fn files_are_read_in_order() {
        let dir = app(&[
            (".python-version", "# pinned\n3.13\n"),
            ("runtime.txt", "python-3.13.2\n"),
            (
                "Pipfile.lock",
                r#"{"_meta": {"requires": {"python_version": "3.12"}}}"#,
            ),
            ("uv.lock", "version = 1\nrequires-python = \">=3.12\"\n"),
            (
                "pyproject.toml",
                "[project]\nname = \"x\"\nrequires-python = \">=3.10,<3.13\"\n",
            ),
        ]);
        let (found, notes) = requests(dir.path());
        assert!(notes.is_empty(), "{notes:?}");
        let files: Vec<_> = found.iter().map(|r| r.file).collect();
        assert_eq!(
            files,
            [
                ".python-version",
                "runtime.txt",
                "Pipfile.lock",
                "uv.lock",
                "pyproject.toml"
            ]
        );
        assert_eq!(
            found[0].wanted,
            Wanted::Exact {
                major: 3,
                minor: 13
            }
        );
    }

    #[test]
    fn ranges_ignore_the_patch_level() {
        let range = |s: &str| Wanted::Range(s.to_owned());
        assert!(fits(&range(">=3.11.4"), 3, 11, 2));
        assert!(fits(&range("~=3.11"), 3, 13, 5));
        assert!(fits(&range("==3.11.*"), 3, 11, 2));
        assert!(!fits(&range(">=3.12"), 3, 11, 2));
        assert!(!fits(&range(">=3.8,<3.11"), 3, 11, 0));
        assert!(fits(
            &Wanted::Exact {
                major: 3,
                minor: 11
            },
            3,
            11,
            9
        ));
        assert!(!fits(
            &Wanted::Exact {
                major: 3,
                minor: 13
            },
            3,
            11,
            2
        ));
    }

    #[test]
    fn mismatches_name_the_image_that_fits() {
        let dir = app(&[(".python-version", "3.13\n")]);
        let (found, _) = requests(dir.path());
        let checked = check(&found, (3, 11, 2));
        assert!(!checked[0].fits);
        let mismatch = Mismatch {
            checked: checked[0].clone(),
            interpreter: "3.11.2".into(),
        };
        assert_eq!(mismatch.image_advice(), "python-s2i:3.13");
        // A range: the newest image in it.
        let dir = app(&[(
            "pyproject.toml",
            "[project]\nrequires-python = \">=3.12\"\n",
        )]);
        let (found, _) = requests(dir.path());
        let checked = check(&found, (3, 11, 2));
        assert_eq!(checked[0].images.last().map(String::as_str), Some("3.14"));
        // No image has it.
        let dir = app(&[(".python-version", "3.12\n")]);
        let (found, _) = requests(dir.path());
        let mismatch = Mismatch {
            checked: check(&found, (3, 11, 2))[0].clone(),
            interpreter: "3.11.2".into(),
        };
        assert!(mismatch.image_advice().starts_with("none"), "{mismatch:?}");
    }

    #[test]
    fn unparsable_values_are_notes() {
        let dir = app(&[
            (".python-version", "pypy3.10\n"),
            ("pyproject.toml", "[project]\nrequires-python = \"^3.11\"\n"),
        ]);
        let (found, notes) = requests(dir.path());
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(notes.len(), 2, "{notes:?}");
    }
}
