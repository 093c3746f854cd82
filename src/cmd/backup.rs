//! `herald backup [FILE]`.

use std::path::Path;

use chrono::Utc;
use herald::Error;
use herald::cli::Cli;
use herald::ledger::Ledger;

use super::{load_config, say};

pub fn execute(cli: &Cli, file: Option<&Path>) -> Result<(), Error> {
    let (root, config) = load_config(cli)?;
    let path = root.join(&config.email.state);
    let ledger = Ledger::open_read_only(&path)?;
    let to = match file {
        Some(file) => root.join(file),
        None => {
            let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
            path.with_file_name("backups")
                .join(format!("herald-{stamp}.db"))
        }
    };
    ledger.backup(&to)?;
    say(
        cli,
        &format!(
            "wrote {} (to restore it, see README, \"Backups\")",
            to.display()
        ),
    )
}
