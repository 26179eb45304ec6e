//! Reading a createReplica or synchronizeReplica result document (JSON) as a stream: each
//! feature of each layer's `features` (createReplica) or `features.adds` / `features.updates`
//! (synchronizeReplica) is handed to a [`FeatureSink`] as soon as it is read, so a replica of a
//! million features is never held whole; everything else (the replica id and generations, each
//! layer's id, deletes, edit results and attachments, the features that could not be read) comes
//! back as a [`ReplicaResponse`] whose layers hold no features. Features are read one by one as in
//! `unreadable` (one that cannot be read is set aside, not fatal). The reader is any
//! `std::io::Read` (a downloaded result file), walked by `protocol::json_scan`; this
//! file does no I/O of its own and knows no storage: the sink decides where features go.

use super::edits::{Attachment, ChangeType, EditResult, Feature, LayerSyncResult};
use super::error::{ReplyError, ServiceError, malformed};
use super::json_scan::{JsonScan, ScanError, Seq, front};
use super::lenient::required_int;
use super::replica_reply::{ReplicaLayerData, ReplicaResponse};
use super::unreadable::{UnreadableFeature, read_one};
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use std::io::Read;

/// Where streamed features go (a replica file being written, a counter in a test).
pub trait FeatureSink {
    type Error: std::error::Error + Send + Sync + 'static;
    /// One readable feature of layer `layer_id`, in the order of the document: an add
    /// (`Insert`: every feature of a createReplica reply) or an update.
    fn feature(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        feature: Feature,
    ) -> Result<(), Self::Error>;

    /// One feature as its JSON text, `position` in its `list`: by default read as a
    /// [`Feature`] ([`read_feature`]) and handed to [`FeatureSink::feature`]; one that cannot be
    /// read is returned, set aside. A sink may store the text with less work (its geometry
    /// as it came, never parsed), as long as it reads and sets aside exactly what this does.
    fn feature_text(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        text: &RawValue,
        list: &'static str,
        position: usize,
    ) -> Result<Option<UnreadableFeature>, Self::Error> {
        match read_feature(text, list, position) {
            Ok(feature) => self.feature(layer_id, change, feature).map(|()| None),
            Err(skipped) => Ok(Some(skipped)),
        }
    }

    /// [`FeatureSink::feature_text`] for the feature at the front of `json`, the document's
    /// bytes from where the feature starts (they may go on past it, or end inside it): by
    /// default [`read_front_text`]. A sink may read the feature straight from these bytes, in
    /// one pass, as long as it stores, sets aside and refuses exactly what the default does.
    fn feature_front(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        json: &[u8],
        list: &'static str,
        position: usize,
    ) -> FrontRead<Self::Error> {
        read_front_text(self, layer_id, change, json, list, position)
    }
}

/// What [`FeatureSink::feature_front`] says: what [`FeatureSink::feature_text`] would say of
/// the feature and how many bytes it took; `None` when the bytes end inside it; `Err` when it
/// is not JSON (serde_json also calls some numbers cut by the bytes' end invalid, so the
/// caller reads a feature that failed this way again from its whole text before failing).
pub type FrontRead<E> =
    Result<Option<(Result<Option<UnreadableFeature>, E>, usize)>, serde_json::Error>;

/// [`FeatureSink::feature_front`] as every sink does it unless it reads the feature itself: the
/// feature's text checked as JSON, then handed to [`FeatureSink::feature_text`].
pub fn read_front_text<S: FeatureSink + ?Sized>(
    sink: &mut S,
    layer_id: i64,
    change: ChangeType,
    json: &[u8],
    list: &'static str,
    position: usize,
) -> FrontRead<S::Error> {
    let Some((text, used)) = front::<&RawValue>(json)? else {
        return Ok(None);
    };
    Ok(Some((
        sink.feature_text(layer_id, change, text, list, position),
        used,
    )))
}

/// One downloaded feature's JSON text read as a [`Feature`], or why it cannot be (its
/// position in `list` and, when it can be found, its GlobalID).
pub fn read_feature(
    text: &RawValue,
    list: &'static str,
    position: usize,
) -> Result<Feature, UnreadableFeature> {
    read_one::<Feature>(text, list, position)
}

/// What a streamed read produced besides the features: the document without them, and how
/// many features went to the sink.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamedReply {
    /// The reply with every member but the layers' features (attachments and unreadable
    /// features included).
    pub response: ReplicaResponse,
    /// Features handed to the sink, per layer id in document order.
    pub features: Vec<(i64, u64)>,
}

impl StreamedReply {
    /// Features handed to the sink, all layers together.
    pub fn feature_count(&self) -> u64 {
        self.features.iter().map(|(_, n)| n).sum()
    }
}

/// Why a streamed read stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E: std::error::Error + 'static> {
    /// The document is not a readable reply, or it is the service's error envelope.
    #[error(transparent)]
    Reply(#[from] ReplyError),
    /// The sink refused a feature (the replica file could not be written).
    #[error(transparent)]
    Sink(E),
}

/// Reads a createReplica document from `reader`, handing each layer's features to `sink`.
/// An `{"error": …}` document is [`ReplyError::Service`]; anything else unreadable (wrong
/// types, truncated text) is [`ReplyError::Malformed`]. Never panics on any input.
pub fn read_replica_stream<R: Read, S: FeatureSink>(
    reader: R,
    sink: &mut S,
) -> Result<StreamedReply, StreamError<S::Error>> {
    read_document(reader, sink, Shape::Create)
}

/// Reads a synchronizeReplica document from `reader`, handing each layer's downloaded adds and
/// updates to `sink`; the deletes, edit results and attachments stay in the reply's `edits`.
/// Errors as [`read_replica_stream`].
pub fn read_sync_stream<R: Read, S: FeatureSink>(
    reader: R,
    sink: &mut S,
) -> Result<StreamedReply, StreamError<S::Error>> {
    read_document(reader, sink, Shape::Sync)
}

/// Which reply a document is: where its features are.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// `layers[].features`.
    Create,
    /// `edits[].features.adds` and `.updates`.
    Sync,
}

fn read_document<R: Read, S: FeatureSink>(
    reader: R,
    sink: &mut S,
    shape: Shape,
) -> Result<StreamedReply, StreamError<S::Error>> {
    let mut walk = Walk {
        scan: JsonScan::new(reader),
        sink,
        counts: Vec::new(),
        scratch: Vec::new(),
    };
    let (rest, layers) = walk.document(shape).map_err(|stop| match stop {
        Stop::Malformed(reason) => StreamError::Reply(malformed(reason, b"")),
        Stop::Sink(e) => StreamError::Sink(e),
    })?;
    if let Some(error) = rest.get("error").filter(|e| !e.is_null()) {
        let error: ServiceError = serde_json::from_value(error.clone())
            .map_err(|e| malformed(format!("error envelope: {e}"), b""))?;
        return Err(ReplyError::Service(error).into());
    }
    let mut response: ReplicaResponse = serde_json::from_value(serde_json::Value::Object(rest))
        .map_err(|e| malformed(e.to_string(), b""))?;
    match layers {
        StreamedLayers::Create(layers) => response.layers = layers,
        StreamedLayers::Sync(edits) => response.edits = edits,
    }
    Ok(StreamedReply {
        response,
        features: walk.counts,
    })
}

/// The streamed member of a document, features taken out.
enum StreamedLayers {
    Create(Vec<ReplicaLayerData>),
    Sync(Vec<LayerSyncResult>),
}

/// Why a walk stopped.
enum Stop<E> {
    /// The document is not a readable reply: why.
    Malformed(String),
    /// The sink refused a feature.
    Sink(E),
}

impl<E> From<ScanError> for Stop<E> {
    fn from(e: ScanError) -> Self {
        Stop::Malformed(e.to_string())
    }
}

impl<E> From<serde_json::Error> for Stop<E> {
    fn from(e: serde_json::Error) -> Self {
        Stop::Malformed(e.to_string())
    }
}

type Members = serde_json::Map<String, serde_json::Value>;

/// A feature read before its layer's id: its list, position there and text.
type Early = (ChangeType, &'static str, usize, Box<RawValue>);

/// One walk through a document: the scanner, where features go, and the buffer a value cut by
/// the end of the scanner's buffer is copied into before serde reads it.
struct Walk<'s, R, S: FeatureSink> {
    scan: JsonScan<R>,
    sink: &'s mut S,
    /// Features handed to the sink, per layer id in document order.
    counts: Vec<(i64, u64)>,
    scratch: Vec<u8>,
}

/// Where a streamed list's features go: their layer (`None` while its id is not read yet),
/// what they are, and what is kept of them besides.
struct FeatureList<'a> {
    layer_id: Option<i64>,
    change: ChangeType,
    /// The list's name, for the unreadable ones.
    list: &'static str,
    early: &'a mut Vec<Early>,
    unreadable: &'a mut Vec<UnreadableFeature>,
}

impl<R: Read, S: FeatureSink> Walk<'_, R, S> {
    /// The next value, read by serde from its copied text.
    fn value<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, Stop<S::Error>> {
        Ok(self.scan.read_value(&mut self.scratch, |s| front::<T>(s))?)
    }

    /// A list of `what`, each element read by `element`; `null` is an empty list.
    fn list<T>(
        &mut self,
        what: &'static str,
        mut element: impl FnMut(&mut Self) -> Result<T, Stop<S::Error>>,
    ) -> Result<Vec<T>, Stop<S::Error>> {
        let mut out = Vec::new();
        if self.scan.open_or_null(b'[', what)? {
            let mut seq = Seq::Start;
            while self.scan.next_element(&mut seq)? {
                out.push(element(self)?);
            }
        }
        Ok(out)
    }

    /// The top-level object: `layers` (or `edits`) streamed, every other member kept as JSON.
    fn document(&mut self, shape: Shape) -> Result<(Members, StreamedLayers), Stop<S::Error>> {
        if !self.scan.open_or_null(b'{', "a reply object")? {
            return Err(Stop::Malformed("the reply is null, not an object".into()));
        }
        let mut rest = Members::new();
        let mut layers = match shape {
            Shape::Create => StreamedLayers::Create(Vec::new()),
            Shape::Sync => StreamedLayers::Sync(Vec::new()),
        };
        let mut seq = Seq::Start;
        while let Some(key) = self.scan.next_key(&mut seq)? {
            match (key.as_str(), shape) {
                ("layers", Shape::Create) => {
                    layers = StreamedLayers::Create(self.list("a list of layers", Self::layer)?)
                }
                ("edits", Shape::Sync) => {
                    layers =
                        StreamedLayers::Sync(self.list("a list of layer edits", Self::sync_layer)?)
                }
                _ => {
                    let value = self.value()?;
                    rest.insert(key, value);
                }
            }
        }
        self.scan.finish()?;
        Ok((rest, layers))
    }

    /// The layer's `id` as the lenient wire reads it (a number or its text).
    fn layer_id(&mut self) -> Result<(i64, serde_json::Value), Stop<S::Error>> {
        let value: serde_json::Value = self.value()?;
        Ok((required_int(value.clone())?, value))
    }

    /// One layer of a createReplica reply: its features streamed, its attachments kept.
    fn layer(&mut self) -> Result<ReplicaLayerData, Stop<S::Error>> {
        if !self.scan.open_or_null(b'{', "a layer object with an id")? {
            return Err(Stop::Malformed(
                "a layer is null, not an object with an id".into(),
            ));
        }
        let mut id = None;
        let mut layer = ReplicaLayerData::default();
        // Features that came before the layer's id (services write the id first; kept until
        // the id is known).
        let mut early: Vec<Early> = Vec::new();
        let mut position = 0;
        let mut seq = Seq::Start;
        while let Some(key) = self.scan.next_key(&mut seq)? {
            match key.as_str() {
                "id" => id = Some(self.layer_id()?.0),
                "features" => {
                    let list = FeatureList {
                        layer_id: id,
                        change: ChangeType::Insert,
                        list: "features",
                        early: &mut early,
                        unreadable: &mut layer.unreadable,
                    };
                    self.features(list, &mut position)?
                }
                "attachments" => {
                    layer.attachments = self.value::<Option<Vec<Attachment>>>()?.unwrap_or_default()
                }
                _ => {
                    self.value::<IgnoredAny>()?;
                }
            }
        }
        let id = id.ok_or_else(|| Stop::Malformed("a layer has no id".into()))?;
        layer.id = id;
        self.hand_early(id, early, &mut layer.unreadable)?;
        Ok(layer)
    }

    /// One layer of a synchronizeReplica reply: `features.adds` and `.updates` streamed, the
    /// result lists read straight into `EditResult`s one by one, every other member (deletes,
    /// attachments) read as the whole parse reads it.
    fn sync_layer(&mut self) -> Result<LayerSyncResult, Stop<S::Error>> {
        if !self.scan.open_or_null(b'{', "a layer's edits with an id")? {
            return Err(Stop::Malformed(
                "a layer's edits are null, not an object with an id".into(),
            ));
        }
        let mut id = None;
        let mut rest = Members::new();
        let mut changes = ChangesRead::default();
        // As in `rest`, a list sent twice: the last wins.
        let mut results = LayerSyncResult::default();
        let mut seq = Seq::Start;
        while let Some(key) = self.scan.next_key(&mut seq)? {
            if let Some(list) = result_list(&mut results, &key) {
                *list = self.results()?;
                continue;
            }
            match key.as_str() {
                "id" => {
                    let (layer_id, value) = self.layer_id()?;
                    id = Some(layer_id);
                    rest.insert(key, value);
                }
                "features" => self.sync_features(id, &mut changes)?,
                _ => {
                    let value = self.value()?;
                    rest.insert(key, value);
                }
            }
        }
        let id = id.ok_or_else(|| Stop::Malformed("a layer has no id".into()))?;
        let mut layer: LayerSyncResult = serde_json::from_value(serde_json::Value::Object(rest))?;
        move_results(results, &mut layer);
        self.hand_early(id, changes.early, &mut changes.unreadable)?;
        layer.features.delete_ids = changes.delete_ids;
        layer.features.unreadable = changes.unreadable;
        Ok(layer)
    }

    /// A list of edit results, each read from its own copied text.
    fn results(&mut self) -> Result<Vec<EditResult>, Stop<S::Error>> {
        if !self.scan.open_or_null(b'[', "a list of edit results")? {
            return Err(Stop::Malformed("a list of edit results is null".into()));
        }
        let mut out = Vec::new();
        let mut seq = Seq::Start;
        while self.scan.next_element(&mut seq)? {
            out.push(self.value()?);
        }
        Ok(out)
    }

    /// A layer's `features` in a synchronizeReplica reply: adds and updates streamed (each
    /// list counting its own positions), deletes kept, anything else skipped.
    fn sync_features(
        &mut self,
        layer_id: Option<i64>,
        changes: &mut ChangesRead,
    ) -> Result<(), Stop<S::Error>> {
        if !self.scan.open_or_null(b'{', "a layer's feature changes")? {
            return Ok(());
        }
        let mut seq = Seq::Start;
        while let Some(key) = self.scan.next_key(&mut seq)? {
            let (change, list) = match key.as_str() {
                "adds" => (ChangeType::Insert, "adds"),
                "updates" => (ChangeType::Update, "updates"),
                "deleteIds" | "deletes" => {
                    let ids: Option<Vec<String>> = self.value()?;
                    changes.delete_ids.extend(ids.unwrap_or_default());
                    continue;
                }
                _ => {
                    self.value::<IgnoredAny>()?;
                    continue;
                }
            };
            let list = FeatureList {
                layer_id,
                change,
                list,
                early: &mut changes.early,
                unreadable: &mut changes.unreadable,
            };
            self.features(list, &mut 0)?;
        }
        Ok(())
    }

    /// A list of features, each handed to the sink as its text (or kept until the layer's id
    /// is known); `position` counts on from where it stands.
    fn features(
        &mut self,
        into: FeatureList<'_>,
        position: &mut usize,
    ) -> Result<(), Stop<S::Error>> {
        if !self.scan.open_or_null(b'[', "a list of features")? {
            return Ok(());
        }
        let mut seq = Seq::Start;
        while self.scan.next_element(&mut seq)? {
            let at = *position;
            *position += 1;
            let Some(layer_id) = into.layer_id else {
                let raw: Box<RawValue> = self.value()?;
                into.early.push((into.change, into.list, at, raw));
                continue;
            };
            let (sink, counts) = (&mut *self.sink, &mut self.counts);
            let (change, list) = (into.change, into.list);
            let handed = self.scan.read_value(&mut self.scratch, |json| {
                sink.feature_front(layer_id, change, json, list, at)
            })?;
            into.unreadable.extend(tally(counts, layer_id, handed)?);
        }
        Ok(())
    }

    /// Hands the features that came before the layer's id, now that it is known.
    fn hand_early(
        &mut self,
        layer_id: i64,
        early: Vec<Early>,
        unreadable: &mut Vec<UnreadableFeature>,
    ) -> Result<(), Stop<S::Error>> {
        for (change, list, at, raw) in early {
            let handed = self.sink.feature_text(layer_id, change, &raw, list, at);
            unreadable.extend(tally(&mut self.counts, layer_id, handed)?);
        }
        Ok(())
    }
}

/// What the sink said of one feature of `layer_id`: a stored one counted, a set-aside one
/// passed on, a refusal the sink's error.
fn tally<E>(
    counts: &mut Vec<(i64, u64)>,
    layer_id: i64,
    handed: Result<Option<UnreadableFeature>, E>,
) -> Result<Option<UnreadableFeature>, Stop<E>> {
    let skipped = handed.map_err(Stop::Sink)?;
    if skipped.is_none() {
        match counts.last_mut() {
            Some((id, n)) if *id == layer_id => *n += 1,
            _ => counts.push((layer_id, 1)),
        }
    }
    Ok(skipped)
}

/// The result list of `layer` that member `name` holds, if it is one (the results inside
/// `attachments` are rare: read with the rest of the layer).
fn result_list<'l>(layer: &'l mut LayerSyncResult, name: &str) -> Option<&'l mut Vec<EditResult>> {
    Some(match name {
        "addResults" => &mut layer.add_results,
        "updateResults" => &mut layer.update_results,
        "deleteResults" => &mut layer.delete_results,
        "addAttachmentResults" => &mut layer.add_attachment_results,
        "updateAttachmentResults" => &mut layer.update_attachment_results,
        "deleteAttachmentResults" => &mut layer.delete_attachment_results,
        _ => return None,
    })
}

/// Moves the lists [`result_list`] names from `from` into `into`.
fn move_results(from: LayerSyncResult, into: &mut LayerSyncResult) {
    into.add_results = from.add_results;
    into.update_results = from.update_results;
    into.delete_results = from.delete_results;
    into.add_attachment_results = from.add_attachment_results;
    into.update_attachment_results = from.update_attachment_results;
    into.delete_attachment_results = from.delete_attachment_results;
}

/// What a layer's `features` left besides the streamed features.
#[derive(Default)]
struct ChangesRead {
    delete_ids: Vec<String>,
    unreadable: Vec<UnreadableFeature>,
    early: Vec<Early>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::json_scan::tests::Chunks;
    use crate::protocol::{Guid, parse_reply};

    #[derive(Default)]
    struct Collect(Vec<(i64, Feature)>);

    #[derive(Debug, thiserror::Error)]
    #[error("full")]
    struct Full;

    impl FeatureSink for Collect {
        type Error = Full;
        fn feature(
            &mut self,
            layer_id: i64,
            _change: ChangeType,
            feature: Feature,
        ) -> Result<(), Full> {
            if self.0.len() == 1000 {
                return Err(Full);
            }
            self.0.push((layer_id, feature));
            Ok(())
        }
    }

    const DOC: &str = r#"{"replicaName":"r","replicaID":"7a0c2c24-5ca5-408f-8705-a23ef105f351",
        "replicaServerGen":"12","transportType":"esriTransportTypeUrl",
        "responseType":"esriReplicaResponseTypeData","layers":[
          {"id":0,"features":[{"attributes":{"GlobalID":"{419D227B-2A61-43C4-8884-4B7B5BF3EABB}","A":1},
                               "geometry":{"x":1,"y":2}},
                              {"attributes":7},
                              {"attributes":{"GlobalID":"{7C18638F-BA93-4D12-869F-E7087B5BD691}"}}],
           "attachments":[{"attachmentId":3,"globalId":"{1C18638F-BA93-4D12-869F-E7087B5BD691}",
                           "parentGlobalId":"{7C18638F-BA93-4D12-869F-E7087B5BD691}","name":"a.jpg",
                           "contentType":"image/jpeg","size":3,"url":"http://x/a"}]},
          {"features":[{"attributes":{"GlobalID":"{519D227B-2A61-43C4-8884-4B7B5BF3EABB}"}}],"id":"1",
           "extra":{"ignored":[1,2]}}]}"#;

    #[test]
    fn streams_features_and_keeps_the_rest_as_the_whole_parse_does() {
        let mut sink = Collect::default();
        let streamed = read_replica_stream(DOC.as_bytes(), &mut sink).unwrap();
        let whole: ReplicaResponse = parse_reply(DOC.as_bytes()).unwrap();
        let features: Vec<(i64, Feature)> = whole
            .layers
            .iter()
            .flat_map(|l| l.features.iter().map(move |f| (l.id, f.clone())))
            .collect();
        assert_eq!(sink.0, features);
        assert_eq!(streamed.features, vec![(0, 2), (1, 1)]);
        assert_eq!(streamed.feature_count(), 3);
        let mut without = whole.clone();
        for layer in &mut without.layers {
            layer.features.clear();
        }
        assert_eq!(streamed.response, without);
        assert_eq!(streamed.response.replica_server_gen, Some(12));
        assert_eq!(streamed.response.layers[0].unreadable.len(), 1);
        assert_eq!(streamed.response.layers[0].unreadable[0].position, 1);
        assert_eq!(streamed.response.layers[0].attachments.len(), 1);
    }

    /// A sink with no limit.
    #[derive(Default)]
    struct All(Vec<(i64, ChangeType, Feature)>);

    impl FeatureSink for All {
        type Error = Full;
        fn feature(&mut self, layer_id: i64, change: ChangeType, f: Feature) -> Result<(), Full> {
            self.0.push((layer_id, change, f));
            Ok(())
        }
    }

    /// A sync reply of `n` polygons with decimal coordinates and `n` edit results: several
    /// read buffers long, so values are cut by a buffer's end everywhere.
    fn long_sync_doc(n: usize) -> String {
        let adds: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"attributes":{{"OBJECTID":{i},"Area":{i}.25,"GlobalID":"{{{}}}"}},
                    "geometry":{{"rings":[[[-123.{i}5,45.{i}e-1],[1.5E+2,-0.{i}],[-123.{i}5,45.{i}e-1]]]}}}}"#,
                    Guid::new_v4().bare()
                )
            })
            .collect();
        let results: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"objectId":{i},"globalId":"{{{}}}","success":{},"error":{}}}"#,
                    Guid::new_v4().bare(),
                    i % 5 != 0,
                    if i % 5 == 0 {
                        r#"{"code":1001,"description":"x"}"#
                    } else {
                        "null"
                    }
                )
            })
            .collect();
        format!(
            r#"{{"replicaServerGen":3,"edits":[{{"id":0,"features":{{"adds":[{}]}},
            "addResults":[{}]}}]}}"#,
            adds.join(","),
            results.join(",")
        )
    }

    #[test]
    fn a_reply_many_buffers_long_reads_as_the_whole_parse_does() {
        let doc = long_sync_doc(4000);
        assert!(doc.len() > 4 * 256 * 1024, "{} bytes", doc.len());
        let whole: ReplicaResponse = parse_reply(doc.as_bytes()).unwrap();
        let adds: Vec<(i64, ChangeType, Feature)> = whole.edits[0]
            .features
            .adds
            .iter()
            .map(|f| (0, ChangeType::Insert, f.clone()))
            .collect();
        // Whole reads, and reads of a few bytes at a time (the scanner's buffer then holds
        // only those: its values are cut everywhere).
        for chunk in [usize::MAX, 97, 1009] {
            let mut sink = All::default();
            let reader = Chunks(doc.as_bytes(), chunk);
            let streamed = read_sync_stream(reader, &mut sink).unwrap();
            assert_eq!(sink.0, adds, "chunks of {chunk}");
            assert_eq!(streamed.response.result_rows(), whole.result_rows());
            assert_eq!(streamed.response.result_rows().len(), 4000);
        }
    }

    #[test]
    fn an_error_envelope_is_the_services_error() {
        let body =
            br#"{"error":{"code":400,"message":"Unable to complete operation.","details":[]}}"#;
        let err = read_replica_stream(&body[..], &mut Collect::default()).unwrap_err();
        assert!(
            matches!(err, StreamError::Reply(ReplyError::Service(ref e)) if e.code == Some(400)),
            "{err:?}"
        );
    }

    #[test]
    fn truncated_or_wrong_documents_are_malformed() {
        for body in [
            &DOC[..DOC.len() / 2],
            "[1,2]",
            r#"{"layers":[{"features":[]}]}"#,
            "{} x",
        ] {
            let err = read_replica_stream(body.as_bytes(), &mut Collect::default()).unwrap_err();
            assert!(
                matches!(err, StreamError::Reply(ReplyError::Malformed { .. })),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn a_sink_that_fails_stops_the_read_with_its_error() {
        let features: Vec<String> = (0..1500)
            .map(|i| format!(r#"{{"attributes":{{"OBJECTID":{i}}}}}"#))
            .collect();
        let body = format!(
            r#"{{"layers":[{{"id":0,"features":[{}]}}]}}"#,
            features.join(",")
        );
        let mut sink = Collect::default();
        let err = read_replica_stream(body.as_bytes(), &mut sink).unwrap_err();
        assert!(matches!(err, StreamError::Sink(Full)), "{err:?}");
        assert_eq!(sink.0.len(), 1000);
    }

    #[derive(Default)]
    struct Changes(Vec<(i64, ChangeType, Feature)>);

    impl FeatureSink for Changes {
        type Error = Full;
        fn feature(
            &mut self,
            layer_id: i64,
            change: ChangeType,
            feature: Feature,
        ) -> Result<(), Full> {
            self.0.push((layer_id, change, feature));
            Ok(())
        }
    }

    const SYNC_DOC: &str = r#"{"replicaName":"r","replicaID":"7a0c2c24-5ca5-408f-8705-a23ef105f351",
        "replicaServerGen":"14","layerServerGens":[{"id":0,"serverGen":14}],
        "transportType":"esriTransportTypeEmbedded","responseType":"esriReplicaResponseTypeEdits",
        "edits":[
          {"features":{"updates":[{"attributes":{"GlobalID":"{519D227B-2A61-43C4-8884-4B7B5BF3EABB}","A":2}}],
                       "adds":[{"attributes":{"GlobalID":"{419D227B-2A61-43C4-8884-4B7B5BF3EABB}","A":1},
                                "geometry":{"x":1,"y":2}},
                               {"attributes":"not an object"}],
                       "deleteIds":["{619D227B-2A61-43C4-8884-4B7B5BF3EABB}"]},
           "id":"0",
           "addResults":[{"globalId":"{719D227B-2A61-43C4-8884-4B7B5BF3EABB}","success":false,
                          "error":{"code":1003,"description":"refused"}}],
           "attachments":{"adds":[],"deleteIds":["{819D227B-2A61-43C4-8884-4B7B5BF3EABB}"]}},
          {"id":1,"features":{"adds":[],"updates":[{"attributes":{"GlobalID":"{919D227B-2A61-43C4-8884-4B7B5BF3EABB}"}}]},
           "deleteResults":[{"globalId":"{A19D227B-2A61-43C4-8884-4B7B5BF3EABB}","success":true}]}]}"#;

    #[test]
    fn a_sync_reply_streams_adds_and_updates_and_keeps_the_rest_as_the_whole_parse_does() {
        let mut sink = Changes::default();
        let streamed = read_sync_stream(SYNC_DOC.as_bytes(), &mut sink).unwrap();
        let whole: ReplicaResponse = parse_reply(SYNC_DOC.as_bytes()).unwrap();
        let mut expected = Vec::new();
        for layer in &whole.edits {
            for f in &layer.features.updates {
                expected.push((layer.id, ChangeType::Update, f.clone()));
            }
            for f in &layer.features.adds {
                expected.push((layer.id, ChangeType::Insert, f.clone()));
            }
        }
        // Layer 0 sends its updates before its adds: the document's order.
        assert_eq!(sink.0, expected);
        assert_eq!(
            streamed.feature_count(),
            3,
            "the unreadable add is set aside"
        );
        let mut without = whole.clone();
        for layer in &mut without.edits {
            layer.features.adds.clear();
            layer.features.updates.clear();
        }
        assert_eq!(streamed.response, without);
        assert_eq!(streamed.response.result_rows(), whole.result_rows());
        assert_eq!(streamed.response.edits[0].features.delete_ids.len(), 1);
        assert_eq!(streamed.response.edits[0].features.unreadable.len(), 1);
        assert_eq!(
            streamed.response.edits[0].features.unreadable[0].list,
            "adds"
        );
        assert_eq!(
            streamed.response.edits[0].features.unreadable[0].position,
            1
        );
        assert_eq!(streamed.response.replica_server_gen, Some(14));
    }

    #[test]
    fn a_sync_reply_cut_short_or_an_error_envelope_is_no_reply() {
        let cut = read_sync_stream(
            &SYNC_DOC.as_bytes()[..SYNC_DOC.len() / 2],
            &mut Changes::default(),
        );
        assert!(
            matches!(cut, Err(StreamError::Reply(ReplyError::Malformed { .. }))),
            "{cut:?}"
        );
        let body = br#"{"error":{"code":498,"message":"Invalid token.","details":[]}}"#;
        let err = read_sync_stream(&body[..], &mut Changes::default()).unwrap_err();
        assert!(
            matches!(err, StreamError::Reply(ReplyError::Service(ref e)) if e.code == Some(498)),
            "{err:?}"
        );
    }
}
