//! The conflicts view of the edit-results tab (the "Conflicts" chip): one three-column compare
//! per conflicting feature ([`compare`]). Fed only by [`crate::engine::Event::ConflictsReady`]
//! through the view model; it returns what the user chose, and the app sends it as
//! [`crate::engine::Command::ResolveConflict`].
//!
//! What it must not do: resolve anything itself, or do I/O.

mod compare;

pub use compare::{CompareAction, CompareState, compare_view_ui};
