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
