//! The output directory: result files of createReplica / synchronizeReplica (JSON or delta
//! SQLite), served under `/arcgis/rest/directories/arcgisoutput/<Service>/<file>`. Owns their
//! names and their expiry: a file not accessed for the TTL is removed, like ArcGIS Server's
//! output-directory clean-up. Names are generated here; a requested name that is not one of ours
//! is never turned into a path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The extension of spool files: parts of a reply being written, never served, removed at start
/// when an earlier run left them.
pub const SPOOL_EXTENSION: &str = "part";

/// Result files and their last access.
pub struct Outputs {
    dir: PathBuf,
    ttl: Duration,
    files: Mutex<HashMap<String, Instant>>,
}

impl Outputs {
    /// The output directory at `dir` (created when missing); spools an earlier run left there
    /// (it stopped while writing a reply) are removed.
    pub fn new(dir: PathBuf, ttl: Duration) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == SPOOL_EXTENSION) {
                remove_file(&path);
            }
        }
        Ok(Outputs {
            dir,
            ttl,
            files: Mutex::new(HashMap::new()),
        })
    }

    /// A fresh file name with this extension (`json`, `geodatabase`, or a spool's) and its path.
    pub fn new_name(&self, extension: &str) -> (String, PathBuf) {
        let name = format!("_ags_data_{}.{extension}", uuid::Uuid::new_v4().simple());
        let path = self.dir.join(&name);
        (name, path)
    }

    /// Registers a written file; its TTL starts now.
    pub fn publish(&self, name: &str) {
        self.lock().insert(name.to_string(), Instant::now());
    }

    /// Writes a new result file through `fill` (buffered, never whole in memory) and returns
    /// its name; a file that could not be written is removed and never published.
    pub fn write_with(
        &self,
        extension: &str,
        fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> std::io::Result<String> {
        use std::io::Write as _;
        let (name, path) = self.new_name(extension);
        let written = std::fs::File::create(&path).and_then(|file| {
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
            fill(&mut out)?;
            out.flush()
        });
        if let Err(e) = written {
            remove_file(&path);
            return Err(e);
        }
        self.publish(&name);
        Ok(name)
    }

    /// The path of a live result file, refreshing its access time; `None` when unknown or expired.
    pub fn open(&self, name: &str) -> Option<PathBuf> {
        let mut files = self.lock();
        let last = *files.get(name)?;
        if last.elapsed() > self.ttl {
            files.remove(name);
            remove_file(&self.dir.join(name));
            return None;
        }
        files.insert(name.to_string(), Instant::now());
        Some(self.dir.join(name))
    }

    /// Removes every file not accessed within the TTL; returns how many.
    pub fn sweep(&self) -> usize {
        let mut files = self.lock();
        let expired: Vec<String> = files
            .iter()
            .filter(|(_, last)| last.elapsed() > self.ttl)
            .map(|(name, _)| name.clone())
            .collect();
        for name in &expired {
            files.remove(name);
            remove_file(&self.dir.join(name));
        }
        expired.len()
    }

    /// Removes every result file now (admin).
    pub fn expire_all(&self) -> usize {
        let mut files = self.lock();
        for name in files.keys() {
            remove_file(&self.dir.join(name));
        }
        let count = files.len();
        files.clear();
        count
    }

    /// How often the sweeper should run.
    pub fn sweep_interval(&self) -> Duration {
        (self.ttl / 4).clamp(Duration::from_millis(50), Duration::from_secs(30))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // A panic while holding this lock leaves only a map of timestamps: keep using it.
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn remove_file(path: &Path) {
    if let Err(err) = std::fs::remove_file(path)
        && err.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %err, "could not remove an expired result file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_expire_after_the_ttl_without_access() {
        let dir = tempfile::tempdir().unwrap();
        let outputs = Outputs::new(dir.path().to_path_buf(), Duration::from_millis(40)).unwrap();
        let name = outputs
            .write_with("json", |out| out.write_all(b"{}"))
            .unwrap();
        assert!(outputs.open(&name).is_some());
        assert!(outputs.open("../../etc/passwd").is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(outputs.sweep(), 1);
        assert!(outputs.open(&name).is_none());
        assert!(!dir.path().join(&name).exists());
        let other = outputs
            .write_with("json", |out| out.write_all(b"{}"))
            .unwrap();
        assert_eq!(outputs.expire_all(), 1);
        assert!(outputs.open(&other).is_none());
    }
}
