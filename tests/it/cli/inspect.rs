//! `syncwatch inspect` through the real binary: both real Collector files read (replica,
//! service, owner, per-dataset generations and rows equal what SQLite shows) and left as they
//! were; a file that is no offline map is one line and exit 2; `--check` against the reference
//! service over HTTP: a copy pointed at a replica another client created there is registered,
//! one with an unknown replicaID is not (exit 3).

use crate::support::cli::Cli;
use crate::support::offline_maps::{
    copy_into, current_rows, fingerprint, point_at, read_only, real_files, replica_xml, texts,
};
use crate::support::server::TECH2;
use serde_json::Value;
use syncwatch::protocol::Guid;

#[test]
fn inspect_reads_both_real_files_and_changes_nothing() {
    let cli = Cli::start();
    for (path, table) in real_files() {
        let before = fingerprint(&path);
        let file = path.to_str().unwrap();
        let json = cli.json(&["inspect", file, "--json"], 0);
        assert_eq!(fingerprint(&path), before);
        let conn = read_only(&path);
        let xml = replica_xml(&conn);
        let id = Guid::parse(json["replica"]["replica_id"].as_str().unwrap()).unwrap();
        assert_eq!(id, Guid::parse(&texts(&xml, "ReplicaID")[0]).unwrap());
        assert_eq!(
            json["replica"]["service_url"],
            texts(&xml, "ServiceName")[0].as_str()
        );
        assert_eq!(json["replica"]["owner"], texts(&xml, "Owner")[0].as_str());
        assert_eq!(json["replica"]["sync_model"], "perLayer");
        assert_eq!(json["made_by"], "collector");
        let datasets = json["datasets"].as_array().unwrap();
        let gens = texts(&xml, "ReplicaServerGen");
        for (i, d) in datasets.iter().enumerate() {
            assert_eq!(d["server_gen"].as_i64().unwrap().to_string(), gens[i]);
            let t = d["table"].as_str().unwrap();
            assert_eq!(d["rows"].as_u64(), Some(current_rows(&conn, t)));
        }
        assert!(datasets.iter().any(|d| d["table"] == table));
        let out = cli.run(&["inspect", file]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("ArcGIS offline map"), "{text}");
        let attachments: u64 = datasets
            .iter()
            .filter(|d| d["is_attachment"] == true)
            .map(|d| current_rows(&conn, d["table"].as_str().unwrap()))
            .sum();
        assert_eq!(json["attachments"].as_u64(), Some(attachments));
        assert!(
            text.contains(&format!("attachments: {attachments}")),
            "{text}"
        );
        assert!(
            text.contains("syncing this offline map stays with Collector for ArcGIS"),
            "{text}"
        );
        assert_eq!(fingerprint(&path), before);
    }
}

#[test]
fn a_file_that_is_no_offline_map_is_one_line() {
    let cli = Cli::start();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.geodatabase");
    std::fs::write(&bad, "plain text").unwrap();
    let out = cli.run(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a SQLite file"), "{stderr}");
    assert_eq!(std::fs::read(&bad).unwrap(), b"plain text");
}

#[test]
fn check_asks_the_service_whether_the_replica_is_registered() {
    let cli = Cli::start();
    let dir = tempfile::tempdir().unwrap();
    let (real, _) = real_files().remove(0);
    let service = cli.server.service_url();
    let created = cli.another_client_creates("collector-tech2", TECH2, None);

    let registered = copy_into(&real, dir.path(), "registered.geodatabase");
    point_at(&registered, &service, created.as_str());
    let before = fingerprint(&registered);
    let json = cli.json(
        &[
            "inspect",
            registered.to_str().unwrap(),
            "--check",
            "--token",
            TECH2,
            "--json",
        ],
        0,
    );
    assert_eq!(fingerprint(&registered), before);
    assert_eq!(json["check"]["result"], "registered", "{json}");
    assert_eq!(json["replica"]["service_url"], service.as_str());

    let unknown = copy_into(&real, dir.path(), "unknown.geodatabase");
    point_at(&unknown, &service, Guid::new_v4().as_str());
    let out = cli.run(&[
        "inspect",
        unknown.to_str().unwrap(),
        "--check",
        "--token",
        TECH2,
        "--json",
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["check"]["result"], "not-registered", "{json}");
    assert_eq!(json["health"], "not-registered");
    assert_eq!(out.status.code(), Some(3));
}
