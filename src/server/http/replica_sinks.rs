//! The outputs createReplica and synchronizeReplica write their data into as they read it
//! (`ops::ReplicaSink`), so a replica of a million features, or the server changes of a long
//! time offline, never sit in memory: [`JsonSink`] (a JSON result file, or an embedded JSON reply
//! streamed from disk as the body) and [`DeltaSink`] (a delta SQLite file, through
//! `geodatabase::delta::DeltaWriter`). JSON keeps the shape and member order a whole
//! `ReplicaResponse` serializes to (the header first, then `layers`, then `edits`; in an `edits`
//! entry `id`, `features` with `adds`, `updates`, `deleteIds`, then the rest): the sections go
//! to spool files in the output directory as they come (a sync entry's updates and deleteIds to
//! spools of their own until the entry ends), and once the operation is done the header is
//! written before them. Attachment data URLs are made absolute here.
//!
//! Blocking (files): used inside `AppState::blocking`. What it must not do: keep features, or
//! leave a spool or a half-written file behind (unpublished files are removed when dropped).

use super::output_dir::{Outputs, SPOOL_EXTENSION};
use super::reply::internal_error;
use crate::geodatabase::delta::{DeltaInfo, DeltaWriter};
use crate::protocol::{
    Attachment, ChangeType, EditResultRow, Feature, LayerSyncResult, ReplicaResponse,
};
use crate::server::ops::{Change, OpError, ReplicaSink};
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
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

/// A file in the output directory written through a buffer, then read back from its start.
struct Spool {
    writer: BufWriter<File>,
    guard: Unpublished,
}

impl Spool {
    fn open(outputs: &Outputs) -> Result<Spool, OpError> {
        let (_, path) = outputs.new_name(SPOOL_EXTENSION);
        let guard = Unpublished::new(path);
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&guard.path)
            .map_err(|e| write_failed("a spool file", &e))?;
        Ok(Spool {
            writer: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            guard,
        })
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), OpError> {
        self.writer
            .write_all(bytes)
            .map_err(|e| write_failed("a spool file", &e))
    }

    fn json(&mut self, value: &impl serde::Serialize) -> Result<(), OpError> {
        serde_json::to_writer(&mut self.writer, value).map_err(|e| write_failed("a spool file", &e))
    }

    /// Everything written, as a file open at its start (its name removed with the guard).
    fn finish(self) -> Result<(File, Unpublished), OpError> {
        let mut file = self
            .writer
            .into_inner()
            .map_err(|e| write_failed("a spool file", e.error()))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| write_failed("a spool file", &e))?;
        Ok((file, self.guard))
    }

    /// Appends everything written to `out`; the spool is removed.
    fn copy_into(self, out: &mut Spool) -> Result<(), OpError> {
        let (mut file, _guard) = self.finish()?;
        std::io::copy(&mut file, &mut out.writer)
            .map(drop)
            .map_err(|e| write_failed("a spool file", &e))
    }
}

/// A JSON array being spooled item by item: `[` before the first item, `,` before the others;
/// the closing `]` is the reader's. Opened with its first item.
#[derive(Default)]
struct Section {
    spool: Option<Spool>,
    items: usize,
}

impl Section {
    fn spool(&mut self, outputs: &Outputs) -> Result<&mut Spool, OpError> {
        if self.spool.is_none() {
            self.spool = Some(Spool::open(outputs)?);
        }
        self.spool
            .as_mut()
            .ok_or_else(|| OpError::Service(internal_error()))
    }

    /// The next item begins: its separator is written, the spool is the caller's to write it.
    fn next_item(&mut self, outputs: &Outputs) -> Result<&mut Spool, OpError> {
        let separator: &[u8] = if self.items == 0 { b"[" } else { b"," };
        self.items += 1;
        let spool = self.spool(outputs)?;
        spool.put(separator)?;
        Ok(spool)
    }
}

/// The sync `edits` entry being written: `{"id":…` goes into the `edits` section with the
/// entry's first add (the adds follow it there); updates and deleteIds wait in spools of their
/// own, since a reply names them after every add.
struct Entry {
    id: i64,
    /// `{"id":…` is written.
    opened: bool,
    adds: usize,
    updates: Section,
    deletes: Section,
}

/// A JSON reply's `layers` (createReplica's data, a sync's snapshot layers) and `edits` (a
/// sync's changes and edit results), spooled to files as they come.
pub(super) struct JsonSink<'a> {
    outputs: &'a Outputs,
    service_url: String,
    layers: Section,
    features_in_layer: usize,
    edits: Section,
    entry: Option<Entry>,
}

impl<'a> JsonSink<'a> {
    pub(super) fn new(outputs: &'a Outputs, service_url: String) -> Self {
        JsonSink {
            outputs,
            service_url,
            layers: Section::default(),
            features_in_layer: 0,
            edits: Section::default(),
            entry: None,
        }
    }

    fn entry(&mut self) -> Result<&mut Entry, OpError> {
        self.entry
            .as_mut()
            .ok_or_else(|| OpError::Service(internal_error()))
    }

    /// The reply as `header` with the spooled `layers` and `edits`: a published result file
    /// (its name) or an embedded body read from disk.
    pub(super) fn complete(
        self,
        header: &ReplicaResponse,
        target: JsonTarget,
    ) -> Result<JsonOutput, OpError> {
        if self.entry.is_some() {
            tracing::error!("a sync entry was left open");
            return Err(OpError::Service(internal_error()));
        }
        let mut parts = frame(header, [("layers", self.layers), ("edits", self.edits)])?;
        match target {
            JsonTarget::Embedded => Ok(JsonOutput::Embedded(EmbeddedBody { parts })),
            JsonTarget::ResultFile => {
                let name = self
                    .outputs
                    .write_with("json", |out| {
                        for part in &mut parts {
                            match part {
                                Part::Bytes(bytes) => out.write_all(bytes)?,
                                Part::Spool(file, _) => {
                                    std::io::copy(file, out)?;
                                }
                            }
                        }
                        Ok(())
                    })
                    .map_err(|e| write_failed("a result file", &e))?;
                Ok(JsonOutput::ResultFile(name))
            }
        }
    }
}

/// The spool of `edits` with the entry's `{"id":…` written into it (once).
fn open_entry<'s>(
    edits: &'s mut Section,
    outputs: &Outputs,
    id: i64,
    opened: &mut bool,
) -> Result<&'s mut Spool, OpError> {
    if *opened {
        return edits.spool(outputs);
    }
    *opened = true;
    let spool = edits.next_item(outputs)?;
    spool.put(format!("{{\"id\":{id}").as_bytes())?;
    Ok(spool)
}

/// A piece of a JSON reply: bytes in memory, or a spooled section on disk.
enum Part {
    Bytes(Vec<u8>),
    Spool(File, Unpublished),
}

/// The reply: `{…header…,"layers":` + spool + `],"edits":` + spool + `]}`, each section only
/// when it has an item (as a whole `ReplicaResponse` serializes: the header's members first,
/// then `layers`, then `edits`).
fn frame(header: &ReplicaResponse, sections: [(&str, Section); 2]) -> Result<Vec<Part>, OpError> {
    let mut bytes = serde_json::to_vec(header).map_err(|e| write_failed("a reply's header", &e))?;
    // A serialized struct always ends with `}`; `{}` takes no comma.
    bytes.pop();
    let mut parts = Vec::new();
    for (name, section) in sections {
        let Some(spool) = section.spool.filter(|_| section.items > 0) else {
            continue;
        };
        if bytes.len() > 1 || !parts.is_empty() {
            bytes.push(b',');
        }
        bytes.extend_from_slice(format!("\"{name}\":").as_bytes());
        parts.push(Part::Bytes(std::mem::take(&mut bytes)));
        let (file, guard) = spool.finish()?;
        parts.push(Part::Spool(file, guard));
        bytes.push(b']');
    }
    bytes.push(b'}');
    parts.push(Part::Bytes(bytes));
    Ok(parts)
}

impl ReplicaSink for JsonSink<'_> {
    fn begin_layer(&mut self, layer_id: i64) -> Result<(), OpError> {
        self.features_in_layer = 0;
        self.layers
            .next_item(self.outputs)?
            .put(format!("{{\"id\":{layer_id},\"features\":[").as_bytes())
    }

    fn feature(&mut self, feature: &Feature) -> Result<(), OpError> {
        let first = self.features_in_layer == 0;
        self.features_in_layer += 1;
        let out = self.layers.spool(self.outputs)?;
        if !first {
            out.put(b",")?;
        }
        out.json(feature)
    }

    fn end_layer(&mut self, mut attachments: Vec<Attachment>) -> Result<(), OpError> {
        let out = self.layers.spool(self.outputs)?;
        out.put(b"]")?;
        if !attachments.is_empty() {
            absolute_urls(&mut attachments, &self.service_url);
            out.put(b",\"attachments\":")?;
            out.json(&attachments)?;
        }
        out.put(b"}")
    }

    fn begin_changes(&mut self, layer_id: i64) -> Result<(), OpError> {
        if self.entry.is_some() {
            tracing::error!("a sync entry began before the last one ended");
            return Err(OpError::Service(internal_error()));
        }
        self.entry = Some(Entry {
            id: layer_id,
            opened: false,
            adds: 0,
            updates: Section::default(),
            deletes: Section::default(),
        });
        Ok(())
    }

    fn change(&mut self, change: Change<'_>) -> Result<(), OpError> {
        let outputs = self.outputs;
        match change {
            Change::Add(feature) => {
                let Some(entry) = self.entry.as_mut() else {
                    return Err(OpError::Service(internal_error()));
                };
                let first = entry.adds == 0;
                entry.adds += 1;
                let out = open_entry(&mut self.edits, outputs, entry.id, &mut entry.opened)?;
                out.put(if first {
                    b",\"features\":{\"adds\":["
                } else {
                    b","
                })?;
                out.json(feature)
            }
            Change::Update(feature) => self.entry()?.updates.next_item(outputs)?.json(feature),
            Change::Delete(global_id) => self.entry()?.deletes.next_item(outputs)?.json(&global_id),
        }
    }

    fn end_changes(&mut self, mut rest: LayerSyncResult, in_reply: bool) -> Result<(), OpError> {
        let Some(entry) = self.entry.take() else {
            return Err(OpError::Service(internal_error()));
        };
        let changes = entry.adds + entry.updates.items + entry.deletes.items;
        if !in_reply {
            if entry.opened || changes > 0 {
                tracing::error!(layer = entry.id, "a sync entry with changes was left out");
                return Err(OpError::Service(internal_error()));
            }
            return Ok(());
        }
        // The entry's members after `features`, as the whole entry serializes them.
        rest.id = entry.id;
        rest.features = Default::default();
        absolute_urls(&mut rest.attachments.adds, &self.service_url);
        absolute_urls(&mut rest.attachments.updates, &self.service_url);
        let tail = serde_json::to_vec(&rest).map_err(|e| write_failed("a sync entry", &e))?;
        let head = format!("{{\"id\":{}", entry.id);
        let Some(tail) = tail.strip_prefix(head.as_bytes()) else {
            tracing::error!(
                layer = entry.id,
                "a sync entry did not serialize as expected"
            );
            return Err(OpError::Service(internal_error()));
        };
        let Entry {
            id,
            mut opened,
            adds,
            updates,
            deletes,
        } = entry;
        let out = open_entry(&mut self.edits, self.outputs, id, &mut opened)?;
        let mut features_open = adds > 0;
        if features_open {
            out.put(b"]")?;
        }
        for (name, section) in [("updates", updates), ("deleteIds", deletes)] {
            let Some(spool) = section.spool.filter(|_| section.items > 0) else {
                continue;
            };
            out.put(if features_open {
                b","
            } else {
                b",\"features\":{"
            })?;
            features_open = true;
            out.put(format!("\"{name}\":").as_bytes())?;
            spool.copy_into(out)?;
            out.put(b"]")?;
        }
        if features_open {
            out.put(b"}")?;
        }
        out.put(tail)
    }
}

/// What a [`JsonSink`] made.
pub(super) enum JsonOutput {
    /// The name of a published result file.
    ResultFile(String),
    Embedded(EmbeddedBody),
}

/// An embedded JSON reply: its framing in memory, its `layers` and `edits` on disk (removed
/// once sent).
pub(super) struct EmbeddedBody {
    parts: Vec<Part>,
}

/// A piece of an embedded body as it is sent.
enum Sending {
    Bytes(Bytes),
    File(tokio::fs::File),
}

impl EmbeddedBody {
    /// The reply (status 200, JSON), its spooled sections read from disk chunk by chunk as they
    /// are sent. The spools are unlinked here (the open files stay readable), so they are gone
    /// whatever becomes of the connection.
    pub(super) fn into_response(self) -> Result<Response, OpError> {
        let mut len = 0_u64;
        let mut queue = std::collections::VecDeque::new();
        for part in self.parts {
            match part {
                Part::Bytes(bytes) => {
                    len += bytes.len() as u64;
                    queue.push_back(Sending::Bytes(Bytes::from(bytes)));
                }
                Part::Spool(file, guard) => {
                    len += file
                        .metadata()
                        .map_err(|e| write_failed("an embedded reply", &e))?
                        .len();
                    // Dropping the guard removes the name; the open file is read to its end.
                    drop(guard);
                    queue.push_back(Sending::File(tokio::fs::File::from_std(file)));
                }
            }
        }
        let body = futures_util::stream::unfold(queue, |mut queue| async move {
            use tokio::io::AsyncReadExt as _;
            loop {
                match queue.front_mut()? {
                    Sending::Bytes(bytes) => {
                        let bytes = std::mem::take(bytes);
                        queue.pop_front();
                        if !bytes.is_empty() {
                            return Some((Ok::<_, std::io::Error>(bytes), queue));
                        }
                    }
                    Sending::File(file) => {
                        let mut buf = vec![0u8; BODY_CHUNK_BYTES];
                        match file.read(&mut buf).await {
                            Ok(0) => {
                                queue.pop_front();
                            }
                            Ok(n) => {
                                buf.truncate(n);
                                return Some((Ok(Bytes::from(buf)), queue));
                            }
                            Err(e) => {
                                queue.clear();
                                return Some((Err(e), queue));
                            }
                        }
                    }
                }
            }
        });
        let mut response = Response::new(Body::from_stream(body));
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

/// A createReplica's data, or a synchronizeReplica's changes and edit results, as a delta
/// SQLite file, row by row in one transaction.
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

    fn begin_changes(&mut self, layer_id: i64) -> Result<(), OpError> {
        self.begin_layer(layer_id)
    }

    fn change(&mut self, change: Change<'_>) -> Result<(), OpError> {
        let layer_id = self.layer_id;
        let writer = self.writer()?;
        match change {
            Change::Add(feature) => writer.feature(layer_id, ChangeType::Insert, feature),
            Change::Update(feature) => writer.feature(layer_id, ChangeType::Update, feature),
            Change::Delete(global_id) => writer.feature_delete(layer_id, global_id),
        }
        .map_err(|e| write_failed("a delta file", &e))
    }

    fn end_changes(&mut self, mut rest: LayerSyncResult, in_reply: bool) -> Result<(), OpError> {
        if !in_reply {
            return Ok(());
        }
        let layer_id = self.layer_id;
        absolute_urls(&mut rest.attachments.adds, &self.service_url);
        absolute_urls(&mut rest.attachments.updates, &self.service_url);
        let mut results: Vec<EditResultRow> = Vec::new();
        rest.push_result_rows(&mut results);
        let writer = self.writer()?;
        let mut written = Ok(());
        for (items, change_type) in [
            (&rest.attachments.adds, ChangeType::Insert),
            (&rest.attachments.updates, ChangeType::Update),
        ] {
            for item in items {
                written = written.and_then(|()| writer.attachment(layer_id, change_type, item));
            }
        }
        for global_id in &rest.attachments.delete_ids {
            written = written.and_then(|()| writer.attachment_delete(layer_id, global_id));
        }
        for row in &results {
            written = written.and_then(|()| writer.edit_result(row));
        }
        written.map_err(|e| write_failed("a delta file", &e))
    }
}
