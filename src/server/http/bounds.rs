//! What the admission (`admission.rs`) counts, shared by every request: the bounds in force,
//! the service's own host names, the request slots and the two body budgets. Plain state built
//! once at start; the checks themselves are `admission`'s.

use crate::server::limits::Limits;
use crate::server::own_hosts::OwnHosts;
use crate::server::slots::Slots;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The bounds in force and what they count.
pub struct Bounds {
    pub(super) limits: Limits,
    pub(super) own_hosts: OwnHosts,
    pub(super) requests: Slots,
    pub(super) body_budget: Arc<Semaphore>,
    pub(super) unverified_budget: Arc<Semaphore>,
}

impl Bounds {
    pub(crate) fn new(limits: Limits, own_hosts: OwnHosts) -> Bounds {
        Bounds {
            requests: Slots::new(limits.max_requests, limits.max_requests_per_client),
            body_budget: Arc::new(Semaphore::new(limits.body_budget_bytes)),
            unverified_budget: Arc::new(Semaphore::new(limits.unverified_budget_bytes)),
            own_hosts,
            limits,
        }
    }
}
