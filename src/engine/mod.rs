//! Background sync engine. Owns every slow operation: scheduling sync jobs, calling `service`,
//! writing replica files through `geodatabase` and history through `store`, client resets.
//! Runs on tokio; never touches egui. Front ends reach it only through [`Command`] and hear
//! back only through [`Event`] (see [`api`]).

pub mod api;
pub mod reset;

pub use api::*;
