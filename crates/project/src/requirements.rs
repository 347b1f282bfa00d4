//! Requirements files (pip's format), each logical line (`\` continuations joined, comments
//! left out) as the kind of line it is.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use pep508_rs::{Requirement, VersionOrUrl};

/// A logical line of a requirements file: its text (comment left out) and its kind.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub kind: Kind,
}

/// What a line of a requirements file is.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A PEP 508 requirement: a name with extras, versions and markers, or `name @ url`.
    Requirement(Box<Requirement>),
    /// A URL or path that is not a PEP 508 requirement (`./lib`, `git+https://...`), or an
    /// editable (`-e .`).
    Reference { target: String, editable: bool },
    /// `-r FILE` / `--requirement FILE`.
    Include(String),
    /// `-c FILE` / `--constraint FILE`.
    Constraint(String),
    /// `-i URL` / `--index-url URL`.
    Index(String),
    /// `--extra-index-url URL`.
    ExtraIndex(String),
    /// Any other option (`--hash`, `--no-binary`, ...).
    Option,
}

impl Line {
    /// The normalised name of a requirement an index serves (not a `name @ url` reference).
    #[must_use]
    pub fn index_name(&self) -> Option<String> {
        match &self.kind {
            Kind::Requirement(r) if !matches!(r.version_or_url, Some(VersionOrUrl::Url(_))) => {
                Some(r.name.to_string())
            }
            _ => None,
        }
    }

    /// The normalised name of a requirement, a `name @ url` reference's too.
    #[must_use]
    pub fn name(&self) -> Option<String> {
        match &self.kind {
            Kind::Requirement(r) => Some(r.name.to_string()),
            _ => None,
        }
    }

    /// Whether it installs the directory of the file (`.`, `-e .`, `--editable=file:.`).
    #[must_use]
    pub fn installs_own_directory(&self) -> bool {
        let Kind::Reference { target, .. } = &self.kind else {
            return false;
        };
        let target = target.split('[').next().unwrap_or("").trim_end_matches('/');
        target == "." || target == "file:."
    }

    /// Whether it names another file or a local directory (includes, constraints, editables,
    /// paths), whose content a digest of the file does not cover.
    #[must_use]
    pub fn refers_to_files(&self) -> bool {
        match &self.kind {
            Kind::Include(_) | Kind::Constraint(_) => true,
            Kind::Reference { target, editable } => {
                *editable || target.starts_with(['.', '/']) || target.starts_with("file:")
            }
            _ => false,
        }
    }
}

/// The normalised name of a PEP 508 requirement string (`gunicorn[gevent]>=21 ; ...`).
#[must_use]
pub fn name_of(requirement: &str) -> Option<String> {
    Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement.trim())
        .ok()
        .map(|r| r.name.to_string())
}

/// The lines of `dir/file`, includes not followed (empty when the file cannot be read).
#[must_use]
pub fn read(dir: &Path, file: &str) -> Vec<Line> {
    crate::read_text(&dir.join(file))
        .ok()
        .flatten()
        .map_or_else(Vec::new, |text| parse(&text))
}

/// The lines of `dir/file`, each include followed once, its lines after the include's line.
#[must_use]
pub fn read_all(dir: &Path, file: &str) -> Vec<Line> {
    fn follow(dir: &Path, file: &str, seen: &mut BTreeSet<String>, out: &mut Vec<Line>) {
        if !seen.insert(file.to_owned()) {
            return;
        }
        for line in read(dir, file) {
            let include = match &line.kind {
                Kind::Include(other) => Some(Path::new(file).parent().map_or_else(
                    || other.clone(),
                    |parent| parent.join(other).display().to_string(),
                )),
                _ => None,
            };
            out.push(line);
            if let Some(other) = include {
                follow(dir, &other, seen, out);
            }
        }
    }
    let mut out = Vec::new();
    follow(dir, file, &mut BTreeSet::new(), &mut out);
    out
}

/// The lines of a requirements file's text.
#[must_use]
pub fn parse(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut logical = String::new();
    for physical in text.lines() {
        if let Some(continued) = physical.strip_suffix('\\') {
            logical.push_str(continued);
            logical.push(' ');
            continue;
        }
        logical.push_str(physical);
        let whole = std::mem::take(&mut logical);
        let text = whole.split(" #").next().unwrap_or("").trim();
        if !text.is_empty() && !text.starts_with('#') {
            lines.push(Line {
                text: text.to_owned(),
                kind: kind(text),
            });
        }
    }
    lines
}

/// The kind of a logical line.
fn kind(text: &str) -> Kind {
    const OPTIONS: [(&str, &str); 5] = [
        ("--requirement", "-r"),
        ("--constraint", "-c"),
        ("--editable", "-e"),
        ("--index-url", "-i"),
        ("--extra-index-url", "--extra-index-url"),
    ];
    let option = OPTIONS.iter().find_map(|(long, short)| {
        let rest = text
            .strip_prefix(long)
            .or_else(|| text.strip_prefix(short))?;
        let value = rest.trim_start_matches([' ', '\t', '=']).trim();
        Some((*long, value.to_owned()))
    });
    match option {
        Some(("--requirement", file)) => Kind::Include(file),
        Some(("--constraint", file)) => Kind::Constraint(file),
        Some(("--index-url", url)) => Kind::Index(url),
        Some(("--extra-index-url", url)) => Kind::ExtraIndex(url),
        Some((_, target)) => Kind::Reference {
            target,
            editable: true,
        },
        None if text.starts_with('-') => Kind::Option,
        None => {
            let requirement = text.split(" --").next().unwrap_or(text).trim();
            match Requirement::from_str(requirement) {
                Ok(r) => Kind::Requirement(Box::new(r)),
                Err(_) => Kind::Reference {
                    target: text.to_owned(),
                    editable: false,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_its_kind() {
        let lines = parse(
            "# web\nDjango>=4.2,<6 ; python_version >= '3'  # pinned\n-r base.txt\n\
             --index-url=https://example.org/simple\n-i https://example.org/other\n\
             --extra-index-url https://x.org/simple\nTyping_Extensions \\\n    --hash=sha256:00\n\
             -e .[dev]\n./lib\npkg @ https://example.org/pkg.tar.gz\n-c constraints.txt\n\
             --no-binary :all:\n",
        );
        let kinds: Vec<String> = lines.iter().map(|l| format!("{:?}", l.kind)).collect();
        assert_eq!(lines.len(), 11, "{kinds:#?}");
        assert_eq!(lines[0].index_name().as_deref(), Some("django"));
        assert_eq!(lines[0].text, "Django>=4.2,<6 ; python_version >= '3'");
        assert!(matches!(&lines[1].kind, Kind::Include(f) if f == "base.txt"));
        assert!(matches!(&lines[2].kind, Kind::Index(u) if u == "https://example.org/simple"));
        assert!(matches!(&lines[3].kind, Kind::Index(u) if u == "https://example.org/other"));
        assert!(matches!(&lines[4].kind, Kind::ExtraIndex(u) if u == "https://x.org/simple"));
        assert_eq!(lines[5].index_name().as_deref(), Some("typing-extensions"));
        assert!(lines[6].installs_own_directory() && lines[6].refers_to_files());
        assert!(matches!(
            &lines[7].kind,
            Kind::Reference {
                editable: false,
                ..
            }
        ));
        assert!(lines[7].refers_to_files() && !lines[7].installs_own_directory());
        assert_eq!(
            (lines[8].index_name(), lines[8].name().as_deref()),
            (None, Some("pkg"))
        );
        assert!(lines[9].refers_to_files() && matches!(lines[10].kind, Kind::Option));
        assert!(!lines[0].refers_to_files() && !lines[8].refers_to_files());
    }

    #[test]
    fn includes_followed_once_from_the_including_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("reqs")).expect("mkdir");
        for (file, text) in [
            ("requirements.txt", "-r reqs/base.txt\ngunicorn\n"),
            (
                "reqs/base.txt",
                "Django\n-r base.txt\n--requirement=more.txt\n",
            ),
            ("reqs/more.txt", "six\n"),
        ] {
            std::fs::write(dir.path().join(file), text).expect("write");
        }
        let names: Vec<String> = read_all(dir.path(), "requirements.txt")
            .iter()
            .filter_map(Line::name)
            .collect();
        assert_eq!(names, ["django", "six", "gunicorn"]);
        assert_eq!(read(dir.path(), "requirements.txt").len(), 2);
    }
}
