//! Standard output for a CLI that is piped into `head`: control characters
//! escaped, and a reader that went away is no error.

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use herald::Error;
use herald::terminal::escape_lines;

/// Prints a line to standard output, control characters escaped: names,
/// addresses and server replies come from other people.
pub fn out(text: &dyn Display) -> Result<(), Error> {
    Ok(writeln!(Stdout, "{}", escape_lines(&text.to_string()))?)
}

/// Set once standard output's reader has gone away.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output that goes quiet once its reader has gone, as in
/// `herald subscribers list | head -1`. Rust ignores SIGPIPE, so `println!`
/// would panic there; instead the rest of the output is dropped and the
/// command ends as it would have, with its own exit status.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        quiet_if_closed(io::stdout().write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        quiet_if_closed(io::stdout().flush(), ())
    }
}

fn quiet_if_closed<T>(result: io::Result<T>, done: T) -> io::Result<T> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(done)
        }
        other => other,
    }
}
