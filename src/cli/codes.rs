//! `syncwatch codes`: the error-code catalog, as text or JSON.

use super::terminal::outln;
use crate::protocol::catalog::{self, CatalogEntry, Series};

#[derive(Debug, clap::Args)]
pub struct CodesArgs {
    /// Only this series: 1000 (feature), 2000 (layer) or 3000 (replica).
    #[arg(long, value_parser = parse_series)]
    pub series: Option<Series>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_series(text: &str) -> Result<Series, String> {
    Series::parse(text).ok_or_else(|| format!("{text:?} is not a series; use 1000, 2000 or 3000"))
}

pub fn run(args: &CodesArgs) -> anyhow::Result<u8> {
    let entries: Vec<&CatalogEntry> = catalog::all()
        .iter()
        .filter(|e| args.series.is_none_or(|s| e.series == s))
        .collect();
    if args.json {
        super::terminal::write_json(&entries)?;
    } else {
        for e in entries {
            outln!("{} [{}] {}", e.code, e.series.label(), e.title);
            outln!("    server says:   {}", e.description);
            outln!("    to address:    {}", e.how_to_address);
            outln!("    client should: {}", e.client_action);
            let resend = if e.resend_can_succeed_unchanged {
                "can succeed unchanged"
            } else {
                "needs a fix first"
            };
            let reset = if e.needs_client_reset {
                "; needs a client reset"
            } else {
                ""
            };
            outln!("    resend:        {resend}{reset}");
        }
    }
    Ok(super::exit::OK)
}
