//! `syncwatch edit`: record a local add, update or delete in a replica's change queue; the next
//! sync uploads it.

use super::session::{Session, data_dir, print_json};
use crate::engine::LocalEdit;
use crate::protocol::{Attributes, Guid};
use anyhow::{Context, anyhow, bail};
use std::path::Path;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["add", "update", "delete"])))]
pub struct EditArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// The layer id.
    #[arg(long = "layer")]
    pub layer_id: i64,
    /// Add a feature: `{"attributes":{…},"geometry":{…}}` or just the attributes object.
    #[arg(long, value_name = "JSON")]
    pub add: Option<String>,
    /// Update a feature: GLOBALID then the JSON of the changed attributes (or a feature).
    #[arg(long, num_args = 2, value_names = ["GLOBALID", "JSON"])]
    pub update: Option<Vec<String>>,
    /// Delete a feature by GlobalID.
    #[arg(long, value_name = "GLOBALID")]
    pub delete: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A feature's attributes and geometry from either a feature object or a bare attributes object.
fn parse_feature(text: &str) -> anyhow::Result<(Attributes, Option<serde_json::Value>)> {
    let value: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("not valid JSON: {text}"))?;
    let serde_json::Value::Object(mut object) = value else {
        bail!("expected a JSON object, got {text}");
    };
    if let Some(serde_json::Value::Object(attributes)) = object.remove("attributes") {
        return Ok((
            attributes,
            object.remove("geometry").filter(|g| !g.is_null()),
        ));
    }
    Ok((object, None))
}

fn parse_guid(text: &str) -> anyhow::Result<Guid> {
    Guid::parse(text).map_err(|e| anyhow!("{e}"))
}

/// The edit the flags describe; a new feature gets its GlobalID here so it can be printed.
fn edit_from(args: &EditArgs) -> anyhow::Result<(LocalEdit, Guid, &'static str)> {
    if let Some(text) = &args.add {
        let (mut attributes, geometry) = parse_feature(text)?;
        let existing = attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("globalid"))
            .and_then(|(_, v)| v.as_str())
            .map(parse_guid)
            .transpose()?;
        let global_id = existing.unwrap_or_else(Guid::new_v4);
        attributes.retain(|k, _| !k.eq_ignore_ascii_case("globalid"));
        attributes.insert(
            "GlobalID".into(),
            serde_json::Value::String(global_id.to_string()),
        );
        return Ok((
            LocalEdit::Add {
                attributes,
                geometry,
            },
            global_id,
            "add",
        ));
    }
    if let Some(parts) = &args.update {
        let [gid, json] = parts.as_slice() else {
            bail!("--update takes a GlobalID and a JSON object");
        };
        let global_id = parse_guid(gid)?;
        let (attributes, geometry) = parse_feature(json)?;
        return Ok((
            LocalEdit::Update {
                global_id: global_id.clone(),
                attributes,
                geometry,
            },
            global_id,
            "update",
        ));
    }
    if let Some(gid) = &args.delete {
        let global_id = parse_guid(gid)?;
        return Ok((
            LocalEdit::Delete {
                global_id: global_id.clone(),
            },
            global_id,
            "delete",
        ));
    }
    bail!("give one of --add, --update or --delete")
}

pub fn run(args: &EditArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let (edit, global_id, kind) = edit_from(args)?;
    let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
    let summary = match session.resolve(&args.replica) {
        Ok(s) => s,
        Err(e) => {
            session.shutdown();
            return Err(e);
        }
    };
    let answer = session.edit_feature(summary.id, args.layer_id, edit);
    session.shutdown();
    match answer {
        Ok(after) => {
            if args.json {
                print_json(&serde_json::json!({
                    "replica": after.name, "layer": args.layer_id, "change": kind,
                    "globalId": global_id, "pendingChanges": after.pending_changes,
                }))?;
            } else {
                println!(
                    "recorded local {kind} of {global_id} in layer {}; {} change(s) pending in {}",
                    args.layer_id, after.pending_changes, after.name
                );
            }
            Ok(super::exit::OK)
        }
        Err(error) => {
            super::sync::report_failure(args.json, &format!("{:#}", anyhow::Error::new(error)))
        }
    }
}
