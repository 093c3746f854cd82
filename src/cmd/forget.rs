//! `herald forget POST [ADDRESS...]`: asks first, unless `--yes`.

use std::io::{self, IsTerminal};

use herald::Error;
use herald::cli::{Cli, ForgetArgs};
use herald::deliver::forget::Forget;
use herald::ledger::Ledger;

use super::{load, say};

pub fn execute(cli: &Cli, args: &ForgetArgs) -> Result<(), Error> {
    let site = load(cli, false)?;
    let mut ledger = Ledger::open(&site.path(&site.config.email.state))?;
    let forget = Forget::new(&site, &ledger, &args.post, &args.addresses)?;
    if forget.rows() == 0 {
        say(
            cli,
            &"nothing to forget: no delivery of that post is recorded",
        )
    } else if args.yes || confirm(&forget.question())? {
        say(cli, &forget.apply(&mut ledger)?)
    } else {
        say(cli, &"nothing was forgotten")
    }
}

/// Asks a yes/no question on the terminal; without one, `--yes` is the only way.
fn confirm(question: &str) -> Result<bool, Error> {
    if !io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "{question}\nNo terminal to ask on: pass --yes to confirm."
        )));
    }
    eprint!("{} [y/N] ", herald::terminal::escape_lines(question));
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
