//! The reference service's bounds on what one caller, or all of them, may hold at once:
//! connections, requests in flight, request-body bytes (per request and in total, with a
//! smaller allowance for bodies read before the caller's token is known), and the timeouts on
//! slow TLS handshakes, headers and bodies. Plain values with sane defaults; the listener
//! (`listener/`) and the HTTP admission (`http/admission.rs`) enforce them.

use std::time::Duration;

/// Bounds of the reference service. Tests set them small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open connections in all; a connection past it is closed at once.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_connections_per_client: usize,
    /// Requests being answered at once; past it the reply is 503 (the client retries).
    pub max_requests: usize,
    /// Requests being answered at once for one client address.
    pub max_requests_per_client: usize,
    /// Largest request body of a caller whose token was checked first (or of an anonymous
    /// service); a larger one gets 413.
    pub max_body_bytes: usize,
    /// Request-body bytes held in memory by all requests together; a body that would pass it
    /// waits (the client is not read) until others finish, then gets 503.
    pub body_budget_bytes: usize,
    /// Largest body read before the caller is known: a token-secured service whose request
    /// carries no token in the query string or a header (the token may be in the form body).
    pub unverified_body_bytes: usize,
    /// Bytes of such bodies held by all requests together.
    pub unverified_budget_bytes: usize,
    /// A TLS handshake not finished in this time closes the connection.
    pub tls_handshake_timeout: Duration,
    /// The request line and headers must arrive within this time; it is also how long an idle
    /// keep-alive connection stays open waiting for its next request.
    pub header_read_timeout: Duration,
    /// A request body that sends nothing for this long is answered 408 and closed.
    pub body_stall_timeout: Duration,
    /// A whole request body must arrive within this time.
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            max_connections_per_client: 64,
            max_requests: 128,
            max_requests_per_client: 32,
            // 100,000 edits are about 20 MB of form-encoded JSON.
            max_body_bytes: 256 << 20,
            body_budget_bytes: 512 << 20,
            unverified_body_bytes: 32 << 20,
            unverified_budget_bytes: 64 << 20,
            tls_handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            body_stall_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(600),
        }
    }
}
