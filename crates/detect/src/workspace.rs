//! uv workspaces: a root `pyproject.toml` with `[tool.uv.workspace] members = [...]` and one
//! `uv.lock` at the root for every member, the web app in one member (the FastAPI full-stack
//! template keeps it in `backend/`).
//!
//! Built from the root, the application home is the member that holds the web app: the only
//! member the detection rules find an application in (a member that is only a package, found by
//! the package rule, is a library), or the one `APP_HOME` names when several are.

use std::path::{Path, PathBuf};

use crate::mode;
use crate::rules::{self, Context};
use crate::source::read_optional;
use crate::{DetectError, Env};

/// The rule that finds any package: a member it alone matches is a library, not a web app.
const PACKAGE_RULE: &str = "setup.py / pyproject.toml package";

/// A uv workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UvWorkspace {
    /// The directory of the root pyproject.toml (and of uv.lock).
    pub root: PathBuf,
    /// The members' directories, in the order `members` lists them (globs sorted).
    pub members: Vec<PathBuf>,
}

impl UvWorkspace {
    /// Whether the workspace's `uv.lock` is there.
    #[must_use]
    pub fn locked(&self) -> bool {
        self.root.join("uv.lock").is_file()
    }

    /// The member whose directory is `dir`, when one is.
    #[must_use]
    pub fn member(&self, dir: &Path) -> Option<&PathBuf> {
        self.members.iter().find(|m| m.as_path() == dir)
    }
}

/// The uv workspace whose root is `root`, when its pyproject.toml declares one.
///
/// # Errors
/// pyproject.toml cannot be read.
pub fn uv_workspace(root: &Path) -> Result<Option<UvWorkspace>, DetectError> {
    let text = read_optional(&root.join("pyproject.toml"))?;
    let pyproject = text.and_then(|t| s2i_project::Pyproject::parse(&t));
    let Some(workspace) = pyproject.and_then(|p| p.tool.uv?.workspace) else {
        return Ok(None);
    };
    let list = |patterns: &[String]| -> Vec<PathBuf> {
        patterns.iter().flat_map(|p| expand(root, p)).collect()
    };
    let excluded = list(&workspace.exclude);
    let mut members = Vec::new();
    for dir in list(&workspace.members) {
        if dir.join("pyproject.toml").is_file()
            && !excluded.contains(&dir)
            && !members.contains(&dir)
        {
            members.push(dir);
        }
    }
    Ok(Some(UvWorkspace {
        root: root.to_path_buf(),
        members,
    }))
}

/// A member pattern's directories: a path, or a path whose last part is `*` (every directory
/// in it, sorted).
fn expand(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let pattern = pattern.trim_end_matches('/');
    match pattern
        .strip_suffix("/*")
        .or_else(|| (pattern == "*").then_some(""))
    {
        Some(parent) => {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(parent))
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.is_dir())
                        .collect()
                })
                .unwrap_or_default();
            dirs.sort();
            dirs
        }
        None => vec![root.join(pattern)],
    }
}

/// The workspace member of `src` that holds the web app, relative to `src`, and why; `None`
/// when `src` is no uv workspace or no member holds an app.
///
/// # Errors
/// Several members hold an app ([`DetectError::WorkspaceMembers`]), or a file cannot be read.
pub fn web_member(src: &Path, env: &Env) -> Result<Option<(PathBuf, String)>, DetectError> {
    let Some(workspace) = uv_workspace(src)? else {
        return Ok(None);
    };
    let mode = mode::deploy_mode(src, env)?;
    let server = mode::server_request(src, env, &mode)?;
    let mut apps = Vec::new();
    for member in &workspace.members {
        let cx = Context {
            src,
            home: member,
            env,
            facts: None,
            mode: &mode,
            server: &server,
        };
        let Ok((_, verdicts)) = rules::run(&cx) else {
            continue;
        };
        if let Some(v) = verdicts
            .iter()
            .find(|v| v.matched && v.rule != PACKAGE_RULE)
        {
            let dir = member.strip_prefix(src).unwrap_or(member).to_path_buf();
            apps.push((dir, format!("{}: {}", v.rule, v.why)));
        }
    }
    match apps.len() {
        0 => Ok(None),
        1 => {
            let (dir, why) = apps.remove(0);
            let source = format!(
                "uv workspace member {}, the only member with a web app ({why})",
                dir.display()
            );
            Ok(Some((dir, source)))
        }
        _ => Err(DetectError::WorkspaceMembers {
            root: src.to_path_buf(),
            members: apps
                .into_iter()
                .map(|(dir, why)| format!("{}: {why}", dir.display()))
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let path = root.join(name);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        }
    }

    const FASTAPI: &str = "from fastapi import FastAPI\napp = FastAPI()\n";

    #[test]
    fn the_only_member_with_a_web_app_is_the_home() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path();
        write(
            src,
            &[
                (
                    "pyproject.toml",
                    "[tool.uv.workspace]\nmembers = [\"backend\", \"libs/*\"]\nexclude = [\"libs/old\"]\n",
                ),
                ("backend/pyproject.toml", "[project]\nname = \"app\"\n"),
                ("backend/app/main.py", FASTAPI),
                ("libs/shared/pyproject.toml", "[project]\nname = \"shared\"\n"),
                ("libs/shared/shared/__init__.py", "X = 1\n"),
                ("libs/old/pyproject.toml", "[project]\nname = \"old\"\n"),
                ("libs/old/main.py", FASTAPI),
            ],
        );
        let ws = uv_workspace(src).expect("read").expect("a workspace");
        assert_eq!(
            ws.members,
            [src.join("backend"), src.join("libs/shared")],
            "globs expanded, exclusions left out"
        );
        assert!(!ws.locked());
        let (home, why) = web_member(src, &Env::of(&[]))
            .expect("member")
            .expect("found");
        assert_eq!(home, Path::new("backend"));
        assert!(why.starts_with("uv workspace member backend, the only member with a web app (main.py / app/main.py"), "{why}");
        // A second member with an app: APP_HOME must choose.
        write(src, &[("libs/shared/main.py", FASTAPI)]);
        let Err(error) = web_member(src, &Env::of(&[])) else {
            panic!("two members hold an app")
        };
        let text = error.message().render("x: ");
        assert!(text.contains("APP_HOME=backend"), "{text}");
        assert!(text.contains("libs/shared: main.py"), "{text}");
        // Not a workspace.
        let plain = tempfile::tempdir().expect("tempdir");
        write(
            plain.path(),
            &[("pyproject.toml", "[project]\nname = \"x\"\n")],
        );
        assert_eq!(web_member(plain.path(), &Env::of(&[])).expect("ok"), None);
    }
}
