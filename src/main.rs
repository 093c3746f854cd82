//! The `herald` binary: parse arguments, call the library, print, exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use clap::{CommandFactory, Parser};

use herald::cli::{Cli, Command, SubscribersCommand};
use herald::config::{self, Config};
use herald::deliver;
use herald::email::{self, preview};
use herald::ledger::{Ledger, SubscriberStatus};
use herald::{Error, LoadOptions, Problem, Site, build, jekyll, scaffold, status, subscribers};

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
            if let Some(blog) = &args.from_jekyll {
                let imported = jekyll::init(&dir, blog, args.force)?;
                warn(cli, &imported.warnings);
                say(&format!("created {}", imported.config.display()));
                say("next: check site.url in it, then run `herald build`");
                return Ok(());
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
        Command::Send(args) => {
            let site = load(cli, &root, false)?;
            let options = deliver::Options {
                dry_run: args.dry_run,
                to: args.to.clone(),
                all: args.all,
                post: args.post.clone(),
                mark_sent: args.mark_sent,
                resend_unknown: args.resend_unknown,
                progress: !cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let report = deliver::send(&site, &options)?;
            // The summary goes out even with -q when something needs attention.
            if !cli.quiet || !report.ok() {
                println!("{report}");
            }
            if !report.ok() {
                return Err(Error::Message(
                    "some emails were not delivered (listed above)".into(),
                ));
            }
        }
        Command::Status => {
            let site = load(cli, &root, false)?;
            let ledger = Ledger::open(&site.path(&site.config.email.state))?;
            say(status::report(&site, &ledger)?.to_string().trim_end());
        }
        Command::Subscribers(command) => subscribers_command(cli, &root, command)?,
    }
    Ok(())
}

fn subscribers_command(cli: &Cli, root: &Path, command: &SubscribersCommand) -> Result<(), Error> {
    let config_path = root.join(
        cli.config
            .as_deref()
            .unwrap_or(Path::new(config::DEFAULT_PATH)),
    );
    let config = Config::load(
        &config_path,
        cli.config
            .as_deref()
            .unwrap_or(Path::new(config::DEFAULT_PATH)),
    )?;
    let mut ledger = Ledger::open(&root.join(&config.email.state))?;
    match command {
        SubscribersCommand::Add { email, name } => {
            let added = subscribers::add(&ledger, email, name.as_deref())?;
            if !cli.quiet {
                println!("{added}");
            }
        }
        SubscribersCommand::Remove { email, forget } => {
            let email = subscribers::normalise(email).map_err(Error::Usage)?;
            let said = if *forget {
                ledger.forget_subscriber(&email)?;
                format!("forgot {email} and its delivery history")
            } else {
                match ledger.remove_subscriber(&email)? {
                    SubscriberStatus::Unsubscribed => format!("{email} was already unsubscribed"),
                    was => format!("unsubscribed {email} (was {was})"),
                }
            };
            if !cli.quiet {
                println!("{said}");
            }
        }
        SubscribersCommand::List { status } => {
            let status = status.as_deref().map(str::parse).transpose()?;
            for s in ledger.subscribers(status)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    s.email,
                    s.name.unwrap_or_default(),
                    s.status,
                    s.created
                );
            }
        }
        SubscribersCommand::Import { file } => {
            let report = subscribers::import_csv(&mut ledger, &root.join(file), file)?;
            warn(cli, &report.problems);
            if !cli.quiet {
                println!("{report}");
            }
        }
        SubscribersCommand::Export { file: Some(file) } => {
            let out = fs_err::File::create(root.join(file))?;
            let count = subscribers::export_csv(&ledger, std::io::BufWriter::new(out))?;
            if !cli.quiet {
                println!("wrote {count} subscribers to {}", file.display());
            }
        }
        SubscribersCommand::Export { file: None } => {
            subscribers::export_csv(&ledger, std::io::stdout().lock())?;
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
