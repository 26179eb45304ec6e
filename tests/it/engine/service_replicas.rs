//! The service's replicas through the engine, over real HTTP against the reference service:
//! replicas made by two clients as two users (this engine as tech1, another client as tech2),
//! listed with owners and dates from replica info (an administrator sees both, each technician
//! only their own), the one this laptop holds marked, stale marking after the service's test
//! clock moved one replica's dates back, unregistering exactly the chosen replica, and a replica
//! whose info fails shown with its error.

use crate::support::client_config::fast;
use crate::support::engine::Harness;
use crate::support::server::{ADMIN, TECH1, TECH2};
use serde_json::json;
use syncwatch::engine::{Command, CreateRequest, Event, ServiceReplica, UnregisterResult};
use syncwatch::model::is_stale;
use syncwatch::protocol::{Guid, SyncDirection, SyncModel};
use syncwatch::server::ServerConfig;

/// The service with two replicas: tech1's made by this engine (held here), tech2's by another
/// client over an envelope. Their replicaIDs: (tech1's, tech2's).
async fn two_users() -> (Harness, Guid, Guid) {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let request = CreateRequest {
        token: Some(TECH1.to_string().into()),
        ..h.create_request("crew-tech1", false)
    };
    let (replica, end) = h.job(Command::CreateReplica(request)).await;
    end.expect("tech1's create");
    let tech1 = h.summary(replica).await.replica_guid.expect("a replicaID");
    let tech2 = h
        .another_client_creates("field-maps-tech2", TECH2, Some("-123,45,-122,46"))
        .await;
    (h, tech1, tech2)
}

async fn load(h: &Harness, token: Option<&str>) -> Vec<ServiceReplica> {
    h.send(Command::LoadServiceReplicas {
        service_url: h.service_url.clone(),
        token: token.map(|t| t.to_string().into()),
    })
    .await;
    h.next(|e| match e {
        Event::ServiceReplicasLoaded { replicas, .. } => Some(replicas.clone()),
        Event::CommandFailed { error, .. } => panic!("load failed: {error:?}"),
        _ => None,
    })
    .await
}

fn by_id<'a>(list: &'a [ServiceReplica], id: &Guid) -> &'a ServiceReplica {
    list.iter()
        .find(|r| &r.replica_id == id)
        .unwrap_or_else(|| panic!("{id} not listed in {list:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_lists_both_users_replicas_and_technicians_their_own() {
    let (h, tech1, tech2) = two_users().await;
    let before = syncwatch::model::now_ms();

    let all = load(&h, Some(ADMIN)).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    let mine = by_id(&all, &tech1);
    let theirs = by_id(&all, &tech2);
    assert_eq!(mine.owner.as_deref(), Some("tech1"));
    assert_eq!(theirs.owner.as_deref(), Some("tech2"));
    assert!(mine.name.starts_with("crew-tech1"), "{}", mine.name);
    assert_eq!(theirs.name, "field-maps-tech2");
    for r in [mine, theirs] {
        let created = r.created_ms.expect("a creation date from replica info");
        assert!(
            created <= before && before - created < 10 * 60 * 1000,
            "{r:#?}"
        );
        assert_eq!(r.sync_model, Some(SyncModel::PerReplica));
        assert_eq!(r.sync_direction, Some(SyncDirection::Bidirectional));
        assert_eq!(r.layers.len(), 1);
        assert_eq!(r.layers[0].id, 0);
        assert!(r.error.is_none());
    }
    // Created, never synced: no last sync date yet.
    assert_eq!(mine.last_sync_ms, None);
    assert_eq!(
        theirs.area.as_deref(),
        Some("envelope -123,45,-122,46"),
        "the area from replica info's geometry"
    );
    assert!(mine.held_here, "this laptop holds tech1's replica");
    assert!(!theirs.held_here);

    let tech1_sees: Vec<Guid> = load(&h, Some(TECH1))
        .await
        .into_iter()
        .map(|r| r.replica_id)
        .collect();
    assert_eq!(tech1_sees, vec![tech1.clone()]);
    let tech2_sees: Vec<Guid> = load(&h, Some(TECH2))
        .await
        .into_iter()
        .map(|r| r.replica_id)
        .collect();
    assert_eq!(tech2_sees, vec![tech2]);
    // No token given: the engine uses the token of the replica it holds on that service.
    let held_token: Vec<Guid> = load(&h, None)
        .await
        .into_iter()
        .map(|r| r.replica_id)
        .collect();
    assert_eq!(held_token, vec![tech1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_marking_follows_the_last_sync_and_the_chosen_days() {
    let (h, tech1, tech2) = two_users().await;
    h.sync(h.replicas().await[0].id, false)
        .await
        .expect("tech1's sync");
    h.admin_post(
        "replicas/age",
        Some(json!({"replicaID": tech2.as_str(), "days": 45})),
    )
    .await;
    let now = syncwatch::model::now_ms();
    let all = load(&h, Some(ADMIN)).await;
    let synced = by_id(&all, &tech1);
    let old = by_id(&all, &tech2);
    assert!(
        synced.last_sync_ms.is_some(),
        "the sync's date: {synced:#?}"
    );
    let age_days = (now - old.created_ms.unwrap()) / (24 * 3600 * 1000);
    assert_eq!(age_days, 45, "the service's test clock moved it back");
    assert!(is_stale(old.last_activity_ms(), now, 30));
    assert!(!is_stale(synced.last_activity_ms(), now, 30));
    assert!(
        !is_stale(old.last_activity_ms(), now, 60),
        "60 days: not yet"
    );
    assert!(is_stale(old.last_activity_ms(), now, 44));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistering_the_chosen_replica_removes_exactly_it() {
    let (h, tech1, tech2) = two_users().await;
    h.send(Command::UnregisterServiceReplicas {
        service_url: h.service_url.clone(),
        token: Some(ADMIN.to_string().into()),
        replicas: vec![(tech2.clone(), "field-maps-tech2".into())],
    })
    .await;
    let results: Vec<UnregisterResult> = h
        .next(|e| match e {
            Event::ServiceReplicasUnregistered { results, .. } => Some(results.clone()),
            _ => None,
        })
        .await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].replica_id, tech2);
    assert!(results[0].unregistered && !results[0].already_gone);
    assert_eq!(results[0].error, None);
    assert!(!results[0].held_here);
    let db = h.server_db();
    assert!(!db.has_replica(&tech2), "unregistered on the service");
    assert!(db.has_replica(&tech1), "the other replica stays");
    let left: Vec<Guid> = load(&h, Some(ADMIN))
        .await
        .into_iter()
        .map(|r| r.replica_id)
        .collect();
    assert_eq!(left, vec![tech1]);
    assert_eq!(
        h.replicas().await.len(),
        1,
        "this laptop's list is unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_info_fails_is_listed_with_its_error() {
    let (h, _tech1, _tech2) = two_users().await;
    h.add_fault(json!({"operation": "replicaInfo", "kind": "http500", "count": 100}))
        .await;
    let all = load(&h, Some(ADMIN)).await;
    assert_eq!(all.len(), 2, "no row dropped: {all:#?}");
    for r in &all {
        let error = r.error.as_deref().expect("the info call's error");
        assert!(error.contains("500"), "{error}");
        assert!(!error.contains('\n'));
        assert!(r.owner.is_none() && r.created_ms.is_none());
        assert!(!r.name.is_empty(), "the name from the list");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_failing_is_the_commands_one_line_error() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    h.add_fault(json!({"operation": "replicas", "kind": "htmlPage", "count": 100}))
        .await;
    let ticket = h
        .engine
        .submit(Command::LoadServiceReplicas {
            service_url: h.service_url.clone(),
            token: Some(ADMIN.to_string().into()),
        })
        .await
        .unwrap();
    let ours = ticket.command();
    let message = h
        .next(|e| match e {
            Event::CommandFailed {
                error,
                command: Some(c),
                ..
            } if *c == ours => Some(error.message.clone()),
            Event::ServiceReplicasLoaded { .. } => panic!("loaded through a broken list"),
            _ => None,
        })
        .await;
    assert!(message.contains("list replicas"), "{message}");
    assert!(!message.contains('\n'));
}
