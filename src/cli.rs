//! The command line, as clap derive types. Kept in the library so that
//! `herald completions` and the tests see the same definition as the binary.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Feeds and newsletters from a folder of dated Markdown posts.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about, long_about = None)]
pub struct Cli {
    /// Run as if started in DIR (the site root).
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,

    /// The configuration file [default: config/herald.toml under the site root].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print only errors.
    #[arg(short, long, global = true)]
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
    Init(InitArgs),
    /// Create posts/YYYY-MM-DD-title.md with front matter, dated today.
    New(NewArgs),
    /// Write the Atom, RSS and JSON feeds into the feeds folder (public/).
    Build(BuildArgs),
    /// Read every post and report every problem, writing nothing.
    Check(BuildArgs),
    /// Write a post's email as .html, .txt and .eml to look at before sending.
    Preview(PreviewArgs),
    /// Email new posts to every active subscriber, once each.
    Send(SendArgs),
    /// Show, per post, how many emails were sent, are pending or failed.
    Status,
    /// Manage the subscriber list.
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
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
    /// The post's title.
    pub title: String,
    /// Tags for the post.
    #[arg(long, short, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Mark the post as a draft (left out of feeds and email).
    #[arg(long)]
    pub draft: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build from the posts that can be read when some cannot (they are listed).
    #[arg(long)]
    pub keep_going: bool,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The post (slug or file name) [default: the newest].
    pub post: Option<String>,
    /// Where to write the files.
    #[arg(long, short, default_value = "preview", value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Print who would get which post; send nothing, record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Send a test copy of the newest (or --post) post to ADDRESS only; the ledger is left alone.
    #[arg(long, value_name = "ADDRESS")]
    pub to: Option<String>,
    /// Send every new post, even when that is more than one (first run on an archive).
    #[arg(long)]
    pub all: bool,
    /// Send only this post (slug or file name).
    #[arg(long, value_name = "SLUG")]
    pub post: Option<String>,
    /// Record every current post as sent without mailing (adopting an old blog).
    #[arg(long)]
    pub mark_sent: bool,
    /// Also send deliveries left "unknown" by a crash (may reach someone twice).
    #[arg(long)]
    pub resend_unknown: bool,
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Add a subscriber.
    Add {
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Unsubscribe an address: never mailed again, delivery history kept, and
    /// a later import cannot bring it back.
    Remove {
        email: String,
        /// Delete the address and its delivery history instead (a reader asked to be forgotten).
        #[arg(long)]
        forget: bool,
    },
    /// List subscribers.
    List {
        /// Only those with this status (active, unsubscribed, bounced).
        #[arg(long)]
        status: Option<String>,
    },
    /// Import a CSV export (Mailchimp, Buttondown, Substack; the email column is found by name).
    Import { file: PathBuf },
    /// Write every subscriber as CSV to standard output, or to FILE.
    Export { file: Option<PathBuf> },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}
