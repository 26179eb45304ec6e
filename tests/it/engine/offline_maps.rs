//! ArcGIS offline maps through the engine, over real HTTP against the reference service: the
//! watch folders kept and scanned (every `.geodatabase` below them read, a bad one failed with
//! one line), and each map's replica checked against its service — a copy of a real Collector
//! file pointed at a replica created on the test service is registered with the service's
//! generation, one with an unknown replicaID is not; an explicit token checks another user's.
//! No file is changed by any of it.

use crate::support::client_config::fast;
use crate::support::engine::Harness;
use crate::support::offline_maps::{copy_into, fingerprint, point_at, real_files};
use crate::support::server::{TECH1, TECH2};
use std::path::PathBuf;
use syncwatch::engine::{Command, CreateRequest, Event, OfflineCheck};
use syncwatch::protocol::Guid;
use syncwatch::server::ServerConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_folders_are_scanned_and_each_map_checked_against_its_service() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    // a replica this engine holds as tech1: its token is the one the check falls back to
    let request = CreateRequest {
        token: Some(TECH1.to_string().into()),
        ..h.create_request("crew-tech1", false)
    };
    let (replica, end) = h.job(Command::CreateReplica(request)).await;
    end.expect("tech1's create");
    let held = h.summary(replica).await.replica_guid.expect("a replicaID");

    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a1b2c3").join("p13");
    std::fs::create_dir_all(&nested).unwrap();
    let (real, _) = real_files().remove(0);
    let registered = copy_into(&real, &nested, "registered.geodatabase");
    point_at(&registered, &h.service_url, held.as_str());
    let unknown = copy_into(&real, dir.path(), "unknown.geodatabase");
    point_at(&unknown, &h.service_url, Guid::new_v4().as_str());
    let bad = dir.path().join("broken.geodatabase");
    std::fs::write(&bad, "no database").unwrap();
    let before: Vec<_> = [&registered, &unknown, &bad]
        .iter()
        .map(|p| fingerprint(p))
        .collect();

    let folders = vec![dir.path().to_path_buf(), dir.path().join("missing")];
    h.send(Command::SetOfflineMapFolders {
        folders: folders.clone(),
    })
    .await;
    let said = h
        .next(|e| match e {
            Event::OfflineMapFolders { folders } => Some(folders.clone()),
            _ => None,
        })
        .await;
    assert_eq!(said, folders);
    let mut checks: Vec<(PathBuf, OfflineCheck)> = Vec::new();
    let mut failed: Vec<(PathBuf, String)> = Vec::new();
    while checks.len() + failed.len() < 3 {
        h.next(|e| match e {
            Event::OfflineMapChecked { path, check } => {
                checks.push((path.clone(), check.clone()));
                Some(())
            }
            Event::OfflineMapFailed { path, error } => {
                failed.push((path.clone(), error.clone()));
                Some(())
            }
            _ => None,
        })
        .await;
    }
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, bad);
    assert!(failed[0].1.contains("not a SQLite file") && !failed[0].1.contains('\n'));
    let check_of = |p: &PathBuf| checks.iter().find(|(q, _)| q == p).map(|(_, c)| c.clone());
    match check_of(&registered) {
        Some(OfflineCheck::Registered {
            server_gen,
            file_gen,
            ..
        }) => {
            assert!(server_gen.is_some(), "the service's generation");
            assert_eq!(file_gen, Some(39138), "the file's ReplicaServerGen");
        }
        other => panic!("registered: {other:?}"),
    }
    assert!(
        matches!(check_of(&unknown), Some(OfflineCheck::NotRegistered { .. })),
        "{checks:?}"
    );

    // the folders are kept: loading them again answers the same and scans again
    h.send(Command::LoadOfflineMapFolders).await;
    let again = h
        .next(|e| match e {
            Event::OfflineMapFolders { folders } => Some(folders.clone()),
            _ => None,
        })
        .await;
    assert_eq!(again, folders);

    // another user's replica, checked with that user's token
    let theirs = h
        .another_client_creates("field-maps-tech2", TECH2, None)
        .await;
    let other = copy_into(&real, dir.path(), "theirs.geodatabase.copy");
    point_at(&other, &h.service_url, theirs.as_str());
    h.send(Command::OpenOfflineMap {
        path: other.clone(),
        token: Some(TECH2.to_string().into()),
    })
    .await;
    let check = h
        .next(|e| match e {
            Event::OfflineMapChecked { path, check } if *path == other => Some(check.clone()),
            _ => None,
        })
        .await;
    assert!(
        matches!(check, OfflineCheck::Registered { .. }),
        "{check:?}"
    );

    let after: Vec<_> = [&registered, &unknown, &bad]
        .iter()
        .map(|p| fingerprint(p))
        .collect();
    assert!(before == after, "no file changed");
}
