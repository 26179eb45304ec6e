//! Retry timing: exponential backoff with full jitter, bounded. Pure; the caller sleeps.

use std::time::Duration;

/// Exponential backoff with jitter between `base` and `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `attempt` (0-based): random in [d/2, d] with
    /// d = min(max, base · 2^attempt), so concurrent clients do not retry in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        let full = self.base.saturating_mul(factor).min(self.max);
        let half = full / 2;
        let jitter_ms = fastrand::u64(0..=half.as_millis().min(u64::MAX as u128) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_bounds() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        for attempt in 0..30 {
            let d = b.delay(attempt);
            let full = (Duration::from_millis(100) * 2u32.saturating_pow(attempt.min(20)))
                .min(Duration::from_secs(2));
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d:?} vs {full:?}"
            );
        }
        assert!(b.delay(25) <= Duration::from_secs(2));
    }
}
