//! Client settings for tests: [`fast`] retries and polls in milliseconds instead of seconds, and
//! [`Tuned`] changes one setting at a time, so each test says only how its client differs.

use std::time::Duration;
use syncwatch::service::{Backoff, ClientConfig};

/// Three attempts, 5–20 ms between them, job status polled every 10 ms; every other setting as
/// shipped.
pub fn fast() -> ClientConfig {
    ClientConfig {
        max_attempts: 3,
        backoff: Backoff {
            base: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        poll_interval: Duration::from_millis(10),
        ..ClientConfig::default()
    }
}

/// One setting changed, the rest kept.
pub trait Tuned {
    fn attempts(self, max_attempts: u32) -> Self;
    fn backoff_ms(self, base: u64, max: u64) -> Self;
    fn poll_ms(self, ms: u64) -> Self;
    fn request_timeout(self, timeout: Duration) -> Self;
    fn idle_timeout(self, timeout: Duration) -> Self;
    fn connect_timeout(self, timeout: Duration) -> Self;
    fn max_outage(self, outage: Duration) -> Self;
}

impl Tuned for ClientConfig {
    fn attempts(self, max_attempts: u32) -> Self {
        ClientConfig {
            max_attempts,
            ..self
        }
    }
    fn backoff_ms(self, base: u64, max: u64) -> Self {
        ClientConfig {
            backoff: Backoff {
                base: Duration::from_millis(base),
                max: Duration::from_millis(max),
            },
            ..self
        }
    }
    fn idle_timeout(self, idle_timeout: Duration) -> Self {
        ClientConfig {
            idle_timeout,
            ..self
        }
    }
    fn poll_ms(self, ms: u64) -> Self {
        ClientConfig {
            poll_interval: Duration::from_millis(ms),
            ..self
        }
    }
    fn request_timeout(self, request_timeout: Duration) -> Self {
        ClientConfig {
            request_timeout,
            ..self
        }
    }
    fn connect_timeout(self, connect_timeout: Duration) -> Self {
        ClientConfig {
            connect_timeout,
            ..self
        }
    }
    fn max_outage(self, max_outage: Duration) -> Self {
        ClientConfig { max_outage, ..self }
    }
}
