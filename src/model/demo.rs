//! How far the first-run demo seeding has come: filled by `demo::seed`, shown by the window's demo
//! banner. Plain data only; it must not start, read or write anything.

/// How far seeding has come, for the window's demo banner.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SeedProgress {
    /// Not started yet.
    #[default]
    Waiting,
    /// Working on `step` (1-based) of `total`.
    Running {
        step: u32,
        total: u32,
        what: String,
    },
    /// The demo replicas exist (now or from an earlier start).
    Finished,
    /// The technician already has replicas of their own: nothing was seeded.
    NotNeeded,
    Failed(String),
}
