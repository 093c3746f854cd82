//! `herald subscribers add|remove|list|import|export`: the ledger only,
//! never the posts.

use std::io::{self, IsTerminal, Write};

use herald::cli::{Cli, SubscribersCommand};
use herald::ledger::{Ledger, SubscriberStatus};
use herald::terminal::{escape, escape_lines};
use herald::{Error, subscribers};

use super::out::Stdout;
use super::{load_config, out, say, warn};

pub fn execute(cli: &Cli, command: &SubscribersCommand) -> Result<(), Error> {
    let (root, config) = load_config(cli)?;
    let path = root.join(&config.email.state);
    match command {
        SubscribersCommand::Add { email, name, force } => {
            let ledger = Ledger::open(&path)?;
            say(
                cli,
                &subscribers::add(&ledger, email, name.as_deref(), *force)?,
            )
        }
        SubscribersCommand::Remove { who, forget } => {
            let ledger = Ledger::open(&path)?;
            let email = subscribers::find(&ledger, who)?.email;
            let said = if *forget {
                ledger.forget_subscriber(&email)?;
                format!("forgot {email} and its delivery history")
            } else {
                match ledger.remove_subscriber(&email)? {
                    SubscriberStatus::Unsubscribed => format!("{email} was already unsubscribed"),
                    was => format!("unsubscribed {email} (was {was})"),
                }
            };
            say(cli, &said)
        }
        SubscribersCommand::List { who, status } => {
            let ledger = Ledger::open_read_only(&path)?;
            let listed = match who {
                Some(who) => vec![subscribers::find(&ledger, who)?],
                None => ledger.subscribers(status.map(SubscriberStatus::from))?,
            };
            for s in listed {
                let name = s.name.clone().unwrap_or_default();
                let why = subscribers::why_off(&ledger, &s)?
                    .map(|why| format!("\t{}", escape(&why)))
                    .unwrap_or_default();
                out(&format_args!(
                    "{}\t{}\t{}\t{}{why}",
                    escape(&s.email),
                    escape(&name),
                    s.status,
                    escape(&s.created)
                ))?;
            }
            Ok(())
        }
        SubscribersCommand::Import { file } => {
            let mut ledger = Ledger::open(&path)?;
            let report = subscribers::import_csv(&mut ledger, &root.join(file), file)?;
            warn(cli, &report.problems);
            say(cli, &report)
        }
        SubscribersCommand::Export { file: Some(file) } => {
            let ledger = Ledger::open_read_only(&path)?;
            let out = herald::private::options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(root.join(file))?;
            let count = subscribers::export_csv(&ledger, io::BufWriter::new(out))?;
            say(
                cli,
                &format!("wrote {count} subscribers to {}", file.display()),
            )
        }
        SubscribersCommand::Export { file: None } => {
            let ledger = Ledger::open_read_only(&path)?;
            if io::stdout().is_terminal() {
                // For eyes, not a file: the CSV with its control characters shown.
                let mut csv = Vec::new();
                subscribers::export_csv(&ledger, &mut csv)?;
                write!(Stdout, "{}", escape_lines(&String::from_utf8_lossy(&csv)))?;
            } else {
                subscribers::export_csv(&ledger, Stdout)?;
            }
            Ok(())
        }
    }
}
