//! The user's package index settings, and the environment without them: what the build's own
//! tools (micropipenv, pipenv, the server) are installed with when the user's index does not
//! serve them, as the default OpenShift Python image retries with `pip --isolated`.

use s2i_env::Env;

/// The variables that point pip or uv at a package index other than PyPI.
pub const INDEX_VARIABLES: &[&str] = &[
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
];
/// [`Env`] as the build's installers see it.
pub trait UserIndex {
    /// This environment without the user's package index settings (pip's and uv's names, and
    /// their configuration files). Certificates stay: a TLS-inspecting proxy applies to every
    /// index.
    #[must_use]
    fn without_user_index(&self) -> Self;

    /// Whether the user set any package index variable ([`INDEX_VARIABLES`]).
    fn has_user_index(&self) -> bool;
}

impl UserIndex for Env {
    fn without_user_index(&self) -> Self {
        let mut env = self.clone();
        for name in INDEX_VARIABLES {
            env.remove(name);
        }
        env.set("PIP_CONFIG_FILE", "/dev/null");
        env.set("UV_NO_CONFIG", "1");
        env
    }

    fn has_user_index(&self) -> bool {
        INDEX_VARIABLES.iter().any(|name| self.get(name).is_some())
            || self.get("PIP_CONFIG_FILE").is_some()
    }
}

/// Where index credentials are injected by default: a directory outside `$APP_ROOT` that the
/// build's tools read and the image never keeps (an OpenShift build volume, `s2i build
/// --inject`, `images/s2i-build --secret`). `S2I_SECRETS_DIR` names another.
pub const SECRETS_DIR: &str = "/etc/python-s2i/secrets";
/// The variable naming another directory than [`SECRETS_DIR`].
pub const SECRETS_DIR_VARIABLE: &str = "S2I_SECRETS_DIR";

/// The injected credential files found, and what each is given to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// `(file, how the installers get it)`, for the build log (never the contents).
    pub used: Vec<(std::path::PathBuf, &'static str)>,
    /// Files that are there but that the build's user cannot read, with the error.
    pub unreadable: Vec<(std::path::PathBuf, String)>,
}

/// Points pip and uv at the credential files injected in `S2I_SECRETS_DIR` (default
/// [`SECRETS_DIR`]), by setting variables in the installers' environment only:
///
/// - `netrc` (or `.netrc`): `NETRC`, read by pip (requests) and uv;
/// - `pip.conf`: `PIP_CONFIG_FILE`; its `index-url` and `extra-index-url` go to uv as
///   `UV_INDEX_URL` / `UV_EXTRA_INDEX_URL` unless those are set;
/// - `uv.toml`: `UV_CONFIG_FILE`.
///
/// Nothing is copied: the files stay where they were injected, and s2i or the build volume
/// removes them with the build.
pub fn use_secrets(env: &mut Env) -> Secrets {
    let dir = std::path::PathBuf::from(env.get(SECRETS_DIR_VARIABLE).unwrap_or(SECRETS_DIR));
    let mut secrets = Secrets::default();
    let mut unreadable = Vec::new();
    let mut readable = |name: &str| {
        let path = dir.join(name);
        match std::fs::File::open(&path) {
            Ok(_) => Some(path),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                unreadable.push((path, e.to_string()));
                None
            }
            Err(_) => None,
        }
    };
    if let Some(netrc) = readable("netrc").or_else(|| readable(".netrc")) {
        env.set("NETRC", &netrc);
        secrets.used.push((netrc, "NETRC, for pip and uv"));
    }
    if let Some(conf) = readable("pip.conf") {
        env.set("PIP_CONFIG_FILE", &conf);
        let text = std::fs::read_to_string(&conf).unwrap_or_default();
        for (key, uv) in [
            ("index-url", "UV_INDEX_URL"),
            ("extra-index-url", "UV_EXTRA_INDEX_URL"),
        ] {
            if let Some(value) = pip_conf_value(&text, key) {
                env.set_default(uv, value);
            }
        }
        secrets
            .used
            .push((conf, "PIP_CONFIG_FILE, its index URLs to uv too"));
    }
    if let Some(conf) = readable("uv.toml") {
        env.set("UV_CONFIG_FILE", &conf);
        secrets.used.push((conf, "UV_CONFIG_FILE"));
    }
    secrets.unreadable = unreadable;
    secrets
}

/// Rewrites the requirements files exported from a lock under `state_dir`
/// (`requirements-*.txt`, left for users to read) with URL credentials masked: a lock's index
/// URL may carry a token (Pipfile's `${VAR}` in a source URL, expanded by the export), and the
/// files stay in the image.
pub fn scrub_exported(state_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("requirements-") && name.ends_with(".txt")) {
            continue;
        }
        let path = entry.path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if let std::borrow::Cow::Owned(masked) = s2i_message::redact(&text) {
            let _ = std::fs::write(&path, masked);
        }
    }
}

/// A value of pip's configuration (`[global]` or `[install]`), continuation lines joined with
/// spaces (pip's own reading of a list).
fn pip_conf_value(text: &str, key: &str) -> Option<String> {
    let mut section = String::new();
    let mut found: Option<String> = None;
    let mut continuing = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if raw.starts_with([' ', '\t']) && continuing {
            if let Some(value) = found.as_mut() {
                value.push(' ');
                value.push_str(line);
            }
            continue;
        }
        continuing = false;
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let Some((name, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        if matches!(section.as_str(), "global" | "install") && name.trim() == key {
            found = Some(value.trim().to_owned());
            continuing = true;
        }
    }
    found.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_conf_index_urls_are_read_with_their_continuation_lines() {
        let text = "[global]\nindex-url = https://u:p@nexus.example/simple\n\
                    extra-index-url =\n    https://a.example/simple\n    https://b.example/simple\n\
                    [freeze]\nindex-url = https://ignored.example\n";
        assert_eq!(
            pip_conf_value(text, "index-url").as_deref(),
            Some("https://u:p@nexus.example/simple")
        );
        assert_eq!(
            pip_conf_value(text, "extra-index-url").as_deref(),
            Some("https://a.example/simple https://b.example/simple")
        );
        assert_eq!(pip_conf_value("[global]\ntimeout = 3\n", "index-url"), None);
    }

    #[test]
    fn injected_files_are_given_to_pip_and_uv_by_path() {
        let dir = crate::tree(&[
            ("netrc", "machine h login u password p\n"),
            ("pip.conf", "[global]\nindex-url = https://h/simple\n"),
        ]);
        let mut env = Env::default();
        env.set(SECRETS_DIR_VARIABLE, dir.path());
        let secrets = use_secrets(&mut env);
        assert_eq!(secrets.used.len(), 2);
        assert_eq!(
            env.get("NETRC"),
            Some(dir.path().join("netrc").to_string_lossy().as_ref())
        );
        assert_eq!(env.get("UV_INDEX_URL"), Some("https://h/simple"));
        assert!(env.get("UV_CONFIG_FILE").is_none());
    }

    #[test]
    fn exported_requirements_keep_no_credentials() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exported = dir.path().join("requirements-micropipenv.txt");
        std::fs::write(
            &exported,
            "--index-url https://u:tok@h/simple\nflask==3.0\n",
        )
        .expect("w");
        let other = dir.path().join("facts.json");
        std::fs::write(&other, "https://u:tok@h").expect("w");
        scrub_exported(dir.path());
        assert_eq!(
            std::fs::read_to_string(&exported).expect("r"),
            "--index-url https://****@h/simple\nflask==3.0\n"
        );
        assert_eq!(
            std::fs::read_to_string(&other).expect("r"),
            "https://u:tok@h"
        );
    }

    #[test]
    fn no_directory_changes_nothing() {
        let mut env = Env::default();
        env.set(SECRETS_DIR_VARIABLE, "/nonexistent/python-s2i-secrets");
        assert!(use_secrets(&mut env).used.is_empty());
        assert!(env.get("NETRC").is_none());
    }
}
