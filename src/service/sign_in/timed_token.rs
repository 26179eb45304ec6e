//! [`TimedToken`]: a token (or refresh token) with the moment it was issued and the moment it
//! ends, and the one rule for "renew it now": a few minutes before its end (five, or a quarter
//! of its life when it lives less than twenty minutes). Plain values; the clock is passed in.

use crate::service::Token;
use std::time::Duration;

/// How long before its end a token is renewed, at most.
pub const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// A token with its lifetime, in epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedToken {
    pub token: Token,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
}

impl TimedToken {
    /// True while the token can still be sent without renewing it first.
    pub fn is_fresh(&self, now_ms: i64, renew_before: Duration) -> bool {
        now_ms
            < self
                .expires_at_ms
                .saturating_sub(self.margin_ms(renew_before))
    }

    /// True when it ends within `within` of `now_ms` (or has ended).
    pub fn ends_within(&self, now_ms: i64, within: Duration) -> bool {
        self.expires_at_ms <= now_ms.saturating_add(millis(within))
    }

    fn margin_ms(&self, renew_before: Duration) -> i64 {
        let life = self.expires_at_ms.saturating_sub(self.issued_at_ms).max(0);
        millis(renew_before).min(life / 4)
    }
}

pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(issued: i64, expires: i64) -> TimedToken {
        TimedToken {
            token: Token::new("t").unwrap(),
            issued_at_ms: issued,
            expires_at_ms: expires,
        }
    }

    /// An hour's token is renewed five minutes early; a one-minute token after 45 seconds.
    #[test]
    fn tokens_are_renewed_a_few_minutes_early() {
        let hour = timed(0, 3_600_000);
        assert!(hour.is_fresh(3_600_000 - 300_001, RENEW_BEFORE));
        assert!(!hour.is_fresh(3_600_000 - 300_000, RENEW_BEFORE));
        let minute = timed(0, 60_000);
        assert!(minute.is_fresh(44_999, RENEW_BEFORE));
        assert!(!minute.is_fresh(45_000, RENEW_BEFORE));
        let day = Duration::from_secs(86_400);
        assert!(timed(0, 86_400_000).ends_within(1, day));
        assert!(!timed(0, 86_400_002).ends_within(1, day));
    }
}
