//! Confirmation mails, sent off the request path by a thread of their own.
//!
//! A signup is queued and answered at once with the same page whatever
//! the address: whether it is new, pending, subscribed or bounced is only
//! looked at here, later, so neither the answer nor its timing tells
//! anyone who is on the list. The thread has its own ledger connection and
//! its own transport; it records the signup (a pending subscriber, the
//! day's one confirmation mail), then sends. A mail that could not be
//! handed over frees the address's slot again; one the server may have
//! taken (the connection dropped after the body) keeps it.
//!
//! The site's cap is enforced twice: by the ledger, for certain, and by a
//! count kept here that the request handlers read, so that past the cap
//! they can say so instead of queueing signups that would be dropped.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;

use crate::config::Rate;
use crate::deliver::{Attempt, Mailer, Notes};
use crate::email::confirmation::Sender;
use crate::error::Result;
use crate::ledger::{Ledger, Signup};
use crate::serve::limits::Window;
use crate::token::{CONFIRM_LIFETIME, Keys};

/// Signups waiting for the thread; past this the site is busy.
const QUEUE: usize = 1024;

/// How often pending subscribers whose link expired are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// One signup, as typed (the address already normalised).
#[derive(Debug, Clone)]
pub struct Request {
    pub email: String,
    pub name: Option<String>,
}

/// What the thread needs to write and send a confirmation mail.
pub struct Office {
    pub mailer: Mailer,
    pub keys: Keys,
    pub public_url: String,
    pub title: String,
    pub site_url: String,
    pub cap: Rate,
    pub notes: Notes,
}

/// The queue, the site-wide count, and the thread.
pub struct Confirmations {
    queue: Option<SyncSender<Request>>,
    sent: Arc<Mutex<Window>>,
    halt: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Confirmations {
    pub fn start(ledger_path: &Path, office: Office) -> Result<Confirmations> {
        let ledger = Ledger::open(ledger_path)?;
        let sent = Arc::new(Mutex::new(recent_mails(&ledger, office.cap)?));
        let halt = Arc::new(AtomicBool::new(false));
        let (queue, requests) = mpsc::sync_channel(QUEUE);
        let worker = Worker {
            ledger,
            office,
            sent: Arc::clone(&sent),
            halt: Arc::clone(&halt),
            pruned: None,
        };
        let thread = std::thread::Builder::new()
            .name("herald-confirmations".into())
            .spawn(move || worker.run(requests))?;
        Ok(Confirmations {
            queue: Some(queue),
            sent,
            halt,
            thread: Some(thread),
        })
    }

    /// Whether the site's cap on confirmation mails is reached, and if so
    /// how long until it frees up.
    pub fn full_for(&self) -> Option<Duration> {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        sent.is_full(now).then(|| sent.wait(now))
    }

    /// Queues a signup; false when the queue is full.
    pub fn offer(&self, request: Request) -> bool {
        match self.queue.as_ref().map(|q| q.try_send(request)) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => false,
        }
    }

    /// Stops: the signups already queued are each tried once (no more
    /// retries), then the thread ends.
    fn stop(&mut self) {
        self.halt.store(true, Ordering::SeqCst);
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Confirmations {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The site's count, from the mails the ledger says went out in the window.
fn recent_mails(ledger: &Ledger, cap: Rate) -> Result<Window> {
    let mut window = Window::new(cap);
    let span = chrono::Duration::from_std(cap.per).unwrap_or(chrono::Duration::hours(1));
    let (now, instant) = (Utc::now(), Instant::now());
    for at in ledger.confirmations_since(span)? {
        let age = (now - at).to_std().unwrap_or_default();
        window.record(instant.checked_sub(age).unwrap_or(instant));
    }
    Ok(window)
}

struct Worker {
    ledger: Ledger,
    office: Office,
    sent: Arc<Mutex<Window>>,
    halt: Arc<AtomicBool>,
    pruned: Option<Instant>,
}

impl Worker {
    fn run(mut self, requests: Receiver<Request>) {
        loop {
            self.prune_now_and_then();
            match requests.recv_timeout(PRUNE_EVERY) {
                Ok(request) => self.handle(&request),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn prune_now_and_then(&mut self) {
        if self.pruned.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return;
        }
        self.pruned = Some(Instant::now());
        match self.ledger.prune_signups(CONFIRM_LIFETIME) {
            Ok(0) => {}
            Ok(n) => self.office.notes.tell(&format!(
                "deleted {n} pending signup(s) whose confirmation link expired"
            )),
            Err(e) => self
                .office
                .notes
                .tell(&format!("could not prune old signups: {e}")),
        }
    }

    fn handle(&mut self, request: &Request) {
        let cap = self.office.cap;
        let window = chrono::Duration::from_std(cap.per).unwrap_or(chrono::Duration::hours(1));
        let signup =
            self.ledger
                .sign_up(&request.email, request.name.as_deref(), cap.count, window);
        let subscriber = match signup {
            Ok(Signup::Mail(subscriber)) => subscriber,
            Ok(Signup::Active | Signup::TooSoon) => return,
            Ok(Signup::OverCap) => {
                self.office
                    .notes
                    .tell("the hourly cap on confirmation mails is reached; a signup was dropped");
                return;
            }
            Err(e) => {
                self.office
                    .notes
                    .tell(&format!("a signup could not be recorded: {e}"));
                return;
            }
        };
        let attempt = self.send(&subscriber.token, &subscriber.email);
        let handed_over = matches!(attempt, Attempt::Sent(_) | Attempt::Uncertain(_));
        if handed_over {
            self.sent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(Instant::now());
        }
        match attempt {
            Attempt::Sent(_) => {}
            // The server refused the address: another try tomorrow at the earliest.
            Attempt::Rejected(why) => self
                .office
                .notes
                .tell(&format!("a confirmation mail was refused: {why}")),
            Attempt::Uncertain(why) => self
                .office
                .notes
                .tell(&format!("a confirmation mail may not have arrived: {why}")),
            Attempt::Deferred(why) | Attempt::Unreachable(why) | Attempt::Fatal(why) => {
                self.office
                    .notes
                    .tell(&format!("a confirmation mail could not be sent: {why}"));
                self.free(&subscriber.email);
            }
            Attempt::NotAttempted => self.free(&subscriber.email),
        }
    }

    fn send(&self, subscriber_token: &str, email: &str) -> Attempt {
        let office = &self.office;
        let now = Utc::now();
        let token = office.keys.confirm_token(subscriber_token, email, now);
        let link = format!(
            "{}/confirm?t={}",
            office.public_url,
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        );
        let sender = Sender {
            letterhead: office.mailer.letterhead(),
            title: &office.title,
            url: &office.site_url,
        };
        match sender.confirmation(email, subscriber_token, &link, SystemTime::now()) {
            Ok(letter) => office.mailer.deliver(&letter, &self.halt, &office.notes),
            Err(e) => Attempt::Rejected(e.to_string()),
        }
    }

    /// The mail did not go: the address may be sent one again.
    fn free(&self, email: &str) {
        if let Err(e) = self.ledger.confirmation_not_sent(email) {
            self.office.notes.tell(&format!("{e}"));
        }
    }
}
