//! Attachments end to end through the real binary and the in-process reference service: photos
//! attached with `syncwatch edit --attach`, uploaded by `sync`, downloaded into another replica
//! byte for byte (both directions, a 6 MB photo of random bytes among them); refused attachment
//! edits (1008, 1009, 1010) reported with ObjectType 1 and kept queued; a true-curve update
//! refused with 1005 (ObjectType 0); `--detach`.

use crate::support::cli::Cli;
use serde_json::Value;
use std::path::{Path, PathBuf};
use syncwatch::geodatabase::replica_file::ReplicaFile;
use syncwatch::protocol::Guid;

/// The replica file of the replica named `name` in the CLI's data dir.
fn replica_path(cli: &Cli, name: &str) -> PathBuf {
    let dir = cli.data_dir.path().join("replicas");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            ReplicaFile::open(p)
                .ok()
                .and_then(|f| f.definition().ok())
                .is_some_and(|d| d.name == name)
        })
        .unwrap_or_else(|| panic!("no replica file for {name} in {}", dir.display()))
}

fn create(cli: &Cli, name: &str, layers: &str) {
    let service = cli.server.service_url();
    let created = cli.json(
        &[
            "create",
            "--service",
            &service,
            "--name",
            name,
            "--layers",
            layers,
            "--json",
        ],
        0,
    );
    assert_eq!(created["outcome"]["state"], "Completed", "{created}");
}

fn attach(cli: &Cli, replica: &str, parent: &str, file: &Path, extra: &[&str]) -> Guid {
    let file = file.to_str().unwrap();
    let mut args = vec!["edit", replica, "--attach", parent, file, "--json"];
    args.extend_from_slice(extra);
    let out = cli.json(&args, 0);
    assert_eq!(out["change"], "attachment add");
    Guid::parse(out["globalId"].as_str().unwrap()).unwrap()
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// The failed rows of `results --failed --json` as (object_type, change_type, code).
fn failures(cli: &Cli, replica: &str) -> Vec<(String, String, i64)> {
    let rows = cli.json(&["results", replica, "--failed", "--json"], 0);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                text(&r["object_type"]),
                text(&r["change_type"]),
                r["code"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// A 6 MB photo attached in one replica reaches the other byte for byte, and a photo attached in
/// the other comes back; `--detach` removes it on both sides.
#[test]
fn photos_round_trip_between_replicas_in_both_directions() {
    let cli = Cli::start();
    create(&cli, "truck-1", "3");
    create(&cli, "truck-2", "3");
    let inspection = r#"{"attributes":{"Result":"FOLLOWUP","Comments":"hydrant leaking"}}"#;
    let added = cli.json(
        &[
            "edit", "truck-1", "--layer", "3", "--add", inspection, "--json",
        ],
        0,
    );
    let parent = added["globalId"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let big = random_bytes(6 * 1024 * 1024 + 123, 7);
    let big_path = dir.path().join("leak.jpg");
    std::fs::write(&big_path, &big).unwrap();
    let photo = attach(&cli, "truck-1", &parent, &big_path, &[]);
    let synced = cli.json(&["sync", "truck-1", "--json"], 0);
    assert_eq!(synced["outcome"]["uploaded"], 2, "{synced}");

    let synced = cli.json(&["sync", "truck-2", "--json"], 0);
    assert_eq!(synced["outcome"]["state"], "Completed");
    let other = ReplicaFile::open(&replica_path(&cli, "truck-2")).unwrap();
    let got = other.attachment(&photo).unwrap().expect("downloaded");
    assert_eq!(
        (got.name.as_str(), got.content_type.as_str()),
        ("leak.jpg", "image/jpeg")
    );
    assert_eq!(
        got.parent_global_id.as_str(),
        Guid::parse(&parent).unwrap().as_str()
    );
    assert_eq!(got.size, big.len() as u64);
    assert!(
        other.attachment_data(&photo).unwrap().unwrap() == big,
        "bytes differ"
    );
    drop(other);

    // The other way: truck-2 attaches a PDF, truck-1 downloads it.
    let pdf = random_bytes(200_000, 8);
    let pdf_path = dir.path().join("report.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let report = attach(&cli, "truck-2", &parent, &pdf_path, &[]);
    cli.json(&["sync", "truck-2", "--json"], 0);
    cli.json(&["sync", "truck-1", "--json"], 0);
    let first = ReplicaFile::open(&replica_path(&cli, "truck-1")).unwrap();
    assert_eq!(first.attachment_data(&report).unwrap().unwrap(), pdf);
    assert_eq!(
        first.attachment(&report).unwrap().unwrap().content_type,
        "application/pdf"
    );
    assert_eq!(first.attachments(None).unwrap().len(), 2);
    drop(first);

    // Detached on truck-1: gone on truck-2 after both sync.
    let detached = cli.json(
        &["edit", "truck-1", "--detach", photo.as_str(), "--json"],
        0,
    );
    assert_eq!(detached["change"], "attachment delete");
    cli.json(&["sync", "truck-1", "--json"], 0);
    cli.json(&["sync", "truck-2", "--json"], 0);
    let second = ReplicaFile::open(&replica_path(&cli, "truck-2")).unwrap();
    assert!(second.attachment(&photo).unwrap().is_none());
    assert!(second.attachment(&report).unwrap().is_some());
}

/// Refused attachment edits: a content type the layer does not take (1008 add, then 1009 when an
/// uploaded photo is changed to it), and a delete of an attachment the server never accepted
/// (1010) — reported with ObjectType attachment and kept queued; a true-curve move is refused with
/// 1005 as a feature.
#[test]
fn refused_attachment_edits_stay_queued_with_object_type_attachment() {
    let cli = Cli::start();
    create(&cli, "truck-3", "2,3");
    let inspection = r#"{"attributes":{"Result":"PASS"}}"#;
    let added = cli.json(
        &[
            "edit", "truck-3", "--layer", "3", "--add", inspection, "--json",
        ],
        0,
    );
    let parent = added["globalId"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let photo_path = dir.path().join("ok.jpg");
    std::fs::write(&photo_path, random_bytes(1000, 1)).unwrap();
    let photo = attach(&cli, "truck-3", &parent, &photo_path, &[]);
    let exe_path = dir.path().join("tool.exe");
    std::fs::write(&exe_path, b"MZ\x90\x00").unwrap();
    let refused = attach(&cli, "truck-3", &parent, &exe_path, &[]);
    let synced = cli.json(&["sync", "truck-3", "--json"], 1);
    assert_eq!(synced["outcome"]["failed_edits"], 1, "{synced}");
    assert_eq!(
        failures(&cli, "truck-3"),
        [("attachment".into(), "insert".into(), 1008)]
    );

    // The refused add stays queued; deleting it now sends a delete the server cannot match.
    let path = replica_path(&cli, "truck-3");
    {
        let file = ReplicaFile::open(&path).unwrap();
        let queued = file.attachment(&refused).unwrap().unwrap();
        assert_eq!(queued.error_code, Some(1008));
        assert_eq!(
            file.pending_counts()
                .unwrap()
                .iter()
                .map(|c| c.attachments)
                .sum::<u32>(),
            1
        );
    }
    cli.json(
        &["edit", "truck-3", "--detach", refused.as_str(), "--json"],
        0,
    );
    // And the accepted photo is changed to a type the layer refuses.
    ReplicaFile::open(&path)
        .unwrap()
        .record_attachment_update(&photo, None, Some("application/x-msdownload"), None)
        .unwrap();
    // A curved main (MN-0060) moved although the service does not allow true curve updates.
    let def = syncwatch::server::ServiceDefinition::demo().unwrap();
    let curved = def.layer(2).unwrap().seed[59].attributes["GlobalID"]
        .as_str()
        .unwrap()
        .to_string();
    let moved = r#"{"attributes":{},"geometry":{"paths":[[[-122.61,45.51,0.0],[-122.6,45.52,90.0]]],"hasM":true}}"#;
    cli.json(
        &[
            "edit", "truck-3", "--layer", "2", "--update", &curved, moved, "--json",
        ],
        0,
    );
    cli.json(&["sync", "truck-3", "--json"], 1);
    let mut seen = failures(&cli, "truck-3");
    seen.sort();
    // The earlier 1008 of the add stays in the history until that attachment succeeds.
    assert_eq!(
        seen,
        [
            ("attachment".into(), "delete".into(), 1010),
            ("attachment".into(), "insert".into(), 1008),
            ("attachment".into(), "update".into(), 1009),
            ("feature".into(), "update".into(), 1005),
        ]
    );
    let file = ReplicaFile::open(&path).unwrap();
    let counts = file.pending_counts().unwrap();
    assert_eq!(counts.iter().map(|c| c.attachments).sum::<u32>(), 2);
    assert_eq!(counts.iter().map(|c| c.failed).sum::<u32>(), 3);
    // Dropping the refused update reverts the photo to what the server holds.
    drop(file);
    let mut file = ReplicaFile::open(&path).unwrap();
    assert!(file.drop_queued(3, &photo).unwrap());
    assert_eq!(
        file.attachment(&photo).unwrap().unwrap().content_type,
        "image/jpeg"
    );
}
