//! The SQLite file formats shared by the client and the server. Blocking (rusqlite) only: call
//! it from `spawn_blocking` or a dedicated thread, never directly from async code.
//!
//! * [`delta`]: delta files — the result of a createReplica / synchronizeReplica with
//!   `dataFormat=sqlite` (generations, downloaded changes, `GDB_DataChangesEditResults`). The
//!   server writes them, the client reads them back into the protocol types.
//! * [`mobile`]: ArcGIS mobile geodatabases (offline maps other ArcGIS apps made), read-only and
//!   immutable: the replica, the service's definitions, row counts, local changes, predictions.
//! * [`replica_file`]: the local replica file with its features, change tracking and generations.
//!
//! What it must not do: import anything above `protocol` (the engine, the store, the service
//! client) or talk to the network.

pub mod delta;
pub mod mobile;
pub mod replica_file;
