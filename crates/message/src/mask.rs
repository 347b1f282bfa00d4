//! The one redaction every printer of assemble and run applies: the credentials of a URL
//! (`scheme://user:token@host`, `scheme://token@host`) are shown as `scheme://****@host`.
//! Package index URLs (`PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`, `UV_INDEX*`) carry tokens this
//! way, and installers, hooks and our own messages may quote them.

use std::borrow::Cow;

/// What replaces the user information of a URL.
pub const MASK: &str = "****";

/// `text` with the user information of every URL in it replaced by [`MASK`]; borrowed when
/// there is none.
#[must_use]
pub fn redact(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the path, query, fragment, or anything a URL does not hold.
        let end = after
            .find(|c: char| {
                matches!(
                    c,
                    '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`' | ',' | ';'
                ) || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(user_end) if user_end > 0 && authority[..user_end] != *MASK => {
                out.push_str(MASK);
                out.push_str(&authority[user_end..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_password_are_masked() {
        assert_eq!(
            redact("Looking in indexes: https://alice:s3cr3t@nexus.example/simple/"),
            "Looking in indexes: https://****@nexus.example/simple/"
        );
    }

    #[test]
    fn a_token_alone_and_several_urls_on_a_line_are_masked() {
        assert_eq!(
            redact("PIP_EXTRA_INDEX_URL='https://tok@a.example/simple http://u:p%40x@b:8080'"),
            "PIP_EXTRA_INDEX_URL='https://****@a.example/simple http://****@b:8080'"
        );
    }

    #[test]
    fn urls_without_credentials_and_plain_text_are_untouched() {
        for text in [
            "https://pypi.org/simple",
            "git+https://github.com/x/y@v1.0#egg=y",
            "user@example.com wrote: see https://example.com/a@b",
            "no url here",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn a_git_url_with_a_token_is_masked() {
        assert_eq!(
            redact("git+https://oauth2:glpat-XYZ@gitlab.example/g/p.git@v1"),
            "git+https://****@gitlab.example/g/p.git@v1"
        );
    }
}
