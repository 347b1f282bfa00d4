//! The `KEY=VALUE` environment files applications carry: `.s2i/environment` (read by s2i and by
//! `assemble` in host mode) and warpdrive's `.warpdrive/environment` (read by `assemble` and
//! `run`). One parser, so the build and the start read a file the same way.
//!
//! Format: blank lines and `#` comments are skipped, an `export ` prefix is allowed, keys are
//! shell variable names, and a value wrapped in matching single or double quotes is unquoted.

/// A line that is not `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// The line as written.
    pub text: String,
}

/// The variables of an environment file, in file order.
///
/// # Errors
/// The first line that is not a comment, blank, or `KEY=VALUE` with a valid variable name.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut vars = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let error = || ParseError {
            line: index + 1,
            text: raw.to_owned(),
        };
        let (key, value) = line.split_once('=').ok_or_else(error)?;
        let key = key.trim();
        if !is_variable_name(key) {
            return Err(error());
        }
        vars.push((key.to_owned(), unquote(value.trim()).to_owned()));
    }
    Ok(vars)
}

fn is_variable_name(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_export_and_quotes() {
        let text = "# a comment\n\nA=1\nexport B = \"two words\"\nC='x'\nD=\n";
        let vars = parse(text).expect("parses");
        let expected = [("A", "1"), ("B", "two words"), ("C", "x"), ("D", "")];
        assert_eq!(
            vars,
            expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line) in [("A=1\nnot a variable\n", 2), ("1A=x", 1), ("A B=x", 1)] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.line, line, "{text}");
        }
    }
}
