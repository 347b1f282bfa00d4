//! The one shape of every message users read when `assemble` or `run` stops: a headline, what
//! was found, numbered steps to fix it, then the details. Each binary renders it with its own
//! line prefix (` !     ` in the build log, `run: ` at start).

use std::fmt::Write as _;

mod mask;
pub use mask::{redact, MASK};

/// A user-facing error message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub headline: String,
    /// What was found, one line each.
    pub found: Vec<String>,
    /// Steps to fix it, numbered when shown; a step may span several lines.
    pub fixes: Vec<String>,
    /// Details (a tool's last lines, an OS error), one line each.
    pub details: Vec<String>,
}

impl Message {
    /// A message with only a headline.
    #[must_use]
    pub fn new(headline: impl Into<String>) -> Self {
        Self {
            headline: headline.into(),
            ..Self::default()
        }
    }

    /// A message with its headline, what was found and the steps to fix it, taken as they are
    /// (no details).
    #[must_use]
    pub fn of(headline: impl Into<String>, found: Vec<String>, fixes: Vec<String>) -> Self {
        Self {
            headline: headline.into(),
            found,
            fixes,
            details: Vec::new(),
        }
    }

    /// Adds what was found (each line of `text` is a line).
    #[must_use]
    pub fn found(mut self, text: impl AsRef<str>) -> Self {
        self.found.extend(text.as_ref().lines().map(str::to_owned));
        self
    }

    /// Adds a step to fix it.
    #[must_use]
    pub fn fix(mut self, step: impl Into<String>) -> Self {
        self.fixes.push(step.into());
        self
    }

    /// Adds detail lines.
    #[must_use]
    pub fn details(mut self, lines: impl IntoIterator<Item = String>) -> Self {
        self.details.extend(lines);
        self
    }

    /// The message as text, every line starting with `prefix`, URL credentials masked
    /// ([`redact`]):
    ///
    /// ```text
    /// PREFIX ERROR: headline
    /// PREFIX
    /// PREFIX what was found
    /// PREFIX
    /// PREFIX How to fix:
    /// PREFIX   1. first step
    /// PREFIX
    /// PREFIX Details:
    /// PREFIX   detail
    /// ```
    #[must_use]
    pub fn render(&self, prefix: &str) -> String {
        let mut out = String::new();
        let mut line = |text: &str| {
            let _ = writeln!(out, "{}", redact(&format!("{prefix}{text}")).trim_end());
        };
        line(&format!("ERROR: {}", self.headline));
        if !self.found.is_empty() {
            line("");
            for l in &self.found {
                line(l);
            }
        }
        if !self.fixes.is_empty() {
            line("");
            line("How to fix:");
            for (i, step) in self.fixes.iter().enumerate() {
                let number = format!("{}. ", i + 1);
                for (j, l) in step.lines().enumerate() {
                    if j == 0 {
                        line(&format!("  {number}{l}"));
                    } else {
                        line(&format!("  {}{l}", " ".repeat(number.len())));
                    }
                }
            }
        }
        if !self.details.is_empty() {
            line("");
            line("Details:");
            for l in &self.details {
                line(&format!("  {l}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_in_order_with_the_prefix() {
        let m = Message::new("It broke")
            .found("first\nsecond")
            .fix("Do this")
            .fix("or that,\nwith a second line")
            .details(["tail".to_owned()]);
        assert_eq!(
            m.render("run: "),
            "run: ERROR: It broke\nrun:\nrun: first\nrun: second\nrun:\nrun: How to fix:\n\
             run:   1. Do this\nrun:   2. or that,\nrun:      with a second line\nrun:\n\
             run: Details:\nrun:   tail\n"
        );
    }

    #[test]
    fn empty_parts_are_left_out() {
        assert_eq!(Message::new("x").render(" !     "), " !     ERROR: x\n");
    }
}
