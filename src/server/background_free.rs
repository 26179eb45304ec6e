//! Freeing large values off the request's path. Used by `http` (parsed edits, big replies)
//! and `apply` (an upload's lookup tables).

/// Frees a value that may be large (parsed edits, a big reply, an upload's lookup tables) on a
/// blocking thread of the runtime, so that the answer does not wait for the memory to be
/// freed; outside a runtime it is freed here.
pub fn free_in_background<T: Send + 'static>(value: T) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(move || drop(value))),
        Err(_) => drop(value),
    }
}
