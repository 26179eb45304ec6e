//! The command line: argument parsing (clap) and the headless subcommands. With no subcommand
//! the desktop window opens. Each subcommand drives the same library the GUI uses; errors are
//! printed once, here, with their cause chain.

mod codes;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Done, nothing refused.
    pub const OK: u8 = 0;
    /// Done, but the server refused some edits (CompletedWithErrors) or predicted failures exist.
    pub const EDITS_REFUSED: u8 = 1;
    /// Failed: the reason is printed on one line.
    pub const FAILED: u8 = 2;
    /// The replica needs a client reset.
    pub const RESET_REQUIRED: u8 = 3;
}

#[derive(Debug, Parser)]
#[command(
    name = "syncwatch",
    version,
    about = "Desktop sync monitor for ArcGIS feature-service replicas",
    after_help = "Exit codes: 0 success; 1 done but edits were refused; 2 failed; 3 the replica needs a client reset."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the error-code catalog with guidance for each code.
    Codes(codes::CodesArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(args: Args) -> ExitCode {
    let result = match args.command {
        Some(Command::Codes(a)) => codes::run(&a),
        None => crate::ui::run(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("syncwatch: {err:#}");
            ExitCode::from(exit::FAILED)
        }
    }
}
