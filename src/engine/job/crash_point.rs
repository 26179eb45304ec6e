//! The test-only crash points of the jobs that must survive a kill (a client reset, a create):
//! with [`CRASH_AT_ENV`] set to a point's name, the process ends on the spot when a job reaches
//! it. Reads one environment variable; does nothing else.

use std::sync::OnceLock;

/// TEST ONLY. When set to a crash point's name (`backing-up`, `backed-up`, `creating`, `created`,
/// `replayed`, `switched`; a create's `create-requested`, `create-written`), a client reset or a
/// create ends the process on the spot (`std::process::exit`, nothing of ours runs after it)
/// right after reaching that point, as if it had been killed. tests/it/reliability/reset_crash.rs
/// and create_attempts.rs use it; never set it otherwise.
pub const CRASH_AT_ENV: &str = "SYNCWATCH_TEST_CRASH_AT";
/// The exit code of a process ended by [`CRASH_AT_ENV`].
pub const CRASH_EXIT_CODE: i32 = 86;

/// Ends the process here if [`CRASH_AT_ENV`] names `point` (tests only; see there).
pub(crate) fn crash_point(point: &str) {
    static CRASH_AT: OnceLock<Option<String>> = OnceLock::new();
    let at = CRASH_AT.get_or_init(|| std::env::var(CRASH_AT_ENV).ok());
    if at.as_deref() == Some(point) {
        tracing::error!(point, "test crash point reached; ending the process");
        std::process::exit(CRASH_EXIT_CODE);
    }
}
