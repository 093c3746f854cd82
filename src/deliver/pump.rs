//! Sending one post to its remaining subscribers: subscribers streamed from
//! the ledger a page at a time, marked pending in one committed transaction
//! per page *before* any of them is sent, handed to `connections` sending
//! threads, and their outcomes recorded in batches.
//!
//! Only this thread touches the ledger (SQLite connections are not shared
//! between threads); the senders only compose and transmit. Memory stays
//! flat: at most two pages of subscribers are in flight, and each message
//! is built by the thread that sends it and dropped after.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use indicatif::ProgressBar;

use crate::deliver::{Attempt, Courier, PostReport, Retry};
use crate::email::{ComposeError, Letterhead, Newsletter, Recipient};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, Outcome, State};

/// Subscribers fetched and marked pending per ledger transaction.
const PAGE: usize = 200;
/// Outcomes written per ledger transaction, at most.
const BATCH: usize = 200;
/// Outcomes never wait longer than this to be committed.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// One subscriber's copy to make and send.
struct Job {
    subscriber_id: i64,
    email: String,
    name: Option<String>,
    token: String,
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
}

/// Sends `newsletter` to every active subscriber the ledger has no row for.
pub fn post(
    ledger: &mut Ledger,
    newsletter: &Newsletter,
    senders: &Senders<'_>,
    progress: &ProgressBar,
) -> Result<PostReport> {
    let mut report = PostReport::new(newsletter);
    let stop = AtomicBool::new(false);
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    thread::scope(|scope| {
        for _ in 0..senders.threads.max(1) {
            let done_tx = done_tx.clone();
            let (job_rx, stop) = (&job_rx, &stop);
            scope.spawn(move || sender(newsletter, senders, job_rx, &done_tx, stop));
        }
        drop(done_tx);
        let result = feed(
            ledger,
            newsletter,
            job_tx,
            &done_rx,
            &stop,
            &mut report,
            progress,
        );
        if result.is_err() {
            // The senders finish what they hold (those rows stay pending: unknown) and stop.
            stop.store(true, Ordering::SeqCst);
        }
        result
    })?;
    Ok(report)
}

/// The ledger side: pages in, outcomes out, until no subscriber is left or a sender stops the run.
fn feed(
    ledger: &mut Ledger,
    newsletter: &Newsletter,
    job_tx: mpsc::Sender<Job>,
    done_rx: &mpsc::Receiver<Done>,
    stop: &AtomicBool,
    report: &mut PostReport,
    progress: &ProgressBar,
) -> Result<()> {
    let post_id = newsletter.post_id.as_str();
    let mut job_tx = Some(job_tx);
    let mut after = 0i64;
    let mut in_flight = 0usize;
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(BATCH);
    let mut released: Vec<i64> = Vec::new();
    let mut last_flush = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            job_tx = None;
        }
        if let Some(tx) = &job_tx
            && in_flight < PAGE / 2
        {
            let page = ledger.undelivered(post_id, after, PAGE)?;
            if page.is_empty() {
                job_tx = None;
            } else {
                let ids: Vec<i64> = page.iter().map(|s| s.id).collect();
                ledger.mark_pending(post_id, &ids)?;
                after = ids.iter().copied().max().unwrap_or(after);
                for s in page {
                    let job = Job {
                        subscriber_id: s.id,
                        email: s.email,
                        name: s.name,
                        token: s.token,
                    };
                    if tx.send(job).is_err() {
                        return Err(Error::Message("every sending thread stopped".into()));
                    }
                    in_flight += 1;
                }
                progress.inc_length(ids.len() as u64);
            }
        }
        if job_tx.is_none() && in_flight == 0 {
            break;
        }
        match done_rx.recv_timeout(FLUSH_EVERY) {
            Ok(done) => {
                in_flight -= 1;
                progress.inc(1);
                settle(post_id, done, report, &mut outcomes, &mut released, stop);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if outcomes.len() >= BATCH || last_flush.elapsed() >= FLUSH_EVERY {
            flush(ledger, post_id, &mut outcomes, &mut released)?;
            last_flush = Instant::now();
        }
    }
    flush(ledger, post_id, &mut outcomes, &mut released)
}

/// Turns one sender's result into a ledger change and a line of the report.
fn settle(
    post_id: &str,
    done: Done,
    report: &mut PostReport,
    outcomes: &mut Vec<Outcome>,
    released: &mut Vec<i64>,
    stop: &AtomicBool,
) {
    let outcome = |state: State, detail: String| Outcome {
        post_id: post_id.to_string(),
        subscriber_id: done.subscriber_id,
        state,
        detail,
        message_id: done.message_id.clone(),
    };
    match done.attempt {
        Attempt::Sent(reply) => {
            report.sent += 1;
            outcomes.push(outcome(State::Sent, reply));
        }
        Attempt::Rejected(reply) => {
            report.failed.push(format!("{}: {reply}", done.email));
            outcomes.push(outcome(State::Failed, reply));
        }
        // Nothing reached the server: the row goes, so the next run sends it.
        Attempt::Deferred(why) | Attempt::Unreachable(why) => {
            report.deferred.push(format!("{}: {why}", done.email));
            released.push(done.subscriber_id);
        }
        Attempt::NotAttempted => {
            report.not_attempted += 1;
            released.push(done.subscriber_id);
        }
        // The server may have it: left pending, reported as unknown.
        Attempt::Uncertain(why) => report.unknown.push(format!("{}: {why}", done.email)),
        Attempt::Fatal(why) => {
            stop.store(true, Ordering::SeqCst);
            if report.stopped.is_none() {
                report.stopped = Some(why);
            }
            report.not_attempted += 1;
            released.push(done.subscriber_id);
        }
    }
}

fn flush(
    ledger: &mut Ledger,
    post_id: &str,
    outcomes: &mut Vec<Outcome>,
    released: &mut Vec<i64>,
) -> Result<()> {
    if !outcomes.is_empty() {
        ledger.record(outcomes)?;
        outcomes.clear();
    }
    if !released.is_empty() {
        ledger.release(post_id, released)?;
        released.clear();
    }
    Ok(())
}

/// One sending thread: compose, pace, transmit, retry; report every job.
fn sender(
    newsletter: &Newsletter,
    senders: &Senders<'_>,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<Done>,
    stop: &AtomicBool,
) {
    let mut courier = (senders.courier)();
    loop {
        let job = match jobs.lock().unwrap_or_else(PoisonError::into_inner).recv() {
            Ok(job) => job,
            Err(_) => break,
        };
        let recipient = Recipient {
            email: &job.email,
            name: job.name.as_deref(),
            token: &job.token,
        };
        let (attempt, message_id) = if stop.load(Ordering::SeqCst) {
            (Attempt::NotAttempted, None)
        } else {
            match senders
                .letterhead
                .compose(newsletter, &recipient, SystemTime::now())
            {
                Ok(letter) => {
                    let attempt = with_retries(courier.as_mut(), &letter, senders, stop);
                    (attempt, Some(letter.message_id))
                }
                // A template that fails for one reader may fail for all: stop, record nothing as failed.
                Err(e @ ComposeError::Template(_)) => (Attempt::Fatal(e.to_string()), None),
                Err(e) => (Attempt::Rejected(e.to_string()), None),
            }
        };
        if matches!(attempt, Attempt::Unreachable(_)) {
            // The server stayed unreachable through every retry: stop the run, keep the rest for the next.
            stop.store(true, Ordering::SeqCst);
        }
        let report = Done {
            subscriber_id: job.subscriber_id,
            email: job.email,
            attempt,
            message_id,
        };
        if done.send(report).is_err() {
            break;
        }
    }
    courier.finish();
}

/// Transmits, retrying what may be retried with exponential backoff.
pub fn with_retries(
    courier: &mut dyn Courier,
    letter: &crate::email::Letter,
    senders: &Senders<'_>,
    stop: &AtomicBool,
) -> Attempt {
    let mut attempt_no = 0;
    loop {
        senders.pace.wait();
        let attempt = courier.deliver(letter);
        let retriable = matches!(attempt, Attempt::Deferred(_) | Attempt::Unreachable(_));
        if !retriable || attempt_no >= senders.retry.retries || stop.load(Ordering::SeqCst) {
            return attempt;
        }
        thread::sleep(senders.retry.delay(attempt_no));
        attempt_no += 1;
    }
}
