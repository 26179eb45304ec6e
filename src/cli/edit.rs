//! `syncwatch edit`: record a local add, update or delete, or attach a file to a feature or
//! delete an attachment, in a replica's change queue, or a whole batch from a file
//! (`--from-file`, all or none); the next sync uploads them.

use super::session::{Session, data_dir, print_json};
use super::terminal::outln;
use crate::engine::{LocalEdit, NewAttachment};
use crate::protocol::{Attributes, Guid};
use anyhow::{Context, anyhow, bail};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["add", "update", "delete", "attach", "detach", "from_file"])))]
pub struct EditArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// The layer id (for --add, --update and --delete, and the layer GeoJSON features of
    /// --from-file are added to; attachments find their feature's layer).
    #[arg(long = "layer", required_unless_present_any = ["attach", "detach", "from_file"])]
    pub layer_id: Option<i64>,
    /// Add a feature: `{"attributes":{…},"geometry":{…}}` or just the attributes object.
    #[arg(long, value_name = "JSON")]
    pub add: Option<String>,
    /// Update a feature: GLOBALID then the JSON of the changed attributes (or a feature).
    #[arg(long, num_args = 2, value_names = ["GLOBALID", "JSON"])]
    pub update: Option<Vec<String>>,
    /// Delete a feature by GlobalID.
    #[arg(long, value_name = "GLOBALID")]
    pub delete: Option<String>,
    /// Attach a file (a photo, a PDF) to the feature PARENT_GLOBALID.
    #[arg(long, num_args = 2, value_names = ["PARENT_GLOBALID", "FILE"])]
    pub attach: Option<Vec<String>>,
    /// The attached file's content type (default: guessed from its extension).
    #[arg(long, value_name = "TYPE", requires = "attach")]
    pub content_type: Option<String>,
    /// Delete an attachment by its GlobalID.
    #[arg(long, value_name = "ATTACHMENT_GLOBALID")]
    pub detach: Option<String>,
    /// Record a batch of edits from a file, all or none: a synchronizeReplica `edits` value
    /// (`[{"id":0,"features":{"adds":[…],"updates":[…],"deleteIds":[…]}}]`), or GeoJSON
    /// features added to --layer.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
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
    if let Some(parts) = &args.attach {
        let [parent, file] = parts.as_slice() else {
            bail!("--attach takes a parent GlobalID and a file");
        };
        let parent_global_id = parse_guid(parent)?;
        let file = PathBuf::from(file);
        if !file.is_file() {
            bail!("no file to attach at {}", file.display());
        }
        let global_id = Guid::new_v4();
        return Ok((
            LocalEdit::Attach(Box::new(NewAttachment {
                global_id: global_id.clone(),
                parent_global_id,
                file,
                content_type: args.content_type.clone(),
            })),
            global_id,
            "attachment add",
        ));
    }
    if let Some(gid) = &args.detach {
        let global_id = parse_guid(gid)?;
        return Ok((
            LocalEdit::Detach {
                global_id: global_id.clone(),
            },
            global_id,
            "attachment delete",
        ));
    }
    bail!("give one of --add, --update, --delete, --attach or --detach")
}

pub fn run(args: &EditArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    if let Some(file) = &args.from_file {
        return run_batch(args, file, data_dir_flag);
    }
    let (edit, global_id, kind) = edit_from(args)?;
    let (session, summary) =
        Session::start_for(&data_dir(data_dir_flag)?, args.json, &args.replica)?;
    let is_attachment = matches!(edit, LocalEdit::Attach { .. } | LocalEdit::Detach { .. });
    let answer = session.edit_feature(summary.id, args.layer_id.unwrap_or_default(), edit);
    session.shutdown();
    match answer {
        Ok(after) => {
            let place = match (is_attachment, args.layer_id) {
                (false, Some(layer)) => format!(" in layer {layer}"),
                _ => String::new(),
            };
            if args.json {
                print_json(&serde_json::json!({
                    "replica": after.name, "layer": args.layer_id, "change": kind,
                    "globalId": global_id, "pendingChanges": after.pending_changes,
                }))?;
            } else {
                outln!(
                    "recorded local {kind} of {global_id}{place}; {} change(s) pending in {}",
                    after.pending_changes,
                    after.name
                );
            }
            Ok(super::exit::OK)
        }
        Err(error) => {
            super::sync::report_failure(args.json, &format!("{:#}", anyhow::Error::new(error)))
        }
    }
}

/// `--from-file`: the whole batch in one transaction; a bad entry is named by its place in
/// the file and nothing is recorded.
fn run_batch(args: &EditArgs, file: &Path, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let entries = super::edit_batch::read_batch(file, args.layer_id)?;
    let (session, summary) =
        Session::start_for(&data_dir(data_dir_flag)?, args.json, &args.replica)?;
    let count = |f: fn(&LocalEdit) -> bool| entries.iter().filter(|e| f(&e.edit)).count();
    let adds = count(|e| matches!(e, LocalEdit::Add { .. }));
    let updates = count(|e| matches!(e, LocalEdit::Update { .. }));
    let deletes = count(|e| matches!(e, LocalEdit::Delete { .. }));
    let places: Vec<String> = entries.iter().map(|e| e.place.clone()).collect();
    let edits = entries.into_iter().map(|e| (e.layer_id, e.edit)).collect();
    let answer = session.block_on(session.handle().record_edits(summary.id, edits));
    session.shutdown();
    let after = match answer {
        Ok(after) => after,
        Err(crate::engine::EngineError::BatchEntry { position, source }) => {
            let place = places.get(position).map_or("?", String::as_str);
            bail!(
                "{place} in {}: {source}; nothing of the batch was recorded",
                file.display()
            );
        }
        Err(error) => {
            return super::sync::report_failure(
                args.json,
                &format!("{:#}", anyhow::Error::new(error)),
            );
        }
    };
    if args.json {
        print_json(&serde_json::json!({
            "replica": after.name, "adds": adds, "updates": updates, "deletes": deletes,
            "pendingChanges": after.pending_changes,
        }))?;
    } else {
        outln!(
            "recorded {} local edit(s) ({adds} adds, {updates} updates, {deletes} deletes) in one \
             transaction; {} change(s) pending in {}",
            adds + updates + deletes,
            after.pending_changes,
            after.name
        );
    }
    Ok(super::exit::OK)
}
