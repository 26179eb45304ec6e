//! Which of a service's replicas the "Service replicas" view shows, and in what order: a text
//! filter over name, replicaID and owner, "stale only", and a sort by any column. Plain data and
//! pure functions over the list; no egui, no I/O.

use crate::model::{ServiceReplica, is_stale};
use std::cmp::Ordering;

/// The sortable columns of the view, in the order they are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Name,
    Owner,
    Created,
    LastSync,
    Model,
    Direction,
    ThisLaptop,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Name,
        SortKey::Owner,
        SortKey::Created,
        SortKey::LastSync,
        SortKey::Model,
        SortKey::Direction,
        SortKey::ThisLaptop,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SortKey::Name => "Name",
            SortKey::Owner => "Owner",
            SortKey::Created => "Created",
            SortKey::LastSync => "Last sync",
            SortKey::Model => "Model",
            SortKey::Direction => "Direction",
            SortKey::ThisLaptop => "This laptop",
        }
    }
}

/// What the user chose to see.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowFilter {
    /// Case-insensitive text in the name, replicaID or owner.
    pub text: String,
    pub stale_only: bool,
    pub sort: SortKey,
    pub descending: bool,
}

impl RowFilter {
    /// Sorting by `key`: the same key again reverses the order.
    pub fn sort_by(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = false;
        }
    }
}

/// The indices into `replicas` the view shows, in order.
pub fn visible(
    replicas: &[ServiceReplica],
    filter: &RowFilter,
    now_ms: i64,
    stale_days: u32,
) -> Vec<usize> {
    let needle = filter.text.trim().to_lowercase();
    let mut shown: Vec<usize> = (0..replicas.len())
        .filter(|&i| {
            let r = &replicas[i];
            let text_ok = needle.is_empty()
                || r.name.to_lowercase().contains(&needle)
                || r.replica_id.as_str().to_lowercase().contains(&needle)
                || r.owner
                    .as_deref()
                    .is_some_and(|o| o.to_lowercase().contains(&needle));
            let stale_ok = !filter.stale_only || is_stale(r.last_activity_ms(), now_ms, stale_days);
            text_ok && stale_ok
        })
        .collect();
    shown.sort_by(|&a, &b| {
        let order = compare(&replicas[a], &replicas[b], filter.sort);
        if filter.descending {
            order.reverse()
        } else {
            order
        }
    });
    shown
}

fn compare(a: &ServiceReplica, b: &ServiceReplica, key: SortKey) -> Ordering {
    let by_key = match key {
        SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
        SortKey::Owner => a.owner.cmp(&b.owner),
        SortKey::Created => a.created_ms.cmp(&b.created_ms),
        SortKey::LastSync => a.last_sync_ms.cmp(&b.last_sync_ms),
        SortKey::Model => a
            .sync_model
            .map(|m| m.as_str())
            .cmp(&b.sync_model.map(|m| m.as_str())),
        SortKey::Direction => a
            .sync_direction
            .map(|d| d.as_str())
            .cmp(&b.sync_direction.map(|d| d.as_str())),
        SortKey::ThisLaptop => b.held_here.cmp(&a.held_here),
    };
    by_key.then_with(|| a.name.cmp(&b.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Guid;

    const DAY: i64 = 24 * 3600 * 1000;

    fn replica(name: &str, owner: &str, last_sync: i64, held: bool) -> ServiceReplica {
        ServiceReplica {
            replica_id: Guid::new_v4(),
            name: name.into(),
            owner: Some(owner.into()),
            created_ms: Some(0),
            last_sync_ms: Some(last_sync),
            sync_model: None,
            sync_direction: None,
            area: None,
            server_gen: None,
            layers: Vec::new(),
            held_here: held,
            error: None,
        }
    }

    #[test]
    fn filters_by_text_and_staleness_and_sorts_both_ways() {
        let now = 100 * DAY;
        let list = vec![
            replica("b-crew", "tech2", now - 40 * DAY, false),
            replica("a-crew", "tech1", now - DAY, true),
            replica("c-office", "admin", now - 90 * DAY, false),
        ];
        let mut filter = RowFilter::default();
        assert_eq!(visible(&list, &filter, now, 30), vec![1, 0, 2]);
        filter.sort_by(SortKey::Name);
        assert_eq!(visible(&list, &filter, now, 30), vec![2, 0, 1]);
        filter.sort_by(SortKey::LastSync);
        assert_eq!(visible(&list, &filter, now, 30), vec![2, 0, 1]);
        filter.stale_only = true;
        assert_eq!(visible(&list, &filter, now, 30), vec![2, 0]);
        assert_eq!(visible(&list, &filter, now, 60), vec![2]);
        filter.stale_only = false;
        filter.text = "TECH".into();
        assert_eq!(visible(&list, &filter, now, 30), vec![0, 1]);
        filter.text = String::new();
        filter.sort_by(SortKey::ThisLaptop);
        assert_eq!(visible(&list, &filter, now, 30)[0], 1, "held first");
    }
}
