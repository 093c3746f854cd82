//! `herald dkim keygen`.

use herald::Error;
use herald::cli::{AlgorithmArg, Cli, DkimCommand};
use herald::dkim::{self, Algorithm, KeygenOptions};

use super::{load_config, out};

pub fn execute(cli: &Cli, command: &DkimCommand) -> Result<(), Error> {
    match command {
        DkimCommand::Keygen(args) => {
            let (root, config) = load_config(cli)?;
            let options = KeygenOptions {
                algorithm: match args.algorithm {
                    AlgorithmArg::Rsa => Algorithm::Rsa,
                    AlgorithmArg::Ed25519 => Algorithm::Ed25519,
                },
                selector: args.selector.clone(),
                domain: args.domain.clone(),
                out: args.out.clone(),
            };
            // Printed even with -q: the record is the point of the command.
            let generated = dkim::keygen_for_site(&root, &config, &options)?;
            out(&generated)
        }
    }
}
