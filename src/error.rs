//! The one error type of the library, and `Problem`: a located complaint
//! about a user's file.
//!
//! Every message here is printed once, by `main.rs`, as the user's message:
//! it names the file (and line, where one is known) and says what is wrong in
//! words the user can act on.

use std::fmt;
use std::path::{Path, PathBuf};

/// Something wrong (or worth a warning) at a place in a user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl AsRef<Path>, line: Option<usize>, message: impl Into<String>) -> Self {
        Problem {
            path: path.as_ref().to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub fn at(path: impl AsRef<Path>, line: usize, message: impl Into<String>) -> Self {
        Problem::new(path, Some(line), message)
    }

    pub fn file(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Problem::new(path, None, message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// A list of problems, shown one per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is missing, unreadable or wrong.
    #[error("{0}")]
    Config(Problem),

    /// One or more posts (or, for `check`, the email templates) are broken;
    /// all of them are listed. `warnings` (files that are not posts) are
    /// carried so they are not lost.
    #[error("{problems}\n{} problem(s); fix them, or build from the posts that can be read with `herald build --keep-going`", problems.0.len())]
    Posts {
        problems: Problems,
        warnings: Vec<Problem>,
    },

    /// A file could not be read or written (fs-err puts the path in the message).
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// A problem with a command's input that is not tied to a file.
    #[error("{0}")]
    Usage(String),

    /// Another `herald send` holds the ledger's send lock.
    #[error("{0}")]
    SendRunning(String),

    /// A send finished, but some emails were not delivered (the report
    /// lists them); a scheduler should alert rather than simply retry.
    #[error("{0}")]
    DeliveriesFailed(String),

    /// `send` was stopped by a signal; what it did is recorded and summarised.
    #[error("{0}")]
    Interrupted(String),

    /// Anything else that stops a command, already phrased for the user.
    #[error("{0}")]
    Message(String),
}

/// The exit status of every outcome, in one place: `main.rs` exits with
/// [`Error::exit_code`], and `herald --help` shows this text.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success (standard output closed early, as by `| head -1`, is no failure)
  1  failure: a broken post, configuration or template, an unreadable file
  2  usage error: a bad argument, an unknown post, a refused first send
  3  another `herald send` is running on the same ledger; try again later
  4  some emails were not delivered (listed in the report)
130  a send was interrupted (Ctrl-C, SIGTERM); what it did is recorded";

impl Error {
    /// The process exit status for this error; 0 is success.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::SendRunning(_) => 3,
            Error::DeliveriesFailed(_) => 4,
            // As a shell reports a process ended by SIGINT.
            Error::Interrupted(_) => 130,
            Error::Config(_) | Error::Posts { .. } | Error::Io(_) | Error::Message(_) => 1,
        }
    }

    pub fn config(path: impl AsRef<Path>, line: Option<usize>, message: impl Into<String>) -> Self {
        Error::Config(Problem::new(path, line, message))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
