//! The client of a feature service: typed calls over reqwest (service and layer properties,
//! createReplica, synchronizeReplica, unRegisterReplica, replicas, replica info, job status,
//! result download) with timeouts, retries, async job polling and token scoping.
//! It keeps no state between calls and touches no local files except downloaded results.

pub mod admin;
mod backoff;
mod client;
mod error;

pub use backoff::Backoff;
pub use client::{
    ClientConfig, FeatureServiceClient, JobProgress, ProgressFn, ReplicaResult, Token, Unregistered,
};
pub use error::ServiceClientError;
