//! `herald init [DIR]` and `herald init --from-jekyll BLOG`.

use std::path::PathBuf;

use chrono::Utc;
use herald::cli::{Cli, InitArgs};
use herald::{Error, jekyll, scaffold};

use super::{say, warn};

pub fn execute(cli: &Cli, args: &InitArgs) -> Result<(), Error> {
    // No search in parent folders: init makes the site where it is told.
    let root = cli.directory.clone().unwrap_or_else(|| PathBuf::from("."));
    let dir = args.dir.as_ref().map_or(root.clone(), |d| root.join(d));
    if let Some(blog) = &args.from_jekyll {
        let imported = jekyll::init(&dir, blog, args.force)?;
        warn(cli, &imported.warnings);
        for note in &imported.notes {
            say(cli, note)?;
        }
        say(cli, &format!("created {}", imported.config.display()))?;
        return say(cli, &"next: check site.url in it, then run `herald build`");
    }
    for file in scaffold::init(&dir, args.force, Utc::now())? {
        say(cli, &file.describe(&dir))?;
    }
    say(
        cli,
        &"next: edit config/herald.toml (site.url), then run `herald build`",
    )
}
