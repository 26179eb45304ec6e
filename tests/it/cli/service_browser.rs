//! `syncwatch service` and `syncwatch create` with layer names, `--extent` and `--where`
//! through the real binary against the GridTown test service: the service's facts (text and
//! `--json`); a replica made by layer names for an extent and a clause holds the features a
//! count of the service says, with a suggested name and its area; and each bad input (unknown
//! layer, extent outside the service, inverted, empty, an SR the service cannot convert, a
//! layer without sync) is one clear line and creates nothing on the service.

use crate::support::cli::{Cli, block_on};
use crate::support::spatial::gridtown;
use serde_json::Value;
use syncwatch::server::ServerConfig;

/// The extent the tests use, in WGS84: it splits every GridTown layer.
const AREA: &str = "-122.665,45.50,-122.615,45.535";

fn gridtown_cli() -> Cli {
    Cli::start_with(ServerConfig {
        definition: Some(gridtown(4326)),
        ..Default::default()
    })
}

/// The service's count of a layer's features inside `AREA` (and `where`).
fn service_count(cli: &Cli, layer: i64, clause: &str) -> i64 {
    let url = format!("{}/{layer}/query", cli.server.service_url());
    let form = [
        ("f", "json"),
        ("where", clause),
        ("geometry", AREA),
        ("geometryType", "esriGeometryEnvelope"),
        ("inSR", "4326"),
        ("returnCountOnly", "true"),
    ];
    let reply: Value = block_on(async move {
        let sent = reqwest::Client::new().post(url).form(&form).send().await;
        sent.unwrap().json().await.unwrap()
    });
    reply["count"]
        .as_i64()
        .unwrap_or_else(|| panic!("no count: {reply}"))
}

/// `service` prints the facts: layers with ids, names, geometry, counts; SR and extent.
#[test]
fn service_shows_the_browser_facts() {
    let cli = gridtown_cli();
    let url = cli.server.service_url();
    let facts = cli.json(&["service", &url, "--json"], 0);
    assert_eq!(facts["name"], "GridTown");
    assert_eq!(facts["wkid"], 4326);
    let layers: Vec<(i64, String, i64)> = facts["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            (
                l["id"].as_i64().unwrap(),
                l["name"].as_str().unwrap().to_string(),
                l["feature_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        layers,
        vec![
            (0, "Poles".into(), 90),
            (1, "Cables".into(), 60),
            (2, "Parcels".into(), 45)
        ]
    );
    let out = cli.run(&["service", &url]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("spatial reference: wkid 4326"), "{text}");
    let poles = text
        .lines()
        .find(|l| l.contains("Poles"))
        .expect("Poles row");
    assert!(poles.contains("Point") && poles.contains("90"), "{poles}");
    assert!(
        cli.service_replicas().is_empty(),
        "browsing creates nothing"
    );
}

/// `create --layers Poles,Cables --extent … --where Poles=…` holds what the service counts
/// inside the area, is named from the service and the area, and shows its area.
#[test]
fn create_by_names_for_an_extent_and_a_where() {
    let cli = gridtown_cli();
    let url = cli.server.service_url();
    let extent = format!("{AREA},4326");
    let created = cli.json(
        &[
            "create",
            "--service",
            &url,
            "--layers",
            "Poles,Cables",
            "--extent",
            &extent,
            "--where",
            "Poles=CATEGORY = 'A'",
            "--json",
        ],
        0,
    );
    let expected = service_count(&cli, 0, "CATEGORY = 'A'") + service_count(&cli, 1, "1=1");
    assert!(expected > 0);
    assert_eq!(created["outcome"]["downloaded"], expected, "{created}");
    assert_eq!(created["replica"]["name"], "GridTown-area");
    let area = &created["replica"]["work_area"];
    assert_eq!(area["kind"], "extent", "{created}");
    assert_eq!(area["wkid"], 4326);
    let on_service = cli.service_replicas();
    assert_eq!(on_service.len(), 1, "{on_service:?}");
    // Plain layer ids with a name still work as before.
    let out = cli.run(&[
        "create",
        "--service",
        &url,
        "--layers",
        "2",
        "--name",
        "parcels",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("45 features downloaded (whole service)"),
        "{text}"
    );
}

/// Each bad input: exit 2, one line naming the problem, nothing created on the service.
#[test]
fn bad_input_is_one_line_and_creates_nothing() {
    let cli = gridtown_cli();
    let url = cli.server.service_url();
    let cases: [(&[&str], &str); 6] = [
        (&["--layers", "Hydrants"], "has no layer \"Hydrants\""),
        (
            &["--layers", "Poles", "--extent", "10,10,11,11,4326"],
            "outside the service's full extent",
        ),
        (&["--layers", "Poles", "--extent", "1,0,0,1"], "inverted"),
        (&["--layers", "Poles", "--extent", "0,0,0,1"], "empty"),
        (
            &["--layers", "Poles", "--extent", "0,0,1,1,2229"],
            "cannot convert wkid 2229",
        ),
        (
            &["--layers", "Poles", "--where", "Cables=RANK > 3"],
            "not among --layers",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["create", "--service", url.as_str()];
        args.extend_from_slice(extra);
        let out = cli.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
    assert!(cli.service_replicas().is_empty(), "nothing was created");
}

/// A layer whose sync is not enabled is refused by name, before anything is sent.
#[test]
fn a_layer_without_sync_is_refused() {
    let mut definition = gridtown(4326);
    definition.layers[2].sync_enabled = Some(false);
    let cli = Cli::start_with(ServerConfig {
        definition: Some(definition),
        ..Default::default()
    });
    let url = cli.server.service_url();
    let facts = cli.json(&["service", &url, "--json"], 0);
    assert_eq!(facts["layers"][2]["sync_enabled"], false);
    let out = cli.run(&["create", "--service", &url, "--layers", "Poles,Parcels"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("\"Parcels\" does not sync"), "{stderr}");
    assert!(cli.service_replicas().is_empty());
}
