//! `herald preview [POST]`.

use herald::Error;
use herald::cli::{Cli, PreviewArgs};
use herald::email::{self, preview};
use herald::terminal::escape_lines;

use super::{load, say};

pub fn execute(cli: &Cli, args: &PreviewArgs) -> Result<(), Error> {
    let site = load(cli, false)?;
    let kit = email::Kit::new(&site)?;
    let post = preview::choose(&site.posts, args.post.as_deref(), |n| site.find_post(n))?;
    let preview = preview::write(&kit, post, &site.root.join(&args.out))?;
    for warning in &preview.warnings {
        eprintln!("warning: {}", escape_lines(&warning.to_string()));
    }
    for file in &preview.files {
        say(cli, &format!("wrote {}", file.display()))?;
    }
    say(
        cli,
        &format!(
            "subject: {}\nHTML {} KB, message {} KB",
            preview.subject,
            preview.html_bytes.div_ceil(1024),
            preview.message_bytes.div_ceil(1024)
        ),
    )
}
