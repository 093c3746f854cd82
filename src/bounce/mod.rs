//! Bounces and complaints: what a refusal means for the reader (`status`),
//! at SMTP time (`deliver` asks) and after the fact, from the delivery
//! status notifications and abuse reports that come back to the envelope
//! sender: `herald bounces PATH` reads a mailbox (`mailbox`), reads each
//! message (`report`, with `dsn`, `ses` and `plain` for the shapes), finds
//! the reader it is about (`matcher`) and records it in the ledger, which
//! applies the rules (hard: bounced; soft: counted; complaint:
//! unsubscribed) and remembers what it has counted.
//!
//! No bounce is ever a delivery and no delivery a bounce: a report that
//! says `delayed`, `delivered` or `relayed`, an auto-reply, or anything
//! else that is not a failure is listed as "not a bounce" and changes
//! nothing; a delivery's `sent` row is never touched by a bounce (the
//! bounce is its own row, counted beside it by `herald status`).

pub mod dsn;
pub mod mailbox;
pub mod matcher;
pub mod plain;
pub mod report;
pub mod ses;
pub mod status;

use std::fmt;
use std::path::Path;

pub use matcher::{Matcher, Target};
pub use report::{Failure, Form, Report};
pub use status::{Enhanced, Verdict};

use crate::email::message::EnvelopeFrom;
use crate::error::Result;
use crate::ledger::{Bounce, BounceKind, BounceSource, Counted, Ledger};
use crate::site::Site;

/// `herald bounces`'s flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Record nothing; say what would change.
    pub dry_run: bool,
}

/// One reader's bounce or complaint, and what recording it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub email: String,
    pub kind: BounceKind,
    pub detail: String,
    pub counted: Counted,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Readers found and recorded.
    Counted(Vec<Recorded>),
    /// A failure about the message (spam filter, size): the reader stays.
    AboutTheMessage(String),
    /// A bounce or complaint whose reader herald cannot find.
    Unmatched(String),
    /// Counted by an earlier run.
    Already,
    /// Not a bounce: why.
    NotABounce(String),
}

/// Everything `herald bounces` did.
#[derive(Debug, Default)]
pub struct Summary {
    pub messages: usize,
    pub hard: usize,
    pub soft: usize,
    pub complaints: usize,
    pub about_the_message: usize,
    pub not_bounces: usize,
    pub unmatched: usize,
    pub already: usize,
    /// Readers taken off the list by this run: "address (why)".
    pub bounced: Vec<String>,
    pub unsubscribed: Vec<String>,
    /// One line per message: "origin: outcome".
    pub lines: Vec<String>,
    pub dry_run: bool,
}

/// `herald bounces PATH`.
pub fn read_mailbox(site: &Site, path: &Path, options: Options) -> Result<Summary> {
    let letters = mailbox::open(&site.path(path), path)?;
    let envelope_from = site
        .config
        .email
        .envelope_from
        .as_deref()
        .map(EnvelopeFrom::parse)
        .transpose()?;
    let mut ledger = Ledger::open(&site.path(&site.config.email.state))?;
    ledger.set_soft_bounce_limit(site.config.email.soft_bounce_limit);
    let matcher = Matcher::new(&ledger, envelope_from)?;
    let mut summary = Summary {
        dry_run: options.dry_run,
        ..Summary::default()
    };
    // Only what each message comes to is kept, not the message.
    let mut pending = Vec::new();
    for letter in letters {
        let letter = letter?;
        let report = Report::parse(&letter.bytes);
        pending.push((letter.origin, plan(&matcher, &report)));
    }
    let bounces: Vec<Bounce> = pending
        .iter()
        .flat_map(|(_, planned)| planned.bounces.iter().map(|(_, b)| b.clone()))
        .collect();
    let mut counted = ledger
        .record_bounces(&bounces, options.dry_run)?
        .into_iter();
    for (origin, planned) in pending {
        let results: Vec<Recorded> = planned
            .bounces
            .into_iter()
            .map(|(email, bounce)| Recorded {
                email,
                kind: bounce.kind,
                detail: bounce.detail,
                counted: counted.next().unwrap_or(Counted::Already),
            })
            .collect();
        let outcome = match planned.outcome {
            Some(outcome) => outcome,
            None if results.iter().all(|r| r.counted == Counted::Already) => Outcome::Already,
            None => Outcome::Counted(results),
        };
        summary.add(&origin, outcome);
    }
    Ok(summary)
}

/// What one report will record, before the ledger is asked.
struct Planned {
    /// (reader's address, bounce) to record.
    bounces: Vec<(String, Bounce)>,
    /// Set when nothing is recorded.
    outcome: Option<Outcome>,
}

fn plan(matcher: &Matcher, report: &Report) -> Planned {
    let nothing = |outcome: Outcome| Planned {
        bounces: Vec::new(),
        outcome: Some(outcome),
    };
    if let Form::NotABounce(why) = &report.form {
        return nothing(Outcome::NotABounce(why.clone()));
    }
    let targets = matcher.targets(report);
    if targets.is_empty() {
        let named: Vec<String> = report
            .failures
            .iter()
            .filter_map(|f| f.recipient.clone().or_else(|| f.original.clone()))
            .collect();
        let who = if named.is_empty() {
            "no reader named".to_string()
        } else {
            format!("{} is not on the list", named.join(", "))
        };
        return nothing(Outcome::Unmatched(format!(
            "{}: {who}",
            subject_or_form(report)
        )));
    }
    let mut bounces = Vec::new();
    let mut about_the_message = None;
    for target in targets {
        let failure = &target.failure;
        let kind = match (report.complaint, failure.verdict) {
            (true, _) => BounceKind::Complaint,
            (false, Verdict::Hard) => BounceKind::Hard,
            (false, Verdict::Soft) => BounceKind::Soft,
            (false, Verdict::Message) => {
                about_the_message = Some(format!("{}: {}", target.email, shown_detail(failure)));
                continue;
            }
        };
        bounces.push((
            target.email.clone(),
            Bounce {
                subscriber_id: target.subscriber_id,
                post: target.post.clone(),
                kind,
                source: BounceSource::Report,
                status: failure.status.map(|s| s.to_string()),
                detail: shown_detail(failure),
                key: report.key.clone(),
            },
        ));
    }
    let outcome = match (bounces.is_empty(), about_the_message) {
        (true, Some(said)) => Some(Outcome::AboutTheMessage(said)),
        _ => None,
    };
    Planned { bounces, outcome }
}

fn shown_detail(failure: &Failure) -> String {
    match (&failure.status, failure.diagnostic.trim()) {
        (Some(status), "") => status.to_string(),
        (None, "") => "no reason given".to_string(),
        (_, text) => report::one_line(text, 300),
    }
}

fn subject_or_form(report: &Report) -> String {
    let form = match report.form {
        Form::Dsn => "a delivery status notification",
        Form::Feedback => "an abuse report",
        Form::Ses => "an Amazon SES notification",
        Form::Plain => "a bounce",
        Form::NotABounce(_) => "a message",
    };
    if report.subject.is_empty() {
        form.to_string()
    } else {
        format!("{form} ({})", report::one_line(&report.subject, 60))
    }
}

impl Summary {
    fn add(&mut self, origin: &str, outcome: Outcome) {
        self.messages += 1;
        let said = match &outcome {
            Outcome::Counted(results) => {
                let mut parts = Vec::new();
                for Recorded {
                    email,
                    kind,
                    detail,
                    counted,
                } in results
                {
                    match (kind, counted) {
                        (_, Counted::Already) => {}
                        (BounceKind::Hard, _) => self.hard += 1,
                        (BounceKind::Soft, _) => self.soft += 1,
                        (BounceKind::Complaint, _) => self.complaints += 1,
                    }
                    let did = match (kind, counted) {
                        (_, Counted::Already) => "already counted",
                        (BounceKind::Complaint, Counted::Changed) => "unsubscribed",
                        (_, Counted::Changed) => "marked bounced",
                        (BounceKind::Soft, Counted::Noted) => "counted",
                        (_, Counted::Noted) => "recorded (already off the list)",
                    };
                    if *counted == Counted::Changed {
                        let line = format!("{email} ({})", report::one_line(detail, 120));
                        match kind {
                            BounceKind::Complaint => self.unsubscribed.push(line),
                            _ => self.bounced.push(line),
                        }
                    }
                    let what = match kind {
                        BounceKind::Complaint => "complaint by".to_string(),
                        _ => format!("{} bounce of", kind.as_str()),
                    };
                    parts.push(format!("{what} {email}: {did}"));
                }
                parts.join("; ")
            }
            Outcome::AboutTheMessage(said) => {
                self.about_the_message += 1;
                format!("refused for the message, the reader stays: {said}")
            }
            Outcome::Unmatched(said) => {
                self.unmatched += 1;
                format!("unmatched: {said}")
            }
            Outcome::Already => {
                self.already += 1;
                "already counted".to_string()
            }
            Outcome::NotABounce(why) => {
                self.not_bounces += 1;
                format!("not a bounce: {why}")
            }
        };
        self.lines.push(format!("{origin}: {said}"));
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let would = if self.dry_run { "would be " } else { "" };
        for line in &self.bounced {
            writeln!(f, "{would}bounced: {line}")?;
        }
        for line in &self.unsubscribed {
            writeln!(f, "{would}unsubscribed (complaint): {line}")?;
        }
        write!(
            f,
            "{} messages: {} hard bounces, {} soft, {} complaints, {} about the message only, {} unmatched, {} already counted, {} not bounces",
            self.messages,
            self.hard,
            self.soft,
            self.complaints,
            self.about_the_message,
            self.unmatched,
            self.already,
            self.not_bounces
        )?;
        if self.dry_run {
            write!(f, "\ndry run: nothing was recorded")?;
        }
        Ok(())
    }
}
