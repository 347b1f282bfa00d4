//! The `KEY=VALUE` environment files applications carry: `.s2i/environment` (read by s2i and by
//! `assemble` in host mode) and warpdrive's `.warpdrive/environment` (read by `assemble` and
//! `run`). One parser, so the build and the start read a file the same way.
//!
//! Format: blank lines and `#` comments are skipped, an `export ` prefix is allowed, a value
//! wrapped in matching single or double quotes is unquoted (s2i passes them verbatim, so every
//! reader must tolerate them). A leading UTF-8 byte order mark is ignored. Lines s2i accepts
//! but that are not usable as `KEY=VALUE` (no `=`, a name that is no shell variable name) are
//! skipped and reported, never an error: s2i itself builds such an app.

/// A line that was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line number.
    pub line: usize,
    /// The line as written.
    pub text: String,
}

/// The variables of an environment file, in file order, and the lines skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub vars: Vec<(String, String)>,
    pub skipped: Vec<Skipped>,
}

/// Reads an environment file's text.
#[must_use]
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        match line.split_once('=') {
            Some((key, value)) if is_variable_name(key.trim()) => parsed
                .vars
                .push((key.trim().to_owned(), unquote(value.trim()).to_owned())),
            _ => parsed.skipped.push(Skipped {
                line: index + 1,
                text: raw.to_owned(),
            }),
        }
    }
    parsed
}

/// One pair of matching quotes around a value removed: `"pkg:app"` and `'pkg:app'` are
/// `pkg:app`. s2i delivers `.s2i/environment` values verbatim, quotes included, so every
/// variable is read through this (files here, the process environment in [`from_process`]).
/// A value with the same quote inside (`"a" "b"`, shell words) is left alone.
#[must_use]
pub fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            let inner = &value[1..value.len() - 1];
            if !inner.contains(q) {
                return inner;
            }
        }
    }
    value
}

/// The process environment as programs should see it: each value through [`unquote`], so a
/// quoted `.s2i/environment` line that s2i passed on verbatim means what its author meant.
#[must_use]
pub fn from_process() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(k, v)| {
            let value = v.to_string_lossy();
            (k.to_string_lossy().into_owned(), unquote(&value).to_owned())
        })
        .collect()
}

fn is_variable_name(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_export_and_quotes() {
        let text = "# a comment\n\nA=1\nexport B = \"two words\"\nC='x'\nD=\n";
        let vars = parse(text).vars;
        let expected = [("A", "1"), ("B", "two words"), ("C", "x"), ("D", "")];
        assert_eq!(
            vars,
            expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
    }

    #[test]
    fn one_pair_of_quotes() {
        assert_eq!(unquote("\"pkg:app\""), "pkg:app");
        assert_eq!(unquote("'8085'"), "8085");
        assert_eq!(unquote("\"--a\" \"b\""), "\"--a\" \"b\"");
        assert_eq!(unquote("\""), "\"");
        assert_eq!(unquote("'a\""), "'a\"");
    }

    #[test]
    fn lines_s2i_accepts_are_skipped_not_fatal() {
        let text = "\u{feff}A=1\nnot a variable\n1A=x\nA-B=x\nB=\"q\"\n";
        let parsed = parse(text);
        let vars = [("A", "1"), ("B", "q")];
        assert_eq!(
            parsed.vars,
            vars.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
        let lines: Vec<usize> = parsed.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 4]);
    }
}
