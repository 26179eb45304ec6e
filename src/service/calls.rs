//! The typed calls of a feature service: service and layer properties, the replica list and
//! info, a layer's query, unRegisterReplica, createReplica (with clean-up of the replicas its own attempt left
//! after a lost reply, see `create_attempt`) and
//! synchronizeReplica. Each one names its operation, picks its endpoint and hands the request to
//! `transport`; async replies go on to `job_polling`.

use super::client::FeatureServiceClient;
use super::create_attempt::CreateAttempt;
use super::error::ServiceClientError;
use super::job_polling::{ProgressFn, ReplicaResult, ResultIn};
use super::transport::json_form;
use crate::protocol::{
    CreateReplicaParams, FeatureServiceInfo, Guid, LayerInfo, QueryParams, QueryReply, ReplicaInfo,
    ReplicaListEntry, ReplicaResponse, SuccessReply, SyncReplicaParams,
};
use reqwest::Method;
use std::path::Path;

/// How unRegisterReplica ended; a replica the server no longer knows counts as unregistered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unregistered {
    Now,
    AlreadyGone,
}

impl FeatureServiceClient {
    /// The FeatureServer root resource.
    pub async fn service_info(&self) -> Result<FeatureServiceInfo, ServiceClientError> {
        let url = self.inner.service_url.clone();
        self.call("service properties", Method::GET, url, json_form())
            .await
    }

    /// A layer or table resource.
    pub async fn layer_info(&self, layer_id: i64) -> Result<LayerInfo, ServiceClientError> {
        let url = self.endpoint(&[&layer_id.to_string()]);
        self.call("layer properties", Method::GET, url, json_form())
            .await
    }

    /// One page of a layer's `query` as a JSON FeatureSet (`params.format` is taken as JSON).
    pub async fn query_layer(
        &self,
        layer_id: i64,
        params: &QueryParams,
    ) -> Result<QueryReply, ServiceClientError> {
        let url = self.endpoint(&[&layer_id.to_string(), "query"]);
        let params = QueryParams {
            format: crate::protocol::QueryFormat::Json,
            ..params.clone()
        };
        self.call("layer query", Method::POST, url, params.to_form())
            .await
    }

    /// The replicas the token's user can see.
    pub async fn replicas(&self) -> Result<Vec<ReplicaListEntry>, ServiceClientError> {
        let url = self.endpoint(&["replicas"]);
        self.call("list replicas", Method::GET, url, json_form())
            .await
    }

    /// One replica's server-side definition and generations.
    pub async fn replica_info(&self, replica_id: &Guid) -> Result<ReplicaInfo, ServiceClientError> {
        let url = self.endpoint(&["replicas", replica_id.as_str()]);
        self.call("replica info", Method::GET, url, json_form())
            .await
    }

    /// Unregisters a replica; a replica the server no longer has is treated as already gone.
    pub async fn unregister_replica(
        &self,
        replica_id: &Guid,
    ) -> Result<Unregistered, ServiceClientError> {
        let url = self.endpoint(&["unRegisterReplica"]);
        let form = vec![
            ("f".to_string(), "json".to_string()),
            ("replicaID".to_string(), replica_id.to_string()),
        ];
        match self
            .call::<SuccessReply>("unRegisterReplica", Method::POST, url, form)
            .await
        {
            Ok(reply) if reply.success => Ok(Unregistered::Now),
            Ok(_) => Err(ServiceClientError::Service {
                operation: "unRegisterReplica",
                error: crate::protocol::ServiceError::new(
                    0,
                    "the service did not confirm the unregistration",
                    vec![],
                ),
            }),
            Err(e)
                if e.replica_error().is_some_and(|c| c.code == 3061) || e.code() == Some(404) =>
            {
                Ok(Unregistered::AlreadyGone)
            }
            Err(e) => Err(e),
        }
    }

    /// createReplica, following an async job and downloading the result (into `result_dir` for
    /// SQLite), as a new [`CreateAttempt`] of `params.replica_name`. See
    /// [`FeatureServiceClient::create_replica_as`].
    pub async fn create_replica(
        &self,
        params: &CreateReplicaParams,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let attempt = CreateAttempt::new(&params.replica_name);
        self.create_replica_as(&attempt, params, result_dir, progress)
            .await
    }

    /// createReplica under the attempt's own service name (`params.replica_name` is replaced by
    /// [`CreateAttempt::service_name`]); a caller that records the attempt before the call can
    /// clean up after a crash with [`FeatureServiceClient::remove_attempt_replicas`].
    ///
    /// createReplica is not idempotent: a request whose reply was lost (connection dropped,
    /// timeout, truncated reply) may have registered a replica, and each retry another. When the
    /// call ends, replicas registered under this attempt's name other than the one it returns
    /// are unregistered again. Only that name is matched, so another client's replica of the
    /// same name is never touched. Best effort: it needs the `replicas` resource, and an async
    /// job whose submission reply was lost may register its replica after the call ends.
    pub async fn create_replica_as(
        &self,
        attempt: &CreateAttempt,
        params: &CreateReplicaParams,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let mut params = params.clone();
        params.replica_name = attempt.service_name();
        let outcome = self
            .create_replica_once(&params, ResultIn::Reply, result_dir, progress)
            .await;
        let kept = outcome
            .as_ref()
            .ok()
            .and_then(|r| r.response.replica_id.clone());
        if let Err(e) = self.remove_attempt_replicas(attempt, kept.as_ref()).await {
            tracing::debug!(error = %e, "replica list unavailable; strays cannot be cleaned up");
        }
        outcome
    }

    /// [`FeatureServiceClient::create_replica_as`] whose JSON result stays on disk
    /// (`ReplicaResult::json_file`; a SQLite one is always on disk, `sqlite_file`) to be read as
    /// a stream; an embedded reply comes back parsed as
    /// usual. When neither the reply nor the job's status names the replica (its id is then only
    /// in the file), strays are not cleaned up here: the caller's next attempt does it.
    pub async fn create_replica_to_file_as(
        &self,
        attempt: &CreateAttempt,
        params: &CreateReplicaParams,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let mut params = params.clone();
        params.replica_name = attempt.service_name();
        let outcome = self
            .create_replica_once(&params, ResultIn::File, result_dir, progress)
            .await;
        let kept = match &outcome {
            Ok(r) => match r.response.replica_id.clone() {
                Some(id) => Some(id),
                None if r.json_file.is_some() || r.sqlite_file.is_some() => return outcome,
                None => None,
            },
            Err(_) => None,
        };
        if let Err(e) = self.remove_attempt_replicas(attempt, kept.as_ref()).await {
            tracing::debug!(error = %e, "replica list unavailable; strays cannot be cleaned up");
        }
        outcome
    }

    /// Unregisters every replica the attempt registered except `keep`; how many it removed.
    /// Replicas of any other name, the same technician's name included, are never touched.
    pub async fn remove_attempt_replicas(
        &self,
        attempt: &CreateAttempt,
        keep: Option<&Guid>,
    ) -> Result<usize, ServiceClientError> {
        let strays: Vec<Guid> = self
            .replicas()
            .await?
            .into_iter()
            .filter(|r| attempt.made(&r.replica_name) && Some(&r.replica_id) != keep)
            .map(|r| r.replica_id)
            .collect();
        let mut removed = 0;
        for stray in &strays {
            match self.unregister_replica(stray).await {
                Ok(_) => {
                    removed += 1;
                    tracing::info!(replica = %stray, "unregistered a replica left by a lost createReplica reply")
                }
                Err(e) => {
                    tracing::warn!(replica = %stray, error = %e, "could not unregister a stray replica")
                }
            }
        }
        Ok(removed)
    }

    async fn create_replica_once(
        &self,
        params: &CreateReplicaParams,
        result_in: ResultIn,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let url = self.endpoint(&["createReplica"]);
        let first: ReplicaResponse = self
            .call("createReplica", Method::POST, url, params.to_form())
            .await?;
        self.finish_job(
            "createReplica",
            first,
            params.data_format,
            result_in,
            result_dir,
            progress,
        )
        .await
    }

    /// synchronizeReplica, following an async job and downloading the result. A lost synchronous
    /// request is re-issued (uploads are idempotent by GlobalID); a lost status check is re-polled.
    pub async fn synchronize_replica(
        &self,
        params: &SyncReplicaParams,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        self.synchronize_replica_into(params, ResultIn::Reply, result_dir, progress)
            .await
    }

    /// [`FeatureServiceClient::synchronize_replica`] whose JSON result file stays on disk
    /// (`ReplicaResult::json_file`) to be read as a stream; a reply without a result file (a
    /// synchronous sync) comes back parsed as usual.
    pub async fn synchronize_replica_to_file(
        &self,
        params: &SyncReplicaParams,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        self.synchronize_replica_into(params, ResultIn::File, result_dir, progress)
            .await
    }

    async fn synchronize_replica_into(
        &self,
        params: &SyncReplicaParams,
        result_in: ResultIn,
        result_dir: &Path,
        progress: ProgressFn<'_>,
    ) -> Result<ReplicaResult, ServiceClientError> {
        let url = self.endpoint(&["synchronizeReplica"]);
        let first: ReplicaResponse = self
            .call("synchronizeReplica", Method::POST, url, params.to_form())
            .await?;
        self.finish_job(
            "synchronizeReplica",
            first,
            params.data_format,
            result_in,
            result_dir,
            progress,
        )
        .await
    }
}
