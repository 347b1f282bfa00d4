//! Account database tasks for containers: a passwd entry for an arbitrary UID (OpenShift runs
//! images as a random UID with GID 0 and no passwd entry, which breaks `getpwuid`, `whoami` and
//! `~`), and the unprivileged account a root-started server drops to.
//!
//! Reads the files directly (no NSS calls): the binaries are static and containers use files.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One line of a passwd file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// Parses passwd text.
#[must_use]
pub fn accounts(passwd: &str) -> Vec<Account> {
    passwd
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Account {
                name: f[0].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_owned(),
            })
        })
        .collect()
}

/// The name of group `gid` in group-file text.
#[must_use]
pub fn group_name(group: &str, gid: u32) -> Option<String> {
    group.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 3 && f[2].parse::<u32>().ok() == Some(gid)).then(|| f[0].to_owned())
    })
}

/// What was done so the UID has a passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provision {
    /// The UID already has an entry.
    Present { name: String },
    /// An entry was appended to the (writable) passwd file.
    Appended { name: String, path: PathBuf },
    /// A copy of the passwd file plus the entry was written; nss_wrapper must be preloaded with
    /// these variables.
    NssWrapper {
        name: String,
        env: Vec<(String, String)>,
    },
}

/// Giving the UID an entry failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Neither the passwd file was writable nor nss_wrapper available.
    #[error("UID {uid} has no entry in {passwd} and it is not writable; nss_wrapper is not installed (looked for {})", joined(.tried_libs))]
    NoWay {
        uid: u32,
        passwd: PathBuf,
        tried_libs: Vec<PathBuf>,
    },
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: io::Error },
    /// A value that would go into the entry holds a `:` or a newline, which would corrupt the
    /// passwd file (every line is seven `:`-separated fields).
    #[error("the passwd entry for UID {uid} would have the {field} {value:?}, which holds a `:` or a newline: passwd fields are separated by `:` and entries by newlines, so the file would be corrupted; nothing was written")]
    InvalidField {
        uid: u32,
        field: &'static str,
        value: String,
    },
}

/// The paths, separated by commas.
fn joined(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// Where nss_wrapper is installed on Debian and Fedora-like systems.
pub const NSS_WRAPPER_LIBS: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so",
    "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so",
    "/usr/lib64/libnss_wrapper.so",
    "/usr/lib/libnss_wrapper.so",
];

/// Inputs of [`ensure_entry`].
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub uid: u32,
    pub gid: u32,
    /// Home directory for a new entry.
    pub home: &'a Path,
    /// Usually `/etc/passwd`.
    pub passwd: &'a Path,
    /// Usually `/etc/group` (given to nss_wrapper).
    pub group: &'a Path,
    /// Writable directory for the nss_wrapper copy.
    pub state_dir: &'a Path,
    /// Candidate nss_wrapper libraries.
    pub libs: &'a [PathBuf],
    /// The `LD_PRELOAD` the program would get otherwise (a user's jemalloc): nss_wrapper is put
    /// in front of it, never in its place.
    pub ld_preload: Option<&'a str>,
}

/// `LD_PRELOAD` with `lib` in front of what was there (glibc reads `:`- or space-separated
/// lists); unchanged when `lib` is already in it.
#[must_use]
pub fn prepend_preload(lib: &Path, existing: Option<&str>) -> String {
    let lib = lib.display().to_string();
    match existing.map(str::trim).filter(|e| !e.is_empty()) {
        None => lib,
        Some(existing) if existing.split([':', ' ']).any(|l| l == lib) => existing.to_owned(),
        Some(existing) => format!("{lib}:{existing}"),
    }
}

/// Refuses a home directory that could not go into a passwd entry for `uid` (see
/// [`ProvisionError::InvalidField`]); `run` asks before anything else reads the path.
///
/// # Errors
/// The home holds a `:` or a newline.
pub fn check_home(uid: u32, home: &Path) -> Result<(), ProvisionError> {
    check_field(uid, "home directory", &home.display().to_string())
}

/// A passwd field that would break the file.
fn check_field(uid: u32, field: &'static str, value: &str) -> Result<(), ProvisionError> {
    if value.contains([':', '\n', '\r']) {
        return Err(ProvisionError::InvalidField {
            uid,
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// Makes sure `uid` has a passwd entry: nothing to do, append to a writable passwd file, or a
/// copy for nss_wrapper.
///
/// # Errors
/// No way to give the UID an entry, or a file cannot be read or written.
pub fn ensure_entry(req: &Request<'_>) -> Result<Provision, ProvisionError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |error| ProvisionError::Io { path, error }
    };
    let text = fs::read_to_string(req.passwd).or_else(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Ok(String::new())
        } else {
            Err(io_err(req.passwd)(e))
        }
    })?;
    let existing = accounts(&text);
    if let Some(a) = existing.iter().find(|a| a.uid == req.uid) {
        return Ok(Provision::Present {
            name: a.name.clone(),
        });
    }
    let name = if existing.iter().any(|a| a.name == "default") {
        format!("user{}", req.uid)
    } else {
        "default".to_owned()
    };
    let home = req.home.display().to_string();
    check_field(req.uid, "name", &name)?;
    check_home(req.uid, req.home)?;
    let entry = format!(
        "{name}:x:{}:{}:Default Application User:{home}:/bin/sh\n",
        req.uid, req.gid,
    );
    let separator = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    if let Ok(mut file) = OpenOptions::new().append(true).open(req.passwd) {
        file.write_all(format!("{separator}{entry}").as_bytes())
            .map_err(io_err(req.passwd))?;
        return Ok(Provision::Appended {
            name,
            path: req.passwd.to_path_buf(),
        });
    }
    let Some(lib) = req.libs.iter().find(|l| l.is_file()) else {
        return Err(ProvisionError::NoWay {
            uid: req.uid,
            passwd: req.passwd.to_path_buf(),
            tried_libs: req.libs.to_vec(),
        });
    };
    fs::create_dir_all(req.state_dir).map_err(io_err(req.state_dir))?;
    let copy = req.state_dir.join("passwd");
    fs::write(&copy, format!("{text}{separator}{entry}")).map_err(io_err(&copy))?;
    Ok(Provision::NssWrapper {
        name,
        env: vec![
            ("LD_PRELOAD".into(), prepend_preload(lib, req.ld_preload)),
            ("NSS_WRAPPER_PASSWD".into(), copy.display().to_string()),
            ("NSS_WRAPPER_GROUP".into(), req.group.display().to_string()),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

    fn request<'a>(dir: &'a Path, passwd: &'a Path, libs: &'a [PathBuf], uid: u32) -> Request<'a> {
        Request {
            uid,
            gid: 0,
            home: Path::new("/opt/app-root/src"),
            passwd,
            group: Path::new("/etc/group"),
            state_dir: dir,
            libs,
            ld_preload: None,
        }
    }

    /// A directory with a passwd file holding [`PASSWD`].
    fn passwd_file() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let passwd = dir.path().join("passwd");
        fs::write(&passwd, PASSWD).expect("write");
        (dir, passwd)
    }

    #[test]
    fn parses_accounts_and_groups() {
        let a = accounts(PASSWD);
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].name, "nobody");
        assert_eq!(
            group_name("root:x:0:\nnogroup:x:65534:\n", 65534).as_deref(),
            Some("nogroup")
        );
    }

    #[test]
    fn present_uid_is_left_alone() {
        let (dir, passwd) = passwd_file();
        let p = ensure_entry(&request(dir.path(), &passwd, &[], 65534)).expect("ok");
        let name = "nobody".into();
        assert_eq!(p, Provision::Present { name });
    }

    #[test]
    fn writable_passwd_gets_an_entry() {
        let (dir, passwd) = passwd_file();
        let p = ensure_entry(&request(dir.path(), &passwd, &[], 1000123)).expect("ok");
        assert!(
            matches!(p, Provision::Appended { ref name, .. } if name == "default"),
            "{p:?}"
        );
        let text = fs::read_to_string(&passwd).expect("read");
        assert!(
            text.ends_with(
                "default:x:1000123:0:Default Application User:/opt/app-root/src:/bin/sh\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn read_only_passwd_uses_nss_wrapper_copy() {
        if nix_is_root() {
            // root can write a 0444 file; the unprivileged case is covered by test/tests/run.rs.
            return;
        }
        let (dir, passwd) = passwd_file();
        fs::set_permissions(&passwd, fs::Permissions::from_mode(0o444)).expect("chmod");
        let lib = dir.path().join("libnss_wrapper.so");
        fs::write(&lib, "").expect("lib");
        let libs = [lib];
        let p = ensure_entry(&request(dir.path(), &passwd, &libs, 1000123)).expect("ok");
        assert!(matches!(p, Provision::NssWrapper { .. }), "{p:?}");
    }

    #[test]
    fn missing_passwd_dir_without_wrapper_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let passwd = dir.path().join("no/such/passwd");
        let err = ensure_entry(&request(dir.path(), &passwd, &[], 1000123)).expect_err("no way");
        assert!(err.to_string().contains("1000123"), "{err}");
    }

    #[test]
    fn nss_wrapper_goes_in_front_of_a_users_preload() {
        let lib = Path::new("/usr/lib/libnss_wrapper.so");
        assert_eq!(prepend_preload(lib, None), "/usr/lib/libnss_wrapper.so");
        assert_eq!(
            prepend_preload(lib, Some(" ")),
            "/usr/lib/libnss_wrapper.so"
        );
        assert_eq!(
            prepend_preload(lib, Some("/usr/lib/libjemalloc.so.2")),
            "/usr/lib/libnss_wrapper.so:/usr/lib/libjemalloc.so.2"
        );
        assert_eq!(
            prepend_preload(lib, Some("/a.so /usr/lib/libnss_wrapper.so")),
            "/a.so /usr/lib/libnss_wrapper.so"
        );
    }

    #[test]
    fn colon_or_newline_in_the_home_is_refused_and_nothing_written() {
        let (dir, passwd) = passwd_file();
        for home in ["/opt/app:root/src", "/opt/app\nroot:x:0:0::/:/bin/sh/src"] {
            let mut req = request(dir.path(), &passwd, &[], 1000123);
            req.home = Path::new(home);
            let err = ensure_entry(&req).expect_err("refused");
            assert!(matches!(err, ProvisionError::InvalidField { .. }), "{err}");
            assert!(err.to_string().contains("home directory"), "{err}");
        }
        assert_eq!(fs::read_to_string(&passwd).expect("read"), PASSWD);
    }

    fn nix_is_root() -> bool {
        fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false)
    }
}
