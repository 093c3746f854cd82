//! kramdown's emphasis where CommonMark's is refused, and its
//! strikethrough.
//!
//! CommonMark lets `**` close only where it is "right-flanking": a
//! delimiter between punctuation inside and a letter outside neither opens
//! nor closes. So `**注意：**后面` and `这是**“引用”**的`, written in
//! nearly every Chinese blog, and `**Note:**text`, keep their asterisks.
//! kramdown asks less: an opener is not followed by whitespace, a closer
//! not preceded by it, and an element is not nested in one of its kind.
//! pulldown-cmark hands each asterisk it could not match back as a text of
//! its own, with its place in the source; those are paired here by
//! kramdown's rules. Asterisks CommonMark did match are left as they are,
//! and `_` is left alone (kramdown does not close `__` before a letter).
//!
//! GFM strikes through between single tildes too; kramdown only between
//! two, so `~/.hgrc ... (~/src` is struck through by the one and not by
//! the other. A single-tilde strikethrough is given back its tildes here,
//! from the parse, where code spans are already known.

use std::ops::Range;

use pulldown_cmark::{CowStr, Event, Tag};

/// The events of `source`'s parse, with the asterisks CommonMark left as
/// text made emphasis where kramdown reads emphasis.
pub fn paired<'a>(
    events: impl Iterator<Item = (Event<'a>, Range<usize>)>,
    source: &str,
    room: usize,
) -> Vec<Event<'a>> {
    let mut all = Vec::with_capacity(room);
    let mut runs: Vec<Run> = Vec::new();
    // Each open element's number (to tell containers apart) and kind.
    let mut open: Vec<(usize, Kind)> = Vec::new();
    let mut opened = 0;
    for (event, range) in events {
        match &event {
            Event::Start(Tag::Strikethrough) if !source[range.start..].starts_with("~~") => {
                // Its text belongs to the element around it.
                open.push((open.last().map_or(0, |&(n, _)| n), Kind::Tilde));
                all.push(Event::Text(CowStr::Borrowed("~")));
                continue;
            }
            Event::Start(tag) => {
                opened += 1;
                open.push((opened, Kind::of(tag)));
            }
            Event::End(_) => {
                if let Some((_, Kind::Tilde)) = open.pop() {
                    all.push(Event::Text(CowStr::Borrowed("~")));
                    continue;
                }
            }
            Event::Text(text) if is_lone_star(text, &range, source) => match runs.last_mut() {
                // Asterisks side by side in the source and in the events
                // are one delimiter.
                Some(run)
                    if run.first + run.len == all.len() && run.start + run.len == range.start =>
                {
                    run.len += 1;
                }
                _ => runs.push(Run {
                    first: all.len(),
                    len: 1,
                    start: range.start,
                    container: open.last().map_or(0, |&(n, _)| n),
                    in_strong: open.iter().any(|&(_, kind)| kind == Kind::Strong),
                    in_em: open.iter().any(|&(_, kind)| kind == Kind::Em),
                }),
            },
            _ => {}
        }
        all.push(event);
    }
    if runs.len() >= 2 {
        // Containers nest: each one's runs are paired among themselves.
        runs.sort_by_key(|run| run.container);
        pair_runs(&mut all, &runs, source);
    }
    all
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Strong,
    Em,
    /// A strikethrough between single tildes, given back as text.
    Tilde,
    Other,
}

impl Kind {
    fn of(tag: &Tag<'_>) -> Kind {
        match tag {
            Tag::Strong => Kind::Strong,
            Tag::Emphasis => Kind::Em,
            _ => Kind::Other,
        }
    }
}

/// A text of one `*` taken straight from the source: not escaped.
fn is_lone_star(text: &CowStr<'_>, range: &Range<usize>, source: &str) -> bool {
    if text.as_ref() != "*" || range.len() != 1 || source.as_bytes()[range.start] != b'*' {
        return false;
    }
    let backslashes = source.as_bytes()[..range.start]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    backslashes % 2 == 0
}

/// A delimiter: asterisks CommonMark gave back as text, side by side.
struct Run {
    /// Its first event's index.
    first: usize,
    len: usize,
    /// Its place in the source.
    start: usize,
    container: usize,
    in_strong: bool,
    in_em: bool,
}

/// Pairs runs of one container, each opener with the first closer of its
/// kind, as kramdown's recursive reading does; an opener left inside a
/// pair stays text, so elements never cross.
fn pair_runs(events: &mut Vec<Event<'_>>, runs: &[Run], source: &str) {
    let mut dropped = vec![false; events.len()];
    let mut pending: Vec<(&Run, Kind)> = Vec::new();
    let mut container = usize::MAX;
    for run in runs {
        if run.container != container {
            pending.clear();
            container = run.container;
        }
        let kind = match run.len {
            1 => Kind::Em,
            2 => Kind::Strong,
            _ => continue,
        };
        let before = source[..run.start].chars().next_back();
        let after = source[run.start + run.len..].chars().next();
        let closes = before.is_some_and(|c| !is_ruby_space(c));
        if let Some(at) = pending.iter().rposition(|&(_, k)| k == kind) {
            let opener = pending[at].0;
            if closes && opener.start + opener.len < run.start {
                mark(events, &mut dropped, opener, Event::Start(tag(kind)));
                mark(events, &mut dropped, run, Event::End(tag(kind).to_end()));
                pending.truncate(at);
            }
            continue;
        }
        let nested = match kind {
            Kind::Strong => run.in_strong,
            _ => run.in_em,
        };
        if !nested && after.is_some_and(|c| !is_ruby_space(c)) {
            pending.push((run, kind));
        }
    }
    let mut dropped = dropped.into_iter();
    events.retain(|_| !dropped.next().unwrap_or(false));
}

/// Ruby's `\s`, which kramdown's rules use: a no-break space is no space
/// to it, so `**UPDATE 2011/11/09\u{a0}**` closes (andrewbolster.github.io).
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

fn tag(kind: Kind) -> Tag<'static> {
    match kind {
        Kind::Strong => Tag::Strong,
        _ => Tag::Emphasis,
    }
}

/// The run's first event becomes `event`; the others go.
fn mark<'a>(events: &mut [Event<'a>], dropped: &mut [bool], run: &Run, event: Event<'a>) {
    events[run.first] = event;
    dropped[run.first + 1..run.first + run.len].fill(true);
}
