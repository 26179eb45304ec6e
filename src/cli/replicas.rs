//! `syncwatch replicas`: every replica this laptop holds, with its health.

use super::session::{Session, data_dir, print_json, when};
use super::terminal::outln;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ReplicasArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ReplicasArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
    let replicas = session.replicas().to_vec();
    session.shutdown();
    if args.json {
        print_json(&replicas)?;
        return Ok(super::exit::OK);
    }
    if replicas.is_empty() {
        outln!(
            "no replicas yet; create one with `syncwatch create --service URL --name NAME --layers 0`"
        );
    }
    for r in &replicas {
        let guid = r
            .replica_guid
            .as_ref()
            .map_or_else(|| "(not created)".to_string(), |g| g.to_string());
        outln!("{} {} [{}]", r.name, guid, r.health().label());
        outln!("    service:      {}", r.service_url);
        let generation = match (r.server_gen, r.layer_gens.is_empty()) {
            (Some(g), _) => g.to_string(),
            (None, false) => r
                .layer_gens
                .iter()
                .map(|(layer, g)| format!("{layer}:{g}"))
                .collect::<Vec<_>>()
                .join(" "),
            (None, true) => "-".into(),
        };
        outln!(
            "    sync model:   {} ({}), generation {generation}",
            r.sync_model,
            r.direction
        );
        outln!(
            "    local edits:  {} pending, {} refused",
            r.pending_changes,
            r.failed_edits
        );
        outln!("    last success: {}", when(r.last_success_ms));
        if let Some(reason) = &r.reset_reason {
            outln!("    needs reset:  {reason}");
        }
        if let Some(error) = &r.last_error {
            outln!("    last error:   {error}");
        }
    }
    Ok(super::exit::OK)
}
