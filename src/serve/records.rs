//! The ledger on a thread of its own, for the requests that read or change
//! it (confirm, unsubscribe, health). rusqlite is synchronous: a query on
//! the async runtime's threads would stall every other connection while it
//! waits for the disk or for `send`'s write lock, so the handlers send
//! closures here and await the answer.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::ledger::Ledger;

type Job = Box<dyn FnOnce(&mut Ledger) + Send>;

pub struct Records {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Records {
    /// Opens the ledger here (so a problem with it stops `serve` at once)
    /// and hands it to its thread.
    pub fn open(path: &Path) -> Result<Records> {
        let mut ledger = Ledger::open(path)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("herald-ledger".into())
            .spawn(move || {
                for job in queue {
                    job(&mut ledger);
                }
            })?;
        Ok(Records {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the ledger's thread and gives its result.
    pub async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Ledger) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |ledger| {
            let _ = answer.send(work(ledger));
        });
        let stopped = || Error::Message("the ledger's thread has stopped".into());
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

impl Drop for Records {
    /// Lets the thread finish the jobs it has, then waits for it.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
