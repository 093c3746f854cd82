//! `herald bounces PATH`.

use herald::cli::{BouncesArgs, Cli};
use herald::terminal::escape;
use herald::{Error, bounce};

use super::{load, out, say};

pub fn execute(cli: &Cli, args: &BouncesArgs) -> Result<(), Error> {
    let site = load(cli, false)?;
    let options = bounce::Options {
        dry_run: args.dry_run,
    };
    let summary = bounce::read_mailbox(&site, &args.path, options)?;
    if args.list {
        for line in &summary.lines {
            out(&escape(line))?;
        }
    }
    say(cli, &herald::terminal::escape_lines(&summary.to_string()))
}
