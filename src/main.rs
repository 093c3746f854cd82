//! The `herald` binary: parse arguments, call the library, print, exit with
//! the status `Error::exit_code` gives.

use std::fmt::Display;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use clap::{CommandFactory, Parser};

use herald::cli::{Cli, Command, ManArgs, SubscribersCommand};
use herald::config::{self, Config};
use herald::deliver;
use herald::email::{self, preview};
use herald::ledger::{Ledger, SubscriberStatus};
use herald::terminal::{escape, escape_lines};
use herald::{Error, LoadOptions, Problem, Site, build, jekyll, scaffold, status, subscribers};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Error::Posts { warnings, .. } = &e {
                warn(&cli, warnings);
            }
            eprintln!("error: {}", escape_lines(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: &Cli) -> Result<(), Error> {
    let say = |text: &dyn Display| if cli.quiet { Ok(()) } else { out(text) };
    match &cli.command {
        Command::Init(args) => {
            let root = cli.directory.clone().unwrap_or_else(|| PathBuf::from("."));
            let dir = args.dir.as_ref().map_or(root.clone(), |d| root.join(d));
            if let Some(blog) = &args.from_jekyll {
                let imported = jekyll::init(&dir, blog, args.force)?;
                warn(cli, &imported.warnings);
                say(&format!("created {}", imported.config.display()))?;
                return say(&"next: check site.url in it, then run `herald build`");
            }
            for file in scaffold::init(&dir, args.force, Utc::now())? {
                say(&file.describe(&dir))?;
            }
            say(&"next: edit config/herald.toml (site.url), then run `herald build`")?;
        }
        Command::New(args) => {
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
            say(&format!("created {}", root.join(path).display()))?;
        }
        Command::Build(args) => {
            let site = load(cli, args.keep_going)?;
            warn(cli, &site.problems);
            let options = build::Options {
                write: true,
                keep_going: args.keep_going,
            };
            let report = build::run(&site, options)?;
            warn(cli, &report.warnings);
            say(&report)?;
        }
        Command::Check => {
            let report = build::check(&load(cli, true)?)?;
            warn(cli, &report.warnings);
            say(&report)?;
        }
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "herald", &mut Stdout);
        }
        Command::Man(args) => man(args)?,
        Command::Preview(args) => {
            let site = load(cli, false)?;
            let kit = email::Kit::new(&site)?;
            let post = preview::choose(&site.posts, args.post.as_deref(), |n| site.find_post(n))?;
            let preview = preview::write(&kit, post, &site.root.join(&args.out))?;
            for warning in &preview.warnings {
                eprintln!("warning: {}", escape_lines(&warning.to_string()));
            }
            for file in &preview.files {
                say(&format!("wrote {}", file.display()))?;
            }
            say(&format!(
                "subject: {}\nHTML {} KB, message {} KB",
                preview.subject,
                preview.html_bytes.div_ceil(1024),
                preview.message_bytes.div_ceil(1024)
            ))?;
        }
        Command::Send(args) => {
            let site = load(cli, false)?;
            let options = deliver::Options {
                dry_run: args.dry_run,
                to: args.to.clone(),
                all: args.all,
                post: args.post.clone(),
                mark_sent: args.mark_sent,
                resend_unknown: args.resend_unknown,
                progress: !cli.quiet && io::IsTerminal::is_terminal(&io::stderr()),
                notes: if cli.quiet {
                    deliver::Notes::default()
                } else {
                    deliver::Notes::new(|text| eprintln!("{text}"))
                },
            };
            let report = deliver::send(&site, &options)?;
            // The summary goes out even with -q when something needs attention.
            if !cli.quiet || !report.ok() {
                out(&report)?;
            }
            if report.interrupted() {
                return Err(Error::Interrupted(
                    "interrupted: the send stopped early (summary above); `herald send` sends the rest".into(),
                ));
            }
            if !report.ok() {
                return Err(Error::DeliveriesFailed(
                    "some emails were not delivered (listed above)".into(),
                ));
            }
        }
        Command::Status => {
            let site = load(cli, false)?;
            let ledger = Ledger::open_read_only(&site.path(&site.config.email.state))?;
            say(&status::report(&site, &ledger)?.to_string().trim_end())?;
        }
        Command::Forget(args) => {
            let site = load(cli, false)?;
            let mut ledger = Ledger::open(&site.path(&site.config.email.state))?;
            let forget = deliver::forget::Forget::new(&site, &ledger, &args.post, &args.addresses)?;
            if forget.rows() == 0 {
                say(&"nothing to forget: no delivery of that post is recorded")?;
            } else if args.yes || confirm(&forget.question())? {
                say(&forget.apply(&mut ledger)?)?;
            } else {
                say(&"nothing was forgotten")?;
            }
        }
        Command::Subscribers(command) => subscribers_command(cli, command)?,
        Command::Backup { file } => {
            let to = backup(cli, file.as_deref())?;
            say(&format!(
                "wrote {} (to restore it, see README, \"Backups\")",
                to.display()
            ))?;
        }
    }
    Ok(())
}

fn subscribers_command(cli: &Cli, command: &SubscribersCommand) -> Result<(), Error> {
    let say = |text: &dyn Display| if cli.quiet { Ok(()) } else { out(text) };
    let (root, config) = load_config(cli)?;
    let path = root.join(&config.email.state);
    match command {
        SubscribersCommand::Add { email, name } => {
            let ledger = Ledger::open(&path)?;
            say(&subscribers::add(&ledger, email, name.as_deref())?)?;
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
            say(&said)?;
        }
        SubscribersCommand::List { who, status } => {
            let ledger = Ledger::open_read_only(&path)?;
            let listed = match who {
                Some(who) => vec![subscribers::find(&ledger, who)?],
                None => ledger.subscribers(status.map(SubscriberStatus::from))?,
            };
            for s in listed {
                let name = s.name.unwrap_or_default();
                out(&format_args!(
                    "{}\t{}\t{}\t{}",
                    escape(&s.email),
                    escape(&name),
                    s.status,
                    escape(&s.created)
                ))?;
            }
        }
        SubscribersCommand::Import { file } => {
            let mut ledger = Ledger::open(&path)?;
            let report = subscribers::import_csv(&mut ledger, &root.join(file), file)?;
            warn(cli, &report.problems);
            say(&report)?;
        }
        SubscribersCommand::Export { file: Some(file) } => {
            let ledger = Ledger::open_read_only(&path)?;
            let out = herald::private::options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(root.join(file))?;
            let count = subscribers::export_csv(&ledger, io::BufWriter::new(out))?;
            say(&format!("wrote {count} subscribers to {}", file.display()))?;
        }
        SubscribersCommand::Export { file: None } => {
            let ledger = Ledger::open_read_only(&path)?;
            if io::IsTerminal::is_terminal(&io::stdout()) {
                // For eyes, not a file: the CSV with its control characters shown.
                let mut csv = Vec::new();
                subscribers::export_csv(&ledger, &mut csv)?;
                write!(Stdout, "{}", escape_lines(&String::from_utf8_lossy(&csv)))?;
            } else {
                subscribers::export_csv(&ledger, Stdout)?;
            }
        }
    }
    Ok(())
}

/// Asks a yes/no question on the terminal; without one, `--yes` is the only way.
fn confirm(question: &str) -> Result<bool, Error> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "{question}\nNo terminal to ask on: pass --yes to confirm."
        )));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// `herald backup [FILE]`: returns where the copy went.
fn backup(cli: &Cli, file: Option<&Path>) -> Result<PathBuf, Error> {
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
    Ok(to)
}

/// `herald man`: herald.1 on standard output, or every page into a folder.
fn man(args: &ManArgs) -> Result<(), Error> {
    match &args.out {
        Some(dir) => {
            fs_err::create_dir_all(dir)?;
            clap_mangen::generate_to(Cli::command(), dir)?;
        }
        None => clap_mangen::Man::new(Cli::command()).render(&mut Stdout)?,
    }
    Ok(())
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

/// Loads the site and prints its warnings (skipped files, and broken posts
/// when `keep_going`).
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

fn warn(cli: &Cli, warnings: &[Problem]) {
    if !cli.quiet {
        for warning in warnings {
            eprintln!("warning: {}", escape_lines(&warning.to_string()));
        }
    }
}

/// Prints to standard output, control characters escaped: names, addresses
/// and server replies come from other people.
fn out(text: &dyn Display) -> Result<(), Error> {
    Ok(writeln!(Stdout, "{}", escape_lines(&text.to_string()))?)
}

/// Set once standard output's reader has gone away.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output that goes quiet once its reader has gone, as in
/// `herald subscribers list | head -1`. Rust ignores SIGPIPE, so `println!`
/// would panic there; instead the rest of the output is dropped and the
/// command ends as it would have, with its own exit status.
struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        quiet_if_closed(io::stdout().write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        quiet_if_closed(io::stdout().flush(), ())
    }
}

fn quiet_if_closed<T>(result: io::Result<T>, done: T) -> io::Result<T> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(done)
        }
        other => other,
    }
}
