//! Running createReplica or synchronizeReplica and delivering the result: attachment URLs made
//! absolute, then the reply embedded as JSON or written as a JSON or delta SQLite result file
//! and answered with its URL. createReplica's data is written row by row into its output
//! (`replica_sinks`) and never held; synchronizeReplica's reply is still built whole (its
//! downloads are bounded by what changed since the replica's generation). Blocking: called
//! inside `AppState::blocking`.

use super::replica_sinks::{DeltaSink, EmbeddedBody, JsonOutput, JsonSink, JsonTarget};
use super::reply::internal_error;
use super::state::Shared;
use crate::geodatabase::delta::{self, Delta};
use crate::protocol::rules::Caller;
use crate::protocol::{
    CreateReplicaParams, DataFormat, ReplicaResponse, ResponseType, SyncReplicaParams,
    TransportType,
};
use crate::server::ops::{self, OpError};

/// What an async job or a direct call runs.
pub(super) enum Work {
    Create(Box<CreateReplicaParams>),
    Sync(Box<SyncReplicaParams>),
}

impl Work {
    pub(super) fn data_format(&self) -> DataFormat {
        match self {
            Work::Create(p) => p.data_format,
            Work::Sync(p) => p.data_format,
        }
    }
    pub(super) fn transport(&self) -> TransportType {
        match self {
            Work::Create(p) => p.transport_type,
            Work::Sync(p) => p.transport_type,
        }
    }
    pub(super) fn is_async(&self) -> bool {
        match self {
            Work::Create(p) => p.is_async,
            Work::Sync(p) => p.is_async,
        }
    }
    pub(super) fn replica_name(&self) -> Option<String> {
        match self {
            Work::Create(p) => Some(p.replica_name.clone()),
            Work::Sync(_) => None,
        }
    }
}

/// The reply of an executed operation.
pub(super) struct Executed {
    /// The reply, or (with `embedded`) its header without the `layers`.
    pub(super) reply: ReplicaResponse,
    /// An embedded createReplica reply, streamed from disk: the body to send instead of `reply`.
    pub(super) embedded: Option<EmbeddedBody>,
    pub(super) has_failed_edits: bool,
}

/// Runs the operation and delivers its result: embedded, or as a JSON or SQLite result file.
pub(super) fn execute(
    shared: &Shared,
    base_url: &str,
    who: &Caller,
    work: &Work,
    force_url: bool,
) -> Result<Executed, OpError> {
    let service_url = format!(
        "{base_url}/arcgis/rest/services/{}/FeatureServer",
        shared.service_name
    );
    let (mut document, has_failed_edits) = match work {
        Work::Create(p) => return create(shared, base_url, &service_url, who, p, force_url),
        Work::Sync(p) => {
            let outcome = ops::synchronize(&mut shared.core(), who, p)?;
            (outcome.response, outcome.has_failed_edits)
        }
    };
    absolute_attachment_urls(&mut document, &service_url);
    let reply = deliver(
        shared,
        base_url,
        document,
        work.data_format(),
        work.transport(),
        force_url,
    )?;
    Ok(Executed {
        reply,
        embedded: None,
        has_failed_edits,
    })
}

/// createReplica, its data written row by row into the output it is delivered in (a JSON
/// result file, an embedded body spooled to disk, a delta file): the features are never held.
/// The output is completed after the core's lock is released.
fn create(
    shared: &Shared,
    base_url: &str,
    service_url: &str,
    who: &Caller,
    params: &CreateReplicaParams,
    force_url: bool,
) -> Result<Executed, OpError> {
    let service_url = service_url.to_string();
    let (header, file_name) = match params.data_format {
        DataFormat::Sqlite => {
            let mut sink = DeltaSink::new(&shared.outputs, service_url);
            let header = ops::create_replica(&mut shared.core(), who, params, &mut sink)?;
            let name = sink.complete(&header)?;
            (header, name)
        }
        _ => {
            let mut sink = JsonSink::new(&shared.outputs, service_url);
            let header = ops::create_replica(&mut shared.core(), who, params, &mut sink)?;
            let target = if params.transport_type == TransportType::Embedded
                && params.data_format == DataFormat::Json
                && !force_url
            {
                JsonTarget::Embedded
            } else {
                JsonTarget::ResultFile
            };
            match sink.complete(&header, target)? {
                JsonOutput::Embedded(body) => {
                    return Ok(Executed {
                        reply: header,
                        embedded: Some(body),
                        has_failed_edits: false,
                    });
                }
                JsonOutput::ResultFile(name) => (header, name),
            }
        }
    };
    Ok(Executed {
        reply: url_reply(shared, base_url, header, &file_name),
        embedded: None,
        has_failed_edits: false,
    })
}

/// Attachment data URLs come from `ops` relative to the FeatureServer; clients get them absolute.
fn absolute_attachment_urls(document: &mut ReplicaResponse, service_url: &str) {
    let layers = document
        .layers
        .iter_mut()
        .flat_map(|l| l.attachments.iter_mut());
    let edits = document.edits.iter_mut().flat_map(|l| {
        l.attachments
            .adds
            .iter_mut()
            .chain(l.attachments.updates.iter_mut())
    });
    for attachment in layers.chain(edits) {
        if let Some(url) = attachment.url.as_mut()
            && !url.starts_with("http")
        {
            *url = format!("{service_url}/{url}");
        }
    }
}

fn deliver(
    shared: &Shared,
    base_url: &str,
    document: ReplicaResponse,
    format: DataFormat,
    transport: TransportType,
    force_url: bool,
) -> Result<ReplicaResponse, OpError> {
    let no_edits = document.response_type == Some(ResponseType::NoEdits);
    if no_edits
        || (transport == TransportType::Embedded && format == DataFormat::Json && !force_url)
    {
        return Ok(document);
    }
    let file_name = match format {
        DataFormat::Sqlite => {
            let (name, path) = shared.outputs.new_name("geodatabase");
            delta::write(&path, &Delta::from_response(&document)).map_err(|e| {
                tracing::error!(error = %e, "could not write a delta file");
                OpError::Service(internal_error())
            })?;
            shared.outputs.publish(&name);
            name
        }
        // Serialized straight into the file: the reply is not held a second time as text.
        _ => shared
            .outputs
            .write_with("json", |out| {
                serde_json::to_writer(out, &document).map_err(std::io::Error::other)
            })
            .map_err(|e| {
                tracing::error!(error = %e, "could not write a result file");
                OpError::Service(internal_error())
            })?,
    };
    Ok(url_reply(shared, base_url, document, &file_name))
}

/// The reply naming a result file: the document's ids, generations and response type.
fn url_reply(
    shared: &Shared,
    base_url: &str,
    document: ReplicaResponse,
    file_name: &str,
) -> ReplicaResponse {
    let url = format!(
        "{base_url}/arcgis/rest/directories/arcgisoutput/{}/{file_name}",
        shared.service_name
    );
    ReplicaResponse {
        replica_name: document.replica_name,
        replica_id: document.replica_id,
        replica_server_gen: document.replica_server_gen,
        layer_server_gens: document.layer_server_gens,
        transport_type: Some(TransportType::Url),
        response_type: document.response_type,
        url: Some(url),
        ..Default::default()
    }
}
