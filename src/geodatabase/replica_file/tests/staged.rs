//! A createReplica reply read as a stream into a staged file (features stored from their JSON
//! text, geometry as it came) makes the same replica file as the whole reply does: the same
//! server copy, feature by feature, and the same features set aside.

use super::*;
use crate::protocol::{FeatureSink, parse_reply, read_replica_stream};

/// A reply whose features vary in what the fast path must treat like the whole parse: a null
/// geometry, none, a polygon, a duplicate GlobalID (the later wins), one without a GlobalID,
/// one that is not a feature, odd spacing.
const REPLY: &str = r#"{"replicaID":"{7A0C2C24-5CA5-408F-8705-A23EF105F351}","replicaServerGen":10,
  "responseType":"esriReplicaResponseTypeData","layers":[
  {"id":0,"features":[
    {"attributes":{"OBJECTID":1,"GlobalID":"{11111111-1111-1111-1111-111111111111}","NAME":"A"},
     "geometry" : { "x" : 1.50, "y":-2 }},
    {"attributes":{"OBJECTID":2,"GlobalID":"{22222222-2222-2222-2222-222222222222}","NAME":"B"},"geometry":null},
    {"attributes":{"OBJECTID":3,"NAME":"no GlobalID"}},
    {"attributes":"seven"},
    {"attributes":{"OBJECTID":1,"GlobalID":"{11111111-1111-1111-1111-111111111111}","NAME":"A again"},
     "geometry":{"x":3,"y":4}}]},
  {"id":1,"features":[
    {"geometry":{"rings":[[[0,0],[0,1],[1,1],[0,0]]],"spatialReference":{"wkid":4326}},
     "attributes":{"OBJECTID":9,"GlobalID":"{44444444-4444-4444-4444-444444444444}"}},
    {"attributes":{"OBJECTID":10,"GlobalID":"{55555555-5555-5555-5555-555555555555}"},"extra":[1,{"a":2}]}]}]}"#;

#[test]
fn a_streamed_reply_makes_the_same_replica_file_as_the_whole_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole: ReplicaResponse = parse_reply(REPLY.as_bytes()).unwrap();
    let from_whole = ReplicaFile::create(
        &dir.path().join("whole.replica"),
        &definition(SyncModel::PerReplica),
        &whole,
        None,
        &[],
    )
    .unwrap();

    let mut staged = StagedFeatures::begin(&dir.path().join("features.staged")).unwrap();
    let streamed = read_replica_stream(REPLY.as_bytes(), &mut staged).unwrap();
    assert_eq!(
        staged.stored(),
        5,
        "two without a GlobalID or not a feature"
    );
    let mut staged = staged.finish().unwrap();
    let from_stream = ReplicaFile::create_from_staged(
        &dir.path().join("streamed.replica"),
        &mut staged,
        &definition(SyncModel::PerReplica),
        &streamed.response,
        None,
        &[],
        &AttachmentSetup {
            direction: AttachmentsSyncDirection::None,
            payloads: &AttachmentPayloads::new(),
        },
    )
    .unwrap();
    assert!(
        staged.path().is_none(),
        "the staged file became the replica file"
    );

    for layer in [0, 1] {
        assert_eq!(
            from_stream.server_feature_count(layer).unwrap(),
            from_whole.server_feature_count(layer).unwrap(),
            "layer {layer}"
        );
    }
    for (layer, id) in [
        (0, "{11111111-1111-1111-1111-111111111111}"),
        (0, "{22222222-2222-2222-2222-222222222222}"),
        (1, "{44444444-4444-4444-4444-444444444444}"),
        (1, "{55555555-5555-5555-5555-555555555555}"),
    ] {
        let a = from_stream.server_feature(layer, &gid(id)).unwrap();
        let b = from_whole.server_feature(layer, &gid(id)).unwrap();
        assert!(a.is_some(), "{id}");
        assert_eq!(a, b, "{id}");
    }
    let a_again = from_stream
        .server_feature(0, &gid("{11111111-1111-1111-1111-111111111111}"))
        .unwrap()
        .unwrap();
    assert_eq!(a_again.attributes["NAME"], json!("A again"));
    assert_eq!(a_again.geometry, Some(json!({"x": 3, "y": 4})));
    assert_eq!(
        streamed.response.layers[0].unreadable, whole.layers[0].unreadable,
        "the same feature is set aside"
    );
    assert_eq!(streamed.response.layers[0].unreadable.len(), 1);
}

/// A sink that only takes features whole still gets exactly the readable ones.
#[test]
fn the_default_text_path_reads_features_as_the_whole_parse() {
    #[derive(Default)]
    struct Whole(Vec<(i64, Feature)>);
    impl FeatureSink for Whole {
        type Error = ReplicaFileError;
        fn feature(
            &mut self,
            layer_id: i64,
            _: ChangeType,
            feature: Feature,
        ) -> Result<(), ReplicaFileError> {
            self.0.push((layer_id, feature));
            Ok(())
        }
    }
    let mut sink = Whole::default();
    read_replica_stream(REPLY.as_bytes(), &mut sink).unwrap();
    let whole: ReplicaResponse = parse_reply(REPLY.as_bytes()).unwrap();
    let expected: Vec<(i64, Feature)> = whole
        .layers
        .iter()
        .flat_map(|l| l.features.iter().map(move |f| (l.id, f.clone())))
        .collect();
    assert_eq!(sink.0, expected);
}

/// Skipping a geometry as raw text has no depth limit but the whole parse has one: a geometry
/// nested deeper than the whole parse reads is set aside on the text path too, and brackets
/// inside strings do not count as nesting.
#[test]
fn the_text_path_sets_aside_what_the_whole_parse_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut staged = StagedFeatures::begin(&dir.path().join("features.staged")).unwrap();
    let feature = |id: &str, geometry: String| {
        serde_json::value::RawValue::from_string(format!(
            r#"{{"attributes":{{"GlobalID":"{id}"}},"geometry":{geometry}}}"#
        ))
        .unwrap()
    };
    let mut too_deep = "1".to_string();
    for _ in 0..126 {
        too_deep = format!("[{too_deep}]");
    }
    let too_deep = feature(
        "{66666666-6666-6666-6666-666666666666}",
        format!(r#"{{"x":1,"y":2,"spatialReference":{too_deep}}}"#),
    );
    let whole = crate::protocol::read_feature(&too_deep, "features", 0);
    let skipped = staged.add_text(0, &too_deep, "features", 0).unwrap();
    assert!(whole.is_err(), "the whole parse cannot read it");
    assert_eq!(skipped, whole.err(), "set aside the same way");

    let bracketed = feature(
        "{77777777-7777-7777-7777-777777777777}",
        format!(r#"{{"x":1,"y":2,"note":"{}"}}"#, "[{".repeat(200)),
    );
    assert_eq!(staged.add_text(0, &bracketed, "features", 1).unwrap(), None);
    assert_eq!(staged.stored(), 1, "only the readable one is stored");

    // Read straight from the document's bytes (what the stream does): the same decisions, the
    // feature's end found, and bytes that end inside a feature are not a feature.
    let insert = crate::protocol::ChangeType::Insert;
    let followed = format!("{}, {{\"next\":1}}]", too_deep.get());
    let (handed, used) = staged
        .feature_front(0, insert, followed.as_bytes(), "features", 2)
        .unwrap()
        .expect("the whole feature is there");
    let whole_again = crate::protocol::read_feature(&too_deep, "features", 2);
    assert_eq!(handed.unwrap(), whole_again.err(), "set aside the same way");
    assert_eq!(used, too_deep.get().len());
    let text = bracketed.get().as_bytes();
    let (handed, used) = staged
        .feature_front(0, insert, text, "features", 3)
        .unwrap()
        .expect("the whole feature is there");
    assert_eq!((handed.unwrap(), used), (None, text.len()));
    assert_eq!(staged.stored(), 2);
    let cut = &text[..text.len() - 3];
    assert!(
        !matches!(
            staged.feature_front(0, insert, cut, "features", 4),
            Ok(Some(_))
        ),
        "a feature cut short is not read"
    );
    assert!(
        staged
            .feature_front(
                0,
                insert,
                br#"{"attributes":{"GlobalID" 1}}"#,
                "features",
                5
            )
            .is_err(),
        "not JSON"
    );
    assert_eq!(staged.stored(), 2, "nothing stored of either");
}
