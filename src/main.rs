//! The `herald` binary: parse arguments, run the command (`cmd/`, one file
//! per command), print the error if any, and exit with the status
//! `Error::exit_code` gives.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

use herald::Error;
use herald::cli::Cli;
use herald::terminal::escape_lines;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cmd::execute(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Error::Posts { warnings, .. } = &e {
                cmd::warn(&cli, warnings);
            }
            eprintln!("error: {}", escape_lines(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}
