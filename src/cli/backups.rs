//! `syncwatch backups <replica>`: the backups client resets made of a replica, newest first —
//! time, mode, what each holds, the reason, and its folder (the name `syncwatch restore` takes);
//! a folder that cannot be read is listed with why. Reads only; talks to no service.

use super::session::{Session, data_dir, print_json, when};
use super::terminal::outln;
use crate::engine::BackupInfo;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct BackupsArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &BackupsArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, true)?;
    let listed = session.resolve(&args.replica).and_then(|summary| {
        session
            .block_on(session.handle().list_backups(summary.id))
            .map_err(|e| anyhow::anyhow!("{}", e.to_failure().message))
            .map(|listed| (summary, listed))
    });
    session.shutdown();
    let (summary, listed) = listed?;
    if args.json {
        print_json(&listed)?;
        return Ok(super::exit::OK);
    }
    if listed.is_empty() {
        outln!("{} has no backups (a client reset makes one)", summary.name);
    }
    for backup in &listed {
        print_backup(backup);
    }
    Ok(super::exit::OK)
}

/// One backup as two lines: its name, then when, mode, counts and reason (or why it is unreadable).
pub(super) fn print_backup(backup: &BackupInfo) {
    outln!("{}", backup.name);
    if let Some(why) = &backup.unreadable {
        outln!("  unreadable: {why}");
        return;
    }
    let mode = match (backup.mode, backup.mode_used) {
        (Some(mode), Some(used)) if mode != used => {
            format!("{} → {}", mode.as_str(), used.as_str())
        }
        (Some(mode), _) => mode.as_str().to_string(),
        (None, Some(used)) => used.as_str().to_string(),
        (None, None) => "mode not recorded".to_string(),
    };
    let c = backup.counts;
    outln!(
        "  {} · {mode} · {} add(s), {} update(s), {} delete(s), {} attachment change(s)",
        when(backup.made_ms),
        c.adds,
        c.updates,
        c.deletes,
        c.attachments
    );
    if !backup.reason.is_empty() {
        outln!("  reason: {}", backup.reason);
    }
}
