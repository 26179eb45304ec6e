//! The client of a feature service: typed calls over reqwest (service and layer properties,
//! createReplica, synchronizeReplica, unRegisterReplica, replicas, replica info, job status,
//! result download) with timeouts, retries, async job polling and token scoping, and signing
//! in to get those tokens (`sign_in/`).
//! Certificates the user chose to trust are added to the system's (`trust`).
//! It keeps no state between calls and touches no local files except downloaded results.

pub mod admin;
mod backoff;
mod browse;
mod calls;
mod client;
mod config;
mod create_attempt;
mod download;
mod error;
mod job_polling;
mod replica_listing;
pub mod sign_in;
mod token_use;
mod transport;
mod trust;

pub use backoff::Backoff;
pub use browse::BROWSE_CONCURRENCY;
pub use calls::Unregistered;
pub use client::FeatureServiceClient;
pub use config::{ClientConfig, FIRST_POLL_DELAY, Token};
pub use create_attempt::CreateAttempt;
pub use error::ServiceClientError;
pub use job_polling::{
    JobProgress, JsonResultFile, ProgressFn, ReplicaResult, merge_status_into_result,
};
pub use replica_listing::{INFO_CONCURRENCY, ListedReplica};
pub use sign_in::{SignInClient, SignInError, SignInPlan, SignInSession, TokenProvider};
pub use trust::{CaCertificate, TrustError, fingerprint_sha256, presented_certificate};
