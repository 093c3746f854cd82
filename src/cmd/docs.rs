//! `herald completions SHELL` and `herald man`: herald describing itself,
//! from the same clap definition the binary parses with.

use clap::CommandFactory;
use herald::Error;
use herald::cli::{Cli, CompletionsArgs, ManArgs};

use super::out::Stdout;

pub fn completions(args: &CompletionsArgs) -> Result<(), Error> {
    clap_complete::generate(args.shell, &mut Cli::command(), "herald", &mut Stdout);
    Ok(())
}

/// herald.1 on standard output, or every page into a folder.
pub fn man(args: &ManArgs) -> Result<(), Error> {
    match &args.out {
        Some(dir) => {
            fs_err::create_dir_all(dir)?;
            clap_mangen::generate_to(Cli::command(), dir)?;
        }
        None => clap_mangen::Man::new(Cli::command()).render(&mut Stdout)?,
    }
    Ok(())
}
