//! Every replica a service lists for the caller (`replicas`), each with its info
//! (`replicas/<id>`), read with a bounded number of info calls at a time. A replica whose info
//! fails is kept with its error: the list never silently shrinks. Which replicas a caller sees
//! is the service's rule (an administrator all, others their own); nothing here filters.

use super::client::FeatureServiceClient;
use super::error::ServiceClientError;
use crate::protocol::{ReplicaInfo, ReplicaListEntry};
use futures_util::StreamExt;

/// Info calls in flight at once when listing a service's replicas.
pub const INFO_CONCURRENCY: usize = 4;

/// One listed replica and what its info call gave.
#[derive(Debug)]
pub struct ListedReplica {
    pub entry: ReplicaListEntry,
    pub info: Result<ReplicaInfo, ServiceClientError>,
}

impl FeatureServiceClient {
    /// The `replicas` list, then every replica's info, at most `concurrency` (≥ 1) info calls
    /// at a time, in the list's order. Fails only when the list itself cannot be read.
    pub async fn replicas_with_info(
        &self,
        concurrency: usize,
    ) -> Result<Vec<ListedReplica>, ServiceClientError> {
        let entries = self.replicas().await?;
        let listed = futures_util::stream::iter(entries)
            .map(|entry| async move {
                let info = self.replica_info(&entry.replica_id).await;
                if let Err(e) = &info {
                    tracing::info!(replica = %entry.replica_id, error = %e, "replica info failed");
                }
                ListedReplica { entry, info }
            })
            .buffered(concurrency.max(1))
            .collect()
            .await;
        Ok(listed)
    }
}
