//! `herald send`: its summary, and the exit status a scheduler acts on.

use std::io::{self, IsTerminal};

use herald::cli::{Cli, SendArgs};
use herald::{Error, deliver};

use super::{load, out};

pub fn execute(cli: &Cli, args: &SendArgs) -> Result<(), Error> {
    let site = load(cli, false)?;
    let options = deliver::Options {
        dry_run: args.dry_run,
        to: args.to.clone(),
        all: args.all,
        post: args.post.clone(),
        mark_sent: args.mark_sent,
        resend_unknown: args.resend_unknown,
        progress: !cli.quiet && io::stderr().is_terminal(),
        notes: if cli.quiet {
            deliver::Notes::default()
        } else {
            deliver::Notes::new(|text| eprintln!("{}", herald::terminal::escape_lines(text)))
        },
    };
    let report = deliver::send(&site, &options)?;
    // The summary goes out even with -q when something needs attention.
    if !cli.quiet || !report.ok() {
        out(&report)?;
    }
    if report.interrupted() {
        return Err(Error::Interrupted(
            "interrupted: the send stopped early (summary above); `herald send` sends the rest"
                .into(),
        ));
    }
    if !report.ok() {
        return Err(Error::DeliveriesFailed(
            "some emails were not delivered (listed above)".into(),
        ));
    }
    Ok(())
}
