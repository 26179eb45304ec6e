//! The wall clock in epoch milliseconds, the unit every stored and shown time uses. The one
//! place that reads the clock for `store` and `engine`; tests and the UI may pass their own time.

/// Now, in milliseconds since the Unix epoch (UTC).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
