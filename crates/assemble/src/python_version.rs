//! The Python version the project asks for, checked against the image's interpreter before
//! anything is installed.
//!
//! Read from, in this order: `.python-version` (pyenv, uv, Heroku), `runtime.txt` (Heroku,
//! `python-3.13.1`), `Pipfile.lock` (`_meta.requires.python_version` / `python_full_version`),
//! `uv.lock` (`requires-python`), `pyproject.toml` (`[project] requires-python`). An exact
//! version is compared on `major.minor`: `3.13` means any 3.13.x, and a patch level
//! (`3.13.1`) is the image's business (Debian's package with its fixes); a range
//! (PEP 440 specifiers, parsed with `pep440_rs`) is satisfied when the interpreter's
//! `major.minor` is in it, whatever the patch level. A mismatch stops the build naming the file,
//! what it asks for and the python-s2i image that has it, or, when none has it, the nearest
//! images and why there is none; `S2I_IGNORE_PYTHON_VERSION` makes it a warning.

use std::fmt;
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
    /// `major.minor`, with the patch level when one is given (not compared).
    Exact {
        major: u64,
        minor: u64,
        patch: Option<u64>,
    },
    /// PEP 440 specifiers, e.g. `>=3.10,<3.13`.
    Range(String),
}

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact {
                major,
                minor,
                patch: None,
            } => write!(f, "Python {major}.{minor}"),
            Self::Exact {
                major,
                minor,
                patch: Some(patch),
            } => write!(f, "Python {major}.{minor}.{patch}"),
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
                "none (the nearest: {})",
                self.nearest()
                    .iter()
                    .map(|v| format!("python-s2i:{v}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        }
    }

    /// The image versions nearest to what is asked when none fits: for `3.12`, the images
    /// just below and above (`3.11`, `3.13`); for a range, the newest image below it and the
    /// oldest above it.
    #[must_use]
    pub fn nearest(&self) -> Vec<String> {
        let (low, high) = match &self.checked.request.wanted {
            Wanted::Exact { major, minor, .. } => (
                Bound::Including((*major, *minor)),
                Bound::Including((*major, *minor)),
            ),
            Wanted::Range(spec) => range_bounds(spec),
        };
        let images: Vec<(u64, u64, String)> = image_versions()
            .into_iter()
            .filter_map(|v| parse_exact(&v).map(|(ma, mi, _)| (ma, mi, v)))
            .collect();
        // Python 2 is no neighbour of a Python 3 request, nor the reverse.
        let below = images
            .iter()
            .filter(|(ma, mi, _)| match low {
                Bound::Including(v) => (*ma, *mi) < v && *ma == v.0,
                Bound::Excluding(v) => (*ma, *mi) <= v && *ma == v.0,
            })
            .max_by_key(|(ma, mi, _)| (*ma, *mi));
        let above = images
            .iter()
            .filter(|(ma, mi, _)| match high {
                Bound::Including(v) => (*ma, *mi) > v && (*ma == v.0 || v.0 == u64::MAX),
                Bound::Excluding(v) => (*ma, *mi) >= v && *ma == v.0,
            })
            .min_by_key(|(ma, mi, _)| (*ma, *mi));
        below
            .into_iter()
            .chain(above)
            .map(|(_, _, v)| v.clone())
            .collect()
    }

    /// Why no image has what is asked, in one sentence.
    #[must_use]
    pub fn why_none(&self) -> String {
        let suites = image_suites();
        let suite = |v: &str| {
            suites
                .iter()
                .find(|(image, _)| image == v)
                .map_or_else(String::new, |(_, s)| s.clone())
        };
        let near = self
            .nearest()
            .iter()
            .map(|v| format!("{v} from Debian {}", suite(v)))
            .collect::<Vec<_>>()
            .join(", ");
        match &self.checked.request.wanted {
            Wanted::Exact { major, minor, .. } => {
                let eol = crate::python_support::find(*major, *minor).and_then(|r| match r
                    .support
                {
                    crate::python_support::Support::Ended(d) => Some(d),
                    crate::python_support::Support::Until(_) => None,
                });
                let newest = image_versions().last().cloned().unwrap_or_default();
                match eol {
                    _ if parse_exact(&newest).is_some_and(|(ma, mi, _)| (*major, *minor) > (ma, mi)) => format!(
                        "No python-s2i image has Python {major}.{minor}: it is newer than the newest image ({newest}, from Debian {}), and no Debian suite this project builds from ships it yet.",
                        suite(&newest)
                    ),
                    Some(date) if !self.nearest().iter().any(|v| parse_exact(v).is_some_and(|(ma, mi, _)| (ma, mi) < (*major, *minor))) => format!(
                        "No python-s2i image has Python {major}.{minor}: it reached its end of life on {date}, and no Debian release still served ships it."
                    ),
                    _ => format!(
                        "No python-s2i image has Python {major}.{minor}: the images take the interpreter from Debian's packages, and no Debian release ships {major}.{minor} (the nearest images: {near})."
                    ),
                }
            }
            Wanted::Range(spec) => format!(
                "No python-s2i image has a Python in {spec}: the images are for Python {} (the nearest: {near}).",
                image_versions().join(", ")
            ),
        }
    }
}

/// One end of the `major.minor` versions a request admits.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Including((u64, u64)),
    Excluding((u64, u64)),
}

/// The lowest and highest `major.minor` a range admits, read from its specifiers
/// (`>=3.16`: from 3.16 up; `<3.13`: below 3.13).
fn range_bounds(spec: &str) -> (Bound, Bound) {
    let mut low = Bound::Including((0, 0));
    let mut high = Bound::Including((u64::MAX, u64::MAX));
    let Ok(specs) = VersionSpecifiers::from_str(spec) else {
        return (low, high);
    };
    let value = |b: Bound| match b {
        Bound::Including(v) | Bound::Excluding(v) => v,
    };
    for s in specs.iter() {
        let release = s.version().release();
        let v = (
            release.first().copied().unwrap_or(0),
            release.get(1).copied().unwrap_or(0),
        );
        let op = s.operator().to_string();
        if (op.starts_with('>') || op == "~=" || op == "==") && v >= value(low) {
            low = if op == ">" {
                Bound::Excluding(v)
            } else {
                Bound::Including(v)
            };
        }
        if (op.starts_with('<') || op == "==") && v <= value(high) {
            high = if op == "<" {
                Bound::Excluding(v)
            } else {
                Bound::Including(v)
            };
        }
    }
    (low, high)
}

/// The Debian suite of each image (`images/versions`), in file order.
fn image_suites() -> Vec<(String, String)> {
    IMAGE_VERSIONS
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect()
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
    let lock = s2i_project::PipfileLock::read(app).and_then(|l| l.python().map(str::to_owned));
    let exact = [
        (".python-version", s2i_project::python_version(app)),
        ("runtime.txt", s2i_project::runtime_txt(app)),
        ("Pipfile.lock", lock),
    ];
    for (file, value) in exact {
        if let Some(value) = value {
            push_exact(&mut found, &mut notes, file, &value);
        }
    }
    let uv = s2i_project::Lock::read(app, "uv.lock").and_then(|l| l.requires_python);
    let pyproject = s2i_project::Pyproject::read(app).and_then(|p| p.project?.requires_python);
    for (file, spec) in [("uv.lock", uv), ("pyproject.toml", pyproject)] {
        let Some(spec) = spec else { continue };
        let spec = spec.as_str();
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
        Some((major, minor, patch)) => found.push(Request {
            file,
            raw: raw.to_owned(),
            wanted: Wanted::Exact {
                major,
                minor,
                patch,
            },
        }),
        None => notes.push(format!(
            "{file} says {raw:?}, which is not a CPython version: not checked"
        )),
    }
}

/// `3.13`, `3.13.1`, `python-3.13.1`, `cpython-3.13`, `cpython@3.13` -> (3, 13, patch).
fn parse_exact(raw: &str) -> Option<(u64, u64, Option<u64>)> {
    let lower = raw.trim().to_ascii_lowercase();
    let version = ["python-", "cpython-", "cpython@", "cpython", "python"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(&lower);
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let rest: Vec<&str> = parts.collect();
    if rest.iter().any(|p| p.parse::<u64>().is_err()) {
        return None;
    }
    let patch = rest.first().and_then(|p| p.parse().ok());
    Some((major, minor, patch))
}

/// Whether a `major.minor` interpreter satisfies `wanted`, ignoring the patch level: some patch
/// release of that minor version is in the range (checked at `.0`, the interpreter's own patch
/// and a high patch number).
fn fits(wanted: &Wanted, major: u64, minor: u64, patch: u64) -> bool {
    match wanted {
        Wanted::Exact {
            major: m, minor: n, ..
        } => (*m, *n) == (major, minor),
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
                .filter(|v| {
                    parse_exact(v).is_some_and(|(ma, mi, _)| fits(&request.wanted, ma, mi, 0))
                })
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
            ("3.13", Some((3, 13, None))),
            ("3.13.1", Some((3, 13, Some(1)))),
            ("python-3.12.4", Some((3, 12, Some(4)))),
            ("cpython@3.11", Some((3, 11, None))),
            ("cpython-3.14", Some((3, 14, None))),
            ("pypy3.10", None),
            ("system", None),
        ] {
            assert_eq!(parse_exact(raw), want, "{raw}");
        }
    }

    #[test]
    fn files_are_read_in_order() {
        let dir = crate::tree(&[
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
                minor: 13,
                patch: None
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
        let exact = |minor, patch| Wanted::Exact {
            major: 3,
            minor,
            patch,
        };
        assert!(fits(&exact(11, Some(4)), 3, 11, 9));
        assert!(!fits(&exact(13, None), 3, 11, 2));
    }

    fn mismatch_for(files: &[(&str, &str)], interpreter: (u64, u64, u64)) -> Mismatch {
        let dir = crate::tree(files);
        let (found, _) = requests(dir.path());
        Mismatch {
            checked: check(&found, interpreter)[0].clone(),
            interpreter: format!("{}.{}.{}", interpreter.0, interpreter.1, interpreter.2),
        }
    }

    #[test]
    fn mismatches_name_the_image_that_fits() {
        let m = mismatch_for(&[(".python-version", "3.13\n")], (3, 11, 2));
        assert!(!m.checked.fits);
        assert_eq!(m.image_advice(), "python-s2i:3.13");
        // A range: the newest image in it.
        let range = "[project]\nrequires-python = \">=3.12\"\n";
        let m = mismatch_for(&[("pyproject.toml", range)], (3, 11, 2));
        assert_eq!(m.checked.images.last().map(String::as_str), Some("3.15"));
    }

    #[test]
    fn no_image_names_the_nearest_and_why() {
        // Debian released no suite with 3.12 (bookworm 3.11, trixie 3.13) nor 3.10.
        let m = mismatch_for(&[(".python-version", "3.12\n")], (3, 11, 2));
        assert_eq!(m.nearest(), ["3.11", "3.13"]);
        assert_eq!(
            m.image_advice(),
            "none (the nearest: python-s2i:3.11 and python-s2i:3.13)"
        );
        let why = m.why_none();
        assert!(why.contains("no Debian release ships 3.12"), "{why}");
        assert!(
            why.contains("3.11 from Debian bookworm, 3.13 from Debian trixie"),
            "{why}"
        );
        let m = mismatch_for(&[("runtime.txt", "python-3.10.4\n")], (3, 11, 2));
        assert_eq!(m.nearest(), ["3.9", "3.11"]);
        assert!(m
            .why_none()
            .contains("3.9 from Debian bullseye, 3.11 from Debian bookworm"));
        // Older than every image: end of life.
        let m = mismatch_for(&[(".python-version", "3.6\n")], (3, 11, 2));
        assert_eq!(m.nearest(), ["3.9"]);
        assert!(
            m.why_none().contains("end of life on 2021-12-23"),
            "{}",
            m.why_none()
        );
        // Newer than every image.
        let m = mismatch_for(&[(".python-version", "3.16\n")], (3, 11, 2));
        assert!(
            m.why_none().contains("newer than the newest image"),
            "{}",
            m.why_none()
        );
        // A range no image is in.
        let m = mismatch_for(
            &[(
                "pyproject.toml",
                "[project]\nrequires-python = \">=3.12,<3.13\"\n",
            )],
            (3, 11, 2),
        );
        assert_eq!(m.nearest(), ["3.11", "3.13"]);
    }

    #[test]
    fn a_minor_version_means_any_patch_of_it() {
        let fits = |version: &str, interpreter| {
            mismatch_for(&[(".python-version", version)], interpreter).checked
        };
        assert_eq!(
            fits("3.11", (3, 11, 0)).request.wanted.to_string(),
            "Python 3.11"
        );
        for patch in [0, 2, 19] {
            assert!(fits("3.11", (3, 11, patch)).fits);
        }
        let exact = fits("3.11.4", (3, 11, 2));
        assert_eq!(exact.request.wanted.to_string(), "Python 3.11.4");
        assert!(exact.fits);
        assert!(!fits("3.11.4", (3, 13, 4)).fits);
    }

    #[test]
    fn unparsable_values_are_notes() {
        let dir = crate::tree(&[
            (".python-version", "pypy3.10\n"),
            ("pyproject.toml", "[project]\nrequires-python = \"^3.11\"\n"),
        ]);
        let (found, notes) = requests(dir.path());
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(notes.len(), 2, "{notes:?}");
    }
}
