//! How a [`FeatureServiceClient`](super::FeatureServiceClient) behaves: timeouts, retries,
//! polling pace and size limits ([`ClientConfig`]), and the [`Token`] it sends. Plain values;
//! nothing here talks to the network.

use super::backoff::Backoff;
use super::trust::CaCertificate;
use crate::model::Secret;
use std::time::Duration;

/// Timeouts, retry and size limits of a client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Whole-request limit (connect + send + reply) of a call; downloads have none.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Longest silence while a reply streams in: a download (result file, attachment) may take
    /// as long as it needs while bytes keep coming, and is resumed where it stopped when the
    /// connection drops or stalls this long. It also bounds each read of a call, so it is never
    /// shorter than `request_timeout` by default (a synchronous createReplica of a large
    /// service may be silent for a long time before its first byte).
    pub idle_timeout: Duration,
    /// Tries per request, the first included.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// Longest pause between two status checks of an async job. The first checks come sooner
    /// ([`FIRST_POLL_DELAY`], doubling), so a job that finishes quickly is not waited on.
    pub poll_interval: Duration,
    /// How long status polling keeps trying while the service is unreachable.
    pub max_outage: Duration,
    /// Give up on an async job that has not finished after this long.
    pub max_job_duration: Duration,
    /// Largest reply of an ordinary call read into memory: service and layer properties, the
    /// replica list and info, job status, unRegisterReplica, error envelopes. Their biggest
    /// legitimate size is a layer with large coded-value domains, a few MB.
    pub max_reply_bytes: u64,
    /// Largest createReplica or synchronizeReplica reply, or JSON result, read into memory: the
    /// replica's data, its edit results and downloaded changes (1,000,000 edit results are about
    /// 105 MB). A reply past the limit fails the call with a clear error instead of filling
    /// the memory.
    pub max_replica_reply_bytes: u64,
    /// Largest result file written to disk and read from there as a stream (a JSON result or
    /// a SQLite delta of a create or sync: 1,000,000 parcels are about 430 MB of JSON).
    pub max_result_file_bytes: u64,
    /// Send the token as a `token` parameter instead of the `X-Esri-Authorization` header.
    pub token_as_parameter: bool,
    /// Certificates trusted as roots besides the system's (`--ca-cert`), e.g. a self-signed one.
    pub ca_certificates: Vec<CaCertificate>,
}

/// The pause after the first status check of an async job; it doubles per check up to
/// [`ClientConfig::poll_interval`].
pub const FIRST_POLL_DELAY: Duration = Duration::from_millis(100);

/// The pause after status check number `polls` (0-based): doubling from [`FIRST_POLL_DELAY`],
/// never longer than `longest`.
pub(super) fn poll_delay(polls: u32, longest: Duration) -> Duration {
    FIRST_POLL_DELAY
        .saturating_mul(1u32 << polls.min(16))
        .min(longest)
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_attempts: 4,
            backoff: Backoff {
                base: Duration::from_millis(250),
                max: Duration::from_secs(8),
            },
            poll_interval: Duration::from_secs(2),
            max_outage: Duration::from_secs(600),
            max_job_duration: Duration::from_secs(4 * 3600),
            max_reply_bytes: 16 << 20,
            max_replica_reply_bytes: 512 << 20,
            max_result_file_bytes: 8 << 30,
            token_as_parameter: false,
            ca_certificates: Vec::new(),
        }
    }
}

impl ClientConfig {
    /// The most of `operation`'s reply read into memory ([`ClientConfig::max_reply_bytes`], or
    /// [`ClientConfig::max_replica_reply_bytes`] for the calls that carry a replica's data).
    pub fn reply_limit(&self, operation: &str) -> u64 {
        match operation {
            "createReplica" | "synchronizeReplica" | "download result" => {
                self.max_replica_reply_bytes
            }
            _ => self.max_reply_bytes,
        }
    }
}

/// A service token. Its `Debug` never shows the value; it is never empty or padded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token(Secret);

impl Token {
    pub fn new(value: impl Into<String>) -> Option<Token> {
        let value = value.into();
        (!value.trim().is_empty()).then(|| Token(Secret::new(value.trim())))
    }

    /// The token of a stored or typed-in secret; `None` when it is blank.
    pub fn from_secret(secret: &Secret) -> Option<Token> {
        Token::new(secret.expose())
    }

    pub(super) fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Status checks start quickly and back off to the configured interval.
    #[test]
    fn poll_delays_double_up_to_the_interval() {
        let longest = Duration::from_secs(2);
        let delays: Vec<u128> = (0..7).map(|n| poll_delay(n, longest).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(poll_delay(u32::MAX, longest), longest);
        assert_eq!(
            poll_delay(0, Duration::from_millis(20)),
            Duration::from_millis(20)
        );
    }
}
