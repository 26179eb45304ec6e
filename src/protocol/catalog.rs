//! The error-code catalog: every code a sync can report, keyed by (domain, code), with the
//! guidance of Esri's "Error handling with sync" ("how to address", "what the client should do") and whether resending
//! the edit unchanged can succeed. Codes are never looked up by number alone: the ArcGIS Runtime
//! reuses 1000/2000 numbers for other things (docs/arcgis-sync.md §4).
//! Transport failures (no connection, timeouts, HTTP status ≠ 200, malformed replies) are a
//! separate class, [`TransportKind`], never edit results.

use super::error::ServiceError;
use serde::Serialize;

/// Where a code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorDomain {
    /// Feature service edit results (1000 and 2000 series, REST "Feature service error codes").
    FeatureService,
    /// Replica-level sync errors (3000 series, ArcGIS Runtime `ErrorType` 3060–3081).
    ReplicaSync,
}

/// The seed's grouping of codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Series {
    /// 1000 series: one feature or row.
    #[serde(rename = "1000")]
    Feature,
    /// 2000 series: every edit of one layer.
    #[serde(rename = "2000")]
    Layer,
    /// 3000 series: the whole replica.
    #[serde(rename = "3000")]
    Replica,
}

impl Series {
    pub fn of_code(code: i64) -> Option<Series> {
        match code {
            1000..=1999 => Some(Series::Feature),
            2000..=2999 => Some(Series::Layer),
            3000..=3999 => Some(Series::Replica),
            _ => None,
        }
    }
    pub fn number(self) -> u32 {
        match self {
            Series::Feature => 1000,
            Series::Layer => 2000,
            Series::Replica => 3000,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Series::Feature => "1000 feature",
            Series::Layer => "2000 layer",
            Series::Replica => "3000 replica",
        }
    }
    pub fn parse(text: &str) -> Option<Series> {
        match text.trim() {
            "1000" | "feature" => Some(Series::Feature),
            "2000" | "layer" => Some(Series::Layer),
            "3000" | "replica" => Some(Series::Replica),
            _ => None,
        }
    }
}

/// Can sending the same edit again succeed?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Resend {
    /// Yes: the cause is usually passing (server offline, rolled back because of another edit).
    Unchanged,
    /// Only after the service administrator changes a setting; otherwise fix the edit.
    AfterServiceChange,
    /// No: the edit itself must be fixed or dropped (or the replica reset).
    NeedsFix,
}

impl Resend {
    pub fn can_succeed_unchanged(self) -> bool {
        !matches!(self, Resend::NeedsFix)
    }
}

/// One catalog entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    pub domain: ErrorDomain,
    pub code: i64,
    pub series: Series,
    pub title: &'static str,
    /// The server's description; `<value>` stands for a field or layer name.
    pub description: &'static str,
    pub how_to_address: &'static str,
    pub client_action: &'static str,
    pub resend: Resend,
    pub resend_can_succeed_unchanged: bool,
    /// Only a client reset (a fresh replica) gets the replica syncing again.
    pub needs_client_reset: bool,
}

const RE_SYNC_LATER: &str = "Often caused by something as simple as the server going offline: run the sync again later, when the server is up. If the error persists, a service administrator can find more in the server logs.";
const RE_SYNC_SAFE: &str = "The sync API is fault tolerant, so synchronizing again is usually safe. If the problem persists, work with the service administrator to diagnose it.";
const READ_ONLY_HOW: &str = "If the edits are valid and must be applied, the service can be set to allow edits to the read-only fields; then synchronize to resend. Otherwise resend the edits with only the editable fields.";
const READ_ONLY_CLIENT: &str = "Check the service's read-only settings (layer field 'editable', allowGeometryUpdates; offline: GDB_ServiceItems) before letting users edit, and send only edits to writable fields.";
const OWNER_HOW: &str = "If the edits are valid and must be applied, the service administrator can turn off ownership-based access control; then synchronize to resend the edits.";
const OWNER_CLIENT: &str = "Check the service's ownership-based access control rules and owner field before allowing edits: a user may edit the features they own; features owned by anonymous (empty or ESRI_Anonymous) are editable by anyone; the rules decide the rest.";
const MZ_HOW: &str = "Resend the edits with m- and z-values. For z-values the service administrator can instead allow z defaults on the service.";
const MZ_CLIENT: &str = "Support m- and z-values when editing and include them when present; createReplica and synchronizeReplica always include them.";
const VALUE_HOW: &str = "Remove or replace the invalid values of the features listed in the results, then resend the edits.";
const VALUE_CLIENT: &str = "Use the field properties of the layer resource (type, length, domain; offline: GDB_ServiceItems) to make sure correct values are set in the first place.";
const ATTACH_CLIENT: &str = "Make sure the parent feature exists and the attachment's GlobalID, content type and size fit the service's limits before sending it. Synchronizing again is usually safe.";
const REPLICA_RESET_HOW: &str = "The server can no longer sync this replica. Back up the replica file and its unsynced edits, then run a client reset (recover or discard) to create a fresh replica.";

macro_rules! fs_entry {
    ($code:expr, $series:ident, $title:expr, $desc:expr, $how:expr, $client:expr, $resend:ident) => {
        fs_entry!($code, $series, $title, $desc, $how, $client, $resend, false)
    };
    ($code:expr, $series:ident, $title:expr, $desc:expr, $how:expr, $client:expr, $resend:ident, $reset:expr) => {
        CatalogEntry {
            domain: ErrorDomain::FeatureService,
            code: $code,
            series: Series::$series,
            title: $title,
            description: $desc,
            how_to_address: $how,
            client_action: $client,
            resend: Resend::$resend,
            resend_can_succeed_unchanged: !matches!(Resend::$resend, Resend::NeedsFix),
            needs_client_reset: $reset,
        }
    };
}

macro_rules! rs_entry {
    ($code:expr, $title:expr, $desc:expr, $how:expr, $client:expr, $resend:ident, $reset:expr) => {
        CatalogEntry {
            domain: ErrorDomain::ReplicaSync,
            code: $code,
            series: Series::Replica,
            title: $title,
            description: $desc,
            how_to_address: $how,
            client_action: $client,
            resend: Resend::$resend,
            resend_can_succeed_unchanged: !matches!(Resend::$resend, Resend::NeedsFix),
            needs_client_reset: $reset,
        }
    };
}

static CATALOG: &[CatalogEntry] = &[
    fs_entry!(
        1000,
        Feature,
        "Non-specific edit content error",
        "Non-specific edit content error.",
        RE_SYNC_LATER,
        RE_SYNC_SAFE,
        Unchanged
    ),
    fs_entry!(
        1001,
        Feature,
        "Field is not nullable",
        "Field: <value> is not nullable. Cannot set null value.",
        "Set a value for the non-nullable field on the features listed, then resend.",
        "Use the 'nullable' property of each field (layer resource; offline: GDB_ServiceItems) and do not let editors set null in a non-nullable field.",
        NeedsFix
    ),
    fs_entry!(
        1002,
        Feature,
        "Geometry has no m-values",
        "Geometry does not have m-values.",
        MZ_HOW,
        MZ_CLIENT,
        NeedsFix
    ),
    fs_entry!(
        1003,
        Feature,
        "Operation rolled back",
        "Operation rolled back.",
        "Another edit in the same sync failed and rollbackOnFailure rolled this one back. Fix the edit that failed, then synchronize: this edit is resent as it is.",
        "Use rollbackOnFailure=false when partial success is acceptable, so one bad edit does not hold back the others. Synchronizing again is safe.",
        Unchanged
    ),
    fs_entry!(
        1004,
        Feature,
        "Geometry update not allowed",
        "Geometry update not allowed.",
        READ_ONLY_HOW,
        READ_ONLY_CLIENT,
        AfterServiceChange
    ),
    fs_entry!(
        1005,
        Feature,
        "True curve update not allowed",
        "True curve update not allowed.",
        "The service administrator can allow updates of true curves, then resend the edits; this replaces the true curve features with the densified ones.",
        "Runtime and web clients do not edit true curves; the sync API densifies them. If densified edits are not acceptable, do not allow edits to features known to have true curves.",
        AfterServiceChange
    ),
    fs_entry!(
        1006,
        Feature,
        "Untrusted HTML content",
        "Invalid untrusted Html content detected in field: <value>.",
        "Remove the invalid HTML content from the features listed and resend the edits. (Not recommended: set the service not to filter web content, then resend.)",
        "Prevent users from entering HTML or script content in text fields in the first place.",
        NeedsFix
    ),
    fs_entry!(
        1007,
        Feature,
        "Denied by ownership-based access control",
        "Edit denied due to ownership-based access control.",
        OWNER_HOW,
        OWNER_CLIENT,
        AfterServiceChange
    ),
    fs_entry!(
        1008,
        Feature,
        "Adding an attachment failed",
        "Adding an attachment failed.",
        RE_SYNC_LATER,
        ATTACH_CLIENT,
        Unchanged
    ),
    fs_entry!(
        1009,
        Feature,
        "Updating an attachment failed",
        "Updating an attachment failed.",
        RE_SYNC_LATER,
        ATTACH_CLIENT,
        Unchanged
    ),
    fs_entry!(
        1010,
        Feature,
        "Deleting an attachment failed",
        "Deleting an attachment failed.",
        "The attachment may already be gone or belong to another feature. Synchronize again later; if it persists, drop the local delete or ask the service administrator to check the server logs.",
        ATTACH_CLIENT,
        Unchanged
    ),
    fs_entry!(
        1011,
        Feature,
        "Object is missing",
        "Object is missing.",
        "The feature no longer exists on the server (deleted by someone else, or never created). Drop the local edit, or re-create the feature as a new add.",
        "Re-synchronizing is usually safe; if the object is really gone, the local update or delete cannot apply and should be dropped.",
        NeedsFix
    ),
    fs_entry!(
        1012,
        Feature,
        "Operation rolled back",
        "Operation rolled back.",
        "The edit was rolled back with the rest of the sync. Fix the edit that caused the rollback, then synchronize again.",
        RE_SYNC_SAFE,
        Unchanged
    ),
    fs_entry!(
        1013,
        Feature,
        "Object missing or denied by ownership",
        "Object is missing or edit denied due to ownership-based access control.",
        OWNER_HOW,
        OWNER_CLIENT,
        AfterServiceChange
    ),
    fs_entry!(
        1014,
        Feature,
        "Geometry has no z-values",
        "Geometry does not have z-values.",
        MZ_HOW,
        MZ_CLIENT,
        NeedsFix
    ),
    fs_entry!(
        1015,
        Feature,
        "Geometry could not be set",
        "Geometry could not be set.",
        VALUE_HOW,
        VALUE_CLIENT,
        NeedsFix
    ),
    fs_entry!(
        1016,
        Feature,
        "Setting a value failed",
        "Setting of value for <value> failed.",
        VALUE_HOW,
        VALUE_CLIENT,
        NeedsFix
    ),
    fs_entry!(
        1017,
        Feature,
        "Internal error during insert",
        "Internal error during object insert.",
        RE_SYNC_LATER,
        RE_SYNC_SAFE,
        Unchanged
    ),
    fs_entry!(
        1018,
        Feature,
        "Internal error during delete",
        "Internal error during object delete.",
        RE_SYNC_LATER,
        RE_SYNC_SAFE,
        Unchanged
    ),
    fs_entry!(
        1019,
        Feature,
        "Internal error during update",
        "Internal error during object update.",
        RE_SYNC_LATER,
        RE_SYNC_SAFE,
        Unchanged
    ),
    fs_entry!(
        1020,
        Feature,
        "Missing GlobalID",
        "Missing GlobalID.",
        "The edit was sent without a GlobalID, so the server cannot match it. Give the feature a GlobalID (a new one for an add) and resend.",
        "Every add, update and delete in a sync must carry the feature's GlobalID; generate one for each new feature.",
        NeedsFix
    ),
    fs_entry!(
        1021,
        Feature,
        "Empty GlobalID",
        "Empty GlobalID.",
        "The edit's GlobalID is empty. Give the feature a valid GlobalID and resend.",
        "Never send an empty GlobalID; generate one for each new feature.",
        NeedsFix
    ),
    fs_entry!(
        1022,
        Feature,
        "Unique constraint violated",
        "Unique constraint violation error on inserting the value.",
        "Set a unique value in the field with the unique constraint on the features listed, then resend. Application logic may be needed to keep values unique.",
        "Use the unique indexes of the layer resource (indexes with isUnique; offline: GDB_ServiceItems) to keep editors from entering duplicate values.",
        NeedsFix
    ),
    fs_entry!(
        1023,
        Feature,
        "Field is not editable",
        "Field: <value> is not editable.",
        READ_ONLY_HOW,
        READ_ONLY_CLIENT,
        AfterServiceChange
    ),
    fs_entry!(
        2000,
        Layer,
        "Layer edits rolled back",
        "Edits to layer <layer ID> rolled back.",
        "A general failure kept every edit of this layer from being applied. Work with the service administrator, who can read the reason in the server logs; then synchronize again.",
        "Synchronizing again is safe: the layer's edits stay queued. If the failure repeats, report it with the layer ID and the time of the sync.",
        Unchanged
    ),
    fs_entry!(
        2001,
        Layer,
        "Layer not found",
        "Layer not found.",
        "The layer no longer exists on the service or was renamed: a breaking schema change. Back up the local edits of this layer and reset the replica against the current service.",
        "Compare the replica's layers with the service's layer list before syncing; a missing layer means the replica needs a client reset.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3060,
        "Database does not have changes",
        "The geodatabase does not have changes to upload.",
        "Nothing to do: there were no local changes to send.",
        "Treat as success; do not report it as a failure.",
        Unchanged,
        false
    ),
    rs_entry!(
        3061,
        "Replica does not exist",
        "Replica with this GUID does not exist on the server.",
        REPLICA_RESET_HOW,
        "Stop resending: rescue the unsynced edits (export them), then create a new replica (client reset) and re-apply them.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3062,
        "Storage type not supported",
        "The replica's storage type is not supported.",
        "The local file was made by an incompatible client. Create a new replica with this application.",
        "Only sync replica files created by a supported client.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3063,
        "Replica model error",
        "The replica's sync model does not match the request.",
        "The replica was created with another sync model (perReplica vs perLayer) than the sync uses. Sync with the replica's own model, or reset the replica.",
        "Read the sync model from the replica (replica info) and always sync with it.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3064,
        "Client generation error",
        "The replica's client generation is not valid.",
        "The generations in the local replica no longer match the server (restored from an old backup, or the server replica was recreated). Reset the replica.",
        "Persist a new server generation only after the download is durably applied; never edit generations by hand.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3065,
        "No upload to acknowledge",
        "There is no upload to acknowledge.",
        "The client tried to acknowledge an upload the server never received. Synchronize again; the unacknowledged edits are resent.",
        "Acknowledge uploads only after the server confirms them.",
        Unchanged,
        false
    ),
    rs_entry!(
        3066,
        "Last write time in the future",
        "The replica's last write time is in the future.",
        "The laptop's clock is ahead of the server. Correct the system clock, then synchronize again.",
        "Keep the device clock synchronized (NTP).",
        AfterServiceChange,
        false
    ),
    rs_entry!(
        3067,
        "Invalid argument",
        "An argument of the sync request is not valid.",
        "The request was malformed. Check the replica's definition and the sync options; report it if it repeats.",
        "Validate parameters against the service's syncCapabilities before sending.",
        NeedsFix,
        false
    ),
    rs_entry!(
        3068,
        "Transportation network corrupt",
        "The transportation network in the replica is corrupt.",
        "Re-download the replica (client reset).",
        "Do not edit network datasets outside the supported API.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3069,
        "Transportation network file I/O",
        "Transportation network file I/O error.",
        "Check disk space and permissions of the replica folder, then synchronize again.",
        RE_SYNC_SAFE,
        Unchanged,
        false
    ),
    rs_entry!(
        3070,
        "Feature has pending edits",
        "The feature has pending edits.",
        "Another operation holds edits to this feature. Finish or discard that edit session, then synchronize.",
        "Save or discard edit sessions before starting a sync.",
        Unchanged,
        false
    ),
    rs_entry!(
        3071,
        "Change tracking not enabled",
        "Change tracking is not enabled on the dataset.",
        "The dataset cannot sync edits. Re-create the replica from a sync-enabled service.",
        "Create replicas only from layers with sync (change tracking) enabled.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3072,
        "Transportation network file open",
        "The transportation network file could not be opened.",
        "Close other programs using the replica folder, then synchronize again.",
        RE_SYNC_SAFE,
        Unchanged,
        false
    ),
    rs_entry!(
        3073,
        "Transportation network unsupported",
        "The transportation network is not supported.",
        "The replica holds a dataset this client cannot sync. Create a replica without it.",
        "Leave unsupported datasets out of replicas.",
        NeedsFix,
        false
    ),
    rs_entry!(
        3074,
        "Cannot sync a copy",
        "A copy of a replica cannot be synchronized.",
        "The file is a copy of another replica; syncing it would duplicate edits. Sync the original, or reset this one into a new replica.",
        "Never sync a copied replica file; create a replica per device.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3075,
        "Access control denied",
        "Access denied by the service's access control.",
        "The user's token lacks the rights to sync this replica. Sign in as the replica owner or ask an administrator for access.",
        "Sync with the user who created the replica.",
        AfterServiceChange,
        false
    ),
    rs_entry!(
        3076,
        "Geometry outside replica extent",
        "The geometry is outside the replica's extent.",
        "Move the feature inside the replica's extent, or drop the edit.",
        "Keep edits inside the replica geometry used at create time.",
        NeedsFix,
        false
    ),
    rs_entry!(
        3077,
        "Upload already in progress",
        "An upload is already in progress for this replica.",
        "Another sync of this replica is running. Wait for it to finish, then synchronize again.",
        "Never run two syncs on one replica at the same time; queue them.",
        Unchanged,
        false
    ),
    rs_entry!(
        3078,
        "Database closed",
        "The replica database is closed.",
        "Reopen the replica and synchronize again.",
        RE_SYNC_SAFE,
        Unchanged,
        false
    ),
    rs_entry!(
        3079,
        "Domain already exists",
        "The domain already exists.",
        "A schema change on the service conflicts with the replica's domains. Reset the replica.",
        "Treat schema changes on the service as a reason to re-create replicas.",
        NeedsFix,
        true
    ),
    rs_entry!(
        3080,
        "Geometry type not supported",
        "The geometry type is not supported.",
        "The layer's geometry type cannot be synced by this client. Leave the layer out of the replica.",
        "Check geometry types before creating a replica.",
        NeedsFix,
        false
    ),
    rs_entry!(
        3081,
        "Attachments require GlobalIDs",
        "Attachments require GlobalIDs.",
        "The service must have GlobalIDs on the layer to sync attachments. Ask the administrator to add them, then create a new replica.",
        "Sync attachments only for layers with a GlobalID field.",
        AfterServiceChange,
        false
    ),
];

/// All entries, 1000 series first.
pub fn all() -> &'static [CatalogEntry] {
    CATALOG
}

/// The entry for (domain, code).
pub fn lookup(domain: ErrorDomain, code: i64) -> Option<&'static CatalogEntry> {
    CATALOG
        .iter()
        .find(|e| e.domain == domain && e.code == code)
}

/// The entry for a code in an edit result: 1000/2000 from the feature service, 3000 replica-level.
pub fn for_edit_result(code: i64) -> Option<&'static CatalogEntry> {
    let domain = match Series::of_code(code)? {
        Series::Feature | Series::Layer => ErrorDomain::FeatureService,
        Series::Replica => ErrorDomain::ReplicaSync,
    };
    lookup(domain, code)
}

/// The description the server sends for `code`, with `<value>` filled in.
pub fn describe(code: i64, value: &str) -> String {
    match for_edit_result(code) {
        Some(e) => e
            .description
            .replace("<value>", value)
            .replace("<layer ID>", value),
        None => format!("Error {code}."),
    }
}

/// Maps a REST error envelope to the replica-level entry it stands for, if any: a 3000-series
/// code directly, or the documented texts ("Replica with this GUID does not exist on the server").
pub fn classify_service_error(err: &ServiceError) -> Option<&'static CatalogEntry> {
    if let Some(code) = err.code
        && let Some(entry) = lookup(ErrorDomain::ReplicaSync, code)
    {
        return Some(entry);
    }
    let text = std::iter::once(err.message.as_str())
        .chain(err.details.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let replica_code = if text.contains("replica")
        && (text.contains("does not exist")
            || text.contains("not found")
            || text.contains("no longer exists"))
    {
        Some(3061)
    } else if text.contains("generation")
        && (text.contains("invalid") || text.contains("not valid") || text.contains("mismatch"))
    {
        Some(3064)
    } else if text.contains("already in progress") {
        Some(3077)
    } else if text.contains("layer not found")
        || (text.contains("layer") && text.contains("does not exist"))
    {
        return lookup(ErrorDomain::FeatureService, 2001);
    } else {
        None
    };
    replica_code.and_then(|c| lookup(ErrorDomain::ReplicaSync, c))
}

/// Failures below the protocol: nothing the service said about the edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TransportKind {
    /// No connection could be made, or it dropped before a reply.
    ConnectionLost,
    /// No reply within the time limit.
    Timeout,
    /// The HTTP status was not 200.
    HttpStatus,
    /// The reply was not the JSON (or SQLite) expected: an HTML page, a truncated body.
    MalformedReply,
    /// The result file was removed from the server's output directory before it was downloaded.
    ResultExpired,
}

impl TransportKind {
    pub fn title(self) -> &'static str {
        match self {
            TransportKind::ConnectionLost => "Connection lost",
            TransportKind::Timeout => "Timed out",
            TransportKind::HttpStatus => "HTTP error",
            TransportKind::MalformedReply => "Malformed reply",
            TransportKind::ResultExpired => "Result expired",
        }
    }

    /// What happens next, in the terms of Esri's sync error-handling guidance.
    pub fn guidance(self) -> &'static str {
        match self {
            TransportKind::ConnectionLost => {
                "A synchronous request that lost its connection is lost and is re-issued; an async job's status is re-polled once the connection is back. Local edits stay queued."
            }
            TransportKind::Timeout => {
                "The request is retried with backoff; local edits stay queued until the server confirms them."
            }
            TransportKind::HttpStatus => {
                "Any status other than 200 means the request was not processed; it is re-issued once the server problem is fixed."
            }
            TransportKind::MalformedReply => {
                "The reply could not be read (often a proxy or login page). Nothing was applied locally; the sync is retried."
            }
            TransportKind::ResultExpired => {
                "The server removed the result before it was downloaded (output directory clean-up, 10 minutes by default). The sync is redone from the last stored generation; resent edits are not duplicated."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_is_present_with_guidance() {
        let feature_and_layer: Vec<i64> = (1000..=1023).chain([2000, 2001]).collect();
        for code in &feature_and_layer {
            let e = lookup(ErrorDomain::FeatureService, *code)
                .unwrap_or_else(|| panic!("{code} missing"));
            assert!(!e.title.is_empty() && !e.description.is_empty());
            assert!(!e.how_to_address.is_empty() && !e.client_action.is_empty());
        }
        for code in 3060..=3081 {
            let e =
                lookup(ErrorDomain::ReplicaSync, code).unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(e.series, Series::Replica);
            assert!(!e.how_to_address.is_empty() && !e.client_action.is_empty());
        }
        assert_eq!(all().len(), 26 + 22);
    }

    #[test]
    fn keys_are_domain_and_code() {
        assert!(lookup(ErrorDomain::ReplicaSync, 1001).is_none());
        assert!(lookup(ErrorDomain::FeatureService, 3061).is_none());
        assert_eq!(
            for_edit_result(3061).unwrap().domain,
            ErrorDomain::ReplicaSync
        );
        assert_eq!(
            for_edit_result(1007).unwrap().domain,
            ErrorDomain::FeatureService
        );
    }

    #[test]
    fn server_descriptions_fill_in_the_value() {
        assert_eq!(
            describe(1001, "Depth"),
            "Field: Depth is not nullable. Cannot set null value."
        );
        assert_eq!(describe(2000, "3"), "Edits to layer 3 rolled back.");
        assert_eq!(
            describe(1007, ""),
            "Edit denied due to ownership-based access control."
        );
    }

    #[test]
    fn replica_envelopes_are_classified() {
        let seed = ServiceError::new(
            404,
            "Unable to complete operation.",
            vec!["Replica with this GUID does not exist on the server".into()],
        );
        assert_eq!(classify_service_error(&seed).unwrap().code, 3061);
        assert!(classify_service_error(&seed).unwrap().needs_client_reset);
        assert_eq!(
            classify_service_error(&ServiceError::new(3077, "busy", vec![]))
                .unwrap()
                .code,
            3077
        );
        assert!(
            classify_service_error(&ServiceError::new(500, "Internal server error", vec![]))
                .is_none()
        );
        assert!(
            classify_service_error(&ServiceError::new(498, "Invalid token.", vec![])).is_none()
        );
    }

    #[test]
    fn resend_flags_are_consistent() {
        for e in all() {
            assert_eq!(
                e.resend_can_succeed_unchanged,
                e.resend.can_succeed_unchanged(),
                "{}",
                e.code
            );
        }
        assert!(
            lookup(ErrorDomain::FeatureService, 1019)
                .unwrap()
                .resend_can_succeed_unchanged
        );
        assert!(
            !lookup(ErrorDomain::FeatureService, 1001)
                .unwrap()
                .resend_can_succeed_unchanged
        );
    }
}
