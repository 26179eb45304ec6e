//! Local changes since the last sync, read from the change-tracking columns of each dataset's
//! table (`gdb_archive_oid`, `gdb_from_date`, `gdb_to_date`, Julian days). ArcGIS keeps every
//! version of a row: an edit closes the current version (`gdb_to_date` = now) and inserts a new
//! one from now; a delete only closes it; a current version is open until 9999-12-31.
//!
//! The method (ARCHITECTURE.md "Offline maps"): the baseline is the later of the file's
//! download and its `LastSyncDate`. The download is the earliest `gdb_from_date` in the file's
//! datasets when it lies within a day after `CreationDate` (downloaded rows carry the download's
//! time, or 1970-01-01 "since the beginning"), else `CreationDate`. Per GlobalID (OBJECTID
//! without one): no version from before the baseline and one open now = an add; a version from
//! before, none open now, closed after the baseline = a delete; a version from before and an
//! open one from after = an update. Limits: ArcGIS writes the replica's dates without a zone,
//! they are read as UTC; a sync's downloaded changes are dated at the sync, so if the
//! `LastSyncDate` lags UTC they count as local changes until the next sync; an add deleted
//! again before a sync counts as nothing.
//!
//! What it must not do: write to the file, or judge the changes (that is `predictions.rs`).

use crate::model::{OfflineChangeCounts, OfflineChangeKind};
use rusqlite::Connection;

/// `gdb_to_date` above this is an open (current) version (9999-12-31 is 5373484.49998843).
pub const OPEN_VERSION: f64 = 5_000_000.0;
/// Julian day of the Unix epoch.
pub const EPOCH_JULIAN_DAY: f64 = 2_440_587.5;

/// ms since the epoch as a Julian day.
pub fn julian_day(ms: i64) -> f64 {
    ms as f64 / 86_400_000.0 + EPOCH_JULIAN_DAY
}

/// A Julian day as ms since the epoch.
pub fn epoch_ms(julian: f64) -> i64 {
    ((julian - EPOCH_JULIAN_DAY) * 86_400_000.0).round() as i64
}

/// The change-tracking columns and key of one table, if it is change tracked.
#[derive(Debug, Clone)]
pub struct TrackedTable {
    pub table: String,
    /// The GlobalID column, else OBJECTID.
    pub key: String,
}

/// One changed row key.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub key: String,
    pub kind: OfflineChangeKind,
}

/// The table's tracking columns, or `None` when it is not change tracked (or missing).
pub fn tracked(conn: &Connection, table: &str) -> rusqlite::Result<Option<TrackedTable>> {
    let columns = super::columns(conn, table)?;
    let has = |name: &str| columns.iter().any(|(c, _)| c.eq_ignore_ascii_case(name));
    if !(has("gdb_from_date") && has("gdb_to_date")) {
        return Ok(None);
    }
    let key = columns
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case("GlobalID"))
        .or_else(|| {
            columns
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case("OBJECTID"))
        })
        .or_else(|| {
            columns
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case("ATTACHMENTID"))
        })
        .map(|(c, _)| c.clone());
    Ok(key.map(|key| TrackedTable {
        table: table.to_string(),
        key,
    }))
}

/// (current rows, every version) of a tracked table.
pub fn row_counts(conn: &Connection, t: &TrackedTable) -> rusqlite::Result<(u64, u64)> {
    let sql = format!(
        "SELECT COALESCE(SUM(gdb_to_date > ?1), 0), COUNT(*) FROM {}",
        super::quoted(&t.table)
    );
    conn.query_row(&sql, [OPEN_VERSION], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
    })
}

/// The earliest `gdb_from_date` of a tracked table.
pub fn earliest(conn: &Connection, t: &TrackedTable) -> rusqlite::Result<Option<f64>> {
    let sql = format!("SELECT MIN(gdb_from_date) FROM {}", super::quoted(&t.table));
    conn.query_row(&sql, [], |r| r.get(0))
}

/// The baseline (Julian day) changes are counted from; see the module comment.
pub fn baseline(earliest: Option<f64>, created_ms: Option<i64>, last_sync_ms: Option<i64>) -> f64 {
    let created = created_ms.map(julian_day);
    let download = match (earliest, created) {
        (Some(first), Some(created)) if first <= created + 1.0 => first,
        (_, Some(created)) => created,
        (Some(first), None) => first,
        (None, None) => EPOCH_JULIAN_DAY,
    };
    last_sync_ms
        .map(julian_day)
        .map_or(download, |s| s.max(download))
}

/// The changed keys of a tracked table since `baseline`.
pub fn changes(
    conn: &Connection,
    t: &TrackedTable,
    baseline: f64,
) -> rusqlite::Result<Vec<Change>> {
    let sql = format!(
        "SELECT {key}, MIN(gdb_from_date), MAX(gdb_to_date > ?1), MAX(gdb_from_date > ?2), \
         MAX(CASE WHEN gdb_to_date > ?1 THEN 0 ELSE gdb_to_date END) \
         FROM {table} GROUP BY {key} HAVING MAX(gdb_from_date > ?2) OR MAX(gdb_to_date <= ?1 AND gdb_to_date > ?2)",
        key = super::quoted(&t.key),
        table = super::quoted(&t.table)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params![OPEN_VERSION, baseline], |r| {
        Ok((
            text_of(r.get_ref(0)?),
            r.get::<_, f64>(1)?,
            r.get::<_, i64>(2)? != 0,
            r.get::<_, i64>(3)? != 0,
            r.get::<_, f64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, first, open, newer, last_close) = row?;
        let kind = if first > baseline {
            open.then_some(OfflineChangeKind::Add)
        } else if !open {
            (last_close > baseline).then_some(OfflineChangeKind::Delete)
        } else {
            newer.then_some(OfflineChangeKind::Update)
        };
        if let Some(kind) = kind {
            out.push(Change { key, kind });
        }
    }
    Ok(out)
}

/// Counts per kind.
pub fn count(changes: &[Change]) -> OfflineChangeCounts {
    let mut c = OfflineChangeCounts::default();
    for change in changes {
        match change.kind {
            OfflineChangeKind::Add => c.adds += 1,
            OfflineChangeKind::Update => c.updates += 1,
            OfflineChangeKind::Delete => c.deletes += 1,
        }
    }
    c
}

fn text_of(value: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null | ValueRef::Blob(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn julian_days_round_trip() {
        assert_eq!(epoch_ms(julian_day(1_486_846_667_000)), 1_486_846_667_000);
        assert!((julian_day(0) - EPOCH_JULIAN_DAY).abs() < 1e-9);
    }

    #[test]
    fn baseline_is_the_download_or_the_last_sync() {
        let created = 1_486_846_667_000;
        // downloaded "since the beginning" (1970): the baseline is that stamp
        assert_eq!(
            baseline(Some(2440587.50001157), Some(created), None),
            2440587.50001157
        );
        // downloaded at creation, a few hours later in UTC
        let stamp = julian_day(created) + 0.17;
        assert_eq!(baseline(Some(stamp), Some(created), None), stamp);
        // only local adds, days later: the creation date
        assert_eq!(
            baseline(Some(stamp + 3.0), Some(created), None),
            julian_day(created)
        );
        // synced since: the last sync
        let synced = created + 10 * 86_400_000;
        assert_eq!(
            baseline(Some(stamp), Some(created), Some(synced)),
            julian_day(synced)
        );
    }
}
