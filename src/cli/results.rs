//! `syncwatch results`: the replica's edit results (refused edits with their codes, attempts and
//! the catalog's guidance; accepted ones too unless `--failed`), and the refusals predicted for
//! edits not sent yet, marked "predicted".

use super::session::{Session, data_dir, print_json, when};
use super::terminal::outln;
use crate::engine::EditResultRecord;
use crate::protocol::catalog::{self, Series};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ResultsArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// Only this series: 1000 (feature), 2000 (layer) or 3000 (replica).
    #[arg(long, value_parser = parse_series)]
    pub series: Option<Series>,
    /// Only refused edits.
    #[arg(long)]
    pub failed: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_series(text: &str) -> Result<Series, String> {
    Series::parse(text).ok_or_else(|| format!("{text:?} is not a series; use 1000, 2000 or 3000"))
}

fn keep(args: &ResultsArgs, row: &EditResultRecord) -> bool {
    (!args.failed || !row.success)
        && args
            .series
            .is_none_or(|s| row.code.and_then(Series::of_code) == Some(s))
}

pub fn run(args: &ResultsArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let (session, summary) =
        Session::start_for(&data_dir(data_dir_flag)?, args.json, &args.replica)?;
    let rows = session.edit_results(summary.id);
    session.shutdown();
    let rows: Vec<EditResultRecord> = rows?.iter().filter(|r| keep(args, r)).cloned().collect();
    if args.json {
        print_json(&rows)?;
        return Ok(super::exit::OK);
    }
    if rows.is_empty() {
        outln!("no edit results for {}", summary.name);
    }
    for row in &rows {
        let gid = row
            .global_id
            .as_ref()
            .map_or_else(|| "-".to_string(), |g| g.to_string());
        let outcome = match row.code {
            _ if row.success => "accepted".to_string(),
            Some(code) if row.predicted => format!("predicted {code}"),
            Some(code) => format!("refused {code}"),
            None => "refused".to_string(),
        };
        outln!(
            "{} layer {} ({}) {} {}: {}",
            outcome,
            row.layer_id,
            row.layer_name,
            row.change_type.label(),
            gid,
            row.description
        );
        outln!(
            "    attempts {}, first seen {}, last seen {}",
            row.attempts,
            when(Some(row.first_seen_ms)),
            when(Some(row.last_seen_ms))
        );
        if let Some(entry) = row.code.and_then(catalog::for_edit_result) {
            outln!("    to address: {}", entry.how_to_address);
        }
    }
    Ok(super::exit::OK)
}
