//! What decides which edit-result rows the grid shows, in which order: the filter chips
//! ([`Chip`]), the sortable columns ([`SortColumn`]) and the whole filter ([`GridFilter`]). Plain
//! data with its matching rules; no egui, so tests treat it like data.

use crate::engine::EditResultRecord;
use crate::protocol::{ChangeType, Series};
use serde::{Deserialize, Serialize};
#[cfg(test)]
use std::cmp::Ordering;

/// The filter chips above the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Chip {
    /// Every row, failed or not.
    #[default]
    All,
    /// Failed, 1000 series (one feature).
    Feature,
    /// Failed, 2000 series (a whole layer).
    Layer,
    /// Failed, 3000 series (the replica).
    Replica,
    /// Rows the server accepted.
    Succeeded,
}

impl Chip {
    pub const ALL: [Chip; 5] = [
        Chip::All,
        Chip::Feature,
        Chip::Layer,
        Chip::Replica,
        Chip::Succeeded,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Chip::All => "All",
            Chip::Feature => Series::Feature.label(),
            Chip::Layer => Series::Layer.label(),
            Chip::Replica => Series::Replica.label(),
            Chip::Succeeded => "Succeeded",
        }
    }

    fn series(self) -> Option<Series> {
        match self {
            Chip::Feature => Some(Series::Feature),
            Chip::Layer => Some(Series::Layer),
            Chip::Replica => Some(Series::Replica),
            Chip::All | Chip::Succeeded => None,
        }
    }

    pub fn matches(self, row: &EditResultRecord) -> bool {
        match self {
            Chip::All => true,
            Chip::Succeeded => row.success,
            series_chip => {
                !row.success && row.code.and_then(Series::of_code) == series_chip.series()
            }
        }
    }
}

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortColumn {
    ObjectId,
    GlobalId,
    Layer,
    ChangeType,
    ObjectType,
    Success,
    Code,
    Description,
    FirstSeen,
    LastSeen,
    Attempts,
    Predicted,
}

impl SortColumn {
    /// The edit result's own columns first (ObjectID to Description), then the ones syncwatch
    /// adds (so Code stays in view next to the detail pane).
    pub const ALL: [SortColumn; 12] = [
        SortColumn::ObjectId,
        SortColumn::GlobalId,
        SortColumn::Layer,
        SortColumn::ChangeType,
        SortColumn::Success,
        SortColumn::Code,
        SortColumn::Description,
        SortColumn::ObjectType,
        SortColumn::FirstSeen,
        SortColumn::LastSeen,
        SortColumn::Attempts,
        SortColumn::Predicted,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SortColumn::ObjectId => "ObjectID",
            SortColumn::GlobalId => "GlobalID",
            SortColumn::Layer => "Layer",
            SortColumn::ChangeType => "Change",
            SortColumn::ObjectType => "Object",
            SortColumn::Success => "Success",
            SortColumn::Code => "Code",
            SortColumn::Description => "Description",
            SortColumn::FirstSeen => "First seen",
            SortColumn::LastSeen => "Last seen",
            SortColumn::Attempts => "Attempts",
            SortColumn::Predicted => "Predicted",
        }
    }

    /// Compares two rows by this column (the order `row_order::sort` gives, without its keys).
    #[cfg(test)]
    pub(crate) fn compare(self, a: &EditResultRecord, b: &EditResultRecord) -> Ordering {
        match self {
            SortColumn::ObjectId => a.object_id.cmp(&b.object_id),
            SortColumn::GlobalId => a.global_id.cmp(&b.global_id),
            SortColumn::Layer => a
                .layer_name
                .cmp(&b.layer_name)
                .then(a.layer_id.cmp(&b.layer_id)),
            SortColumn::ChangeType => (a.change_type as u8).cmp(&(b.change_type as u8)),
            SortColumn::ObjectType => (a.object_type as u8).cmp(&(b.object_type as u8)),
            SortColumn::Success => a.success.cmp(&b.success),
            SortColumn::Code => a.code.cmp(&b.code),
            SortColumn::Description => a.description.cmp(&b.description),
            SortColumn::FirstSeen => a.first_seen_ms.cmp(&b.first_seen_ms),
            SortColumn::LastSeen => a.last_seen_ms.cmp(&b.last_seen_ms),
            SortColumn::Attempts => a.attempts.cmp(&b.attempts),
            SortColumn::Predicted => a.predicted.cmp(&b.predicted),
        }
    }
}

/// Everything that decides which rows show, in which order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridFilter {
    pub chip: Chip,
    pub layer_id: Option<i64>,
    pub change_type: Option<ChangeType>,
    pub code: Option<i64>,
    /// Case-insensitive substring of GlobalID, ObjectID, layer, code or description.
    pub search: String,
    /// Column and ascending?
    pub sort: Option<(SortColumn, bool)>,
}

impl GridFilter {
    /// Whether the row passes the chip and the layer, change-type and code filters (the text
    /// search is `row_order::TextSearch`).
    pub fn matches_filters(&self, row: &EditResultRecord) -> bool {
        self.chip.matches(row)
            && self.layer_id.is_none_or(|l| l == row.layer_id)
            && self.change_type.is_none_or(|c| c == row.change_type)
            && (self.code.is_none() || self.code == row.code)
    }
}
