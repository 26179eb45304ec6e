//! The outputs createReplica writes its data into as it reads it (`ops::ReplicaSink`), so a
//! replica of a million features never sits in memory: [`JsonSink`] (a JSON result file, or an
//! embedded JSON reply streamed from disk as the body) and [`DeltaSink`] (a delta SQLite file,
//! through `geodatabase::delta::DeltaWriter`). JSON keeps the shape and member order a whole
//! `ReplicaResponse` serializes to (the header first, `layers` last): the layers go to a spool
//! file in the output directory as they come, and once the replica is registered the header is
//! written before them. Attachment data URLs are made absolute here.
//!
//! Blocking (files): used inside `AppState::blocking`. What it must not do: keep features, or
//! leave a spool or a half-written file behind (unpublished files are removed when dropped).

use super::output_dir::{Outputs, SPOOL_EXTENSION};
use super::reply::internal_error;
use crate::geodatabase::delta::{DeltaInfo, DeltaWriter};
use crate::protocol::{Attachment, ChangeType, Feature, ReplicaResponse};
use crate::server::ops::{OpError, ReplicaSink};
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Buffer of the spool and result file writers.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Bytes read per chunk of an embedded reply's body.
const BODY_CHUNK_BYTES: usize = 64 * 1024;

/// A file in the output directory that nobody may download yet: removed when dropped unless
/// [`Unpublished::keep`] says otherwise.
struct Unpublished {
    path: PathBuf,
    kept: bool,
}

impl Unpublished {
    fn new(path: PathBuf) -> Self {
        Unpublished { path, kept: false }
    }

    fn keep(mut self) -> PathBuf {
        self.kept = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for Unpublished {
    fn drop(&mut self) {
        if !self.kept
            && let Err(err) = std::fs::remove_file(&self.path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %err, "could not remove an unfinished output file");
        }
    }
}

/// A failed write: logged here, the caller gets the internal-error envelope.
fn write_failed(what: &str, error: &dyn std::error::Error) -> OpError {
    tracing::error!(error = %error, "could not write {what}");
    OpError::Service(internal_error())
}

/// Attachment data URLs come from `ops` relative to the FeatureServer; clients get them absolute.
fn absolute_urls(attachments: &mut [Attachment], service_url: &str) {
    for attachment in attachments {
        if let Some(url) = attachment.url.as_mut()
            && !url.starts_with("http")
        {
            *url = format!("{service_url}/{url}");
        }
    }
}

/// Where a [`JsonSink`]'s reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonTarget {
    /// A result file in the output directory, answered with its URL.
    ResultFile,
    /// The reply's body (`transportType=esriTransportTypeEmbedded`).
    Embedded,
}

/// The layers of a JSON reply, spooled to a file as they come.
pub(super) struct JsonSink<'a> {
    outputs: &'a Outputs,
    service_url: String,
    /// Opened with the first layer.
    spool: Option<(BufWriter<File>, Unpublished)>,
    layers: usize,
    features_in_layer: usize,
}

impl<'a> JsonSink<'a> {
    pub(super) fn new(outputs: &'a Outputs, service_url: String) -> Self {
        JsonSink {
            outputs,
            service_url,
            spool: None,
            layers: 0,
            features_in_layer: 0,
        }
    }

    fn spool(&mut self) -> Result<&mut BufWriter<File>, OpError> {
        if self.spool.is_none() {
            let (_, path) = self.outputs.new_name(SPOOL_EXTENSION);
            let guard = Unpublished::new(path);
            let file = File::create(&guard.path).map_err(|e| write_failed("a spool file", &e))?;
            self.spool = Some((BufWriter::with_capacity(WRITE_BUFFER_BYTES, file), guard));
        }
        self.spool
            .as_mut()
            .map(|(writer, _)| writer)
            .ok_or_else(|| OpError::Service(internal_error()))
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), OpError> {
        self.spool()?
            .write_all(bytes)
            .map_err(|e| write_failed("a spool file", &e))
    }

    /// The reply as `header` with the spooled layers as its `layers`: a published result file
    /// (its name) or an embedded body read from disk.
    pub(super) fn complete(
        self,
        header: &ReplicaResponse,
        target: JsonTarget,
    ) -> Result<JsonOutput, OpError> {
        let (prefix, suffix) = frame(header, self.layers > 0)?;
        let spool = match self.spool {
            Some((mut writer, guard)) => {
                writer
                    .flush()
                    .map_err(|e| write_failed("a spool file", &e))?;
                Some(guard)
            }
            None => None,
        };
        match target {
            JsonTarget::Embedded => Ok(JsonOutput::Embedded(EmbeddedBody {
                prefix,
                spool,
                suffix,
            })),
            JsonTarget::ResultFile => {
                let name = self
                    .outputs
                    .write_with("json", |out| {
                        out.write_all(&prefix)?;
                        if let Some(spool) = &spool {
                            std::io::copy(&mut File::open(&spool.path)?, out)?;
                        }
                        out.write_all(&suffix)
                    })
                    .map_err(|e| write_failed("a result file", &e))?;
                Ok(JsonOutput::ResultFile(name))
            }
        }
    }
}

/// The bytes before and after the spooled layers: `{…header…,"layers":` + spool + `]}`.
fn frame(header: &ReplicaResponse, has_layers: bool) -> Result<(Vec<u8>, Vec<u8>), OpError> {
    let mut prefix =
        serde_json::to_vec(header).map_err(|e| write_failed("a reply's header", &e))?;
    if !has_layers {
        return Ok((prefix, Vec::new()));
    }
    // A serialized struct always ends with `}`; `{}` takes no comma.
    prefix.pop();
    if prefix.len() > 1 {
        prefix.push(b',');
    }
    prefix.extend_from_slice(b"\"layers\":");
    Ok((prefix, b"]}".to_vec()))
}

impl ReplicaSink for JsonSink<'_> {
    fn begin_layer(&mut self, layer_id: i64) -> Result<(), OpError> {
        let open = if self.layers == 0 { "[" } else { "," };
        self.layers += 1;
        self.features_in_layer = 0;
        self.put(format!("{open}{{\"id\":{layer_id},\"features\":[").as_bytes())
    }

    fn feature(&mut self, feature: &Feature) -> Result<(), OpError> {
        let first = self.features_in_layer == 0;
        self.features_in_layer += 1;
        let out = self.spool()?;
        let written = if first { Ok(()) } else { out.write_all(b",") };
        written
            .map_err(serde_json::Error::io)
            .and_then(|()| serde_json::to_writer(out, feature))
            .map_err(|e| write_failed("a spool file", &e))
    }

    fn end_layer(&mut self, mut attachments: Vec<Attachment>) -> Result<(), OpError> {
        self.put(b"]")?;
        if !attachments.is_empty() {
            absolute_urls(&mut attachments, &self.service_url);
            self.put(b",\"attachments\":")?;
            let out = self.spool()?;
            serde_json::to_writer(out, &attachments)
                .map_err(|e| write_failed("a spool file", &e))?;
        }
        self.put(b"}")
    }
}

/// What a [`JsonSink`] made.
pub(super) enum JsonOutput {
    /// The name of a published result file.
    ResultFile(String),
    Embedded(EmbeddedBody),
}

/// An embedded JSON reply: a small header in memory, the layers on disk (removed once sent).
pub(super) struct EmbeddedBody {
    prefix: Vec<u8>,
    spool: Option<Unpublished>,
    suffix: Vec<u8>,
}

impl EmbeddedBody {
    /// The reply (status 200, JSON), its layers read from disk chunk by chunk as they are sent.
    /// The spool is unlinked once open (the open file stays readable), so it is gone whatever
    /// becomes of the connection.
    pub(super) fn into_response(self) -> Result<Response, OpError> {
        let EmbeddedBody {
            prefix,
            spool,
            suffix,
        } = self;
        let (file, spooled) = match spool {
            Some(guard) => {
                let file =
                    File::open(&guard.path).map_err(|e| write_failed("an embedded reply", &e))?;
                let len = file
                    .metadata()
                    .map_err(|e| write_failed("an embedded reply", &e))?
                    .len();
                // Dropping the guard removes the name; the open file is read to its end.
                drop(guard);
                (Some(tokio::fs::File::from_std(file)), len)
            }
            None => (None, 0),
        };
        let len = prefix.len() as u64 + spooled + suffix.len() as u64;
        let head = futures_util::stream::once(async move { Ok(Bytes::from(prefix)) });
        let tail = futures_util::stream::once(async move { Ok(Bytes::from(suffix)) });
        let middle = futures_util::stream::unfold(file, |file| async move {
            use tokio::io::AsyncReadExt as _;
            let mut file = file?;
            let mut buf = vec![0u8; BODY_CHUNK_BYTES];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        use futures_util::StreamExt as _;
        let mut response = Response::new(Body::from_stream(head.chain(middle).chain(tail)));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(value) = HeaderValue::from_str(&len.to_string()) {
            headers.insert(header::CONTENT_LENGTH, value);
        }
        Ok(response)
    }
}

/// A createReplica's data as a delta SQLite file, row by row in one transaction.
pub(super) struct DeltaSink<'a> {
    outputs: &'a Outputs,
    service_url: String,
    /// The file and its writer, from the first layer on.
    file: Option<(DeltaWriter, Unpublished, String)>,
    layer_id: i64,
}

impl<'a> DeltaSink<'a> {
    pub(super) fn new(outputs: &'a Outputs, service_url: String) -> Self {
        DeltaSink {
            outputs,
            service_url,
            file: None,
            layer_id: 0,
        }
    }

    fn writer(&mut self) -> Result<&mut DeltaWriter, OpError> {
        if self.file.is_none() {
            let (name, path) = self.outputs.new_name("geodatabase");
            let guard = Unpublished::new(path);
            let writer =
                DeltaWriter::create(&guard.path).map_err(|e| write_failed("a delta file", &e))?;
            self.file = Some((writer, guard, name));
        }
        self.file
            .as_mut()
            .map(|(writer, _, _)| writer)
            .ok_or_else(|| OpError::Service(internal_error()))
    }

    /// Writes the header's ids and generations, commits and publishes the file; its name.
    pub(super) fn complete(mut self, header: &ReplicaResponse) -> Result<String, OpError> {
        self.writer()?;
        let Some((writer, guard, name)) = self.file.take() else {
            return Err(OpError::Service(internal_error()));
        };
        writer
            .finish(&DeltaInfo {
                replica_id: header.replica_id.clone(),
                replica_name: header.replica_name.clone(),
                response_type: header.response_type,
                replica_server_gen: header.replica_server_gen,
                layer_server_gens: header.layer_server_gens.clone(),
            })
            .map_err(|e| write_failed("a delta file", &e))?;
        guard.keep();
        self.outputs.publish(&name);
        Ok(name)
    }
}

impl ReplicaSink for DeltaSink<'_> {
    fn begin_layer(&mut self, layer_id: i64) -> Result<(), OpError> {
        self.layer_id = layer_id;
        self.writer().map(drop)
    }

    fn feature(&mut self, feature: &Feature) -> Result<(), OpError> {
        let layer_id = self.layer_id;
        self.writer()?
            .feature(layer_id, ChangeType::Insert, feature)
            .map_err(|e| write_failed("a delta file", &e))
    }

    fn end_layer(&mut self, mut attachments: Vec<Attachment>) -> Result<(), OpError> {
        absolute_urls(&mut attachments, &self.service_url);
        let layer_id = self.layer_id;
        let writer = self.writer()?;
        for attachment in &attachments {
            writer
                .attachment(layer_id, ChangeType::Insert, attachment)
                .map_err(|e| write_failed("a delta file", &e))?;
        }
        Ok(())
    }
}
