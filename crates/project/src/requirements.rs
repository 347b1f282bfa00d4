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
    /// The normalised name of a requirement, a `name @ url` reference's too.
    pub fn name(&self) -> Option<String> {
        let Kind::Requirement(r) = &self.kind else {
            return None;
        };
        Some(r.name.to_string())
    }

    /// The normalised name of a requirement an index serves (not a `name @ url` reference).
    pub fn index_name(&self) -> Option<String> {
        let url = |r: &Requirement| matches!(r.version_or_url, Some(VersionOrUrl::Url(_)));
        self.name()
            .filter(|_| !matches!(&self.kind, Kind::Requirement(r) if url(r)))
    }

    /// Whether it installs the directory of the file (`.`, `-e .`, `--editable=file:.`).
    pub fn installs_own_directory(&self) -> bool {
        let Kind::Reference { target, .. } = &self.kind else {
            return false;
        };
        let target = target.split('[').next().unwrap_or("").trim_end_matches('/');
        target == "." || target == "file:."
    }

    /// Whether it names another file or a local directory (includes, constraints, editables,
    /// paths), whose content a digest of the file does not cover.
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
pub fn name_of(requirement: &str) -> Option<String> {
    let requirement = Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement.trim());
    requirement.ok().map(|r| r.name.to_string())
}

/// The lines of `dir/file`, includes not followed (empty when the file cannot be read).
pub fn read(dir: &Path, file: &str) -> Vec<Line> {
    let text = crate::read_text(&dir.join(file)).ok().flatten();
    parse(&text.unwrap_or_default())
}

/// The lines of `dir/file`, each include followed once, its lines after the include's line.
pub fn read_all(dir: &Path, file: &str) -> Vec<Line> {
    fn follow(dir: &Path, file: &str, seen: &mut BTreeSet<String>, out: &mut Vec<Line>) {
        if !seen.insert(file.to_owned()) {
            return;
        }
        for line in read(dir, file) {
            let include = match &line.kind {
                Kind::Include(other) => Some(Path::new(file).with_file_name(other)),
                _ => None,
            };
            out.push(line);
            if let Some(other) = include {
                follow(dir, &other.to_string_lossy(), seen, out);
            }
        }
    }
    let mut out = Vec::new();
    follow(dir, file, &mut BTreeSet::new(), &mut out);
    out
}

/// The lines of a requirements file's text.
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
            let (text, kind) = (text.to_owned(), kind(text));
            lines.push(Line { text, kind });
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
        let rest = text.strip_prefix(long).or(text.strip_prefix(short))?;
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
            let target = text.to_owned();
            Requirement::from_str(requirement).map_or(
                Kind::Reference {
                    target,
                    editable: false,
                },
                |r| Kind::Requirement(Box::new(r)),
            )
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
        let tag = |l: &Line| match &l.kind {
            Kind::Requirement(_) => format!("{:?} {:?}", l.name(), l.index_name()),
            other => format!("{other:?}"),
        };
        let tags: Vec<String> = lines.iter().map(tag).collect();
        assert_eq!(
            tags,
            [
                r#"Some("django") Some("django")"#,
                r#"Include("base.txt")"#,
                r#"Index("https://example.org/simple")"#,
                r#"Index("https://example.org/other")"#,
                r#"ExtraIndex("https://x.org/simple")"#,
                r#"Some("typing-extensions") Some("typing-extensions")"#,
                r#"Reference { target: ".[dev]", editable: true }"#,
                r#"Reference { target: "./lib", editable: false }"#,
                r#"Some("pkg") None"#,
                r#"Constraint("constraints.txt")"#,
                "Option",
            ]
        );
        assert_eq!(lines[0].text, "Django>=4.2,<6 ; python_version >= '3'");
        let refers: Vec<bool> = lines.iter().map(Line::refers_to_files).collect();
        let own: Vec<bool> = lines.iter().map(Line::installs_own_directory).collect();
        let (t, f) = (true, false);
        assert_eq!(refers, [f, t, f, f, f, f, t, t, f, t, f]);
        assert_eq!(own, [f, f, f, f, f, f, t, f, f, f, f]);
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
        let lines = read_all(dir.path(), "requirements.txt");
        let names: Vec<String> = lines.iter().filter_map(Line::name).collect();
        assert_eq!(names, ["django", "six", "gunicorn"]);
        assert_eq!(read(dir.path(), "requirements.txt").len(), 2);
    }
}
