//! Sending one post to its remaining subscribers: subscribers streamed from
//! the ledger a page at a time, handed to `connections` sending threads,
//! each delivery recorded pending just before its body goes out and settled
//! (sent, failed, or released for the next run) after.
//!
//! Only this thread touches the ledger (SQLite connections are not shared
//! between threads); the senders only compose and transmit, and ask this
//! thread (the [`Gate`]) to make a row pending. It does so at once, in one
//! transaction with every other request and outcome waiting, which keeps
//! the batching where it is safe: a sender announces its row while the
//! round trips of MAIL, RCPT and DATA run, and waits only if the commit is
//! slower. Queued
//! subscribers have no row at all: the page cursor and the send lock keep
//! them from being offered twice, so a crash leaves at most one unknown
//! delivery per connection. Memory stays flat: at most two pages of
//! subscribers are queued, and each message is built by the thread that
//! sends it and dropped after.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use indicatif::ProgressBar;

use crate::bounce::{Verdict, status};
use crate::deliver::{Attempt, Courier, Gate, Notes, PostReport, Retry};
use crate::email::{ComposeError, Letterhead, Newsletter, Recipient};
use crate::error::{Error, Result};
use crate::ledger::{Bounce, BounceKind, BounceSource, Change, Ledger, Outcome, State};

/// Subscribers fetched per ledger query.
const PAGE: usize = 200;
/// Outcomes written per ledger transaction, at most.
const BATCH: usize = 200;
/// Outcomes never wait longer than this to be committed.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// How often a wait (a backoff, the ledger loop) looks at the stop flag.
const TICK: Duration = Duration::from_millis(50);

/// One subscriber's copy to make and send.
struct Job {
    subscriber_id: i64,
    email: String,
    name: Option<String>,
    token: String,
}

/// What the senders tell the ledger thread.
enum Event {
    /// This delivery's body is about to go: make it pending, then answer.
    Announce {
        subscriber_id: i64,
        durable: mpsc::Sender<bool>,
    },
    /// The body did not go, or the server would not take it yet: the row goes.
    Withdraw {
        subscriber_id: i64,
    },
    Done(Done),
}

/// What became of one job.
struct Done {
    subscriber_id: i64,
    email: String,
    attempt: Attempt,
    message_id: Option<String>,
}

/// Spaces messages out so that, across all threads, no more than the
/// configured rate leaves: each send reserves the next free slot.
pub struct Pace {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pace {
    pub fn new(interval: Duration) -> Pace {
        Pace {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    pub fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        let now = Instant::now();
        if slot > now {
            thread::sleep(slot - now);
        }
    }
}

/// What the senders share.
pub struct Senders<'a> {
    pub letterhead: &'a Letterhead,
    pub pace: &'a Pace,
    pub retry: Retry,
    pub threads: usize,
    /// Makes one thread's courier (an SMTP connection, or the outbox).
    pub courier: &'a (dyn Fn() -> Box<dyn Courier + 'a> + Sync),
    /// Set when the run must stop taking new messages (a signal).
    pub halt: &'a AtomicBool,
    /// Where a wait is told as it happens (a retry's backoff).
    pub notes: &'a Notes,
}

/// Sends `newsletter` to every active subscriber the ledger has no row for.
pub fn post(
    ledger: &mut Ledger,
    newsletter: &Newsletter,
    senders: &Senders<'_>,
    progress: &ProgressBar,
) -> Result<PostReport> {
    let mut report = PostReport::new(newsletter);
    ledger.start_mailing(&newsletter.post_id)?;
    let stop = AtomicBool::new(false);
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let (event_tx, event_rx) = mpsc::channel::<Event>();
    thread::scope(|scope| {
        for _ in 0..senders.threads.max(1) {
            let event_tx = event_tx.clone();
            let (job_rx, stop) = (&job_rx, &stop);
            scope.spawn(move || sender(newsletter, senders, job_rx, &event_tx, stop));
        }
        drop(event_tx);
        let mut feed = Feed {
            ledger,
            post_id: &newsletter.post_id,
            batch: Vec::new(),
            report: &mut report,
            stop: &stop,
            halt: senders.halt,
            progress,
        };
        let result = feed.run(job_tx, &event_rx);
        if result.is_err() {
            // The senders finish what they hold (those rows stay pending: unknown) and stop.
            stop.store(true, Ordering::SeqCst);
        }
        result
    })?;
    report.owed = ledger.owed(&newsletter.post_id)?;
    Ok(report)
}

/// The ledger side of one post's sending.
struct Feed<'a, 'r> {
    ledger: &'a mut Ledger,
    post_id: &'a str,
    /// Waiting to be committed, in the order they happened.
    batch: Vec<Change>,
    report: &'r mut PostReport,
    stop: &'a AtomicBool,
    halt: &'a AtomicBool,
    progress: &'a ProgressBar,
}

impl Feed<'_, '_> {
    /// Pages in, rows made pending on request, outcomes out, until no
    /// subscriber is left or the run stops.
    fn run(&mut self, job_tx: mpsc::Sender<Job>, events: &mpsc::Receiver<Event>) -> Result<()> {
        let mut job_tx = Some(job_tx);
        let mut after = 0i64;
        let mut in_flight = 0usize;
        let mut last_flush = Instant::now();
        loop {
            if self.halt.load(Ordering::SeqCst) && !self.stop.swap(true, Ordering::SeqCst) {
                self.report.interrupted = true;
            }
            if self.stop.load(Ordering::SeqCst) {
                job_tx = None;
            }
            if let Some(tx) = &job_tx
                && in_flight < PAGE / 2
            {
                let queued = self.queue(tx, &mut after)?;
                if queued == 0 {
                    job_tx = None;
                }
                in_flight += queued;
            }
            if job_tx.is_none() && in_flight == 0 {
                break;
            }
            let mut waiting = Vec::new();
            match events.recv_timeout(TICK) {
                Ok(event) => {
                    in_flight -= self.take(event, &mut waiting);
                    // Everything else already waiting goes into the same commit.
                    while let Ok(event) = events.try_recv() {
                        in_flight -= self.take(event, &mut waiting);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let due = self.batch.len() >= BATCH || last_flush.elapsed() >= FLUSH_EVERY;
            if !waiting.is_empty() || due {
                let written = self.flush();
                for durable in waiting {
                    let _ = durable.send(written.is_ok());
                }
                written?;
                last_flush = Instant::now();
            }
        }
        self.flush()
    }

    /// Queues the next page of subscribers; how many.
    fn queue(&mut self, tx: &mpsc::Sender<Job>, after: &mut i64) -> Result<usize> {
        let page = self.ledger.undelivered(self.post_id, *after, PAGE)?;
        let count = page.len();
        for s in page {
            *after = (*after).max(s.id);
            let job = Job {
                subscriber_id: s.id,
                email: s.email,
                name: s.name,
                token: s.token,
            };
            if tx.send(job).is_err() {
                return Err(Error::Message("every sending thread stopped".into()));
            }
        }
        self.progress.inc_length(count as u64);
        Ok(count)
    }

    /// Takes one event into the batch; 1 when a job is done.
    fn take(&mut self, event: Event, waiting: &mut Vec<mpsc::Sender<bool>>) -> usize {
        match event {
            Event::Announce {
                subscriber_id,
                durable,
            } => {
                self.batch.push(Change::Pending(subscriber_id));
                waiting.push(durable);
                0
            }
            Event::Withdraw { subscriber_id } => {
                self.batch.push(Change::Released(subscriber_id));
                0
            }
            Event::Done(done) => {
                self.progress.inc(1);
                self.settle(done);
                1
            }
        }
    }

    /// Turns one sender's result into a ledger change and a line of the report.
    fn settle(&mut self, done: Done) {
        let report = &mut *self.report;
        let outcome = |state: State, detail: String| Outcome {
            post_id: self.post_id.to_string(),
            subscriber_id: done.subscriber_id,
            state,
            detail,
            message_id: done.message_id.clone(),
        };
        match done.attempt {
            Attempt::Sent(reply) => {
                report.sent += 1;
                self.batch
                    .push(Change::Settled(outcome(State::Sent, reply)));
            }
            Attempt::Rejected(reply) => {
                let bounce = bounce(self.post_id, done.subscriber_id, &reply, true);
                let said = match bounce.as_ref().map(|b| b.kind) {
                    Some(BounceKind::Hard) => " (the address bounced: it is not mailed again)",
                    _ => "",
                };
                report.failed.push(format!("{}: {reply}{said}", done.email));
                self.batch
                    .push(Change::Settled(outcome(State::Failed, reply)));
                self.batch.extend(bounce.map(Change::Bounced));
            }
            // Nothing reached the server: no row stays, so the next run sends it.
            Attempt::Deferred(why) => {
                let bounce = bounce(self.post_id, done.subscriber_id, &why, false);
                report.deferred.push(format!("{}: {why}", done.email));
                self.batch.push(Change::Released(done.subscriber_id));
                self.batch.extend(bounce.map(Change::Bounced));
            }
            Attempt::Unreachable(why) => {
                report.deferred.push(format!("{}: {why}", done.email));
                self.batch.push(Change::Released(done.subscriber_id));
            }
            Attempt::NotAttempted => {
                report.not_attempted += 1;
                self.batch.push(Change::Released(done.subscriber_id));
            }
            // The server may have it: left pending, reported as unknown.
            Attempt::Uncertain(why) => report.unknown.push(format!("{}: {why}", done.email)),
            Attempt::Fatal(why) => {
                self.stop.store(true, Ordering::SeqCst);
                if report.stopped.is_none() {
                    report.stopped = Some(why);
                }
                report.not_attempted += 1;
                self.batch.push(Change::Released(done.subscriber_id));
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        let batch = std::mem::take(&mut self.batch);
        self.ledger.write(self.post_id, &batch)
    }
}

/// The bounce a refusal of `post_id` amounts to, if it says something about
/// the reader's address (`permanent`: a 5xx, else a 4xx that outlasted the retries).
fn bounce(post_id: &str, subscriber_id: i64, reply: &str, permanent: bool) -> Option<Bounce> {
    let kind = match status::at_send(reply, permanent)? {
        Verdict::Hard => BounceKind::Hard,
        Verdict::Soft => BounceKind::Soft,
        Verdict::Message => return None,
    };
    Some(Bounce {
        subscriber_id,
        post: Some(post_id.to_string()),
        kind,
        source: BounceSource::Smtp,
        status: status::Enhanced::find(reply).map(|c| c.to_string()),
        detail: reply.to_string(),
        key: format!("smtp:{post_id}"),
    })
}

/// A sender's gate: the announce goes to the ledger thread, the wait is for its answer.
struct LedgerGate<'a> {
    events: &'a mpsc::Sender<Event>,
    durable_tx: &'a mpsc::Sender<bool>,
    durable_rx: &'a mpsc::Receiver<bool>,
    subscriber_id: i64,
    announced: bool,
    durable: bool,
    stop: &'a AtomicBool,
}

impl Gate for LedgerGate<'_> {
    fn announce(&mut self) {
        if !self.announced {
            self.announced = true;
            let announce = Event::Announce {
                subscriber_id: self.subscriber_id,
                durable: self.durable_tx.clone(),
            };
            // A closed channel means the ledger side is gone: `wait` says no.
            let _ = self.events.send(announce);
        }
    }

    fn wait(&mut self) -> bool {
        self.announce();
        if !self.durable {
            self.durable = self.durable_rx.recv().unwrap_or(false);
        }
        // Stopping: a body not yet sent is abandoned (its row is released).
        self.durable && !self.stop.load(Ordering::SeqCst)
    }

    fn withdraw(&mut self) {
        if !self.announced {
            return;
        }
        if !self.durable {
            // Take the answer, so the next wait does not read this one.
            let _ = self.durable_rx.recv();
        }
        let withdraw = Event::Withdraw {
            subscriber_id: self.subscriber_id,
        };
        let _ = self.events.send(withdraw);
        self.announced = false;
        self.durable = false;
    }
}

/// One sending thread: compose, pace, transmit, retry; report every job.
fn sender(
    newsletter: &Newsletter,
    senders: &Senders<'_>,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    events: &mpsc::Sender<Event>,
    stop: &AtomicBool,
) {
    let mut courier = (senders.courier)();
    let (durable_tx, durable_rx) = mpsc::channel();
    loop {
        let job = match jobs.lock().unwrap_or_else(PoisonError::into_inner).recv() {
            Ok(job) => job,
            Err(_) => break,
        };
        let mut gate = LedgerGate {
            events,
            durable_tx: &durable_tx,
            durable_rx: &durable_rx,
            subscriber_id: job.subscriber_id,
            announced: false,
            durable: false,
            stop,
        };
        let (attempt, message_id) =
            attempt(newsletter, senders, &job, courier.as_mut(), &mut gate, stop);
        if matches!(attempt, Attempt::Unreachable(_)) {
            // The server stayed unreachable through every retry: stop the run, keep the rest for the next.
            stop.store(true, Ordering::SeqCst);
        }
        let done = Done {
            subscriber_id: job.subscriber_id,
            email: job.email,
            attempt,
            message_id,
        };
        if events.send(Event::Done(done)).is_err() {
            break;
        }
    }
    courier.finish();
}

/// Composes one subscriber's copy and sends it, unless the run is stopping.
fn attempt(
    newsletter: &Newsletter,
    senders: &Senders<'_>,
    job: &Job,
    courier: &mut dyn Courier,
    gate: &mut dyn Gate,
    stop: &AtomicBool,
) -> (Attempt, Option<String>) {
    if stop.load(Ordering::SeqCst) {
        return (Attempt::NotAttempted, None);
    }
    let recipient = Recipient {
        email: &job.email,
        name: job.name.as_deref(),
        token: &job.token,
    };
    match senders
        .letterhead
        .compose(newsletter, &recipient, SystemTime::now())
    {
        Ok(letter) => {
            let attempt = with_retries(courier, &letter, gate, senders, stop);
            (attempt, Some(letter.message_id))
        }
        // A template that fails for one reader may fail for all: stop, record nothing as failed.
        Err(e @ ComposeError::Template(_)) => (Attempt::Fatal(e.to_string()), None),
        Err(e) => (Attempt::Rejected(e.to_string()), None),
    }
}

/// Transmits, retrying what may be retried with exponential backoff, and
/// says so while it waits.
pub fn with_retries(
    courier: &mut dyn Courier,
    letter: &crate::email::Letter,
    gate: &mut dyn Gate,
    senders: &Senders<'_>,
    stop: &AtomicBool,
) -> Attempt {
    let mut attempt_no = 0;
    loop {
        senders.pace.wait();
        let attempt = courier.deliver(letter, gate);
        let why = match &attempt {
            Attempt::Deferred(why) | Attempt::Unreachable(why) => why,
            _ => return attempt,
        };
        if attempt_no >= senders.retry.retries || stopping(stop, senders.halt) {
            return attempt;
        }
        // The server does not have it: while we wait, it is not unknown.
        gate.withdraw();
        let delay = senders.retry.delay(attempt_no);
        senders.notes.tell(&format!(
            "{}: {why}; trying again in {} (retry {} of {})",
            super::recipient(letter),
            crate::deliver::wire::shown(delay),
            attempt_no + 1,
            senders.retry.retries
        ));
        if !sleep_unless(delay, stop, senders.halt) {
            return attempt;
        }
        attempt_no += 1;
    }
}

fn stopping(stop: &AtomicBool, halt: &AtomicBool) -> bool {
    stop.load(Ordering::SeqCst) || halt.load(Ordering::SeqCst)
}

/// Sleeps `delay` in ticks; false if the run began stopping meanwhile.
fn sleep_unless(delay: Duration, stop: &AtomicBool, halt: &AtomicBool) -> bool {
    let end = Instant::now() + delay;
    loop {
        if stopping(stop, halt) {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        thread::sleep((end - now).min(TICK));
    }
}
