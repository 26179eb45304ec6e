//! `Command::ExportLog`: the sync error log lines a front end shows, written as CSV (private to
//! the user) off the runtime's workers, answered with `Event::ExportFinished`. Writes only the
//! file it was given; reads nothing.

use super::Deps;
use super::api::{CommandId, Event, LogEntry};
use super::error::EngineError;
use super::local::{csv_file, spreadsheet_safe};
use std::path::{Path, PathBuf};

/// The CSV columns, in order: the time in RFC 3339 (UTC) and in milliseconds, so a spreadsheet
/// and a script both read it.
pub const LOG_CSV_HEADER: [&str; 6] = ["time", "at_ms", "replica_id", "replica", "code", "message"];

/// Writes `entries` to `path` and sends [`Event::ExportFinished`], or the command's
/// `CommandFailed`.
pub(crate) async fn export(
    deps: Deps,
    command: Option<CommandId>,
    entries: Vec<LogEntry>,
    path: PathBuf,
) {
    let target = path.clone();
    let written = tokio::task::spawn_blocking(move || write_csv(&entries, &target)).await;
    match written.map_err(EngineError::from).and_then(|r| r) {
        Ok(rows) => deps.events.send(Event::ExportFinished { path, rows }),
        Err(e) => super::job::command_failed(&deps, command, "export the sync error log", &e),
    }
}

fn write_csv(entries: &[LogEntry], path: &Path) -> Result<usize, EngineError> {
    let mut writer = csv_file(path, &LOG_CSV_HEADER)?;
    for entry in entries {
        let time = chrono::DateTime::from_timestamp_millis(entry.at_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        writer
            .write_record([
                time,
                entry.at_ms.to_string(),
                entry.replica.map(|r| r.0.to_string()).unwrap_or_default(),
                spreadsheet_safe(&entry.replica_name),
                entry.code.map(|c| c.to_string()).unwrap_or_default(),
                spreadsheet_safe(&entry.message),
            ])
            .map_err(|source| EngineError::Csv {
                path: path.to_path_buf(),
                source,
            })?;
    }
    writer.flush().map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LocalReplicaId;

    #[test]
    fn lines_become_rows_with_formulas_defused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let entries = vec![
            LogEntry {
                at_ms: 1_700_000_000_123,
                replica: Some(LocalReplicaId(7)),
                replica_name: "Hydrants, crew A".into(),
                code: Some(1016),
                message: "=HYPERLINK(\"x\") value outside the domain".into(),
            },
            LogEntry {
                at_ms: 1_700_000_001_000,
                replica: None,
                replica_name: String::new(),
                code: None,
                message: "service moved".into(),
            },
        ];
        assert_eq!(write_csv(&entries, &path).unwrap(), 2);
        let mut reader = csv::Reader::from_path(&path).unwrap();
        assert_eq!(reader.headers().unwrap(), LOG_CSV_HEADER.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(
            rows[0].iter().collect::<Vec<_>>(),
            [
                "2023-11-14T22:13:20.123Z",
                "1700000000123",
                "7",
                "Hydrants, crew A",
                "1016",
                "'=HYPERLINK(\"x\") value outside the domain"
            ]
        );
        assert_eq!(
            rows[1].iter().collect::<Vec<_>>(),
            [
                "2023-11-14T22:13:21.000Z",
                "1700000001000",
                "",
                "",
                "",
                "service moved"
            ]
        );
    }
}
