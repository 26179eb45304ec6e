//! Attempt limits: counts failures per key (a user name, a client address) in a sliding window
//! and locks the key out for a while once there are too many. Used for failed sign-ins and for
//! token guesses. Owns only the counting; what counts as a failure is the caller's business.
//! Memory is bounded: entries that can no longer matter are dropped, and past a size cap the
//! oldest are.

use super::settings::AttemptLimit;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys one counter remembers.
const MAX_KEYS: usize = 10_000;

/// Failures per key, and the keys locked out.
pub struct FailureCounter<K> {
    limit: AttemptLimit,
    entries: Mutex<HashMap<K, Entry>>,
}

#[derive(Default)]
struct Entry {
    failures: Vec<Instant>,
    locked_until: Option<Instant>,
}

impl<K: Hash + Eq + Clone> FailureCounter<K> {
    pub fn new(limit: AttemptLimit) -> Self {
        FailureCounter {
            limit,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` stays locked out, if it is.
    pub fn locked_for(&self, key: &K, now: Instant) -> Option<Duration> {
        let entries = self.lock();
        let until = entries.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts one failure; answers how long the key is now locked out, if this locked it.
    pub fn record_failure(&self, key: &K, now: Instant) -> Option<Duration> {
        let mut entries = self.lock();
        if entries.len() >= MAX_KEYS {
            self.forget_stale(&mut entries, now);
        }
        let window = self.limit.window;
        let entry = entries.entry(key.clone()).or_default();
        entry
            .failures
            .retain(|t| now.saturating_duration_since(*t) < window);
        entry.failures.push(now);
        if entry.failures.len() >= usize::try_from(self.limit.max_failures).unwrap_or(usize::MAX) {
            entry.failures.clear();
            entry.locked_until = Some(now + self.limit.lockout);
            return Some(self.limit.lockout);
        }
        None
    }

    /// A success clears the key's failures (not a running lock-out).
    pub fn record_success(&self, key: &K) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(key) {
            entry.failures.clear();
            if entry.locked_until.is_none() {
                entries.remove(key);
            }
        }
    }

    fn forget_stale(&self, entries: &mut HashMap<K, Entry>, now: Instant) {
        let window = self.limit.window;
        entries.retain(|_, e| {
            e.locked_until.is_some_and(|u| u > now)
                || e.failures
                    .iter()
                    .any(|t| now.saturating_duration_since(*t) < window)
        });
        if entries.len() >= MAX_KEYS {
            // Still full of live keys (a flood of names): start over rather than grow.
            tracing::warn!(
                keys = entries.len(),
                "attempt counter full; forgetting its oldest state"
            );
            entries.clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        // The map holds plain counts; a panic while holding it cannot leave it inconsistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nth_failure_in_the_window_locks_the_key_out_for_a_while() {
        let limit = AttemptLimit {
            max_failures: 3,
            window: Duration::from_secs(10),
            lockout: Duration::from_secs(30),
        };
        let c = FailureCounter::new(limit);
        let t0 = Instant::now();
        assert_eq!(c.record_failure(&"a", t0), None);
        assert_eq!(c.record_failure(&"a", t0), None);
        assert_eq!(c.locked_for(&"a", t0), None);
        assert_eq!(
            c.record_failure(&"a", t0 + Duration::from_secs(1)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            c.locked_for(&"a", t0 + Duration::from_secs(11)),
            Some(Duration::from_secs(20))
        );
        assert_eq!(c.locked_for(&"b", t0), None, "other keys are not affected");
        assert_eq!(c.locked_for(&"a", t0 + Duration::from_secs(31)), None);
        // Failures outside the window do not add up.
        let d = FailureCounter::new(limit);
        d.record_failure(&"a", t0);
        d.record_failure(&"a", t0);
        assert_eq!(d.record_failure(&"a", t0 + Duration::from_secs(11)), None);
        // A success forgets the failures.
        d.record_success(&"a");
        d.record_failure(&"a", t0 + Duration::from_secs(12));
        assert_eq!(d.record_failure(&"a", t0 + Duration::from_secs(12)), None);
    }
}
