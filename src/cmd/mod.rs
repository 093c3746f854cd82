//! One file per command, as mdBook does: each takes the parsed arguments,
//! calls the library and prints. What they share is here: finding the site,
//! loading it, and printing warnings.

mod backup;
mod bounces;
mod build;
mod dkim;
mod docs;
mod forget;
mod init;
mod new;
mod out;
mod preview;
mod send;
mod serve;
mod status;
mod subscribers;

use std::fmt::Display;
use std::path::{Path, PathBuf};

use herald::cli::{Cli, Command};
use herald::config::{self, Config};
use herald::terminal::escape_lines;
use herald::{Error, LoadOptions, Problem, Site};

pub use out::out;

pub fn execute(cli: &Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Init(args) => init::execute(cli, args),
        Command::New(args) => new::execute(cli, args),
        Command::Build(args) => build::build(cli, args),
        Command::Check => build::check(cli),
        Command::Preview(args) => preview::execute(cli, args),
        Command::Send(args) => send::execute(cli, args),
        Command::Status => status::execute(cli),
        Command::Forget(args) => forget::execute(cli, args),
        Command::Subscribers(command) => subscribers::execute(cli, command),
        Command::Serve(args) => serve::execute(cli, args),
        Command::Bounces(args) => bounces::execute(cli, args),
        Command::Dkim(command) => dkim::execute(cli, command),
        Command::Backup { file } => backup::execute(cli, file.as_deref()),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    }
}

/// Prints `text` unless `-q`.
fn say(cli: &Cli, text: &dyn Display) -> Result<(), Error> {
    if cli.quiet { Ok(()) } else { out(text) }
}

/// Prints warnings to standard error unless `-q`.
pub fn warn(cli: &Cli, warnings: &[Problem]) {
    if !cli.quiet {
        for warning in warnings {
            eprintln!("warning: {}", escape_lines(&warning.to_string()));
        }
    }
}

/// The site root (`-C DIR`, else the nearest folder up from here with a
/// configuration) and its configuration, without reading any post.
fn load_config(cli: &Cli) -> Result<(PathBuf, Config), Error> {
    let root = site_root(cli)?;
    let relative = cli
        .config
        .as_deref()
        .unwrap_or(Path::new(config::DEFAULT_PATH));
    let config = Config::load(&root.join(relative), relative)?;
    Ok((root, config))
}

fn site_root(cli: &Cli) -> Result<PathBuf, Error> {
    let start = cli.directory.clone().unwrap_or_else(|| PathBuf::from("."));
    if !start.is_dir() {
        return Err(Error::Usage(format!(
            "-C {}: no such folder",
            start.display()
        )));
    }
    if cli.config.is_some() {
        return Ok(start);
    }
    Ok(Site::find_root(&start).unwrap_or(start))
}

/// Loads the site and prints its warnings (skipped files; broken posts
/// under `keep_going` are in `site.problems`, for the command to judge).
fn load(cli: &Cli, keep_going: bool) -> Result<Site, Error> {
    let options = LoadOptions {
        keep_going,
        ..LoadOptions::default()
    };
    let site = Site::load(&site_root(cli)?, cli.config.as_deref(), &options)?;
    warn(cli, &site.warnings);
    if cli.verbose {
        eprintln!(
            "{} published posts ({} drafts, {} scheduled for later)",
            site.posts.len(),
            site.drafts,
            site.future
        );
    }
    Ok(site)
}
