//! Plain data shared by several layers (no I/O; may import `protocol` only).

pub mod demo;
