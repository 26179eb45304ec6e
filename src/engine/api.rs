//! The engine's public contract: [`Command`]s in, [`Event`]s out. The plain data they carry
//! (ids, summaries, edit results, resets, log lines) lives in [`crate::model`] and is re-exported
//! here, so front ends name everything through the engine. Nothing here touches egui, files or
//! the network.
//!
//! Signing in: [`Command::SignIn`] runs as an engine job (it never blocks the queue); its
//! [`CommandId`] names it in [`Event::BrowserSignInStarted`] (a browser sign-in waits for the
//! user: the front end opens `authorize_url`; with `oob` it then sends
//! [`Command::SubmitSignInCode`]), and it ends in [`Event::SignedIn`] or [`Event::SignInFailed`]
//! (one line, no secret, a [`SignInFailure`] kind). Accounts come as [`Event::Accounts`]
//! ([`Command::ListAccounts`], and after every sign-in, sign-out and renewal). A replica whose
//! token the service refused and nothing could renew gets `sign_in_needed` in its summary
//! ([`Health::SignInNeeded`]); its queued and automatic syncs wait and run after a successful
//! sign-in to its server. `signed_in_as` in a summary names the account its jobs use.

pub use crate::model::*;

use crate::protocol::{Guid, JobState, SyncDirection, SyncModel};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// Options of one sync job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOptions {
    pub direction: SyncDirection,
    pub is_async: bool,
    pub rollback_on_failure: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            direction: SyncDirection::Bidirectional,
            is_async: true,
            rollback_on_failure: false,
        }
    }
}

/// What the technician asks for when creating a replica. `Debug` hides the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateRequest {
    pub service_url: String,
    /// Kept in memory and in the app database only; never logged.
    pub token: Option<Secret>,
    pub name: String,
    pub layers: Vec<i64>,
    pub sync_model: SyncModel,
    pub is_async: bool,
    /// The work area, per-layer `where` clauses and attachments (the whole service, every row,
    /// attachments on: what a request without a scope asks for).
    /// Boxed: it keeps `Command` small.
    #[serde(default)]
    pub scope: Box<CreateScope>,
}

/// What of the chosen layers a new replica holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateScope {
    /// Sent as createReplica `geometry`/`geometryType`/`inSR`, with each layer's
    /// `layerQueries` entry using it; kept in the replica file.
    pub area: WorkArea,
    /// `where` clauses by layer id (each layer's `layerQueries` `where`).
    pub wheres: std::collections::BTreeMap<i64, String>,
    /// Download and sync attachments of the layers that have them.
    pub attachments: bool,
}

impl Default for CreateScope {
    fn default() -> Self {
        CreateScope {
            area: WorkArea::WholeService,
            wheres: Default::default(),
            attachments: true,
        }
    }
}

impl CreateScope {
    /// The `layerQueries` entry of a layer: the rows inside the area (and its `where`), or
    /// every row (or those its `where` picks) for the whole service.
    pub fn layer_query(&self, layer_id: i64) -> crate::protocol::LayerQuery {
        let mut query = if self.area.is_whole_service() {
            crate::protocol::LayerQuery::all()
        } else {
            crate::protocol::LayerQuery::in_area()
        };
        if let Some(clause) = self.wheres.get(&layer_id) {
            query.query_option = Some(crate::protocol::QueryOption::UseFilter);
            query.where_clause = Some(clause.clone());
        }
        query
    }
}

/// The id the engine's handle gives every [`Command`] it queues (counting up from 1 per engine).
/// The engine echoes it in the [`Event::JobQueued`] of the jobs the command queued and in its
/// [`Event::CommandFailed`], so a front end can tell its own job from everyone else's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommandId(pub u64);

impl std::fmt::Display for CommandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "command {}", self.0)
    }
}

/// The UI's request, sent through [`crate::engine`]'s handle. Results come back later as [`Event`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send every replica's summary again ([`Event::ReplicasLoaded`]).
    RefreshReplicas,
    /// Create a replica on a service and download it.
    CreateReplica(CreateRequest),
    /// Start a sync job for this replica; queued if one is already running.
    SyncNow {
        replica: LocalReplicaId,
        options: SyncOptions,
    },
    /// Queue a sync of every replica that is not paused.
    SyncAll,
    /// Stop the replica's running job at its next checkpoint; queued jobs are dropped.
    Cancel { replica: LocalReplicaId },
    /// Replace the local edit of a refused feature with new values and queue it for the next sync.
    FixEdit {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
        attributes: crate::protocol::Attributes,
        geometry: Option<serde_json::Value>,
    },
    /// Revert a local edit to the server's version (drops it from the queue).
    DropEdit {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
    },
    /// Unregister the replica on the server and forget it locally (the file is kept as a backup).
    Unregister { replica: LocalReplicaId },
    /// Auto-sync every `interval_secs`; `None` pauses auto-sync.
    SetAutoSync { interval_secs: Option<u64> },
    /// Pause (`true`) or resume this replica: a paused replica is left out of auto-sync,
    /// "Sync all" and automatic client resets, and its badge says "Paused".
    SetPaused {
        replica: LocalReplicaId,
        paused: bool,
    },
    /// Point every replica of the service at `from_url` to `to_url` (the embedded demo service
    /// came up on another loopback port). Answered with [`Event::ReplicasLoaded`].
    RepointService { from_url: String, to_url: String },
    /// Set the client-reset mode used when this replica next needs a reset.
    SetResetMode {
        replica: LocalReplicaId,
        mode: ResetMode,
    },
    /// Choose what this replica's syncs do with predicted refusals.
    SetPredictedPolicy {
        replica: LocalReplicaId,
        policy: PredictedPolicy,
    },
    /// Start a client reset now with this mode (Manual: plan it and wait for [`Command::ConfirmReset`]).
    Reset {
        replica: LocalReplicaId,
        mode: ResetMode,
    },
    /// The user confirmed the planned manual reset.
    ConfirmReset { replica: LocalReplicaId },
    /// The user cancelled the planned manual reset; the replica stays "reset required".
    CancelReset { replica: LocalReplicaId },
    /// Send the replica's edit results ([`Event::EditResultsReady`]): the server's, and the
    /// refusals predicted for queued changes from the cached rules (checked again now; offline).
    LoadEditResults { replica: LocalReplicaId },
    /// Write these rows of an edit-results snapshot to a CSV file (off the UI thread).
    ExportCsv {
        rows: Arc<[EditResultRecord]>,
        indices: Vec<u32>,
        path: PathBuf,
    },
    /// Finish running jobs' current step and stop.
    Shutdown,
    /// Record a local edit in the replica's change queue (the GUI's attribute editor and demo
    /// seeding; the CLI uses [`crate::engine::EngineHandle::edit_feature`]). Answered with
    /// [`Event::ReplicaChanged`], or [`Event::CommandFailed`] when the edit is not possible.
    EditFeature {
        replica: LocalReplicaId,
        layer_id: i64,
        edit: LocalEdit,
    },
    /// Sign in to the server or portal behind `url` (a FeatureServer, a server root, a portal,
    /// ArcGIS Online), as an engine job: discovery, then `method`. The command's [`CommandId`]
    /// names the sign-in in its events: a browser sign-in first sends
    /// [`Event::BrowserSignInStarted`]; it ends in [`Event::SignedIn`] (the account is saved, the
    /// replicas of that server that waited for a sign-in are synced) or [`Event::SignInFailed`].
    SignIn {
        url: String,
        method: SignInRequest,
        /// The token lifetime asked for (generateToken's `expiration`, the OAuth `expiration`);
        /// `None`: the default (60 minutes); the server may cap it.
        expiration_minutes: Option<u32>,
    },
    /// The authorization code the user pasted for the out-of-band browser sign-in `sign_in`
    /// (the [`CommandId`] of its [`Command::SignIn`]).
    SubmitSignInCode { sign_in: CommandId, code: Secret },
    /// Give up a sign-in still waiting for the browser or a pasted code
    /// ([`Event::SignInFailed`] with [`SignInFailure::Cancelled`]).
    CancelSignIn { sign_in: CommandId },
    /// Sign out: forget the account's secrets and record. Answered with [`Event::SignedOut`]
    /// and [`Event::Accounts`]; its replicas need a sign-in at their next sync.
    SignOut { account: AccountKey },
    /// Send the signed-in accounts ([`Event::Accounts`]; no secret).
    ListAccounts,
    /// Trust the certificate the HTTPS server at `url` presents, as the user chose after seeing
    /// its SHA-256 `fingerprint` (`AB:CD:…`, as in the untrusted-certificate error). The engine
    /// fetches it again and refuses if its fingerprint differs (the certificate changed);
    /// otherwise it keeps it under `<data dir>/trusted-certificates/` and every later client
    /// trusts it. Answered with [`Event::CertificateTrusted`] or [`Event::CommandFailed`].
    TrustCertificate { url: String, fingerprint: String },
    /// List every replica the service at `service_url` (`…/FeatureServer`) shows its caller
    /// (an administrator: all; others: their own), each with its info, the ones this laptop
    /// holds marked. Signs in as other calls do: the signed-in account of that server, else
    /// `token`, else the token of a replica held on that service. Answered with
    /// [`Event::ServiceReplicasLoaded`] or [`Event::CommandFailed`].
    LoadServiceReplicas {
        service_url: String,
        token: Option<Secret>,
    },
    /// Unregister these replicas (replicaID, name) on the service, one `unRegisterReplica`
    /// each, already confirmed by the user. Answered with
    /// [`Event::ServiceReplicasUnregistered`] (a result per replica). The replicas this laptop
    /// holds stay in its list (their next sync needs a client reset).
    UnregisterServiceReplicas {
        service_url: String,
        token: Option<Secret>,
        replicas: Vec<(Guid, String)>,
    },
    /// Write these service replicas to a CSV file, `stale` by `stale_days` (off the UI thread).
    /// Answered with [`Event::ExportFinished`].
    ExportServiceReplicas {
        replicas: Vec<ServiceReplica>,
        stale_days: u32,
        path: PathBuf,
    },
    /// Write these lines of the sync error log (what the log panel shows, its filters applied)
    /// to a CSV file (off the UI thread). Answered with [`Event::ExportFinished`].
    ExportLog {
        entries: Vec<LogEntry>,
        path: PathBuf,
    },
    /// Read the ArcGIS offline map (mobile geodatabase) at `path`, read-only, and check its
    /// replica against its service. Answered with [`Event::OfflineMapRead`] and then
    /// [`Event::OfflineMapChecked`], or [`Event::OfflineMapFailed`]. Never writes to the file.
    /// The check signs in as `LoadServiceReplicas` does: the signed-in account of the service's
    /// server, else `token`, else a token of a replica held on that service.
    OpenOfflineMap {
        path: PathBuf,
        token: Option<Secret>,
    },
    /// [`Command::OpenOfflineMap`] for every `.geodatabase` under these folders (the watch
    /// folders; missing ones are skipped).
    ScanOfflineMaps { folders: Vec<PathBuf> },
    /// Send the watch folders for offline maps ([`Event::OfflineMapFolders`]: the stored ones,
    /// else the default `Documents/ArcGIS/OfflineMaps`), then scan them.
    LoadOfflineMapFolders,
    /// Keep these watch folders (in the app database), answer [`Event::OfflineMapFolders`] and
    /// scan them.
    SetOfflineMapFolders { folders: Vec<PathBuf> },
    /// Choose what this replica's syncs do with edits that conflict with newer server changes.
    /// Answered with [`Event::ReplicaChanged`] and [`Event::ConflictsReady`].
    SetConflictPolicy {
        replica: LocalReplicaId,
        policy: ConflictPolicy,
    },
    /// Send the replica's recorded conflicts ([`Event::ConflictsReady`]).
    LoadConflicts { replica: LocalReplicaId },
    /// Resolve one held conflict; the resolved edit goes out on the next sync, checked again
    /// first. Answered with [`Event::ConflictsReady`] and [`Event::ReplicaChanged`], or
    /// [`Event::CommandFailed`] when there is no such conflict or field.
    ResolveConflict {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
        resolution: Resolution,
    },
    /// Read the service browser's facts of `service_url` (root, layers and tables, counts),
    /// signing in as [`Command::LoadServiceReplicas`] does. Answered with
    /// [`Event::ServiceDescribed`] or [`Event::CommandFailed`].
    DescribeService {
        service_url: String,
        token: Option<Secret>,
    },
    /// Count each of `layers`' features inside `area` (the service's `query`). Answered with
    /// [`Event::AreaCounted`] or [`Event::CommandFailed`].
    CountArea {
        service_url: String,
        token: Option<Secret>,
        area: WorkArea,
        layers: Vec<i64>,
    },
    /// Read one feature of a replica for its map from the replica file (offline): its local and
    /// server geometry, the replica's features around it (capped) and the work area if the file
    /// knows one. Answered with [`Event::FeatureMap`] or [`Event::CommandFailed`].
    LoadFeatureMap {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
    },
    /// Query `layers` of the service over its full extent for the area picker's preview: one
    /// `query` per layer, generalised to the extent's resolution (`maxAllowableOffset`), at most
    /// `max_features` each (capped at 5000). Signs in as [`Command::LoadServiceReplicas`] does.
    /// Answered with [`Event::ServicePreview`] or [`Event::CommandFailed`].
    LoadServicePreview {
        service_url: String,
        token: Option<Secret>,
        layers: Vec<i64>,
        max_features: usize,
    },
    /// Load the attribute forms of these queued edits (`(layer_id, global_id)`) from the replica
    /// file: the layer's fields, local and server values, the refusal. Answered with
    /// [`Event::FixFormLoaded`] (the forms in the order asked) or [`Event::CommandFailed`].
    LoadFixForm {
        replica: LocalReplicaId,
        edits: Vec<(i64, Guid)>,
    },
    /// Set `field` to `value` in every one of these queued edits of `layer_id`, all or none (one
    /// transaction), and queue them for the next sync. Answered with [`Event::EditResultsReady`]
    /// and [`Event::ReplicaChanged`], or [`Event::CommandFailed`] with nothing changed.
    SetFieldInEdits {
        replica: LocalReplicaId,
        layer_id: i64,
        global_ids: Vec<Guid>,
        field: String,
        value: serde_json::Value,
    },
    /// Drop every one of these queued edits (`(layer_id, global_id)`), all or none: the features
    /// revert to the server's versions and their failures are cleared.
    DropEdits {
        replica: LocalReplicaId,
        edits: Vec<(i64, Guid)>,
    },
    /// List the replica's client-reset backups, newest first ([`Event::BackupsListed`]; an
    /// unreadable folder is listed with its reason).
    ListBackups { replica: LocalReplicaId },
    /// Preview a backup's changes (`backup`: its folder name or path as listed) against the
    /// replica as it is now ([`Event::BackupPreviewed`]). Changes nothing.
    PreviewBackup {
        replica: LocalReplicaId,
        backup: String,
    },
    /// Re-apply a backup's changes (those of `only`'s GlobalIDs, or all) onto the replica as
    /// new local changes, by the recovery rules and the replica's conflict policy, in one
    /// transaction; then (`sync`) a sync uploads them. A job ([`Event::BackupRestored`]); the
    /// backup is never changed.
    RestoreFromBackup {
        replica: LocalReplicaId,
        backup: String,
        only: Option<Vec<Guid>>,
        sync: bool,
    },
}

/// How a [`Command::SignIn`] signs in.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInRequest {
    /// generateToken at the server or portal. The password is used once and dropped, unless
    /// `remember`: then it is kept in the secret store (only there) to renew tokens.
    Password {
        username: String,
        password: Secret,
        remember: bool,
    },
    /// OAuth 2.0 with PKCE in the system browser, for the registered app `client_id`, the
    /// redirect received on `http://127.0.0.1:<port>/callback` (`None`: any free port, which the
    /// app's registration must then allow). The front end
    /// opens [`Event::BrowserSignInStarted`]'s `authorize_url`.
    Browser {
        client_id: String,
        port: Option<u16>,
    },
    /// OAuth 2.0 with PKCE and the out-of-band redirect (`urn:ietf:wg:oauth:2.0:oob`): the
    /// portal shows the code, the user pastes it, the front end sends
    /// [`Command::SubmitSignInCode`].
    PastedCode { client_id: String },
}

/// Why a sign-in failed, so front ends can choose a message or an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInFailure {
    /// Wrong password or unknown user.
    Credentials,
    /// Too many failed sign-ins: locked out for a while.
    LockedOut,
    /// The server uses no tokens: nothing to sign in to.
    NotNeeded,
    /// The server or portal could not be reached (or answered with something not ArcGIS).
    Unreachable,
    /// The browser sign-in timed out, was denied, or was cancelled.
    Cancelled,
    /// The secrets could not be saved (no keychain and the file store not chosen).
    SecretStore,
    /// Anything else; the message says what.
    Other,
}

/// A local edit of one feature, carried by [`Command::EditFeature`] (the GUI) and by
/// `EngineHandle::edit_feature` (the `syncwatch edit` command).
#[derive(Debug, Clone, PartialEq)]
pub enum LocalEdit {
    /// A new feature; a GlobalID among the attributes is kept, otherwise one is assigned.
    Add {
        attributes: crate::protocol::Attributes,
        geometry: Option<serde_json::Value>,
    },
    /// New values for some attributes (and optionally the geometry) of an existing feature.
    Update {
        global_id: Guid,
        attributes: crate::protocol::Attributes,
        geometry: Option<serde_json::Value>,
    },
    Delete {
        global_id: Guid,
    },
    /// Attach a file to a feature (boxed: it is the largest edit).
    Attach(Box<NewAttachment>),
    /// Delete an attachment.
    Detach {
        global_id: Guid,
    },
}

/// A file to attach to the feature `parent_global_id` (in whichever layer holds it), carried by
/// [`LocalEdit::Attach`]. The content type is guessed from the file name when not given.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttachment {
    /// The new attachment's GlobalID.
    pub global_id: Guid,
    pub parent_global_id: Guid,
    pub file: PathBuf,
    pub content_type: Option<String>,
}

/// How a finished job ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    pub state: JobState,
    pub uploaded: u32,
    pub downloaded: u32,
    pub failed_edits: u32,
    pub duration_ms: i64,
    /// Local edits held back because they conflict with newer changes on the service
    /// (policy *ask*); they wait for a resolution.
    #[serde(default)]
    pub held_conflicts: u32,
}

/// Where a failure came from: the transport, the service's envelope, or local files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureClass {
    Transport,
    Service,
    Local,
    /// The service refused the token and nothing could renew it: sign in again.
    SignIn,
}

/// A failed job or command, ready to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub class: FailureClass,
    pub code: Option<i64>,
    pub message: String,
}

/// What the engine tells front ends. Each send wakes the UI.
// The summary events are the largest and by far the most frequent: boxing them would add an
// allocation to nearly every event, and the coalescing queue bounds how many wait.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The full replica list (start-up, refresh, after create/unregister).
    ReplicasLoaded {
        replicas: Vec<ReplicaSummary>,
    },
    /// One replica's state changed (health, counts, generations).
    ReplicaChanged {
        summary: ReplicaSummary,
    },
    /// The replica was unregistered and forgotten.
    ReplicaRemoved {
        replica: LocalReplicaId,
    },
    /// A job was recorded and will run once the replica's earlier jobs have ended. `command`:
    /// the command that queued it; `None` when the engine queued it itself (auto-sync, a resumed
    /// or detected client reset, the sync after a recovery).
    JobQueued {
        replica: LocalReplicaId,
        job: JobId,
        command: Option<CommandId>,
    },
    /// Live status of a running job; `progress` is 0.0–1.0 when known.
    JobStatus {
        replica: LocalReplicaId,
        job: JobId,
        state: JobState,
        progress: Option<f32>,
        message: String,
    },
    JobCompleted {
        replica: LocalReplicaId,
        job: JobId,
        outcome: JobOutcome,
    },
    JobFailed {
        replica: LocalReplicaId,
        job: JobId,
        error: Failure,
    },
    /// Before a sync uploads: the queued changes the service's rules predict it will refuse
    /// (rows with `predicted: true`, the server's description text), and what the replica's
    /// policy did with them: `held` changes kept back, `trimmed` sent without read-only content.
    FailuresPredicted {
        replica: LocalReplicaId,
        job: JobId,
        policy: PredictedPolicy,
        rows: Vec<EditResultRecord>,
        held: u32,
        trimmed: u32,
    },
    /// A snapshot of the replica's edit results; the grid filters it by index.
    EditResultsReady {
        replica: LocalReplicaId,
        rows: Arc<[EditResultRecord]>,
    },
    /// The service stopped answering; auto-sync backs off.
    NetworkLost {
        service_url: String,
        reason: String,
    },
    NetworkBack {
        service_url: String,
    },
    /// The server can no longer sync this replica.
    ResetRequired {
        replica: LocalReplicaId,
        reason: String,
    },
    /// A manual reset (or a fallback to manual) waits for the user's confirmation.
    ResetAwaitingConfirmation {
        plan: ResetPlan,
        fallback_error: Option<String>,
    },
    /// Reset callbacks (as ArcGIS clients offer them): before the reset starts (backups are
    /// written by now).
    BeforeReset {
        plan: ResetPlan,
    },
    AfterRecovery {
        report: ResetReport,
    },
    AfterDiscard {
        report: ResetReport,
    },
    /// An automatic reset failed and fell back to manual.
    ManualResetFallback {
        replica: LocalReplicaId,
        error: String,
    },
    /// A line the engine has just written to the sync error log (`syncwatch.db`), for the log
    /// panel. Every line the window shows comes from the engine, so the window's log is the
    /// stored log.
    Logged {
        entry: LogEntry,
    },
    /// The stored sync error log (oldest first, at most the store's limit), sent once when the
    /// engine starts and before any [`Event::Logged`], so the window shows the log of earlier
    /// runs.
    LogHistory {
        entries: Vec<LogEntry>,
    },
    ExportFinished {
        path: PathBuf,
        rows: usize,
    },
    /// A command could not be carried out. `command`: which one; `None` for the engine's own
    /// work (loading the replicas at start, resuming client resets, auto-sync).
    CommandFailed {
        what: String,
        error: Failure,
        command: Option<CommandId>,
    },
    /// The job could not get a token the service accepts and nothing could renew it: the
    /// replica is "sign-in needed" ([`Health::SignInNeeded`]), the job (and the replica's later
    /// jobs) wait, not failed, and run after the next successful sign-in ([`Event::SignedIn`]),
    /// ending then in `JobCompleted` / `JobFailed` as usual. `reason` is one line, no secret.
    JobWaitingForSignIn {
        replica: LocalReplicaId,
        job: JobId,
        reason: String,
    },
    /// A browser sign-in waits for the user: open `authorize_url` in the system browser. `oob`:
    /// the portal will show a code to paste ([`Command::SubmitSignInCode`]); otherwise the
    /// engine receives the redirect on its loopback listener (until the sign-in times out).
    BrowserSignInStarted {
        sign_in: CommandId,
        authorize_url: String,
        oob: bool,
    },
    /// The sign-in `sign_in` succeeded and the account was saved.
    SignedIn {
        sign_in: CommandId,
        account: Account,
    },
    /// The sign-in `sign_in` failed; `message` is one line naming no secret.
    SignInFailed {
        sign_in: CommandId,
        failure: SignInFailure,
        message: String,
    },
    SignedOut {
        account: AccountKey,
    },
    /// The certificate of `url` with this SHA-256 `fingerprint` is trusted from now on
    /// ([`Command::TrustCertificate`]).
    CertificateTrusted {
        url: String,
        fingerprint: String,
    },
    /// The replicas the service at `service_url` lists ([`Command::LoadServiceReplicas`]).
    ServiceReplicasLoaded {
        service_url: String,
        replicas: Vec<ServiceReplica>,
    },
    /// How unregistering each replica went ([`Command::UnregisterServiceReplicas`]).
    ServiceReplicasUnregistered {
        service_url: String,
        results: Vec<UnregisterResult>,
    },
    /// Every signed-in account (after [`Command::ListAccounts`], a sign-in, a sign-out, a
    /// renewal); no secret.
    Accounts(Vec<Account>),
    /// An offline map was read ([`Command::OpenOfflineMap`], [`Command::ScanOfflineMaps`]).
    OfflineMapRead {
        map: OfflineMap,
    },
    /// The offline map at `path` checked against its service.
    OfflineMapChecked {
        path: PathBuf,
        check: OfflineCheck,
    },
    /// The file at `path` could not be read as an offline map; `error` is one line.
    OfflineMapFailed {
        path: PathBuf,
        error: String,
    },
    /// The folders watched for offline maps ([`Command::LoadOfflineMapFolders`],
    /// [`Command::SetOfflineMapFolders`]).
    OfflineMapFolders {
        folders: Vec<PathBuf>,
    },
    /// The replica's recorded conflicts and its conflict policy (after
    /// [`Command::LoadConflicts`], a resolution, or a sync that found any).
    ConflictsReady {
        replica: LocalReplicaId,
        policy: ConflictPolicy,
        conflicts: Vec<Conflict>,
    },
    /// The service browser's facts ([`Command::DescribeService`]).
    ServiceDescribed {
        /// Boxed: the facts are the largest event.
        facts: Box<ServiceFacts>,
    },
    /// Each layer's feature count inside `area` ([`Command::CountArea`]), `(layer id, count)`.
    AreaCounted {
        service_url: String,
        area: WorkArea,
        counts: Vec<(i64, i64)>,
    },
    /// The map of one feature ([`Command::LoadFeatureMap`]).
    FeatureMap(Box<FeatureMap>),
    /// The preview of a service's layers ([`Command::LoadServicePreview`]).
    ServicePreview(Box<ServicePreview>),
    /// The attribute forms [`Command::LoadFixForm`] asked for, in its order.
    FixFormLoaded {
        replica: LocalReplicaId,
        forms: Vec<FixForm>,
    },
    /// A replica's client-reset backups ([`Command::ListBackups`]).
    BackupsListed {
        replica: LocalReplicaId,
        backups: Vec<BackupInfo>,
    },
    /// A backup's changes with what restoring each would do now ([`Command::PreviewBackup`]).
    BackupPreviewed {
        preview: Box<BackupPreview>,
    },
    /// A restore finished ([`Command::RestoreFromBackup`]); its job's `JobCompleted` follows,
    /// then the sync that uploads what it restored.
    BackupRestored {
        report: RestoreReport,
    },
}
