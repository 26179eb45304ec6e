//! The command line: argument parsing (clap) and the headless subcommands. With no subcommand
//! the desktop window opens. Each subcommand drives the same library the GUI uses; errors are
//! printed once, here, with their cause chain.

mod accounts;
mod backups;
mod check;
mod codes;
mod conflicts;
mod create;
mod edit;
mod edit_batch;
pub mod gui;
mod inspect;
mod log;
mod login;
mod logout;
mod repair;
mod replicas;
mod reset;
mod resolve;
mod restore;
mod results;
mod serve;
mod service;
mod service_replicas;
mod session;
mod settings;
mod sync;
mod terminal;
mod unregister;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use terminal::errln;

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Done, nothing refused.
    pub const OK: u8 = 0;
    /// Done, but the server refused some edits (CompletedWithErrors), predicted failures exist,
    /// or conflicting edits are held.
    pub const EDITS_REFUSED: u8 = 1;
    /// Failed: the reason is printed on one line.
    pub const FAILED: u8 = 2;
    /// The replica needs a client reset.
    pub const RESET_REQUIRED: u8 = 3;
    /// A sign-in is needed: the service refused the token and nothing could renew it, or a
    /// `login` was refused (wrong password, unknown user, locked out).
    pub const SIGN_IN_NEEDED: u8 = 4;
}

#[derive(Debug, Parser)]
#[command(
    name = "syncwatch",
    version,
    about = "Desktop sync monitor for ArcGIS feature-service replicas",
    after_help = "Exit codes: 0 success; 1 done but edits were refused or held as conflicts (or, for check, are predicted to be); 2 failed; 3 the replica needs a client reset; 4 a sign-in is needed (or `login` was refused)."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Where syncwatch keeps its database and replica files (default: the platform data directory).
    #[arg(long, global = true, env = "SYNCWATCH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// A PEM certificate to trust besides the system's (e.g. a self-signed service's cert.pem).
    #[arg(long, global = true, env = "SYNCWATCH_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the error-code catalog with guidance for each code.
    Codes(codes::CodesArgs),
    /// List the replicas this laptop holds.
    Replicas(replicas::ReplicasArgs),
    /// Create a replica on a feature service and download it.
    Create(create::CreateArgs),
    /// Record a local add, update or delete for the next sync.
    Edit(edit::EditArgs),
    /// Synchronize a replica.
    Sync(sync::SyncArgs),
    /// List the queued edits the service's rules predict it will refuse (works offline).
    Check(check::CheckArgs),
    /// Show a replica's settings, or choose what syncs do with predicted refusals.
    Settings(settings::SettingsArgs),
    /// Client-reset a replica the server can no longer sync (backs up first).
    Reset(reset::ResetArgs),
    /// Show a replica's edit results.
    Results(results::ResultsArgs),
    /// Show the stored sync error log (what the window's log panel shows).
    Log(log::LogArgs),
    /// List a replica's conflicts with newer server changes (held ones wait for `resolve`).
    Conflicts(conflicts::ConflictsArgs),
    /// Resolve a held conflict: keep mine, take the server's, or choose field by field.
    Resolve(resolve::ResolveArgs),
    /// Unregister a replica on its service and forget it here.
    Unregister(unregister::UnregisterArgs),
    /// List the backups client resets made of a replica (time, mode, what each holds).
    Backups(backups::BackupsArgs),
    /// Re-apply changes from a reset's backup onto the replica, then sync (the backup is kept).
    Restore(restore::RestoreArgs),
    /// Set a damaged app database aside and rebuild the replica list from the replica files.
    Repair(repair::RepairArgs),
    /// Sign in to an ArcGIS server or portal (password or browser) for `create` and `sync`.
    Login(login::LoginArgs),
    /// Sign out of a server or portal: forget its account's secrets.
    Logout(logout::LogoutArgs),
    /// List who is signed in where (token expiry, secret store; no secret).
    Accounts(accounts::AccountsArgs),
    /// Show a feature service: its layers and tables (ids, names, geometry, counts), its
    /// spatial reference, extent and sync capabilities.
    Service(service::ServiceArgs),
    /// List every replica a service has (admins: all), stale ones marked; unregister some.
    ServiceReplicas(service_replicas::ServiceReplicasArgs),
    /// Read an ArcGIS offline map (.geodatabase) without changing it; --check asks its service.
    Inspect(inspect::InspectArgs),
    /// Run the reference feature service (demo water network unless --service is given).
    Serve(serve::ServeArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(args: Args) -> ExitCode {
    session::trust_ca_cert(args.ca_cert);
    let result = match args.command {
        Some(Command::Codes(a)) => codes::run(&a),
        Some(Command::Replicas(a)) => replicas::run(&a, args.data_dir.as_deref()),
        Some(Command::Create(a)) => create::run(&a, args.data_dir.as_deref()),
        Some(Command::Edit(a)) => edit::run(&a, args.data_dir.as_deref()),
        Some(Command::Sync(a)) => sync::run(&a, args.data_dir.as_deref()),
        Some(Command::Check(a)) => check::run(&a, args.data_dir.as_deref()),
        Some(Command::Settings(a)) => settings::run(&a, args.data_dir.as_deref()),
        Some(Command::Reset(a)) => reset::run(&a, args.data_dir.as_deref()),
        Some(Command::Results(a)) => results::run(&a, args.data_dir.as_deref()),
        Some(Command::Log(a)) => log::run(&a, args.data_dir.as_deref()),
        Some(Command::Conflicts(a)) => conflicts::run(&a, args.data_dir.as_deref()),
        Some(Command::Resolve(a)) => resolve::run(&a, args.data_dir.as_deref()),
        Some(Command::Unregister(a)) => unregister::run(&a, args.data_dir.as_deref()),
        Some(Command::Backups(a)) => backups::run(&a, args.data_dir.as_deref()),
        Some(Command::Restore(a)) => restore::run(&a, args.data_dir.as_deref()),
        Some(Command::Repair(a)) => repair::run(&a, args.data_dir.as_deref()),
        Some(Command::Login(a)) => login::run(&a, args.data_dir.as_deref()),
        Some(Command::Logout(a)) => logout::run(&a, args.data_dir.as_deref()),
        Some(Command::Accounts(a)) => accounts::run(&a, args.data_dir.as_deref()),
        Some(Command::Service(a)) => service::run(&a, args.data_dir.as_deref()),
        Some(Command::ServiceReplicas(a)) => service_replicas::run(&a, args.data_dir.as_deref()),
        Some(Command::Inspect(a)) => inspect::run(&a, args.data_dir.as_deref()),
        Some(Command::Serve(a)) => serve::run(&a),
        None => gui::run(args.data_dir.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            errln!("syncwatch: {err:#}");
            ExitCode::from(exit::FAILED)
        }
    }
}
