//! Async jobs (`async=true`): their status documents, served at `…/FeatureServer/jobs/<id>`.
//! A job goes Pending → InProgress → Completed | CompletedWithErrors | Failed. Owns only the
//! registry (in memory: a restarted server has no jobs, like a restarted ArcGIS job service);
//! running a job is `async_jobs`' business.

use crate::protocol::{JobState, ReplicaResponse, TransportType};
use crate::server::now_ms;
use std::collections::HashMap;
use std::sync::Mutex;

/// Jobs kept; the oldest finished ones are forgotten beyond this.
const MAX_JOBS: usize = 10_000;

/// The job registry.
#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, ReplicaResponse>>,
}

impl Jobs {
    /// Registers a Pending job and returns its id.
    pub fn create(&self, replica_name: Option<String>) -> String {
        let job_id = uuid::Uuid::new_v4().simple().to_string();
        let now = now_ms();
        let status = ReplicaResponse {
            replica_name,
            status: Some(JobState::Pending),
            submission_time: Some(now),
            last_updated_time: Some(now),
            transport_type: Some(TransportType::Url),
            progress: Some(0),
            ..Default::default()
        };
        let mut jobs = self.lock();
        if jobs.len() >= MAX_JOBS {
            forget_oldest_finished(&mut jobs);
        }
        jobs.insert(job_id.clone(), status);
        job_id
    }

    /// Changes a job's status document.
    pub fn update(&self, job_id: &str, change: impl FnOnce(&mut ReplicaResponse)) {
        if let Some(status) = self.lock().get_mut(job_id) {
            change(status);
            status.last_updated_time = Some(now_ms());
        }
    }

    pub fn get(&self, job_id: &str) -> Option<ReplicaResponse> {
        self.lock().get(job_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ReplicaResponse>> {
        // Status documents stay valid even if a holder panicked.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn forget_oldest_finished(jobs: &mut HashMap<String, ReplicaResponse>) {
    let oldest = jobs
        .iter()
        .filter(|(_, s)| s.status.as_ref().is_some_and(JobState::is_terminal))
        .min_by_key(|(_, s)| s.last_updated_time)
        .map(|(id, _)| id.clone());
    if let Some(id) = oldest {
        jobs.remove(&id);
    }
}
