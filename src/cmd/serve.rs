//! `herald serve`: the first line of standard output names the address it
//! listens on (so a script or test that asked for port 0 learns it), then
//! notes go to standard error until a signal stops it.

use std::io::Write;

use herald::cli::{Cli, ServeArgs};
use herald::deliver::Notes;
use herald::terminal::escape_lines;
use herald::{Error, Site, serve};

use super::out::{self, out};
use super::site_root;

pub fn execute(cli: &Cli, args: &ServeArgs) -> Result<(), Error> {
    let site = Site::without_posts(&site_root(cli)?, cli.config.as_deref())?;
    if args.form {
        return out(&serve::form_snippet(&site)?);
    }
    let listen = args.listen.unwrap_or(site.config.serve.listen);
    let notes = if cli.quiet {
        Notes::default()
    } else {
        Notes::new(|text| eprintln!("herald serve: {}", escape_lines(text)))
    };
    serve::run(&site, listen, notes, |address| {
        out(&format!("listening on http://{address}"))?;
        Ok(out::Stdout.flush()?)
    })
}
