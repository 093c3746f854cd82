//! `herald new "Title"`.

use chrono::Utc;
use herald::cli::{Cli, NewArgs};
use herald::{Error, scaffold};

use super::{load_config, say};

pub fn execute(cli: &Cli, args: &NewArgs) -> Result<(), Error> {
    // Only the configuration: a broken post must not stop a new one.
    let (root, config) = load_config(cli)?;
    let path = scaffold::new_post(
        &root,
        &config,
        &args.title,
        &args.tags,
        args.draft,
        Utc::now(),
    )?;
    say(cli, &format!("created {}", root.join(path).display()))
}
