//! The software bill of materials of an app image: a CycloneDX 1.6 JSON document at
//! `$APP_ROOT/.python-s2i/sbom.cdx.json` ([`s2i_facts::Layout::sbom`]), printed by `run --sbom`.
//! One writer, called twice in an image's life:
//! - by `assemble` in the builder image, once the dependencies are installed;
//! - by `write-sbom` in a runtime image (`assemble-runtime` runs it after s2i copied the built
//!   `/opt/app-root` there and uv was removed): [`write_for_image`] lists that image's own Debian
//!   packages and interpreter, and the distributions the copied virtualenv holds, so nothing of
//!   the builder (its compilers, uv) stays listed.
//!
//! It lists what the build knows rather than what a scanner would guess:
//! - each Python distribution of the virtualenv (its `*.dist-info`): name, version,
//!   `pkg:pypi/` purl, the license expression its metadata declares (`License-Expression`),
//!   and a SHA-256: the artifact's, from `uv.lock` or `poetry.lock` (the wheel whose tags the
//!   installed `WHEEL` file names, else the sdist) or from `direct_url.json`; otherwise the
//!   digest of its `RECORD` (which lists the digest of every installed file);
//! - the interpreter; the operating system and its Debian packages (`/var/lib/dpkg/status`);
//! - the app itself, with the source commit when the build was given one ([`source_facts`]:
//!   `OPENSHIFT_BUILD_COMMIT`, set by OpenShift builds, else the source's `.git`), as the build
//!   record keeps it ([`s2i_facts::SourceFacts`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use s2i_env::Env;
use s2i_facts::{Facts, Layout, SourceFacts};

/// Where dpkg keeps what is installed.
pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";

/// A CycloneDX document (the parts this SBOM uses).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    pub bom_format: &'static str,
    pub spec_version: &'static str,
    pub version: u32,
    pub metadata: Metadata,
    pub components: Vec<Component>,
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub timestamp: String,
    pub tools: Tools,
    pub component: Component,
}

#[derive(Debug, Serialize)]
pub struct Tools {
    pub components: Vec<Component>,
}

/// A component: a distribution, a package, the interpreter, the app.
#[derive(Debug, Default, Serialize)]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<License>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pedigree: Option<Pedigree>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Hash {
    pub alg: &'static str,
    pub content: String,
}

#[derive(Debug, Serialize)]
pub struct License {
    pub expression: String,
}

#[derive(Debug, Serialize)]
pub struct Pedigree {
    pub commits: Vec<Commit>,
}

#[derive(Debug, Serialize)]
pub struct Commit {
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExternalReference {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    pub depends_on: Vec<String>,
}

/// What the document is made from.
pub struct Inputs<'a> {
    /// The virtualenv (`$APP_ROOT`).
    pub venv: &'a Path,
    /// Its interpreter and that interpreter's `(major, minor, micro)`.
    pub python: &'a Path,
    pub python_version: (u32, u32, u32),
    /// The application home (where the lock files are).
    pub app: &'a Path,
    /// The build record: the distribution installed from the source, where the source came from.
    pub facts: &'a Facts,
    /// For `SOURCE_DATE_EPOCH`.
    pub env: &'a Env,
    /// Which step wrote it (`metadata.tools`): `assemble` or `write-sbom`.
    pub tool: &'a str,
}

/// The metadata directories of the distributions installed in the virtualenv at `root`
/// (`lib/pythonX.Y/site-packages/*.dist-info` and `*.egg-info`), sorted.
#[must_use]
pub fn metadata_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = walkdir::WalkDir::new(root.join("lib"))
        .min_depth(3)
        .max_depth(3)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            name.ends_with(".dist-info") || name.ends_with(".egg-info")
        })
        .map(walkdir::DirEntry::into_path)
        .collect();
    dirs.sort();
    dirs
}

/// Where the source came from: `OPENSHIFT_BUILD_COMMIT` (else the `HEAD` of `source`'s `.git`),
/// `OPENSHIFT_BUILD_SOURCE` without credentials, the OpenShift build's reference, name and
/// namespace; `None` when the build was told none of them. assemble records it
/// ([`s2i_facts::Facts::source`]).
#[must_use]
pub fn source_facts(env: &Env, source: &Path) -> Option<SourceFacts> {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let facts = SourceFacts {
        commit: var("OPENSHIFT_BUILD_COMMIT").or_else(|| git_head(&source.join(".git"))),
        url: env.get("OPENSHIFT_BUILD_SOURCE").map(without_userinfo),
        reference: var("OPENSHIFT_BUILD_REFERENCE"),
        build_name: var("OPENSHIFT_BUILD_NAME"),
        build_namespace: var("OPENSHIFT_BUILD_NAMESPACE"),
    };
    (facts != SourceFacts::default()).then_some(facts)
}

/// Why [`write_for_image`] wrote no document.
#[derive(Debug, thiserror::Error)]
pub enum ImageSbomError {
    /// No build record: `$APP_ROOT` was not built by assemble.
    #[error("{0} is missing: this $APP_ROOT was not built by assemble")]
    NoRecord(PathBuf),
    /// The build record could not be read.
    #[error(transparent)]
    Record(s2i_facts::FactsError),
    /// The virtualenv's interpreter did not say its version.
    #[error("`{python} -c 'import sys; print(sys.version_info[:3])'` gave no version: {detail}")]
    Interpreter { python: PathBuf, detail: String },
    /// The document could not be written.
    #[error("{path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The document of the image this runs in, for the `$APP_ROOT` that assemble built (in
/// another image, for a runtime image): the build record gives the application home, the
/// package and the source; this image gives the interpreter, the Debian packages and the
/// virtualenv's distributions. The previous document is removed first, so a failure leaves
/// none rather than a wrong one. Returns the path and how many components it lists.
///
/// # Errors
/// No readable build record, an interpreter that does not run, a file that cannot be written.
pub fn write_for_image(app_root: &Path, env: &Env) -> Result<(PathBuf, usize), ImageSbomError> {
    let path = Layout::new(app_root).sbom();
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(ImageSbomError::Write { path, source: e })
        }
        _ => {}
    }
    let facts = Facts::load(app_root)
        .map_err(ImageSbomError::Record)?
        .ok_or_else(|| ImageSbomError::NoRecord(Layout::new(app_root).record()))?;
    let python = app_root.join("bin/python");
    let python_version =
        python_version(&python, env).map_err(|detail| ImageSbomError::Interpreter {
            python: python.clone(),
            detail,
        })?;
    let app = app_root
        .join("src")
        .join(facts.app_home.clone().unwrap_or_default());
    let inputs = Inputs {
        venv: app_root,
        python: &python,
        python_version,
        app: &app,
        facts: &facts,
        env,
        tool: "write-sbom",
    };
    let count = write(&inputs, &path).map_err(|source| ImageSbomError::Write {
        path: path.clone(),
        source,
    })?;
    Ok((path, count))
}

/// `(major, minor, micro)` of the interpreter `python`, as it runs in `env`: the one reading of
/// it for assemble and the image's document. On failure, what it printed (or why it did not
/// start).
///
/// # Errors
/// It did not start, failed, or printed no `X.Y.Z`.
pub fn python_version(
    python: impl AsRef<std::ffi::OsStr>,
    env: &Env,
) -> Result<(u32, u32, u32), String> {
    let out = env
        .command(python)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim().split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor)), Some(Ok(micro))) if out.status.success() => {
            Ok((major, minor, micro))
        }
        _ => Err(format!(
            "{}{}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Makes the document and writes it to `path`; returns how many components it lists.
///
/// # Errors
/// The file could not be written.
pub fn write(inputs: &Inputs, path: &Path) -> io::Result<usize> {
    let bom = make(inputs);
    let count = bom.components.len();
    let mut text = serde_json::to_string_pretty(&bom).map_err(io::Error::other)?;
    text.push('\n');
    let partial = path.with_extension("json.partial");
    fs::write(&partial, text)?;
    fs::rename(&partial, path)?;
    Ok(count)
}

/// The document.
#[must_use]
pub fn make(inputs: &Inputs) -> Bom {
    let locked = locked_artifacts(inputs.app);
    let mut components = Vec::new();
    let mut refs = HashSet::new();
    let mut python_refs = Vec::new();
    for dir in metadata_dirs(inputs.venv) {
        if let Some(mut c) = distribution(&dir, &locked) {
            c.bom_ref = Some(unique_ref(c.purl.clone().unwrap_or_default(), &mut refs));
            python_refs.extend(c.bom_ref.clone());
            components.push(c);
        }
    }
    let (major, minor, micro) = inputs.python_version;
    components.push(Component {
        kind: "application",
        bom_ref: Some(unique_ref("python-interpreter".to_owned(), &mut refs)),
        name: "python".to_owned(),
        version: Some(format!("{major}.{minor}.{micro}")),
        properties: vec![property(
            "python-s2i:executable",
            inputs.python.display().to_string(),
        )],
        ..Component::default()
    });
    let distro = os_release(Path::new("/etc/os-release"));
    if let Some((id, version)) = &distro {
        components.push(Component {
            kind: "operating-system",
            bom_ref: Some(unique_ref(format!("os:{id}"), &mut refs)),
            name: id.clone(),
            version: (!version.is_empty()).then(|| version.clone()),
            ..Component::default()
        });
    }
    for mut c in debian_packages(Path::new(DPKG_STATUS), distro.as_ref()) {
        c.bom_ref = Some(unique_ref(c.purl.clone().unwrap_or_default(), &mut refs));
        components.push(c);
    }
    let app = application(inputs, &components);
    let dependencies = vec![Dependency {
        reference: app.bom_ref.clone().unwrap_or_default(),
        depends_on: python_refs,
    }];
    Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        version: 1,
        metadata: Metadata {
            timestamp: timestamp(inputs.env),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: format!("python-s2i {}", inputs.tool),
                    version: Some(env!("CARGO_PKG_VERSION").to_owned()),
                    ..Component::default()
                }],
            },
            component: app,
        },
        components,
        dependencies,
    }
}

fn property(name: &str, value: String) -> Property {
    Property {
        name: name.to_owned(),
        value,
    }
}

fn unique_ref(wanted: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = wanted.clone();
    let mut n = 1;
    while !taken.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{wanted}#{n}");
    }
    candidate
}

/// The app: the distribution installed from the source (name and version) or `application`,
/// with the commit it was built from.
fn application(inputs: &Inputs, components: &[Component]) -> Component {
    let package = inputs.facts.package.as_ref().map(|p| p.name.as_str());
    let mut app = Component {
        kind: "application",
        bom_ref: Some("application".to_owned()),
        name: package.unwrap_or("application").to_owned(),
        ..Component::default()
    };
    if let Some(package) = package {
        let wanted = normalize(package);
        app.version = components
            .iter()
            .find(|c| {
                c.purl
                    .as_deref()
                    .is_some_and(|p| p.starts_with("pkg:pypi/"))
                    && normalize(&c.name) == wanted
            })
            .and_then(|c| c.version.clone());
    }
    let Some(source) = &inputs.facts.source else {
        return app;
    };
    if let Some(uid) = &source.commit {
        app.pedigree = Some(Pedigree {
            commits: vec![Commit {
                uid: uid.clone(),
                url: source.url.clone(),
            }],
        });
    }
    if let Some(url) = &source.url {
        app.external_references.push(ExternalReference {
            kind: "vcs",
            url: url.clone(),
        });
    }
    for (name, value) in [
        ("python-s2i:build-reference", &source.reference),
        ("python-s2i:build-name", &source.build_name),
        ("python-s2i:build-namespace", &source.build_namespace),
    ] {
        if let Some(value) = value {
            app.properties.push(property(name, value.clone()));
        }
    }
    app
}

/// A URL without its user information (a clone URL may carry a token).
fn without_userinfo(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme && !url[scheme + 3..at].contains('/') => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The commit `HEAD` of a `.git` directory names, when it does.
fn git_head(git: &Path) -> Option<String> {
    let head = fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let is_sha = |s: &str| s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit());
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return is_sha(head).then(|| head.to_owned());
    };
    if let Ok(sha) = fs::read_to_string(git.join(reference)) {
        let sha = sha.trim();
        return is_sha(sha).then(|| sha.to_owned());
    }
    fs::read_to_string(git.join("packed-refs"))
        .ok()?
        .lines()
        .find_map(|l| {
            let (sha, name) = l.split_once(' ')?;
            (name == reference && is_sha(sha)).then(|| sha.to_owned())
        })
}

/// One `*.dist-info` (or `*.egg-info`) of the virtualenv.
fn distribution(dir: &Path, locked: &Locked) -> Option<Component> {
    let metadata = ["METADATA", "PKG-INFO"]
        .iter()
        .find_map(|f| fs::read_to_string(dir.join(f)).ok())?;
    let headers = headers(&metadata);
    let name = headers.get("name")?.clone();
    let version = headers.get("version")?.clone();
    let purl = format!("pkg:pypi/{}@{}", normalize(&name), encode(&version));
    let hashes = artifact_hash(dir, &name, &version, locked)
        .or_else(|| record_hash(dir))
        .map(|(alg, content)| vec![Hash { alg, content }])
        .unwrap_or_default();
    let expression = headers.get("license-expression").cloned();
    let licenses = expression.map(|expression| License { expression });
    Some(Component {
        kind: "library",
        name,
        version: Some(version),
        purl: Some(purl),
        hashes,
        licenses: licenses.into_iter().collect(),
        ..Component::default()
    })
}

/// The first value of each header of a core metadata file (names lowercased).
fn headers(text: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            map.entry(name.trim().to_ascii_lowercase())
                .or_insert_with(|| value.trim().to_owned());
        }
    }
    map
}

/// A distribution name as PyPI's purls and PEP 503 spell it: lowercase, runs of `-_.` as `-`.
pub use s2i_project::normalized as normalize;

/// Percent-encodes what a purl version may not hold as is (`+`, `:`, ...).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `(normalized name, version)` -> the artifacts a lock file names: `(file name, sha256)`.
type Locked = HashMap<(String, String), Vec<(String, String)>>;

/// The artifacts `uv.lock` and `poetry.lock` in `app` name, with their SHA-256.
fn locked_artifacts(app: &Path) -> Locked {
    let mut locked = Locked::new();
    for file in ["uv.lock", "poetry.lock"] {
        let packages = s2i_project::Lock::read(app, file).and_then(|l| l.package);
        for package in packages.into_iter().flatten() {
            let Some(version) = package.version else {
                continue;
            };
            let artifacts = package.wheels.into_iter().chain(package.sdist);
            let artifacts = artifacts.filter_map(|a| {
                let (location, hex) = (a.url?, a.hash?.strip_prefix("sha256:")?.to_owned());
                let file = location.rsplit('/').next().unwrap_or(&location);
                let file = file.split(['#', '?']).next().unwrap_or(file);
                Some((file.to_owned(), hex.to_ascii_lowercase()))
            });
            let key = (normalize(&package.name), version);
            locked.entry(key).or_default().extend(artifacts);
        }
    }
    locked
}

/// The SHA-256 of the artifact this distribution was installed from: the locked wheel whose
/// tags its `WHEEL` file names, else the locked sdist (built here), else `direct_url.json`'s.
fn artifact_hash(
    dir: &Path,
    name: &str,
    version: &str,
    locked: &Locked,
) -> Option<(&'static str, String)> {
    if let Some(artifacts) = locked.get(&(normalize(name), version.to_owned())) {
        let installed_tags: Vec<String> = fs::read_to_string(dir.join("WHEEL"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("Tag:").map(|t| t.trim().to_owned()))
            .collect();
        let wheel = artifacts.iter().find(|(file, _)| {
            wheel_tags(file).is_some_and(|tags| tags.iter().any(|t| installed_tags.contains(t)))
        });
        let sdist = || {
            artifacts
                .iter()
                .find(|(file, _)| file.ends_with(".tar.gz") || file.ends_with(".zip"))
        };
        if let Some((_, hex)) = wheel.or_else(sdist) {
            return Some(("SHA-256", hex.clone()));
        }
    }
    let direct: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("direct_url.json")).ok()?).ok()?;
    let archive = direct.get("archive_info")?;
    let hex = archive
        .get("hashes")
        .and_then(|h| h.get("sha256"))
        .and_then(|h| h.as_str())
        .map(str::to_owned)
        .or_else(|| {
            archive
                .get("hash")?
                .as_str()?
                .strip_prefix("sha256=")
                .map(str::to_owned)
        })?;
    Some(("SHA-256", hex))
}

/// The expanded tags of a wheel file name (`py2.py3-none-any` gives `py2-none-any`,
/// `py3-none-any`).
fn wheel_tags(file: &str) -> Option<Vec<String>> {
    let stem = file.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.rsplitn(4, '-').collect();
    let [platform, abi, python, _] = parts.as_slice() else {
        return None;
    };
    let mut tags = Vec::new();
    for py in python.split('.') {
        for a in abi.split('.') {
            for p in platform.split('.') {
                tags.push(format!("{py}-{a}-{p}"));
            }
        }
    }
    Some(tags)
}

/// The SHA-256 of a distribution's `RECORD` (the list of its installed files and their
/// digests).
fn record_hash(dir: &Path) -> Option<(&'static str, String)> {
    let bytes = fs::read(dir.join("RECORD")).ok()?;
    Some(("SHA-256", hex(&Sha256::digest(&bytes))))
}

/// A digest in lower-case hex, as the bill of materials and assemble's records write it.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(ID, VERSION_ID)` of os-release.
fn os_release(path: &Path) -> Option<(String, String)> {
    let text = fs::read_to_string(path).ok()?;
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    Some((value("ID")?, value("VERSION_ID").unwrap_or_default()))
}

/// The installed packages of a dpkg status file, as `pkg:deb` components.
fn debian_packages(status: &Path, distro: Option<&(String, String)>) -> Vec<Component> {
    let Ok(text) = fs::read_to_string(status) else {
        return Vec::new();
    };
    let (namespace, qualifier) = match distro {
        Some((id, version)) if !version.is_empty() => {
            (id.as_str(), format!("&distro={id}-{version}"))
        }
        Some((id, _)) => (id.as_str(), String::new()),
        None => ("debian", String::new()),
    };
    let mut packages = BTreeMap::new();
    for paragraph in text.split("\n\n") {
        let fields = headers(paragraph.trim_start_matches('\n'));
        let installed = fields
            .get("status")
            .is_some_and(|s| s.ends_with(" installed"));
        let (Some(name), Some(version), true) =
            (fields.get("package"), fields.get("version"), installed)
        else {
            continue;
        };
        let arch = fields.get("architecture").cloned().unwrap_or_default();
        let mut purl = format!("pkg:deb/{namespace}/{name}@{}?arch={arch}", encode(version));
        purl.push_str(&qualifier);
        if let Some(source) = fields.get("source") {
            let source = source.split_whitespace().next().unwrap_or(source);
            purl.push_str(&format!("&upstream={}", encode(source)));
        }
        packages.insert(
            (name.clone(), arch),
            Component {
                kind: "library",
                name: name.clone(),
                version: Some(version.clone()),
                purl: Some(purl),
                ..Component::default()
            },
        );
    }
    packages.into_values().collect()
}

/// The civil date (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian;
/// Howard Hinnant's algorithm): the SBOM's timestamp, and assemble's end-of-life dates.
#[must_use]
pub fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let small = |v: i64| u32::try_from(v).unwrap_or(0);
    (small(year), small(month), small(day))
}

/// Now (or `SOURCE_DATE_EPOCH`) as an RFC 3339 UTC time.
fn timestamp(env: &Env) -> String {
    let secs = env
        .get("SOURCE_DATE_EPOCH")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let (year, month, day) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let rest = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interpreter_says_its_version_or_what_went_wrong() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let answer = |name: &str, script: &str| {
            let python = dir.path().join(name);
            fs::write(&python, format!("#!/bin/sh\n{script}\n")).expect("write");
            fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).expect("chmod");
            python_version(&python, &Env::default())
        };
        assert_eq!(answer("a", "echo 3.11.2"), Ok((3, 11, 2)));
        assert_eq!(answer("b", "echo 2.7"), Err("2.7".to_owned()));
        let failed = answer("c", "echo 3.11.2; echo broken >&2; exit 1");
        assert_eq!(failed, Err("3.11.2broken".to_owned()));
        assert!(python_version(dir.path().join("none"), &Env::default()).is_err());
    }

    #[test]
    fn names_are_normalized_and_versions_encoded_as_purls_want() {
        assert_eq!(normalize("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        assert_eq!(encode("2.1.0+cpu"), "2.1.0%2Bcpu");
        assert_eq!(encode("1:2.3-4"), "1%3A2.3-4");
    }

    #[test]
    fn wheel_tags_are_expanded() {
        assert_eq!(
            wheel_tags("six-1.16.0-py2.py3-none-any.whl"),
            Some(vec!["py2-none-any".to_owned(), "py3-none-any".to_owned()])
        );
        let tags = wheel_tags(
            "MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .expect("a wheel");
        assert!(tags.contains(&"cp311-cp311-manylinux2014_x86_64".to_owned()));
        assert_eq!(wheel_tags("x-1.0.tar.gz"), None);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let mut env = Env::default();
        env.set("SOURCE_DATE_EPOCH", "1709251199");
        assert_eq!(timestamp(&env), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn clone_urls_lose_their_token() {
        assert_eq!(
            without_userinfo("https://oauth2:tok@gitlab.example/g/p.git"),
            "https://gitlab.example/g/p.git"
        );
        assert_eq!(
            without_userinfo("git@github.com:x/y.git"),
            "git@github.com:x/y.git"
        );
    }

    #[test]
    fn dpkg_status_gives_installed_packages_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = dir.path().join("status");
        fs::write(
            &status,
            "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n\n\
             Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n",
        )
        .expect("w");
        let found = debian_packages(&status, Some(&("debian".to_owned(), "12".to_owned())));
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].purl.as_deref(),
            Some(
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
            )
        );
    }

    #[test]
    fn a_locked_wheel_matching_the_installed_tags_gives_the_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = dir.path();
        fs::write(
            app.join("uv.lock"),
            "version = 1\n[[package]]\nname = \"six\"\nversion = \"1.16.0\"\n\
             sdist = { url = \"https://f/six-1.16.0.tar.gz\", hash = \"sha256:aa\" }\n\
             wheels = [{ url = \"https://f/six-1.16.0-py2.py3-none-any.whl\", hash = \"sha256:BB\" }]\n",
        )
        .expect("w");
        let dist = app.join("six-1.16.0.dist-info");
        fs::create_dir(&dist).expect("mkdir");
        fs::write(
            dist.join("WHEEL"),
            "Wheel-Version: 1.0\nTag: py3-none-any\n",
        )
        .expect("w");
        let locked = locked_artifacts(app);
        assert_eq!(
            artifact_hash(&dist, "six", "1.16.0", &locked),
            Some(("SHA-256", "bb".to_owned()))
        );
        fs::write(
            dist.join("WHEEL"),
            "Wheel-Version: 1.0\nTag: cp311-cp311-linux_x86_64\n",
        )
        .expect("w");
        assert_eq!(
            artifact_hash(&dist, "six", "1.16.0", &locked),
            Some(("SHA-256", "aa".to_owned()))
        );
    }

    #[test]
    fn the_source_comes_from_openshift_or_the_git_head_and_loses_its_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env = Env::default();
        assert_eq!(source_facts(&env, dir.path()), None);
        let git = dir.path().join(".git");
        fs::create_dir_all(git.join("refs/heads")).expect("mkdir");
        fs::write(git.join("HEAD"), "ref: refs/heads/main\n").expect("w");
        let sha = "0123456789abcdef0123456789abcdef01234567";
        fs::write(git.join("refs/heads/main"), format!("{sha}\n")).expect("w");
        let from_git = source_facts(&env, dir.path()).expect("some");
        assert_eq!(from_git.commit.as_deref(), Some(sha));
        env.set("OPENSHIFT_BUILD_COMMIT", "feedface");
        env.set(
            "OPENSHIFT_BUILD_SOURCE",
            "https://u:tok@git.example/app.git",
        );
        let from_openshift = source_facts(&env, dir.path()).expect("some");
        assert_eq!(from_openshift.commit.as_deref(), Some("feedface"));
        assert_eq!(
            from_openshift.url.as_deref(),
            Some("https://git.example/app.git")
        );
    }

    #[test]
    fn without_a_build_record_the_old_document_is_removed_and_none_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sbom = Layout::new(dir.path()).sbom();
        fs::create_dir_all(sbom.parent().expect("parent")).expect("mkdir");
        fs::write(&sbom, "{}").expect("w");
        let error = write_for_image(dir.path(), &Env::default()).expect_err("no record");
        assert!(matches!(error, ImageSbomError::NoRecord(_)), "{error}");
        assert!(!sbom.exists());
    }
}
