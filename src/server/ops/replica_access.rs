//! Who may act on a registered replica: its owner, or an administrator (on all of them); an
//! anonymous caller only on anonymous replicas, and a signed-in user not on anonymous ones (the
//! replicas resource lists only the replicas the signed-in user created, docs/arcgis-sync.md §3).
//! A replica the caller may not act on is answered exactly like one that does not exist, so the
//! ids of other users' replicas do not leak. Pure rules over the stored record: no I/O here.

use super::{Core, OpError, replica_missing};
use crate::protocol::Guid;
use crate::protocol::rules::{Caller, is_anonymous_owner};
use crate::server::db::RegisteredReplica;

/// Whether `caller` may see, sync, close or unregister the replica owned by `owner`.
pub(super) fn may_act_on(caller: &Caller, owner: &str) -> bool {
    if caller.is_admin {
        return true;
    }
    if caller.name.is_empty() {
        return is_anonymous_owner(owner);
    }
    owner == caller.name
}

/// The registered replica `replica_id` when `caller` may act on it; the "does not exist"
/// envelope when it is not registered or belongs to someone else.
pub(super) fn accessible_replica(
    core: &Core,
    caller: &Caller,
    replica_id: &Guid,
) -> Result<RegisteredReplica, OpError> {
    match core.db.replica(replica_id)? {
        Some(record) if may_act_on(caller, &record.owner) => Ok(record),
        Some(record) => {
            tracing::info!(
                replica = %replica_id,
                owner = %record.owner,
                caller = %caller.name,
                "replica refused: not the caller's"
            );
            Err(OpError::Service(replica_missing()))
        }
        None => Err(OpError::Service(replica_missing())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, is_admin: bool) -> Caller {
        Caller {
            name: name.into(),
            is_admin,
        }
    }

    #[test]
    fn owners_act_on_their_own_and_admins_on_all() {
        let tech1 = user("tech1", false);
        let anonymous = Caller::default();
        assert!(may_act_on(&tech1, "tech1"));
        assert!(!may_act_on(&tech1, "tech2"));
        assert!(!may_act_on(&tech1, ""));
        assert!(may_act_on(&anonymous, ""));
        assert!(may_act_on(&anonymous, "ESRI_Anonymous"));
        assert!(!may_act_on(&anonymous, "tech1"));
        let admin = user("admin", true);
        assert!(
            ["tech1", "tech2", "", "admin"]
                .iter()
                .all(|o| may_act_on(&admin, o))
        );
    }
}
