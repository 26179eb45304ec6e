//! Reading a createReplica or synchronizeReplica result document (JSON) as a stream: each
//! feature of each layer's `features` (createReplica) or `features.adds` / `features.updates`
//! (synchronizeReplica) is handed to a [`FeatureSink`] as soon as it is read, so a replica of a
//! million features is never held whole; everything else (the replica id and generations, each
//! layer's id, deletes, edit results and attachments, the features that could not be read) comes
//! back as a [`ReplicaResponse`] whose layers hold no features. Features are read one by one as in
//! `unreadable` (one that cannot be read is set aside, not fatal). The reader is any
//! `std::io::Read` (a downloaded result file); this file does no I/O of its own and knows no
//! storage: the sink decides where features go.

use super::edits::{Attachment, ChangeType, EditResult, Feature, LayerSyncResult};
use super::error::{ReplyError, ServiceError, malformed};
use super::lenient::required_int;
use super::replica_reply::{ReplicaLayerData, ReplicaResponse};
use super::unreadable::{UnreadableFeature, read_one};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
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
    let mut state = State {
        sink,
        failed: None,
        counts: Vec::new(),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let outcome = de::Deserializer::deserialize_map(&mut de, Document(&mut state, shape))
        .and_then(|parts| de.end().map(|()| parts));
    if let Some(e) = state.failed.take() {
        return Err(StreamError::Sink(e));
    }
    let (rest, layers) = outcome.map_err(|e| malformed(e.to_string(), b""))?;
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
        features: state.counts,
    })
}

/// The streamed member of a document, features taken out.
enum StreamedLayers {
    Create(Vec<ReplicaLayerData>),
    Sync(Vec<LayerSyncResult>),
}

struct State<'s, S: FeatureSink> {
    sink: &'s mut S,
    /// The sink's error, kept while serde unwinds with a plain message.
    failed: Option<S::Error>,
    counts: Vec<(i64, u64)>,
}

impl<S: FeatureSink> State<'_, S> {
    /// Hands one feature's text to the sink; `Some` when it could not be read (set aside).
    fn hand<E: de::Error>(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        text: &RawValue,
        list: &'static str,
        position: usize,
    ) -> Result<Option<UnreadableFeature>, E> {
        match self
            .sink
            .feature_text(layer_id, change, text, list, position)
        {
            Ok(Some(skipped)) => Ok(Some(skipped)),
            Ok(None) => {
                match self.counts.last_mut() {
                    Some((id, n)) if *id == layer_id => *n += 1,
                    _ => self.counts.push((layer_id, 1)),
                }
                Ok(None)
            }
            Err(e) => {
                self.failed = Some(e);
                Err(E::custom("the features could not be stored"))
            }
        }
    }
}

type Members = serde_json::Map<String, serde_json::Value>;

/// The top-level object: `layers` (or `edits`) streamed, every other member kept as JSON.
struct Document<'a, 's, S: FeatureSink>(&'a mut State<'s, S>, Shape);

impl<'de, S: FeatureSink> Visitor<'de> for Document<'_, '_, S> {
    type Value = (Members, StreamedLayers);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a createReplica or synchronizeReplica reply object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rest = Members::new();
        let mut layers = match self.1 {
            Shape::Create => StreamedLayers::Create(Vec::new()),
            Shape::Sync => StreamedLayers::Sync(Vec::new()),
        };
        while let Some(key) = map.next_key::<String>()? {
            match (key.as_str(), self.1) {
                ("layers", Shape::Create) => {
                    layers = StreamedLayers::Create(map.next_value_seed(Layers(&mut *self.0))?)
                }
                ("edits", Shape::Sync) => {
                    layers = StreamedLayers::Sync(map.next_value_seed(SyncLayers(&mut *self.0))?)
                }
                _ => {
                    rest.insert(key, map.next_value()?);
                }
            }
        }
        Ok((rest, layers))
    }
}

struct Layers<'a, 's, S: FeatureSink>(&'a mut State<'s, S>);

impl<'de, S: FeatureSink> DeserializeSeed<'de> for Layers<'_, '_, S> {
    type Value = Vec<ReplicaLayerData>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: FeatureSink> Visitor<'de> for Layers<'_, '_, S> {
    type Value = Vec<ReplicaLayerData>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of layers")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut layers = Vec::new();
        while let Some(layer) = seq.next_element_seed(Layer(&mut *self.0))? {
            layers.push(layer);
        }
        Ok(layers)
    }
}

struct Layer<'a, 's, S: FeatureSink>(&'a mut State<'s, S>);

impl<'de, S: FeatureSink> DeserializeSeed<'de> for Layer<'_, '_, S> {
    type Value = ReplicaLayerData;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

/// The layer's `id` as the lenient wire reads it (a number or its text).
struct LayerId;

impl<'de> DeserializeSeed<'de> for LayerId {
    type Value = i64;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        required_int(d)
    }
}

impl<'de, S: FeatureSink> Visitor<'de> for Layer<'_, '_, S> {
    type Value = ReplicaLayerData;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a layer object with an id")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        let mut layer = ReplicaLayerData::default();
        // Features that came before the layer's id (services write the id first; kept until
        // the id is known).
        let mut early: Vec<Early> = Vec::new();
        let mut position = 0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => id = Some(map.next_value_seed(LayerId)?),
                "features" => {
                    let seed = Features {
                        state: &mut *self.0,
                        layer_id: id,
                        change: ChangeType::Insert,
                        list: "features",
                        early: &mut early,
                        unreadable: &mut layer.unreadable,
                        position: &mut position,
                    };
                    map.next_value_seed(seed)?
                }
                "attachments" => {
                    layer.attachments = map
                        .next_value::<Option<Vec<Attachment>>>()?
                        .unwrap_or_default()
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let id = id.ok_or_else(|| de::Error::custom("a layer has no id"))?;
        layer.id = id;
        hand_early(self.0, id, early, &mut layer.unreadable)?;
        Ok(layer)
    }
}

/// A feature read before its layer's id: its list, position there and text.
type Early = (ChangeType, &'static str, usize, Box<RawValue>);

/// Hands the features that came before the layer's id, now that it is known.
fn hand_early<S: FeatureSink, E: de::Error>(
    state: &mut State<'_, S>,
    layer_id: i64,
    early: Vec<Early>,
    unreadable: &mut Vec<UnreadableFeature>,
) -> Result<(), E> {
    for (change, list, at, raw) in early {
        if let Some(skipped) = state.hand(layer_id, change, &raw, list, at)? {
            unreadable.push(skipped);
        }
    }
    Ok(())
}

struct Features<'a, 's, S: FeatureSink> {
    state: &'a mut State<'s, S>,
    /// `None` while the layer's id has not been read yet.
    layer_id: Option<i64>,
    change: ChangeType,
    /// The list's name, for the unreadable ones.
    list: &'static str,
    early: &'a mut Vec<Early>,
    unreadable: &'a mut Vec<UnreadableFeature>,
    position: &'a mut usize,
}

impl<'de, S: FeatureSink> DeserializeSeed<'de> for Features<'_, '_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: FeatureSink> Visitor<'de> for Features<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of features")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let position = *self.position;
            *self.position += 1;
            let Some(layer_id) = self.layer_id else {
                self.early.push((self.change, self.list, position, raw));
                continue;
            };
            if let Some(skipped) =
                self.state
                    .hand(layer_id, self.change, &raw, self.list, position)?
            {
                self.unreadable.push(skipped);
            }
        }
        Ok(())
    }
}

struct SyncLayers<'a, 's, S: FeatureSink>(&'a mut State<'s, S>);

impl<'de, S: FeatureSink> DeserializeSeed<'de> for SyncLayers<'_, '_, S> {
    type Value = Vec<LayerSyncResult>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: FeatureSink> Visitor<'de> for SyncLayers<'_, '_, S> {
    type Value = Vec<LayerSyncResult>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of layer edits")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut layers = Vec::new();
        while let Some(layer) = seq.next_element_seed(SyncLayer(&mut *self.0))? {
            layers.push(layer);
        }
        Ok(layers)
    }
}

/// One layer of a synchronizeReplica reply: `features.adds` and `.updates` streamed, every
/// other member (deletes, results, attachments) read as the whole parse reads it.
struct SyncLayer<'a, 's, S: FeatureSink>(&'a mut State<'s, S>);

impl<'de, S: FeatureSink> DeserializeSeed<'de> for SyncLayer<'_, '_, S> {
    type Value = LayerSyncResult;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: FeatureSink> Visitor<'de> for SyncLayer<'_, '_, S> {
    type Value = LayerSyncResult;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a layer's edits with an id")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        let mut rest = Members::new();
        let mut changes = ChangesRead::default();
        // The result lists, read straight into `EditResult`s (never as `serde_json::Value`s:
        // they are most of a sync reply's bytes). As in `rest`, a list sent twice: the last wins.
        let mut results = LayerSyncResult::default();
        while let Some(key) = map.next_key::<String>()? {
            if let Some(list) = result_list(&mut results, &key) {
                *list = map.next_value()?;
                continue;
            }
            match key.as_str() {
                "id" => {
                    let value: serde_json::Value = map.next_value()?;
                    id = Some(required_int(value.clone()).map_err(de::Error::custom)?);
                    rest.insert(key, value);
                }
                "features" => map.next_value_seed(SyncFeatures {
                    state: &mut *self.0,
                    layer_id: id,
                    changes: &mut changes,
                })?,
                _ => {
                    rest.insert(key, map.next_value()?);
                }
            }
        }
        let id = id.ok_or_else(|| de::Error::custom("a layer has no id"))?;
        let mut layer: LayerSyncResult =
            serde_json::from_value(serde_json::Value::Object(rest)).map_err(de::Error::custom)?;
        move_results(results, &mut layer);
        hand_early(self.0, id, changes.early, &mut changes.unreadable)?;
        layer.features.delete_ids = changes.delete_ids;
        layer.features.unreadable = changes.unreadable;
        Ok(layer)
    }
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

struct SyncFeatures<'a, 's, S: FeatureSink> {
    state: &'a mut State<'s, S>,
    layer_id: Option<i64>,
    changes: &'a mut ChangesRead,
}

impl<'de, S: FeatureSink> DeserializeSeed<'de> for SyncFeatures<'_, '_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: FeatureSink> Visitor<'de> for SyncFeatures<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a layer's feature changes")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let (change, list) = match key.as_str() {
                "adds" => (ChangeType::Insert, "adds"),
                "updates" => (ChangeType::Update, "updates"),
                "deleteIds" | "deletes" => {
                    let ids: Option<Vec<String>> = map.next_value()?;
                    self.changes.delete_ids.extend(ids.unwrap_or_default());
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let mut position = 0;
            map.next_value_seed(Features {
                state: &mut *self.state,
                layer_id: self.layer_id,
                change,
                list,
                early: &mut self.changes.early,
                unreadable: &mut self.changes.unreadable,
                position: &mut position,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_reply;

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
