//! The engine task: receives [`Command`]s and carries each one out (the dispatch and the small
//! commands live here), and reports through [`Event`]s. Keeping one job per replica running,
//! queueing the rest and auto-sync are [`schedule`]'s. It stops when the command queue closes
//! (every handle dropped, or [`Command::Shutdown`]), after the running jobs have finished.

mod schedule;

use super::api::{Command, CommandId, Event, JobId, LocalReplicaId, ResetMode};
use super::error::EngineError;
use super::job::{self, Job, JobReport};
use super::sign_in::{SignInEnd, SignInJob};
use super::{
    Deps, MAX_CONCURRENT_JOBS, feature_map, fix_form, local, prediction, service_replicas, summary,
};
use crate::model::Secret;
use schedule::{Outage, Running};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The engine task's state: what runs, what waits, and when auto-sync is next due.
struct Runner {
    deps: Deps,
    running: HashMap<LocalReplicaId, Running>,
    queued: HashMap<LocalReplicaId, VecDeque<(JobId, Job)>>,
    tasks: JoinSet<JobReport>,
    task_replicas: HashMap<tokio::task::Id, LocalReplicaId>,
    permits: Arc<Semaphore>,
    auto_sync: Option<Duration>,
    next_auto_sync: Option<Instant>,
    outages: HashMap<String, Outage>,
    /// Sign-in jobs, each its own task.
    sign_ins: JoinSet<SignInEnd>,
    /// Where the pasted code of a waiting out-of-band sign-in goes, and how to cancel a sign-in.
    sign_in_codes: HashMap<CommandId, oneshot::Sender<Secret>>,
    sign_in_cancels: HashMap<CommandId, watch::Sender<bool>>,
    /// Jobs of replicas waiting for a sign-in (recorded and announced, not started); they run
    /// after the next successful sign-in.
    waiting_sign_in: HashMap<LocalReplicaId, VecDeque<(JobId, Job)>>,
    /// The command being carried out, echoed in the `JobQueued` and `CommandFailed` it causes;
    /// `None` while the engine works on its own (a job's end, auto-sync, start-up).
    command: Option<CommandId>,
}

/// The engine task's body.
pub(crate) async fn run(mut commands: mpsc::Receiver<(CommandId, Command)>, deps: Deps) {
    let auto_sync = deps
        .with_store(|s| s.auto_sync_interval_secs())
        .await
        .ok()
        .flatten()
        .map(Duration::from_secs);
    let mut runner = Runner {
        deps,
        running: HashMap::new(),
        queued: HashMap::new(),
        tasks: JoinSet::new(),
        task_replicas: HashMap::new(),
        permits: Arc::new(Semaphore::new(MAX_CONCURRENT_JOBS)),
        auto_sync,
        next_auto_sync: auto_sync.map(|d| Instant::now() + d),
        outages: HashMap::new(),
        sign_ins: JoinSet::new(),
        sign_in_codes: HashMap::new(),
        sign_in_cancels: HashMap::new(),
        waiting_sign_in: HashMap::new(),
        command: None,
    };
    job::send_log_history(&runner.deps).await;
    runner.send_all_summaries().await;
    runner.refresh_due_predictions().await;
    if runner.deps.config.reset_on_detection {
        runner.resume_interrupted_resets().await;
    }
    let mut accepting = true;
    loop {
        if !accepting && runner.tasks.is_empty() {
            runner.sign_ins.abort_all();
            break;
        }
        let auto_deadline = runner.next_auto_sync;
        tokio::select! {
            command = commands.recv(), if accepting => match command {
                None | Some((_, Command::Shutdown)) => {
                    accepting = false;
                    commands.close();
                    runner.queued.clear();
                    runner.waiting_sign_in.clear();
                    for cancel in runner.sign_in_cancels.values() {
                        let _ = cancel.send(true);
                    }
                    // Running jobs stop at their next checkpoint: a network call is abandoned
                    // (edits stay queued), a reply already received is still applied.
                    for running in runner.running.values() {
                        let _ = running.cancel.send(true);
                    }
                }
                Some((id, command)) => {
                    runner.command = Some(id);
                    runner.handle(command).await;
                    runner.command = None;
                }
            },
            Some(joined) = runner.tasks.join_next_with_id(), if !runner.tasks.is_empty() => {
                runner.job_ended(joined).await;
            }
            Some(ended) = runner.sign_ins.join_next(), if !runner.sign_ins.is_empty() => {
                if let Ok(ended) = ended {
                    runner.sign_in_ended(ended).await;
                }
            }
            _ = sleep_until(auto_deadline), if auto_deadline.is_some() && accepting => {
                runner.auto_sync_tick().await;
            }
        }
    }
    tracing::info!("engine stopped");
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Runner {
    fn is_syncing(&self, replica: LocalReplicaId) -> bool {
        self.running.contains_key(&replica)
    }

    fn command_failed(&self, what: &str, error: &EngineError) {
        job::command_failed(&self.deps, self.command, what, error);
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::RefreshReplicas => self.send_all_summaries().await,
            Command::CreateReplica(request) => {
                let registered = match job::register_new(&self.deps, &request).await {
                    Err(EngineError::Store(crate::store::StoreError::NameTaken(_))) => {
                        self.interrupted_create(&request).await
                    }
                    other => other,
                };
                match registered {
                    Ok(replica) => {
                        job::send_summary(&self.deps, replica, false).await;
                        self.enqueue(replica, Job::Create(request)).await;
                    }
                    Err(e) => self.command_failed("create replica", &e),
                }
            }
            Command::SyncNow { replica, options } => {
                self.enqueue(replica, Job::Sync(options)).await
            }
            Command::SyncAll => self.sync_all(false).await,
            Command::Cancel { replica } => self.cancel(replica).await,
            Command::FixEdit {
                replica,
                layer_id,
                global_id,
                attributes,
                geometry,
            } => {
                let syncing = self.is_syncing(replica);
                if let Err(e) = local::fix_edit(
                    &self.deps, replica, layer_id, global_id, attributes, geometry, syncing,
                )
                .await
                {
                    self.command_failed("fix edit", &e);
                }
            }
            Command::LoadFixForm { replica, edits } => {
                if let Err(e) = fix_form::load_fix_forms(&self.deps, replica, edits).await {
                    self.command_failed("load the attribute form", &e);
                }
            }
            Command::SetFieldInEdits {
                replica,
                layer_id,
                global_ids,
                field,
                value,
            } => {
                let syncing = self.is_syncing(replica);
                if let Err(e) = fix_form::set_field_in_edits(
                    &self.deps, replica, layer_id, global_ids, field, value, syncing,
                )
                .await
                {
                    self.command_failed("set a field in several edits", &e);
                }
            }
            Command::DropEdits { replica, edits } => {
                let syncing = self.is_syncing(replica);
                if let Err(e) = fix_form::drop_edits(&self.deps, replica, edits, syncing).await {
                    self.command_failed("drop edits", &e);
                }
            }
            Command::DropEdit {
                replica,
                layer_id,
                global_id,
            } => {
                let syncing = self.is_syncing(replica);
                if let Err(e) =
                    local::drop_edit(&self.deps, replica, layer_id, global_id, syncing).await
                {
                    self.command_failed("drop edit", &e);
                }
            }
            Command::EditFeature {
                replica,
                layer_id,
                edit,
            } => match local::edit_feature(&self.deps, replica, layer_id, edit).await {
                Ok(mut summary) => {
                    summary.syncing = self.is_syncing(replica);
                    self.deps.events.send(Event::ReplicaChanged { summary });
                }
                Err(e) => self.command_failed("edit feature", &e),
            },
            Command::Unregister { replica } => self.enqueue(replica, Job::Unregister).await,
            Command::SetAutoSync { interval_secs } => self.set_auto_sync(interval_secs).await,
            Command::SetResetMode { replica, mode } => {
                let update = move |s: &mut crate::store::Store| s.set_reset_mode(replica, mode);
                self.update_replica(replica, "set reset mode", update).await
            }
            Command::SetPredictedPolicy { replica, policy } => {
                match self
                    .deps
                    .with_store(move |s| s.set_predicted_policy(replica, policy))
                    .await
                {
                    Ok(()) => {
                        job::send_summary(&self.deps, replica, self.is_syncing(replica)).await
                    }
                    Err(e) => self.command_failed("set predicted-refusal policy", &e),
                }
            }
            Command::SetConflictPolicy { replica, policy } => {
                let syncing = self.is_syncing(replica);
                if let Err(e) =
                    crate::engine::conflicts::set_policy(&self.deps, replica, policy, syncing).await
                {
                    self.command_failed("set conflict policy", &e);
                }
            }
            Command::LoadConflicts { replica } => {
                if let Err(e) = crate::engine::conflicts::answer(&self.deps, replica).await {
                    self.command_failed("load conflicts", &e);
                }
            }
            Command::ResolveConflict {
                replica,
                layer_id,
                global_id,
                resolution,
            } => {
                let syncing = self.is_syncing(replica);
                if let Err(e) = crate::engine::conflicts::resolve(
                    &self.deps, replica, layer_id, global_id, resolution, syncing,
                )
                .await
                {
                    self.command_failed("resolve conflict", &e);
                }
            }
            Command::SetPaused { replica, paused } => {
                let update = move |s: &mut crate::store::Store| s.set_paused(replica, paused);
                self.update_replica(replica, "pause replica", update).await
            }
            Command::RepointService { from_url, to_url } => {
                self.repoint_service(from_url, to_url).await
            }
            Command::Reset { replica, mode } => {
                let job = Job::Reset {
                    mode,
                    confirmed: false,
                };
                self.enqueue(replica, job).await
            }
            Command::ConfirmReset { replica } => {
                let job = Job::Reset {
                    mode: ResetMode::Manual,
                    confirmed: true,
                };
                self.enqueue(replica, job).await
            }
            Command::CancelReset { replica } => self.cancel_reset(replica).await,
            Command::LoadEditResults { replica } => {
                if let Err(e) = job::answer_edit_results(&self.deps, replica).await {
                    self.command_failed("load edit results", &e);
                }
            }
            Command::ExportCsv {
                rows,
                indices,
                path,
            } => {
                if let Err(e) = local::export_csv(&self.deps, rows, indices, path).await {
                    self.command_failed("export CSV", &e);
                }
            }
            Command::Shutdown => {}
            Command::TrustCertificate { url, fingerprint } => {
                // Its own task: the handshake never holds up the command loop.
                let (deps, command) = (self.deps.clone(), self.command);
                tokio::spawn(super::trusted_certificates::answer(
                    deps,
                    command,
                    url,
                    fingerprint,
                ));
            }
            Command::LoadServiceReplicas { service_url, token } => {
                let task =
                    service_replicas::load(self.deps.clone(), self.command, service_url, token);
                tokio::spawn(task);
            }
            Command::UnregisterServiceReplicas {
                service_url,
                token,
                replicas,
            } => {
                let deps = self.deps.clone();
                let task =
                    service_replicas::unregister(deps, self.command, service_url, token, replicas);
                tokio::spawn(task);
            }
            Command::ExportServiceReplicas {
                replicas,
                stale_days,
                path,
            } => {
                let deps = self.deps.clone();
                let task =
                    service_replicas::export_csv(deps, self.command, replicas, stale_days, path);
                tokio::spawn(task);
            }
            Command::ExportLog { entries, path } => {
                let task =
                    super::log_export::export(self.deps.clone(), self.command, entries, path);
                tokio::spawn(task);
            }
            command @ (Command::OpenOfflineMap { .. }
            | Command::ScanOfflineMaps { .. }
            | Command::LoadOfflineMapFolders
            | Command::SetOfflineMapFolders { .. }) => {
                tokio::spawn(super::offline_maps::answer(self.deps.clone(), command));
            }
            Command::DescribeService { service_url, token } => {
                let task =
                    super::browse::describe(self.deps.clone(), self.command, service_url, token);
                tokio::spawn(task);
            }
            Command::CountArea {
                service_url,
                token,
                area,
                layers,
            } => {
                let deps = self.deps.clone();
                let task =
                    super::browse::count_area(deps, self.command, service_url, token, area, layers);
                tokio::spawn(task);
            }
            Command::LoadFeatureMap {
                replica,
                layer_id,
                global_id,
            } => {
                let deps = self.deps.clone();
                let task = feature_map::load(deps, self.command, replica, layer_id, global_id);
                tokio::spawn(task);
            }
            Command::LoadServicePreview {
                service_url,
                token,
                layers,
                max_features,
            } => {
                let deps = self.deps.clone();
                let task = feature_map::preview(
                    deps,
                    self.command,
                    service_url,
                    token,
                    layers,
                    max_features,
                );
                tokio::spawn(task);
            }
            Command::ListBackups { replica } => {
                let task = super::restore::answer_list(self.deps.clone(), self.command, replica);
                tokio::spawn(task);
            }
            Command::PreviewBackup { replica, backup } => {
                let deps = self.deps.clone();
                let task = super::restore::answer_preview(deps, self.command, replica, backup);
                tokio::spawn(task);
            }
            Command::RestoreFromBackup {
                replica,
                backup,
                only,
                sync,
            } => {
                let job = Job::Restore { backup, only, sync };
                self.enqueue(replica, job).await
            }
            Command::SignIn { .. }
            | Command::SubmitSignInCode { .. }
            | Command::CancelSignIn { .. }
            | Command::SignOut { .. }
            | Command::ListAccounts => self.handle_sign_in(command).await,
        }
    }

    /// The sign-in commands: a sign-in starts its own task (never awaited here).
    async fn handle_sign_in(&mut self, command: Command) {
        match command {
            Command::SignIn {
                url,
                method,
                expiration_minutes,
            } => {
                let Some(sign_in) = self.command else {
                    return;
                };
                let (code_tx, code) = oneshot::channel();
                let (cancel_tx, cancel) = watch::channel(false);
                self.sign_in_codes.insert(sign_in, code_tx);
                self.sign_in_cancels.insert(sign_in, cancel_tx);
                let job = SignInJob {
                    sign_in,
                    url,
                    method,
                    expiration_minutes,
                    code,
                    cancel,
                };
                self.sign_ins
                    .spawn(super::sign_in::run(self.deps.clone(), job));
            }
            Command::SubmitSignInCode { sign_in, code } => {
                match self.sign_in_codes.remove(&sign_in) {
                    Some(tx) => drop(tx.send(code)),
                    None => self.command_failed(
                        "paste the sign-in code",
                        &EngineError::Bug(format!("{sign_in} is not a sign-in waiting for a code")),
                    ),
                }
            }
            Command::CancelSignIn { sign_in } => {
                if let Some(cancel) = self.sign_in_cancels.get(&sign_in) {
                    let _ = cancel.send(true);
                }
            }
            Command::SignOut { account } => {
                if let Err(e) = super::sign_in::sign_out(&self.deps, account).await {
                    self.command_failed("sign out", &e);
                }
            }
            Command::ListAccounts => super::sign_in::send_accounts(&self.deps).await,
            _ => {}
        }
    }

    /// A sign-in ended; a successful one wakes the replicas that waited for a sign-in.
    async fn sign_in_ended(&mut self, ended: SignInEnd) {
        self.sign_in_codes.remove(&ended.sign_in);
        self.sign_in_cancels.remove(&ended.sign_in);
        if ended.account.is_some() {
            self.wake_after_sign_in(ended.woken).await;
        }
    }

    /// Changes one setting of a replica in the store and sends its new summary.
    async fn update_replica<F>(&self, replica: LocalReplicaId, what: &str, update: F)
    where
        F: FnOnce(&mut crate::store::Store) -> Result<(), crate::store::StoreError>
            + Send
            + 'static,
    {
        match self.deps.with_store(update).await {
            Ok(()) => job::send_summary(&self.deps, replica, self.is_syncing(replica)).await,
            Err(e) => self.command_failed(what, &e),
        }
    }

    /// The entry of an earlier create of this name that never finished (killed, or the power
    /// went): the same create again takes it over, and its job cleans up what the earlier one
    /// left on the service. A replica that was created, one whose create runs in this engine,
    /// and one being created on another service keep the name.
    async fn interrupted_create(
        &self,
        request: &crate::engine::api::CreateRequest,
    ) -> Result<LocalReplicaId, EngineError> {
        let name = request.name.clone();
        let record = self
            .deps
            .with_store(move |s| s.find_replica(&name))
            .await?
            .filter(|r| r.name == request.name && r.replica_guid.is_none())
            .ok_or_else(|| crate::store::StoreError::NameTaken(request.name.clone()))?;
        let replica = record.local_id;
        if self.is_syncing(replica) || self.queued.contains_key(&replica) {
            return Err(EngineError::Unsupported(format!(
                "the replica {:?} is being created; wait for it to finish",
                request.name
            )));
        }
        if record.service_url != request.service_url {
            return Err(EngineError::Unsupported(format!(
                "a replica named {:?} was being created on another service ({}); create it \
                 there again, or choose another name",
                request.name, record.service_url
            )));
        }
        tracing::info!(replica = %replica, "taking over an interrupted create");
        Ok(replica)
    }

    /// Predictions left due by edits the last engine did not judge (a one-shot `syncwatch edit`,
    /// a crash) are judged in the background.
    async fn refresh_due_predictions(&self) {
        match self.deps.with_store(|s| s.replicas()).await {
            Ok(replicas) => {
                for record in replicas.iter().filter(|r| r.replica_guid.is_some()) {
                    prediction::refresh::schedule(&self.deps, record.local_id);
                }
            }
            Err(e) => tracing::debug!(error = %e, "predictions not checked at start"),
        }
    }

    async fn send_all_summaries(&self) {
        let syncing: Vec<LocalReplicaId> = self.running.keys().copied().collect();
        match self
            .deps
            .with_store(move |s| summary::build_all(s, |id| syncing.contains(&id)))
            .await
        {
            Ok(replicas) => self.deps.events.send(Event::ReplicasLoaded { replicas }),
            Err(e) => self.command_failed("load replicas", &e),
        }
    }

    /// Moves the replicas of one service to a new URL, logs it and sends the new list.
    async fn repoint_service(&mut self, from_url: String, to_url: String) {
        let (from, to) = (from_url.clone(), to_url.clone());
        match self
            .deps
            .with_store(move |s| s.repoint_service(&from, &to))
            .await
        {
            Ok(moved) if moved.is_empty() => {}
            Ok(moved) => {
                let message = format!(
                    "{} replica(s) now use the service at {to_url} (it was at {from_url})",
                    moved.len()
                );
                job::log(&self.deps, None, "service moved", None, &message).await;
                self.send_all_summaries().await;
            }
            Err(e) => self.command_failed("move replicas to the new service address", &e),
        }
    }

    /// The technician cancelled a manual reset: nothing changes; the replica still needs one.
    async fn cancel_reset(&mut self, replica: LocalReplicaId) {
        let name = match self.deps.with_store(move |s| s.replica(replica)).await {
            Ok(record) => record.name,
            Err(e) => return self.command_failed("cancel client reset", &e),
        };
        let message =
            "manual client reset cancelled; the replica is unchanged and still needs a reset";
        job::log(&self.deps, Some(replica), &name, None, message).await;
        job::send_summary(&self.deps, replica, self.is_syncing(replica)).await;
    }
}
