//! The `herald` binary: parse arguments, call the library, print, exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use clap::{CommandFactory, Parser};

use herald::cli::{Cli, Command};
use herald::email::{self, preview};
use herald::{Error, LoadOptions, Problem, Site, build, scaffold};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Error::Posts { warnings, .. } = &e {
                warn(&cli, warnings);
            }
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), Error> {
    let root = cli.directory.clone().unwrap_or_else(|| PathBuf::from("."));
    let say = |text: &str| {
        if !cli.quiet {
            println!("{text}");
        }
    };
    match &cli.command {
        Command::Init(args) => {
            let dir = args.dir.as_ref().map_or(root.clone(), |d| root.join(d));
            if args.from_jekyll.is_some() {
                return Err(Error::Message("init --from-jekyll is not built yet".into()));
            }
            let written = scaffold::init(&dir, args.force, Utc::now())?;
            for path in written {
                say(&format!("created {}", dir.join(path).display()));
            }
            say("next: edit config/herald.toml (site.url), then run `herald build`");
        }
        Command::New(args) => {
            let site = load(cli, &root, false)?;
            let path = scaffold::new_post(
                &root,
                &site.config,
                &args.title,
                &args.tags,
                args.draft,
                Utc::now(),
            )?;
            say(&format!("created {}", root.join(path).display()));
        }
        Command::Build(args) | Command::Check(args) => {
            let write = matches!(cli.command, Command::Build(_));
            let site = load(cli, &root, args.keep_going)?;
            let report = build::run(
                &site,
                build::Options {
                    write,
                    keep_going: args.keep_going,
                },
            )?;
            warn(cli, &report.warnings);
            say(&report.to_string());
        }
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "herald",
                &mut std::io::stdout(),
            );
        }
        Command::Preview(args) => {
            let site = load(cli, &root, false)?;
            let kit = email::Kit::new(&site)?;
            let post = preview::choose(&site.posts, args.post.as_deref(), |n| site.find_post(n))?;
            let preview = preview::write(&kit, post, &root.join(&args.out))?;
            for warning in &preview.warnings {
                eprintln!("warning: {warning}");
            }
            for file in &preview.files {
                say(&format!("wrote {}", file.display()));
            }
            say(&format!(
                "subject: {}\nHTML {} KB, message {} KB",
                preview.subject,
                preview.html_bytes.div_ceil(1024),
                preview.message_bytes.div_ceil(1024)
            ));
        }
        Command::Send(_) | Command::Status | Command::Subscribers(_) => {
            return Err(Error::Message("this command is not built yet".into()));
        }
    }
    Ok(())
}

/// Loads the site and prints its warnings (skipped files, broken posts under --keep-going).
fn load(cli: &Cli, root: &Path, keep_going: bool) -> Result<Site, Error> {
    let options = LoadOptions {
        keep_going,
        ..LoadOptions::default()
    };
    let site = Site::load(root, cli.config.as_deref(), &options)?;
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

fn warn(cli: &Cli, warnings: &[Problem]) {
    if !cli.quiet {
        for warning in warnings {
            eprintln!("warning: {warning}");
        }
    }
}
