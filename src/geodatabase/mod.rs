//! placeholder

pub mod replica_file;
