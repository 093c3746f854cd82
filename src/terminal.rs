//! Text for the terminal: control characters made visible.
//!
//! Subscriber names and addresses, server replies and post titles come from
//! other people. Printed raw, an ESC sequence in a name retitles the window
//! or clears the screen, a CR overwrites what came before, and a newline
//! breaks a listing's rows. Everything herald prints goes through
//! [`escape`] (one field) or [`escape_lines`] (a whole message).

use std::borrow::Cow;
use std::fmt::Write;

/// One field: every control character escaped, tab and newline included,
/// so a field never spans columns or rows.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_unless(text, |_| false)
}

/// A message of several lines: control characters escaped, but the newlines
/// and tabs that lay the message out kept. A CR is escaped even before a
/// newline: it only ever comes from someone else's text.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_unless(text, |c| c == '\n' || c == '\t')
}

fn escape_unless(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !needs_escape(c) || keep(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{1b}' => out.push_str("\\e"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// C0 and C1 controls and DEL, and the bidirectional overrides and isolates,
/// which reorder what follows them on the line ("Trojan Source").
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_with_escape_sequences_and_line_breaks_stays_one_visible_field() {
        assert_eq!(
            escape("Eve\u{1b}]0;owned\u{7}\r\nBcc\tx\u{9b}2J\u{202e}"),
            "Eve\\e]0;owned\\u{7}\\r\\nBcc\\tx\\u{9b}2J\\u{202e}"
        );
    }

    #[test]
    fn a_message_keeps_its_own_lines_and_tabs_but_not_carriage_returns() {
        assert_eq!(escape_lines("a\tb\nc\r\nd\u{1b}[2J"), "a\tb\nc\\r\nd\\e[2J");
    }

    #[test]
    fn plain_text_is_not_copied() {
        assert!(matches!(escape("Zoë <zoe@example.org>"), Cow::Borrowed(_)));
    }
}
