//! `herald status`.

use herald::cli::Cli;
use herald::ledger::Ledger;
use herald::{Error, status};

use super::{load, say};

pub fn execute(cli: &Cli) -> Result<(), Error> {
    let site = load(cli, false)?;
    let ledger = Ledger::open_read_only(&site.path(&site.config.email.state))?;
    say(cli, &status::report(&site, &ledger)?.to_string().trim_end())
}
