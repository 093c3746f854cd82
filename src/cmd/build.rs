//! `herald build` and `herald check`.

use herald::Error;
use herald::build;
use herald::cli::{BuildArgs, Cli};

use super::{load, say, warn};

pub fn build(cli: &Cli, args: &BuildArgs) -> Result<(), Error> {
    let site = load(cli, args.keep_going)?;
    warn(cli, &site.problems);
    let options = build::Options::new(args.keep_going, !args.no_cache);
    let report = build::run(&site, options)?;
    warn(cli, &report.warnings);
    say(cli, &report)
}

/// Loads with `keep_going`, so that broken front matter is reported
/// together with everything else `build::check` finds.
pub fn check(cli: &Cli) -> Result<(), Error> {
    let report = build::check(&load(cli, true)?)?;
    warn(cli, &report.warnings);
    say(cli, &report)
}
