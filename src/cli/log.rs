//! `syncwatch log`: the stored sync error log (what the window's log panel shows), oldest first,
//! optionally only one replica's lines or the recent ones; text or `--json`. Reads only.

use super::session::{Session, data_dir, print_json, when};
use super::terminal::outln;
use crate::engine::LogEntry;
use anyhow::bail;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Only this replica's lines (its name or replicaID).
    #[arg(long)]
    pub replica: Option<String>,
    /// Only lines of the last DURATION: a number and m, h or d (`30m`, `24h`, `7d`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub since: Option<i64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `30m`, `24h`, `7d` as milliseconds.
fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a duration; use a number and m, h or d (e.g. 24h)");
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (number, unit) = (text.get(..split).ok_or_else(bad)?, text.get(split..));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        Some("m") => 60_000,
        Some("h") => 3_600_000,
        Some("d") => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_ms).filter(|ms| *ms > 0).ok_or_else(bad)
}

pub fn run(args: &LogArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, true)?;
    let replica = match args.replica.as_deref().map(|r| session.resolve(r)) {
        Some(Err(e)) => {
            session.shutdown();
            bail!(e);
        }
        Some(Ok(summary)) => Some(summary.id),
        None => None,
    };
    let since = args.since.map(|span| crate::model::now_ms() - span);
    let lines: Vec<LogEntry> = session
        .stored_log()
        .iter()
        .filter(|e| replica.is_none() || e.replica == replica)
        .filter(|e| since.is_none_or(|s| e.at_ms >= s))
        .cloned()
        .collect();
    session.shutdown();
    if args.json {
        print_json(&lines)?;
        return Ok(super::exit::OK);
    }
    if lines.is_empty() {
        outln!(
            "the sync error log has no lines{}",
            if args.since.is_some() || replica.is_some() {
                " that match"
            } else {
                ""
            }
        );
    }
    for e in &lines {
        let code = e.code.map(|c| format!(" {c}")).unwrap_or_default();
        let name = if e.replica_name.is_empty() {
            "-"
        } else {
            &e.replica_name
        };
        outln!("{}  {name}{code}: {}", when(Some(e.at_ms)), e.message);
    }
    Ok(super::exit::OK)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations_read_minutes_hours_and_days() {
        assert_eq!(parse_duration_ms("30m"), Ok(1_800_000));
        assert_eq!(parse_duration_ms("24h"), Ok(86_400_000));
        assert_eq!(parse_duration_ms("7d"), Ok(604_800_000));
        for bad in ["", "h", "24", "1w", "-3h", "0d", "xh", "99999999999999999d"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad:?}");
        }
    }
}
