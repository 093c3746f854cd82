//! The command line, as clap derive types. Kept in the library so that
//! `herald completions`, `herald man` and the tests see the same definition
//! as the binary.
//!
//! Every argument has help text (a test walks them all), flags that make no
//! sense together conflict, and closed sets of values are enums, so a typo
//! is a usage error (exit status 2) before anything is read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_STATUS_HELP;
use crate::ledger::SubscriberStatus;

const EXAMPLES: &str = "\
Examples:
  herald init                      a new site in this folder
  herald new \"Hello, world\" --tags rust,feeds
  herald check                     every problem at once, nothing written
  herald build                     feeds into public/
  herald send --dry-run            who would get which post
  herald -C ~/blog send            run against another site
  herald subscribers list | head -1";

/// Feeds and newsletters from a folder of dated Markdown posts.
///
/// herald finds its configuration, config/herald.toml, in the current folder
/// or the nearest parent that has one (as cargo and git do), unless -C or
/// --config says where.
#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about,
    after_help = format!("{EXAMPLES}\n\n{EXIT_STATUS_HELP}"),
)]
pub struct Cli {
    /// Run as if started in DIR (the site is DIR or the nearest parent with config/herald.toml).
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,

    /// The configuration file, relative to the site root [default: config/herald.toml].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more about what is done.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new site skeleton (config, a first post, templates, .gitignore).
    #[command(after_help = "\
Examples:
  herald init                      here
  herald init my-blog              in ./my-blog
  herald init --from-jekyll .      adopt the Jekyll blog in this folder")]
    Init(InitArgs),
    /// Create posts/YYYY-MM-DD-title.md with front matter, dated now.
    #[command(after_help = "\
Examples:
  herald new \"Release notes for 1.2\"
  herald new \"Work in progress\" --draft --tags rust,\"open source\"")]
    New(NewArgs),
    /// Write the Atom, RSS and JSON feeds into the feeds folder (public/).
    Build(BuildArgs),
    /// Read and render every post and the email templates; report every
    /// problem at once and write nothing.
    Check,
    /// Write a post's email as .html, .txt and .eml to look at before sending.
    Preview(PreviewArgs),
    /// Email new posts to every active subscriber, once each.
    #[command(after_help = "\
Examples:
  herald send --dry-run                     who would get which post
  herald send --to me@example.org           a test copy of the newest post
  herald send                               mail the new post
  herald send --post 2024-01-05-hello       mail that post (if never mailed)
  herald send --mark-sent                   adopt an archive: record all as sent")]
    Send(SendArgs),
    /// Show, per post, how many emails were sent, are pending or failed.
    Status,
    /// Forget that a post was mailed (to everyone, or to some addresses), so `herald send` mails it again.
    Forget(ForgetArgs),
    /// Manage the subscriber list.
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// Serve the signup, confirm and one-click unsubscribe pages (behind your reverse proxy).
    #[command(after_help = "\
Examples:
  herald serve                              on [serve] listen (127.0.0.1:8025)
  herald serve --listen 127.0.0.1:0         on a free port; the first line says which
  herald serve --form > _includes/subscribe.html

The first line printed is `listening on http://ADDRESS`. SIGINT or SIGTERM stops
it: open requests finish, queued confirmation mails get one try.")]
    Serve(ServeArgs),
    /// Read bounces and spam complaints from a Maildir or mbox and take the
    /// readers they name off the list; safe to run as often as wanted.
    #[command(after_help = "\
Examples:
  herald bounces ~/Maildir/.bounces        a Maildir (its cur/ and new/ are read)
  herald bounces /var/mail/bounces         an mbox file
  herald bounces --dry-run ~/Maildir       say what would change, change nothing

Hard bounces (no such user) mark the reader bounced at once; soft ones
(mailbox full) do after email.soft_bounce_limit consecutive posts; an abuse
report (spam button) unsubscribes. A message already counted is never
counted twice, so the same mailbox can be read again and again.")]
    Bounces(BouncesArgs),
    /// DKIM keys: `herald dkim keygen` makes one and prints its DNS record.
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// Copy the delivery ledger to a new file, safely while a send runs.
    #[command(after_help = "\
Examples:
  herald backup
  herald backup ~/backups/herald-$(date +%F).db")]
    Backup {
        /// Where to write (must not exist) [default: backups/herald-<UTC time>.db beside the ledger].
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  herald completions bash > ~/.local/share/bash-completion/completions/herald
  herald completions zsh > ~/.zfunc/_herald
  herald completions fish > ~/.config/fish/completions/herald.fish")]
    Completions(CompletionsArgs),
    /// Print herald's man page (roff), or write one page per command into DIR.
    #[command(
        hide = true,
        after_help = "\
Examples:
  herald man | man -l -
  herald man --out /usr/local/share/man/man1"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create the site [default: the current folder].
    pub dir: Option<PathBuf>,
    /// Read an existing Jekyll blog's _config.yml and point posts.dir at its _posts.
    #[arg(long, value_name = "JEKYLL_SITE")]
    pub from_jekyll: Option<PathBuf>,
    /// Overwrite an existing configuration file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The post's title (the file name's slug is made from it).
    pub title: String,
    /// Tags for the post, comma-separated: --tags rust,feeds.
    #[arg(long, short, value_delimiter = ',', value_parser = tag, value_name = "TAGS")]
    pub tags: Vec<String>,
    /// Mark the post as a draft (left out of feeds and email).
    #[arg(long)]
    pub draft: bool,
}

/// A tag from `--tags a, b`: spaces around it are not part of it.
fn tag(text: &str) -> Result<String, String> {
    let tag = text.trim();
    if tag.is_empty() {
        return Err("a tag cannot be empty (write --tags a,b)".into());
    }
    Ok(tag.to_string())
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build from the posts that can be read when some cannot (they are listed).
    #[arg(long)]
    pub keep_going: bool,
    /// Render every post, neither reading nor writing the render cache
    /// (`.herald/render-cache.db`, beside the ledger).
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The post (slug or file name) [default: the newest].
    pub post: Option<String>,
    /// Where to write the files, relative to the site root.
    #[arg(long, short, default_value = "preview", value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Print who would get which post; send nothing, record nothing.
    #[arg(long, conflicts_with = "mark_sent")]
    pub dry_run: bool,
    /// Send a test copy of the newest (or --post) post to ADDRESS only; the ledger is left alone.
    #[arg(
        long,
        value_name = "ADDRESS",
        conflicts_with_all = ["all", "mark_sent", "resend_unknown"]
    )]
    pub to: Option<String>,
    /// Send every new post, even when that is more than one (first run on an archive).
    #[arg(long, conflicts_with = "post")]
    pub all: bool,
    /// Send only this post (slug or file name).
    #[arg(long, value_name = "SLUG")]
    pub post: Option<String>,
    /// Record every current post as sent without mailing (adopting an old blog).
    #[arg(long, conflicts_with = "resend_unknown")]
    pub mark_sent: bool,
    /// Also send deliveries left "unknown" by a crash (may reach someone twice).
    #[arg(long)]
    pub resend_unknown: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen here instead of [serve] listen (port 0: a free port).
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// Print an HTML <form> to put on your blog's pages, and exit.
    #[arg(long, conflicts_with = "listen")]
    pub form: bool,
}

#[derive(Debug, Args)]
pub struct BouncesArgs {
    /// A Maildir folder (with cur/ and new/) or an mbox file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Say what would change; record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// List each message and what became of it.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Write a new DKIM private key (0600, never over an existing file) and
    /// print the DNS TXT record to publish.
    #[command(after_help = "\
Examples:
  herald dkim keygen                               RSA 2048, into email.dkim.key_file
  herald dkim keygen --algorithm ed25519 --selector herald2

Publish the printed record at SELECTOR._domainkey.DOMAIN, wait for it to be
visible (`dig +short TXT SELECTOR._domainkey.DOMAIN`), then add [email.dkim]
to config/herald.toml as printed.")]
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key's algorithm: rsa (2048 bits, verified everywhere) or ed25519 (RFC 8463, small; not every receiver checks it).
    #[arg(long, value_enum, default_value = "rsa")]
    pub algorithm: AlgorithmArg,
    /// The selector: the record goes at SELECTOR._domainkey.DOMAIN [default: email.dkim.selector, else herald1].
    #[arg(long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// The signing domain [default: email.dkim.domain, else the From address's domain].
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Where to write the key, relative to the site root [default: email.dkim.key_file, else .herald/dkim-SELECTOR.pem].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `dkim keygen --algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    /// RSA, 2048 bits.
    Rsa,
    /// Ed25519.
    Ed25519,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// The post: slug, file name, or the id `herald status` shows for a post no longer on the site.
    pub post: String,
    /// Forget only these subscribers' deliveries [default: everyone's].
    #[arg(value_name = "ADDRESS")]
    pub addresses: Vec<String>,
    /// Do not ask first (for scripts).
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Add a subscriber, or make an unsubscribed one active again.
    #[command(after_help = "\
Examples:
  herald subscribers add ada@example.org --name \"Ada Lovelace\"")]
    Add {
        /// The email address.
        #[arg(value_name = "EMAIL")]
        email: String,
        /// The subscriber's name, for the greeting ({{ subscriber.name }}).
        #[arg(long)]
        name: Option<String>,
        /// Add an address that bounced (its server said it does not exist) or complained anyway.
        #[arg(long)]
        force: bool,
    },
    /// Unsubscribe an address: never mailed again, delivery history kept, and
    /// a later import cannot bring it back.
    Remove {
        /// The address, or the subscriber's unsubscribe token (from `unsubscribe_url`).
        #[arg(value_name = "EMAIL|TOKEN")]
        who: String,
        /// Delete the address and its delivery history instead (a reader asked to be forgotten).
        #[arg(long)]
        forget: bool,
    },
    /// List subscribers, one per line: email, name, status, added, and for a
    /// bounced (or complaining) reader why and when (tab-separated).
    List {
        /// Only this one: an address, or an unsubscribe token.
        #[arg(value_name = "EMAIL|TOKEN")]
        who: Option<String>,
        /// Only those with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
    },
    /// Import a CSV export (Mailchimp, Buttondown, Substack; the email column is found by name).
    #[command(after_help = "\
Examples:
  herald subscribers import mailchimp-subscribed.csv
  herald subscribers import mailchimp-unsubscribed.csv")]
    Import {
        /// The CSV file, or a plain list of addresses, one per line.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Write every subscriber as CSV with every column (email,name,status,created,updated,active_since,token): `import` restores it.
    Export {
        /// Where to write [default: standard output].
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// `subscribers list --status`: the statuses a subscriber can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Mailed every new post.
    Active,
    /// Removed, or unsubscribed in an imported export.
    Unsubscribed,
    /// Their address does not take mail.
    Bounced,
    /// Signed up on the web, not confirmed yet (never mailed a post).
    Pending,
}

impl From<StatusArg> for SubscriberStatus {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::Active => SubscriberStatus::Active,
            StatusArg::Unsubscribed => SubscriberStatus::Unsubscribed,
            StatusArg::Bounced => SubscriberStatus::Bounced,
            StatusArg::Pending => SubscriberStatus::Pending,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write herald.1 and one page per command (herald-send.1, ...) into DIR
    /// instead of printing herald.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}
