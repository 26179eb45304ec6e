//! The replicas registered on one feature service, as the person who looks after the service
//! sees them (`replicas`, then each replica's info): [`ServiceReplica`] rows, whether one is
//! stale (not synced for N days, [`is_stale`]), which ones this laptop holds, and the result of
//! unregistering each selected one ([`UnregisterResult`]). Plain data: no I/O, no clock.

use crate::protocol::{Guid, SyncDirection, SyncModel};
use serde::{Deserialize, Serialize};

/// Replicas not synced for this many days are "stale" unless the user chose otherwise.
pub const DEFAULT_STALE_DAYS: u32 = 30;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// One layer of a replica on the service, with the generation the service last sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceReplicaLayer {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_gen: Option<i64>,
}

/// One replica the service lists, with what its info says. When the info call failed, only
/// the list's id and name are known and `error` says why (the row is shown, not dropped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReplica {
    #[serde(rename = "replicaID")]
    pub replica_id: Guid,
    pub name: String,
    pub owner: Option<String>,
    pub created_ms: Option<i64>,
    pub last_sync_ms: Option<i64>,
    pub sync_model: Option<SyncModel>,
    pub sync_direction: Option<SyncDirection>,
    /// The replica's area in one line ("envelope …", "polygon, 1 ring"), or `None` for the
    /// whole service.
    pub area: Option<String>,
    /// The replica-wide generation (perReplica).
    pub server_gen: Option<i64>,
    pub layers: Vec<ServiceReplicaLayer>,
    /// This laptop holds the replica (a replica of syncwatch's with this replicaID).
    pub held_here: bool,
    /// Why its info could not be read (one line).
    pub error: Option<String>,
}

impl ServiceReplica {
    /// When it last synced, or, never synced, when it was created.
    pub fn last_activity_ms(&self) -> Option<i64> {
        self.last_sync_ms.or(self.created_ms)
    }
}

/// Whether a replica last active at `last_activity_ms` has gone `stale_days` days without a
/// sync by `now_ms`. A replica with no known date is not called stale (nothing says so), and
/// `stale_days` 0 marks nothing.
pub fn is_stale(last_activity_ms: Option<i64>, now_ms: i64, stale_days: u32) -> bool {
    if stale_days == 0 {
        return false;
    }
    last_activity_ms.is_some_and(|t| now_ms.saturating_sub(t) >= i64::from(stale_days) * DAY_MS)
}

/// How unregistering one replica of the service ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnregisterResult {
    #[serde(rename = "replicaID")]
    pub replica_id: Guid,
    pub name: String,
    /// Unregistered now, or already gone from the service.
    pub unregistered: bool,
    pub already_gone: bool,
    /// Why not (one line), when it failed.
    pub error: Option<String>,
    /// This laptop holds it: its next sync will need a client reset.
    pub held_here: bool,
}

/// A geometry (replica info's `geometry`) in one line: an envelope's corners, or a polygon's
/// rings; `None` when there is none.
pub fn area_text(geometry: Option<&serde_json::Value>) -> Option<String> {
    let g = geometry?.as_object()?;
    let num = |k: &str| g.get(k).and_then(serde_json::Value::as_f64);
    if let (Some(xmin), Some(ymin), Some(xmax), Some(ymax)) =
        (num("xmin"), num("ymin"), num("xmax"), num("ymax"))
    {
        return Some(format!("envelope {xmin},{ymin},{xmax},{ymax}"));
    }
    if let Some(rings) = g.get("rings").and_then(serde_json::Value::as_array) {
        let n = rings.len();
        return Some(format!(
            "polygon, {n} ring{}",
            if n == 1 { "" } else { "s" }
        ));
    }
    if g.contains_key("x") && g.contains_key("y") {
        return Some(format!(
            "point {},{}",
            num("x").unwrap_or_default(),
            num("y").unwrap_or_default()
        ));
    }
    Some("geometry".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_after_the_chosen_days() {
        let now = 100 * DAY_MS;
        assert!(is_stale(Some(now - 30 * DAY_MS), now, 30));
        assert!(!is_stale(Some(now - 29 * DAY_MS), now, 30));
        assert!(is_stale(Some(now - 8 * DAY_MS), now, 7));
        assert!(!is_stale(None, now, 30));
        assert!(!is_stale(Some(0), now, 0));
    }

    #[test]
    fn areas_in_one_line() {
        let env = serde_json::json!({"xmin":1,"ymin":2,"xmax":3,"ymax":4});
        assert_eq!(area_text(Some(&env)).as_deref(), Some("envelope 1,2,3,4"));
        let poly = serde_json::json!({"rings":[[[0,0],[1,0],[1,1],[0,0]]]});
        assert_eq!(area_text(Some(&poly)).as_deref(), Some("polygon, 1 ring"));
        assert_eq!(area_text(None), None);
    }
}
