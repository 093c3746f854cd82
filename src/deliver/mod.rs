//! `herald send`: which posts are new, and getting each to every active
//! subscriber exactly once, through SMTP (`smtp`) or into `.eml` files
//! (`outbox`), with the ledger as the record of what went where.
//!
//! The promise: no subscriber gets a post twice without asking, and a
//! re-run after any stop (a crash, a signal, a full disk, an unreachable
//! server) delivers the rest. A row is committed as pending just before
//! the message body goes (the [`Gate`]) and as sent after the server's
//! 250; a row left pending is "unknown" and is only re-sent with
//! `--resend-unknown`. The sending itself (threads, pacing, retries,
//! batching) is in `pump`, the SMTP side in `smtp` and `wire`, signals in
//! `interrupt`.

pub mod forget;
mod interrupt;
pub mod outbox;
mod plan;
pub mod pump;
pub mod smtp;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Transport;
use crate::email::{Kit, Letter, Letterhead, Newsletter, Recipient, placeholders, preview};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::site::Site;
use outbox::Outbox;
use pump::{Pace, Senders};
use smtp::{Smtp, SmtpCourier};

pub use plan::Plan;

/// What one try at handing a message over gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The server said 250 (or the file is written): its reply.
    Sent(String),
    /// A 5xx reply, or an address no server would take: failed, not retried.
    Rejected(String),
    /// A 4xx reply or a failure before the message body was sent: retry.
    Deferred(String),
    /// No connection could be made: retry, and if that fails, stop the run.
    Unreachable(String),
    /// The connection was lost after the message was sent: it may have
    /// arrived. Left pending ("unknown") rather than risk a duplicate.
    Uncertain(String),
    /// A problem no retry fixes (TLS, login, full disk): stop the run.
    Fatal(String),
    /// The run stopped before this one was tried.
    NotAttempted,
}

/// The ledger's hold on the moment a message's body goes out. A delivery
/// is recorded pending (so "unknown" if the run dies) only then, never for
/// a message merely queued, so a crash leaves at most one unknown
/// delivery per connection.
pub trait Gate {
    /// The body is about to go: start making the row durable (may return before it is).
    fn announce(&mut self);
    /// Waits until the row is durable; false: do not send the body (the
    /// ledger could not record it, or the run is stopping).
    fn wait(&mut self) -> bool;
    /// The server does not have it (nothing sent, or a 4xx): the row may go
    /// while a retry waits.
    fn withdraw(&mut self) {}
}

/// No ledger: a test copy.
pub struct Open;

impl Gate for Open {
    fn announce(&mut self) {}
    fn wait(&mut self) -> bool {
        true
    }
}

/// A way to hand over messages; one per sending thread.
pub trait Courier {
    /// Tries once; calls `gate` just before the message body is sent.
    fn deliver(&mut self, letter: &Letter, gate: &mut dyn Gate) -> Attempt;
    /// Closes politely (SMTP QUIT); called once when the thread is done.
    fn finish(&mut self) {}
}

/// The (first) envelope recipient of a letter, as text.
fn recipient(letter: &Letter) -> String {
    letter
        .envelope
        .to()
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// Bounded exponential backoff.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub retries: u32,
    pub backoff: Duration,
}

impl Retry {
    /// The wait before retry `n` (0-based): backoff × 2ⁿ, at most backoff × 64.
    pub fn delay(&self, n: u32) -> Duration {
        self.backoff.saturating_mul(1 << n.min(6))
    }
}

/// Where the library tells of a wait as it happens (a retry's backoff),
/// so a slow server is never silence; the caller decides where it goes.
#[derive(Clone, Default)]
pub struct Notes(Option<Arc<Tell>>);

type Tell = dyn Fn(&str) + Send + Sync;

impl Notes {
    pub fn new(tell: impl Fn(&str) + Send + Sync + 'static) -> Notes {
        Notes(Some(Arc::new(tell)))
    }

    pub fn tell(&self, text: &str) {
        if let Some(tell) = &self.0 {
            tell(text);
        }
    }
}

impl fmt::Debug for Notes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Notes(on)"
        } else {
            "Notes(off)"
        })
    }
}

/// `herald send`'s flags, as the library takes them.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub dry_run: bool,
    pub to: Option<String>,
    pub all: bool,
    pub post: Option<String>,
    pub mark_sent: bool,
    pub resend_unknown: bool,
    /// Draw a progress bar (the caller knows whether stderr is a terminal).
    pub progress: bool,
    /// Where waits (retries) are told as they happen.
    pub notes: Notes,
}

/// What happened to one post in this run.
#[derive(Debug, Clone, Default)]
pub struct PostReport {
    pub slug: String,
    pub title: String,
    pub sent: usize,
    /// `address: server reply`, for 5xx and undeliverable addresses.
    pub failed: Vec<String>,
    /// Retried until the limit; not recorded, so the next run tries again.
    pub deferred: Vec<String>,
    /// Connection lost after sending: left unknown.
    pub unknown: Vec<String>,
    /// Never tried because the run stopped.
    pub not_attempted: usize,
    /// Subscribers still owed the post when the run ended (deferred and
    /// never tried included): the next `herald send` sends them.
    pub owed: u64,
    /// A signal stopped the run.
    pub interrupted: bool,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

impl PostReport {
    fn new(newsletter: &Newsletter) -> PostReport {
        PostReport {
            slug: newsletter.slug.clone(),
            title: newsletter.title.clone(),
            ..PostReport::default()
        }
    }
}

/// Everything `send` did, for the summary.
#[derive(Debug, Default)]
pub struct Report {
    pub posts: Vec<PostReport>,
    /// Lines to print before the summary (dry-run listing, notes).
    pub lines: Vec<String>,
    /// Deliveries left unknown by an earlier run and not re-sent.
    pub earlier_unknown: usize,
    /// Owed for the posts of this run that a stop kept it from reaching.
    pub owed_later: u64,
    /// Where the messages went: "smtp://host:port" or the outbox folder.
    pub via: String,
    /// The closing line of a run that mails no list (a dry run,
    /// `--mark-sent`, a test copy), instead of the delivery counts.
    pub summary: Option<String>,
}

impl Report {
    pub fn sent(&self) -> usize {
        self.posts.iter().map(|p| p.sent).sum()
    }

    pub fn failed(&self) -> usize {
        self.posts.iter().map(|p| p.failed.len()).sum()
    }

    /// Whether anything needs the user's attention (the exit code).
    pub fn ok(&self) -> bool {
        self.posts.iter().all(|p| {
            p.failed.is_empty()
                && p.unknown.is_empty()
                && p.stopped.is_none()
                && p.deferred.is_empty()
                && !p.interrupted
        })
    }

    /// Deliveries still owed after this run, over its posts.
    pub fn owed(&self) -> u64 {
        self.posts.iter().map(|p| p.owed).sum::<u64>() + self.owed_later
    }

    /// Whether a signal stopped the run.
    pub fn interrupted(&self) -> bool {
        self.posts.iter().any(|p| p.interrupted)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        if let Some(summary) = &self.summary {
            return write!(f, "{summary}");
        }
        for post in &self.posts {
            for line in &post.failed {
                writeln!(f, "failed: {line}")?;
            }
            for line in &post.deferred {
                writeln!(f, "deferred (the next run retries): {line}")?;
            }
            for line in &post.unknown {
                writeln!(f, "unknown (not re-sent without --resend-unknown): {line}")?;
            }
            if post.interrupted {
                writeln!(
                    f,
                    "interrupted: {} stopped taking new messages; every outcome is recorded",
                    post.slug
                )?;
            }
            if let Some(why) = &post.stopped {
                writeln!(
                    f,
                    "stopped: {why}; {} not tried, run `herald send` again to continue",
                    post.not_attempted
                )?;
            }
        }
        if self.earlier_unknown > 0 {
            writeln!(
                f,
                "{} deliveries were left unknown by an earlier run (interrupted mid-send) and were not sent again; `herald send --resend-unknown` sends them (some may arrive twice)",
                self.earlier_unknown
            )?;
        }
        let unknown: usize = self.posts.iter().map(|p| p.unknown.len()).sum();
        let deferred: usize = self.posts.iter().map(|p| p.deferred.len()).sum();
        write!(
            f,
            "{} posts: {} sent, {} failed, {} deferred, {} unknown, {} still owed via {}",
            self.posts.len(),
            self.sent(),
            self.failed(),
            deferred,
            unknown,
            self.owed(),
            self.via
        )?;
        if self.owed() > 0 {
            write!(
                f,
                "\nrun `herald send` again to send the {} still owed",
                self.owed()
            )?;
        }
        Ok(())
    }
}

/// Why `send` stops on a site that chose no transport. The outbox used to
/// be the default, and it recorded every reader as sent: one `send` before
/// `[smtp]` was written used a post up for good.
const NO_TRANSPORT: &str = "nothing was sent: no transport is configured, and herald never picks one for you.\n\
    Add an [smtp] section (host, port, username; the password comes from $HERALD_SMTP_PASSWORD),\n\
    or write `transport = \"outbox\"` under [email] to write .eml files into outbox/ instead (readers are then recorded as sent).\n\
    To look at the email without sending: `herald preview`; once a transport is set, `herald send --to YOUR-ADDRESS` mails you a test copy.";

/// Where this run's messages go.
enum Route {
    Outbox(Outbox),
    Smtp(Box<Smtp>, Retry, Pace, usize),
}

impl Route {
    fn new(site: &Site) -> Result<Route> {
        let config = &site.config;
        match (config.transport(), &config.smtp) {
            (None, _) => Err(Error::config(
                site.shown(&site.config_path),
                None,
                NO_TRANSPORT,
            )),
            (Some(Transport::Outbox), _) => {
                Ok(Route::Outbox(Outbox::new(site.path(&config.email.outbox))))
            }
            (Some(Transport::Smtp), Some(smtp)) => Ok(Route::Smtp(
                Box::new(Smtp::new(site, smtp)?),
                Retry {
                    retries: smtp.retries,
                    backoff: smtp.backoff,
                },
                Pace::new(smtp.rate.interval()),
                smtp.connections.max(1) as usize,
            )),
            (Some(Transport::Smtp), None) => Err(Error::Usage(
                "email.transport is \"smtp\" but there is no [smtp] section in the configuration"
                    .into(),
            )),
        }
    }

    fn via(&self) -> String {
        match self {
            Route::Outbox(outbox) => outbox.dir().display().to_string(),
            Route::Smtp(smtp, ..) => smtp.describe(),
        }
    }

    /// Runs `work` with the senders this route gives.
    fn with_senders<T>(
        &self,
        letterhead: &Letterhead,
        halt: &AtomicBool,
        notes: &Notes,
        work: impl FnOnce(&Senders<'_>) -> T,
    ) -> T {
        match self {
            Route::Outbox(outbox) => {
                let pace = Pace::new(Duration::ZERO);
                let courier = || Box::new(outbox) as Box<dyn Courier + '_>;
                work(&Senders {
                    letterhead,
                    pace: &pace,
                    retry: Retry {
                        retries: 0,
                        backoff: Duration::ZERO,
                    },
                    threads: 1,
                    courier: &courier,
                    halt,
                    notes,
                })
            }
            Route::Smtp(smtp, retry, pace, threads) => {
                let courier = || Box::new(SmtpCourier::new(smtp)) as Box<dyn Courier + '_>;
                work(&Senders {
                    letterhead,
                    pace,
                    retry: *retry,
                    threads: *threads,
                    courier: &courier,
                    halt,
                    notes,
                })
            }
        }
    }
}

/// One message at a time through the configured transport, with the
/// configured retries: `herald serve`'s confirmation mails. Each message
/// opens its own connection; they are few.
pub struct Mailer {
    route: Route,
    letterhead: Letterhead,
}

impl Mailer {
    pub fn new(site: &Site) -> Result<Mailer> {
        Ok(Mailer {
            route: Route::new(site)?,
            // With the DKIM signer: confirmation mails are signed as posts are.
            letterhead: Letterhead::for_site(site)?,
        })
    }

    /// "smtp://host:port (STARTTLS)" or the outbox folder.
    pub fn via(&self) -> String {
        self.route.via()
    }

    pub fn letterhead(&self) -> &Letterhead {
        &self.letterhead
    }

    /// Hands `letter` over, retrying what may be retried unless `halt` rises.
    pub fn deliver(&self, letter: &Letter, halt: &AtomicBool, notes: &Notes) -> Attempt {
        let stop = AtomicBool::new(false);
        self.route
            .with_senders(&self.letterhead, halt, notes, |senders| {
                let mut courier = (senders.courier)();
                let attempt =
                    pump::with_retries(courier.as_mut(), letter, &mut Open, senders, &stop);
                courier.finish();
                attempt
            })
    }
}

/// `herald send`.
pub fn send(site: &Site, options: &Options) -> Result<Report> {
    let kit = Kit::new(site)?;
    if let Some(address) = &options.to {
        return test_copy(site, &kit, options, address);
    }
    // Nothing in the ledger changes before the run is known to be able to go.
    let route = if options.mark_sent || options.dry_run {
        None
    } else {
        placeholders::refuse(&site.config, &site.shown(&site.config_path))?;
        Some(Route::new(site)?)
    };
    let mut ledger = Ledger::open(&site.path(&site.config.email.state))?;
    ledger.set_soft_bounce_limit(site.config.email.soft_bounce_limit);
    if !options.dry_run {
        // Before anything is looked at: a second send stops here, at once.
        ledger.claim()?;
    }
    let mut report = Report::default();
    let plan = Plan::make(site, &mut ledger, options, &mut report)?;
    let Some(route) = route else {
        return if options.mark_sent {
            plan.mark_sent(&mut ledger, report)
        } else {
            plan.dry_run(&ledger, report)
        };
    };
    report.via = route.via();
    let progress = progress_bar(options.progress);
    let notes = if progress.is_hidden() {
        options.notes.clone()
    } else {
        let bar = progress.clone();
        Notes::new(move |text| bar.println(text))
    };
    let halt = interrupt::watch();
    let mut posts = plan.posts.into_iter();
    for post in posts.by_ref() {
        // Rendered, templated and inlined once; each copy is only filled in.
        let newsletter = kit.newsletter(post)?;
        progress.set_message(newsletter.slug.clone());
        let post_report = route.with_senders(&kit.letterhead, halt, &notes, |senders| {
            pump::post(&mut ledger, &newsletter, senders, &progress)
        })?;
        let mut post_report = post_report;
        // A signal between two posts stops the run too.
        post_report.interrupted |= halt.load(Ordering::SeqCst);
        let stopped = post_report.stopped.is_some() || post_report.interrupted;
        report.posts.push(post_report);
        if stopped {
            break;
        }
    }
    for post in posts {
        report.owed_later += ledger.owed(post.feed_id())?;
    }
    progress.finish_and_clear();
    Ok(report)
}

/// `--to ADDRESS`: one copy of the chosen post, the ledger left alone.
fn test_copy(site: &Site, kit: &Kit<'_>, options: &Options, address: &str) -> Result<Report> {
    let post = preview::choose(&site.posts, options.post.as_deref(), |n| site.find_post(n))?;
    let newsletter = kit.newsletter(post)?;
    let recipient = Recipient {
        email: address,
        name: None,
        token: "test-copy",
    };
    let letter = kit
        .letterhead
        .compose(&newsletter, &recipient, SystemTime::now())
        .map_err(|e| Error::Usage(format!("--to {address}: {e}")))?;
    if options.dry_run {
        return Ok(Report {
            summary: Some(format!(
                "dry run: would send a test copy of {} to {address}; nothing was sent",
                newsletter.slug
            )),
            ..Report::default()
        });
    }
    let route = Route::new(site)?;
    let mut report = Report {
        via: route.via(),
        ..Report::default()
    };
    let stop = AtomicBool::new(false);
    let attempt = route.with_senders(
        &kit.letterhead,
        interrupt::watch(),
        &options.notes,
        |senders| {
            let mut courier = (senders.courier)();
            let attempt = pump::with_retries(courier.as_mut(), &letter, &mut Open, senders, &stop);
            courier.finish();
            attempt
        },
    );
    let mut post = PostReport::new(&newsletter);
    let copy = format!("the test copy of {} to {address}", newsletter.slug);
    let outcome = match attempt {
        Attempt::Sent(_) => {
            post.sent = 1;
            format!("sent {copy} via {}", report.via)
        }
        Attempt::Rejected(why) => {
            post.failed.push(format!("{address}: {why}"));
            format!("{copy} was refused: {why}")
        }
        Attempt::Deferred(why) | Attempt::Unreachable(why) => {
            post.deferred.push(format!("{address}: {why}"));
            format!("{copy} could not be sent: {why}")
        }
        Attempt::Uncertain(why) => {
            post.unknown.push(format!("{address}: {why}"));
            format!("{copy} may or may not have arrived: {why}")
        }
        Attempt::Fatal(why) => {
            post.stopped = Some(why.clone());
            format!("{copy} could not be sent: {why}")
        }
        Attempt::NotAttempted => format!("{copy} was not sent"),
    };
    report.summary = Some(format!("{outcome} (the ledger is untouched)"));
    report.posts.push(post);
    Ok(report)
}

fn progress_bar(show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg:20!} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let retry = Retry {
            retries: 10,
            backoff: Duration::from_secs(1),
        };
        assert_eq!(retry.delay(0), Duration::from_secs(1));
        assert_eq!(retry.delay(3), Duration::from_secs(8));
        assert_eq!(retry.delay(9), Duration::from_secs(64));
    }
}
