//! `syncwatch repair`: the way out of a damaged app database. Sets it aside and rebuilds the
//! replica list from the replica files (see `engine::repair`); a database that opens is left alone.

use super::session::{data_dir, print_json};
use super::terminal::outln;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct RepairArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &RepairArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let report = crate::engine::repair(&data_dir(data_dir_flag)?)?;
    if args.json {
        print_json(&serde_json::to_value(&report)?)?;
        return Ok(super::exit::OK);
    }
    let Some(aside) = &report.set_aside else {
        outln!("the app database opens fine; nothing to repair");
        return Ok(super::exit::OK);
    };
    outln!("the damaged app database was moved to {}", aside.display());
    for name in &report.rebuilt {
        outln!("re-registered {name} (sign in again if its service needs a token)");
    }
    for (file, reason) in &report.unreadable {
        outln!(
            "could not read {} ({reason}); left as it is",
            file.display()
        );
    }
    Ok(super::exit::OK)
}
