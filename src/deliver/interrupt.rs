//! Ctrl-C (SIGINT), SIGTERM and SIGHUP during `send`: the first asks the
//! run to stop taking new messages, finish (or abandon, before their body)
//! the ones on the wire, record every outcome and summarise; a second one
//! exits at once, leaving whatever was on the wire unknown.
//!
//! The ctrlc crate (with its `termination` feature) runs the handler on a
//! thread of its own, so the handler may do anything, exit included.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The exit status of a process ended by SIGINT, by shell convention.
const EXIT_INTERRUPTED: i32 = 130;

static HALT: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static WATCHING: OnceLock<bool> = OnceLock::new();

/// Starts watching for the signals (once per process) and returns the flag
/// the first one sets. If no handler can be installed (another library
/// holds the signals), the flag simply never rises.
pub fn watch() -> &'static AtomicBool {
    WATCHING.get_or_init(|| ctrlc::set_handler(on_signal).is_ok());
    &HALT
}

fn on_signal() {
    if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
        eprintln!("herald: stopped at once; anything on the wire is left unknown");
        std::process::exit(EXIT_INTERRUPTED);
    }
    HALT.store(true, Ordering::SeqCst);
    eprintln!(
        "herald: stopping: no new messages; finishing the ones on the wire (again to quit at once)"
    );
}
