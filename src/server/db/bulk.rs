//! Many new rows in one layer at once (the parcel generator, `server::parcels`): one
//! transaction, one new generation, one prepared insert, so a million rows take seconds. Rows
//! are made one at a time by the caller and written as they come: nothing is collected.
//! Decides nothing about what the rows hold.

use super::features::FeatureInsert;
use super::{ServiceDb, ServiceDbError, max_object_id, next_gen};

/// One row to insert: its GlobalID and its attributes and geometry as JSON text.
pub struct NewRow {
    pub global_id: String,
    pub attributes: String,
    pub geometry: Option<String>,
}

/// What [`ServiceDb::insert_many`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    /// The object id of the first row; the others follow it.
    pub first_object_id: i64,
    pub count: u64,
    /// The generation the rows were created at.
    pub generation: i64,
}

/// Page cache while a bulk insert runs (the GlobalID index of a million rows is about 60 MB).
const BULK_CACHE_KIB: i64 = 256 * 1024;

/// The page cache of every other statement (`SCHEMA`'s `cache_size`).
const NORMAL_CACHE_KIB: i64 = 64 * 1024;

impl ServiceDb {
    /// Inserts `count` live rows into `layer_id`, made by `make(object_id)` one at a time, with
    /// the anonymous owner, at one new generation, in one transaction: all of them or none.
    pub fn insert_many(
        &mut self,
        layer_id: i64,
        count: u64,
        mut make: impl FnMut(i64) -> NewRow,
    ) -> Result<Inserted, ServiceDbError> {
        self.conn
            .pragma_update(None, "cache_size", -BULK_CACHE_KIB)?;
        let result = (|| -> Result<Inserted, ServiceDbError> {
            let tx = self.conn.transaction()?;
            let generation = next_gen(&tx)?;
            let first_object_id = max_object_id(&tx)? + 1;
            {
                let mut insert = FeatureInsert::prepare(&tx)?;
                for (object_id, _) in (first_object_id..).zip(0..count) {
                    let row = make(object_id);
                    insert.insert(
                        layer_id,
                        object_id,
                        &row.global_id,
                        &row.attributes,
                        row.geometry.as_deref(),
                        "",
                        generation,
                    )?;
                }
            }
            tx.commit()?;
            Ok(Inserted {
                first_object_id,
                count,
                generation,
            })
        })();
        self.conn
            .pragma_update(None, "cache_size", -NORMAL_CACHE_KIB)?;
        self.conn.execute_batch("PRAGMA shrink_memory")?;
        self.checkpoint_soon();
        result
    }
}
