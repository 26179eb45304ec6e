//! `syncwatch restore <replica> <backup>`: re-applies the changes a client reset backed up onto
//! the replica as new local changes, by the recovery rules and the replica's conflict policy
//! (ARCHITECTURE.md, "Restore from a backup"), then syncs. `<backup>` is a folder name or path
//! as `syncwatch backups` lists it; `--only` restores just those GlobalIDs. It first prints the
//! preview; without `--yes` it asks on a terminal and refuses elsewhere (exit 2, nothing
//! changed). `--no-sync` queues without syncing. The backup is never changed. Exit 0 when
//! restored (and synced), 1 when the sync had
//! refused or held edits, 2 on failure.

use super::session::{Session, data_dir, print_json};
use super::terminal::{errln, outln};
use crate::engine::{
    BackupPreview, Command, CommandId, Event, JobId, JobOutcome, LocalReplicaId, RestoreOutcome,
    RestoreReport,
};
use crate::protocol::{Guid, JobState};
use anyhow::{anyhow, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// The backup: its folder name or path, as `syncwatch backups` lists it.
    pub backup: String,
    /// Restore only the changes of these GlobalIDs.
    #[arg(long, num_args = 1.., value_name = "GLOBALID", value_parser = parse_guid)]
    pub only: Vec<Guid>,
    /// Restore without asking.
    #[arg(long)]
    pub yes: bool,
    /// Queue the restored changes without syncing (the next sync uploads them).
    #[arg(long)]
    pub no_sync: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_guid(text: &str) -> Result<Guid, String> {
    Guid::parse(text).map_err(|_| format!("{text:?} is not a GlobalID"))
}

pub fn run(args: &RestoreArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, true)?;
    let result = restore(&session, args);
    session.shutdown();
    let (code, report, sync) = result?;
    if args.json {
        print_json(&serde_json::json!({ "restore": report, "sync": sync }))?;
    }
    Ok(code)
}

type Restored = (u8, RestoreReport, Option<JobOutcome>);

fn restore(session: &Session, args: &RestoreArgs) -> anyhow::Result<Restored> {
    let summary = session.resolve(&args.replica)?;
    let replica = summary.id;
    let preview = session
        .block_on(session.handle().preview_backup(replica, &args.backup))
        .map_err(|e| anyhow!("{}", e.to_failure().message))?;
    let only = (!args.only.is_empty()).then(|| args.only.clone());
    if let Some(ids) = &only {
        let missing: Vec<String> = ids
            .iter()
            .filter(|g| {
                !preview
                    .changes
                    .iter()
                    .chain(&preview.attachments)
                    .any(|c| &c.global_id == *g)
            })
            .map(|g| g.to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "the backup {} holds no change of {}; nothing was restored",
                preview.backup.name,
                missing.join(", ")
            );
        }
    }
    if !args.json {
        print_preview(&preview, only.as_deref());
    }
    if !args.yes && !confirmed(&preview, &summary.name)? {
        bail!("restore not confirmed; nothing was restored");
    }
    follow(session, args, replica, &preview.backup.name, only)
}

/// Asks on the terminal; without one, refuses and says how to confirm.
fn confirmed(preview: &BackupPreview, replica_name: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "not restoring from {} onto {replica_name} without a confirmation: standard input is not a terminal; pass --yes to confirm",
            preview.backup.name
        );
    }
    eprint!("Restore onto {replica_name} and sync? [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn print_preview(preview: &BackupPreview, only: Option<&[Guid]>) {
    outln!(
        "backup {} of {}:",
        preview.backup.name,
        preview.backup.reason
    );
    for change in preview.changes.iter().chain(&preview.attachments) {
        if only.is_some_and(|ids| !ids.contains(&change.global_id)) {
            continue;
        }
        let fields: Vec<String> = change
            .fields
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        outln!(
            "  {:<16} {:?} {} {} ({}){}",
            change.outcome.as_str(),
            change.change_type,
            change.layer_name,
            change.global_id,
            fields.join(", "),
            if change.geometry_changed {
                " + geometry"
            } else {
                ""
            }
        );
        outln!("                   {}", change.note);
    }
}

/// Sends the restore and follows its job, then the sync it queues.
fn follow(
    session: &Session,
    args: &RestoreArgs,
    replica: LocalReplicaId,
    backup: &str,
    only: Option<Vec<Guid>>,
) -> anyhow::Result<Restored> {
    let json = args.json;
    let ours: CommandId = session.submit(Command::RestoreFromBackup {
        replica,
        backup: backup.to_string(),
        only,
        sync: !args.no_sync,
    })?;
    let mut restore_job: Option<JobId> = None;
    let mut report: Option<RestoreReport> = None;
    let mut sync_job: Option<JobId> = None;
    loop {
        let event = session.wait_for(|e| concerns(e, replica, ours).then(|| e.clone()))?;
        match event {
            Event::CommandFailed { error, .. } => return Err(anyhow!("{}", error.message)),
            Event::JobQueued { job, command, .. } if command == Some(ours) => {
                restore_job = Some(job)
            }
            Event::JobQueued { job, .. } if report.is_some() && restore_job.is_some() => {
                sync_job = Some(job)
            }
            Event::BackupRestored { report: done } => {
                if !json {
                    print_report(&done);
                }
                report = Some(done);
            }
            Event::JobCompleted { job, .. } if Some(job) == restore_job => {
                let Some(done) = report.clone() else { continue };
                if done.restored.is_empty() || args.no_sync {
                    if !json {
                        outln!("nothing uploaded now");
                    }
                    return Ok((super::exit::OK, done, None));
                }
            }
            Event::JobCompleted { job, outcome, .. } if Some(job) == sync_job => {
                let done = report
                    .clone()
                    .unwrap_or_else(|| RestoreReport::new(replica, backup.into()));
                if !json {
                    outln!(
                        "synced: uploaded {}, {} refused, {} held as conflicts",
                        outcome.uploaded,
                        outcome.failed_edits,
                        outcome.held_conflicts
                    );
                }
                let code = if outcome.state == JobState::CompletedWithErrors
                    || outcome.held_conflicts > 0
                    || outcome.failed_edits > 0
                {
                    super::exit::EDITS_REFUSED
                } else {
                    super::exit::OK
                };
                return Ok((code, done, Some(outcome)));
            }
            Event::JobFailed { job, error, .. }
                if Some(job) == restore_job || Some(job) == sync_job =>
            {
                let line = error.message.replace('\n', " ");
                if Some(job) == restore_job {
                    return Err(anyhow!("{line}"));
                }
                errln!("syncwatch: the sync after the restore failed: {line}");
                let done = report.unwrap_or_else(|| RestoreReport::new(replica, backup.into()));
                return Ok((super::exit::FAILED, done, None));
            }
            _ => {}
        }
    }
}

fn concerns(event: &Event, replica: LocalReplicaId, ours: CommandId) -> bool {
    match event {
        Event::CommandFailed {
            command: Some(c), ..
        } => *c == ours,
        Event::JobQueued { replica: r, .. }
        | Event::JobCompleted { replica: r, .. }
        | Event::JobFailed { replica: r, .. } => *r == replica,
        Event::BackupRestored { report } => report.replica == replica,
        _ => false,
    }
}

fn print_report(report: &RestoreReport) {
    outln!(
        "restored {} change(s) from {}; {} already restored, {} discarded (the backup is unchanged)",
        report.restored.len(),
        report.backup,
        report.already_restored.len(),
        report.discarded.len()
    );
    for (outcome, list) in [
        (RestoreOutcome::Restored, &report.restored),
        (RestoreOutcome::AlreadyRestored, &report.already_restored),
        (RestoreOutcome::Discarded, &report.discarded),
    ] {
        for o in list {
            outln!(
                "  {:<16} layer {} {} — {}",
                outcome.as_str(),
                o.layer_id,
                o.global_id,
                o.note
            );
        }
    }
}
