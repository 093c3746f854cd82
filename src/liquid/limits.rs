//! Bounds on what one post's Liquid may cost, so a hostile or mistaken post
//! ends in an error naming its file and line instead of a stack overflow,
//! a machine out of memory or a build that never ends.
//!
//! - Nesting is checked in a cheap scan before the liquid crate parses
//!   anything: its parser and renderer recurse once per block level (and
//!   once per bracket in an expression), and a stack overflow cannot be caught.
//! - Loop iterations are counted across the whole post (nested loops
//!   multiply), before a loop starts (see `loops`).
//! - Output is counted as it is written, and the render stops at the limit.

use std::cell::Cell;
use std::io::{self, Write};

/// Blocks (`if`, `for`, `capture`, ...) inside one another.
pub const MAX_NESTING: usize = 100;
/// Brackets and parentheses inside one another within one tag or `{{ }}`.
pub const MAX_BRACKETS: usize = 32;
/// Loop iterations in one post, all loops together.
pub const MAX_ITERATIONS: u64 = 1_000_000;
/// Bytes of Liquid output for one post.
pub const MAX_OUTPUT: usize = 16 * 1024 * 1024;

/// Block tags: each opens a level that its `end...` tag closes.
const BLOCKS: &[&str] = &[
    "if",
    "unless",
    "for",
    "tablerow",
    "case",
    "capture",
    "comment",
    "raw",
    "ifchanged",
    "highlight",
];

/// A limit passed: the 0-based line in the scanned text and what happened.
#[derive(Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub line: usize,
    pub message: String,
}

/// Checks block nesting and bracket depth before parsing. Text inside
/// `{% raw %}` and `{% comment %}` is not Liquid and is passed over.
/// One pass over the text: linear in its length.
pub fn check_nesting(text: &str) -> Result<(), Exceeded> {
    let mut depth = 0usize;
    let mut skipping: Option<String> = None;
    let mut at = 0;
    let mut line = 0;
    let mut counted_to = 0;
    while let Some(found) = next_markup(text, at) {
        let is_tag = text[found..].starts_with("{%");
        let close = if is_tag { "%}" } else { "}}" };
        let Some(len) = text[found + 2..].find(close) else {
            break;
        };
        line += text.as_bytes()[counted_to..found]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted_to = found;
        let inner = &text[found + 2..found + 2 + len];
        at = found + len + 4;
        let name = tag_name(inner);
        if let Some(end) = &skipping {
            if is_tag && name == end {
                skipping = None;
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        if brackets(inner) > MAX_BRACKETS {
            return Err(Exceeded {
                line,
                message: format!(
                    "Liquid: brackets nested more than {MAX_BRACKETS} deep in one expression"
                ),
            });
        }
        if has_huge_number(inner) {
            return Err(Exceeded {
                line,
                message: "Liquid: a number with more than 18 digits; write it in quotes"
                    .to_string(),
            });
        }
        if !is_tag {
            continue;
        }
        if BLOCKS.contains(&name) {
            depth += 1;
            if depth > MAX_NESTING {
                return Err(Exceeded {
                    line,
                    message: format!("Liquid: blocks nested more than {MAX_NESTING} deep"),
                });
            }
            if name == "raw" || name == "comment" {
                skipping = Some(format!("end{name}"));
            }
        } else if name.starts_with("end") {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(())
}

/// The byte offset of the next `{%` or `{{` at or after `from`.
fn next_markup(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    (from..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b'{' && matches!(bytes[i + 1], b'%' | b'{'))
}

fn tag_name(inner: &str) -> &str {
    let inner = inner.trim_matches(|c: char| c == '-' || c.is_whitespace());
    inner
        .split(|c: char| c.is_whitespace() || c == '-')
        .next()
        .unwrap_or("")
}

/// A run of more than 18 digits outside quotes and names: the liquid crate
/// panics on an integer literal too large for 64 bits (found by fuzzing).
fn has_huge_number(inner: &str) -> bool {
    let (mut quote, mut run, mut in_name) = (None, 0usize, false);
    for c in inner.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => continue,
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {}
        }
        if c.is_ascii_digit() && !in_name {
            run += 1;
            if run > 18 {
                return true;
            }
        } else {
            run = 0;
            in_name = c.is_alphanumeric() || c == '_';
        }
    }
    false
}

/// The deepest nesting of `[` and `(` in a tag's text.
fn brackets(inner: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for byte in inner.bytes() {
        match byte {
            b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

thread_local! {
    /// Iterations left for the post being rendered on this thread.
    static ITERATIONS_LEFT: Cell<u64> = const { Cell::new(MAX_ITERATIONS) };
}

/// Starts a post's iteration budget (every render of it shares one).
pub fn start_post() {
    ITERATIONS_LEFT.with(|left| left.set(MAX_ITERATIONS));
}

/// Takes `count` iterations from the budget, or says the loop may not run.
pub fn spend_iterations(count: u64) -> Result<(), String> {
    ITERATIONS_LEFT.with(|left| match left.get().checked_sub(count) {
        Some(rest) => {
            left.set(rest);
            Ok(())
        }
        None => Err(format!(
            "loops would run more than {MAX_ITERATIONS} times in this post"
        )),
    })
}

/// A writer that refuses to grow past [`MAX_OUTPUT`] bytes.
#[derive(Default)]
pub struct Bounded {
    pub bytes: Vec<u8>,
    pub exceeded: bool,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT {
            self.exceeded = true;
            return Err(io::Error::other("output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What to say when [`Bounded`] stopped a render.
pub fn output_message() -> String {
    format!(
        "Liquid: the post's output passes {} MB; a loop or include repeats too much",
        MAX_OUTPUT / (1024 * 1024)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_blocks_are_refused_with_their_line() {
        let deep = "{% if a %}\n".repeat(MAX_NESTING + 1);
        let e = check_nesting(&deep).unwrap_err();
        assert_eq!(e.line, MAX_NESTING);
        let ok = "{% if a %}".repeat(MAX_NESTING) + &"{% endif %}".repeat(MAX_NESTING);
        assert!(check_nesting(&(ok.clone() + &ok)).is_ok());
    }

    #[test]
    fn raw_text_and_deep_brackets() {
        let raw = format!("{{% raw %}}{}{{% endraw %}}", "{% if a %}".repeat(500));
        assert!(check_nesting(&raw).is_ok());
        let deep = format!("{{{{ a{}{} }}}}", "[a".repeat(40), "]".repeat(40));
        assert!(check_nesting(&deep).is_err());
        assert!(check_nesting("{{ a[b[c]] }} {%}").is_ok());
    }

    #[test]
    fn numbers_too_large_for_64_bits_are_refused_outside_quotes() {
        assert!(check_nesting(&format!("{{% if {}a %}}", "3".repeat(90))).is_err());
        assert!(
            check_nesting(&format!(
                "{{{{ \"{}\" }}}} {{{{ a{} }}}}",
                "3".repeat(90),
                "3".repeat(30)
            ))
            .is_ok()
        );
        assert!(check_nesting("{{ 123456789012345678 }}").is_ok());
    }

    #[test]
    fn the_iteration_budget_is_per_post() {
        start_post();
        assert!(spend_iterations(MAX_ITERATIONS).is_ok());
        assert!(spend_iterations(1).is_err());
        start_post();
        assert!(spend_iterations(1).is_ok());
    }
}
