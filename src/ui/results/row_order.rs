//! How the edit-results grid finds and orders rows fast enough for a million of them: a text
//! search that judges each shared text (layer names, server messages: a handful of distinct
//! values) once rather than once per row, and a sort on precomputed keys instead of comparing
//! rows. Pure functions over a snapshot; no egui, no I/O.

use super::filter::SortColumn;
use crate::engine::EditResultRecord;
use crate::protocol::Guid;
use memchr::memmem;
use rustc_hash::FxHashMap;
use std::hash::Hash;
use std::sync::Arc;

/// A case-insensitive substring search over one row's texts: GlobalID, ObjectID, code, layer
/// name and description.
pub(super) struct TextSearch {
    needle_lower: String,
    /// The needle as GlobalIDs spell it (upper case), when it could occur in one.
    in_guid: Option<memmem::Finder<'static>>,
    /// Whether the needle could occur in a number's digits.
    numeric: bool,
    /// Verdicts on shared texts, by address: a snapshot repeats a few `Arc<str>`s a million times.
    seen: FxHashMap<usize, bool>,
}

impl TextSearch {
    /// `None` when there is nothing to search for (every row matches).
    pub(super) fn new(search: &str) -> Option<TextSearch> {
        let needle_lower = search.trim().to_lowercase();
        if needle_lower.is_empty() {
            return None;
        }
        let guid_like = needle_lower
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'{' | b'}' | b'-'));
        let in_guid = guid_like.then(|| {
            memmem::Finder::new(needle_lower.to_ascii_uppercase().as_bytes()).into_owned()
        });
        let numeric = needle_lower
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'-');
        Some(TextSearch {
            needle_lower,
            in_guid,
            numeric,
            seen: FxHashMap::default(),
        })
    }

    pub(super) fn matches(&mut self, row: &EditResultRecord) -> bool {
        self.in_global_id(row.global_id.as_ref())
            || self.in_number(row.object_id)
            || self.in_number(row.code)
            || self.in_shared(&row.layer_name)
            || self.in_shared(&row.description)
    }

    fn in_global_id(&self, guid: Option<&Guid>) -> bool {
        match (&self.in_guid, guid) {
            (Some(finder), Some(guid)) => finder.find(guid.as_str().as_bytes()).is_some(),
            _ => false,
        }
    }

    fn in_number(&self, number: Option<i64>) -> bool {
        match number {
            Some(n) if self.numeric => itoa::Buffer::new()
                .format(n)
                .contains(self.needle_lower.as_str()),
            _ => false,
        }
    }

    fn in_shared(&mut self, text: &Arc<str>) -> bool {
        let address = Arc::as_ptr(text) as *const u8 as usize;
        if let Some(&verdict) = self.seen.get(&address) {
            return verdict;
        }
        let verdict = contains_ignoring_case(text, &self.needle_lower);
        self.seen.insert(address, verdict);
        verdict
    }
}

/// Whether `text` contains `needle_lower` (already lower case), ignoring case. Allocation-free
/// for ASCII (nearly all server messages); other text is lower-cased.
pub(super) fn contains_ignoring_case(text: &str, needle_lower: &str) -> bool {
    let needle = needle_lower.as_bytes();
    if needle.is_empty() {
        return true;
    }
    if !text.is_ascii() || !needle_lower.is_ascii() {
        return text.to_lowercase().contains(needle_lower);
    }
    text.as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// Sorts `indices` (rows of `rows`, in ascending row order) by `column`. Rows that compare equal
/// keep their order either way, so a sort never shuffles the snapshot's newest-first order.
pub(super) fn sort(
    indices: &mut [u32],
    rows: &[EditResultRecord],
    column: SortColumn,
    ascending: bool,
) {
    let row = |i: u32| &rows[i as usize];
    match column {
        SortColumn::ObjectId => by_key(indices, ascending, |i| row(i).object_id),
        SortColumn::GlobalId => by_key(indices, ascending, |i| {
            row(i).global_id.as_ref().map(Guid::sort_key)
        }),
        SortColumn::Layer => {
            let ranks = text_ranks(indices.iter().map(|&i| &row(i).layer_name));
            let keys: Vec<_> = indices
                .iter()
                .zip(ranks)
                .map(|(&i, rank)| (rank, row(i).layer_id))
                .collect();
            by_keys(indices, ascending, keys);
        }
        SortColumn::Description => {
            let ranks = text_ranks(indices.iter().map(|&i| &row(i).description));
            by_keys(indices, ascending, ranks);
        }
        SortColumn::ChangeType => by_key(indices, ascending, |i| row(i).change_type as u8),
        SortColumn::ObjectType => by_key(indices, ascending, |i| row(i).object_type as u8),
        SortColumn::Success => by_key(indices, ascending, |i| row(i).success),
        SortColumn::Code => by_key(indices, ascending, |i| row(i).code),
        SortColumn::FirstSeen => by_key(indices, ascending, |i| row(i).first_seen_ms),
        SortColumn::LastSeen => by_key(indices, ascending, |i| row(i).last_seen_ms),
        SortColumn::Attempts => by_key(indices, ascending, |i| row(i).attempts),
        SortColumn::Predicted => by_key(indices, ascending, |i| row(i).predicted),
    }
}

fn by_key<K: Ord + Hash + Copy>(indices: &mut [u32], ascending: bool, key: impl Fn(u32) -> K) {
    let keys: Vec<K> = indices.iter().map(|&i| key(i)).collect();
    by_keys(indices, ascending, keys);
}

/// Reorders `indices` by `keys` (one per index), ties broken by the index itself: a counting
/// sort when the keys take few values (codes, layers, messages, flags), else a comparison sort.
fn by_keys<K: Ord + Hash + Copy>(indices: &mut [u32], ascending: bool, keys: Vec<K>) {
    match few_ranks(&keys) {
        Some((ranks, buckets)) => counting_sort(indices, ascending, &ranks, buckets),
        None => comparison_sort(indices, ascending, keys),
    }
}

/// Keys that take more values than this are sorted by comparison.
const FEW_VALUES: usize = 1024;

/// Each key's rank among the distinct keys, and how many there are; `None` when there are more
/// than [`FEW_VALUES`] (found out early, after that many).
fn few_ranks<K: Ord + Hash + Copy>(keys: &[K]) -> Option<(Vec<u32>, usize)> {
    let mut ids: FxHashMap<K, u32> = FxHashMap::default();
    let mut provisional = Vec::with_capacity(keys.len());
    for &key in keys {
        let next = ids.len() as u32;
        provisional.push(*ids.entry(key).or_insert(next));
        if ids.len() > FEW_VALUES {
            return None;
        }
    }
    let mut distinct: Vec<(K, u32)> = ids.into_iter().collect();
    distinct.sort_unstable();
    let mut rank_of = vec![0u32; distinct.len()];
    for (rank, (_, id)) in distinct.iter().enumerate() {
        rank_of[*id as usize] = rank as u32;
    }
    for id in &mut provisional {
        *id = rank_of[*id as usize];
    }
    Some((provisional, distinct.len()))
}

/// A stable counting sort of `indices` by `ranks` (each below `buckets`).
fn counting_sort(indices: &mut [u32], ascending: bool, ranks: &[u32], buckets: usize) {
    let bucket = |rank: u32| {
        if ascending {
            rank as usize
        } else {
            buckets - 1 - rank as usize
        }
    };
    let mut starts = vec![0usize; buckets + 1];
    for &rank in ranks {
        starts[bucket(rank) + 1] += 1;
    }
    for b in 1..=buckets {
        starts[b] += starts[b - 1];
    }
    let mut sorted = vec![0u32; indices.len()];
    for (&index, &rank) in indices.iter().zip(ranks) {
        let slot = &mut starts[bucket(rank)];
        sorted[*slot] = index;
        *slot += 1;
    }
    indices.copy_from_slice(&sorted);
}

fn comparison_sort<K: Ord>(indices: &mut [u32], ascending: bool, keys: Vec<K>) {
    let mut keyed: Vec<(K, u32)> = keys.into_iter().zip(indices.iter().copied()).collect();
    if ascending {
        keyed.sort_unstable();
    } else {
        keyed.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    for (slot, (_, index)) in indices.iter_mut().zip(keyed) {
        *slot = index;
    }
}

/// For each text in order, its rank among the distinct texts (equal texts, shared or not, get
/// equal ranks). Each distinct `Arc` is compared once, not once per row.
fn text_ranks<'a>(texts: impl Iterator<Item = &'a Arc<str>>) -> Vec<u32> {
    let mut ids: FxHashMap<usize, u32> = FxHashMap::default();
    let mut distinct: Vec<&'a str> = Vec::new();
    let provisional: Vec<u32> = texts
        .map(|text| {
            let address = Arc::as_ptr(text) as *const u8 as usize;
            *ids.entry(address).or_insert_with(|| {
                distinct.push(text);
                (distinct.len() - 1) as u32
            })
        })
        .collect();
    let mut order: Vec<u32> = (0..distinct.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| distinct[a as usize].cmp(distinct[b as usize]));
    let mut rank_of = vec![0u32; distinct.len()];
    let mut rank = 0u32;
    for (position, &id) in order.iter().enumerate() {
        if position > 0 && distinct[order[position - 1] as usize] != distinct[id as usize] {
            rank += 1;
        }
        rank_of[id as usize] = rank;
    }
    provisional
        .into_iter()
        .map(|id| rank_of[id as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::fixtures;

    /// The reference: a stable sort comparing whole rows, as the grid did before keys.
    fn sorted_by_comparing(rows: &[EditResultRecord], column: SortColumn, asc: bool) -> Vec<u32> {
        let mut indices: Vec<u32> = (0..rows.len() as u32).collect();
        indices.sort_by(|&a, &b| {
            let ord = column.compare(&rows[a as usize], &rows[b as usize]);
            if asc { ord } else { ord.reverse() }
        });
        indices
    }

    #[test]
    fn keyed_sort_matches_a_stable_row_comparison_in_every_column() {
        // 3,000 rows: object IDs and GlobalIDs take the comparison sort, the others the counting sort.
        let mut rows: Vec<EditResultRecord> = fixtures::big_results(3_000).to_vec();
        // Equal texts held in separate allocations must still rank equal.
        rows[5].description = Arc::from(&*rows[13].description);
        rows[7].global_id = None;
        rows[9].object_id = None;
        for column in SortColumn::ALL {
            for asc in [true, false] {
                let mut indices: Vec<u32> = (0..rows.len() as u32).collect();
                sort(&mut indices, &rows, column, asc);
                assert_eq!(
                    indices,
                    sorted_by_comparing(&rows, column, asc),
                    "{column:?} ascending={asc}"
                );
            }
        }
    }

    #[test]
    fn text_search_finds_each_field_ignoring_case_and_nothing_else() {
        let rows = fixtures::big_results(50);
        let row = &rows[1];
        let guid = row.global_id.as_ref().unwrap().as_str().to_lowercase();
        let oid = row.object_id.unwrap().to_string();
        let description_word = row
            .description
            .split_whitespace()
            .next()
            .unwrap()
            .to_uppercase();
        for needle in [
            &guid[3..12],
            &oid,
            "1001",
            "INSPECT",
            description_word.as_str(),
        ] {
            let mut search = TextSearch::new(needle).unwrap();
            assert!(search.matches(row), "{needle} should match row 1");
        }
        let mut search = TextSearch::new("no such text anywhere").unwrap();
        assert!(rows.iter().all(|r| !search.matches(r)));
        assert!(TextSearch::new("   ").is_none(), "blank matches everything");
    }
}
