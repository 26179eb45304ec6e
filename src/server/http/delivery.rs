//! Running createReplica or synchronizeReplica and delivering the result: the reply embedded as
//! JSON or written as a JSON or delta SQLite result file and answered with its URL. The data
//! (createReplica's layers, synchronizeReplica's downloaded changes and snapshot layers) is
//! written row by row into its output (`replica_sinks`) and never held; only a sync's upload
//! results, bounded by the upload, are in memory. Blocking: called inside `AppState::blocking`.

use super::replica_sinks::{DeltaSink, EmbeddedBody, JsonOutput, JsonSink, JsonTarget};
use super::state::Shared;
use crate::protocol::rules::Caller;
use crate::protocol::{
    CreateReplicaParams, DataFormat, ReplicaResponse, ResponseType, SyncReplicaParams,
    TransportType,
};
use crate::server::ops::{self, OpError, ReplicaSink};

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
    /// An embedded reply, streamed from disk: the body to send instead of `reply`.
    pub(super) embedded: Option<EmbeddedBody>,
    pub(super) has_failed_edits: bool,
}

/// Runs the operation and delivers its result: embedded, or as a JSON or SQLite result file.
/// The data is written row by row into the output it is delivered in (a JSON result file, an
/// embedded body spooled to disk, a delta file) and never held; the output is completed after
/// the core's lock is released. A sync with nothing to say (`NoEdits`) writes no file.
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
    let format = work.data_format();
    let done = |reply, embedded, has_failed_edits| Executed {
        reply,
        embedded,
        has_failed_edits,
    };
    if format == DataFormat::Sqlite {
        let mut sink = DeltaSink::new(&shared.outputs, service_url);
        let (header, failed) = run(shared, who, work, &mut sink)?;
        if says_nothing(&header) {
            return Ok(done(header, None, failed));
        }
        let name = sink.complete(&header)?;
        return Ok(done(
            url_reply(shared, base_url, header, &name),
            None,
            failed,
        ));
    }
    let mut sink = JsonSink::new(&shared.outputs, service_url);
    let (header, failed) = run(shared, who, work, &mut sink)?;
    if says_nothing(&header) {
        return Ok(done(header, None, failed));
    }
    let target = if work.transport() == TransportType::Embedded
        && format == DataFormat::Json
        && !force_url
    {
        JsonTarget::Embedded
    } else {
        JsonTarget::ResultFile
    };
    Ok(match sink.complete(&header, target)? {
        JsonOutput::Embedded(body) => done(header, Some(body), failed),
        JsonOutput::ResultFile(name) => {
            done(url_reply(shared, base_url, header, &name), None, failed)
        }
    })
}

/// The operation, its data written into `sink`: the reply without its data, and whether some
/// uploaded edits failed. The core is locked for the call only.
fn run(
    shared: &Shared,
    who: &Caller,
    work: &Work,
    sink: &mut dyn ReplicaSink,
) -> Result<(ReplicaResponse, bool), OpError> {
    match work {
        Work::Create(p) => Ok((
            ops::create_replica(&mut shared.core(), who, p, sink)?,
            false,
        )),
        Work::Sync(p) => {
            let outcome = ops::synchronize(&mut shared.core(), who, p, sink)?;
            Ok((outcome.response, outcome.has_failed_edits))
        }
    }
}

/// A sync that neither downloads nor has results: answered as it is, with no result file.
fn says_nothing(header: &ReplicaResponse) -> bool {
    header.response_type == Some(ResponseType::NoEdits)
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
