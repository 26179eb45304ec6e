//! The definition and generations a replica file keeps.

use super::*;

/// perLayer replicas keep one generation per layer.
#[test]
fn per_layer_generations() {
    let dir = tempfile::tempdir().unwrap();
    let mut response = create_response();
    response.replica_server_gen = None;
    response.layer_server_gens = vec![
        LayerServerGen {
            id: 0,
            server_gen: 4,
            server_sib_gen: None,
        },
        LayerServerGen {
            id: 1,
            server_gen: 5,
            server_sib_gen: None,
        },
    ];
    let file = ReplicaFile::create(
        &dir.path().join("r.replica"),
        &definition(SyncModel::PerLayer),
        &response,
        None,
        &[],
    )
    .unwrap();
    let gens = file.generations().unwrap();
    assert_eq!(gens.replica_server_gen, None);
    assert_eq!(gens.layer_server_gens, vec![(0, 4), (1, 5)]);
}
