//! Shared helpers for the `server_*` integration tests: start the reference service on
//! 127.0.0.1:0 and talk to it over real HTTP with reqwest.

use serde_json::{Value, json};
use syncwatch::protocol::Guid;
use syncwatch::server::{self, RunningServer, ServerConfig, ServiceDefinition};

pub const TECH1: &str = "tech1-token";
pub const TECH2: &str = "tech2-token";
pub const ADMIN: &str = "demo-admin-token";
/// The demo users' passwords (`docs/service-definition.md`).
pub const TECH1_PASSWORD: &str = "tech1-pass";
pub const TECH2_PASSWORD: &str = "tech2-pass";

pub struct Fixture {
    pub server: RunningServer,
    pub http: reqwest::Client,
    pub url: String,
}

pub async fn start() -> Fixture {
    start_with(ServerConfig::default()).await
}

pub async fn start_with(config: ServerConfig) -> Fixture {
    let server = server::start(config).await.expect("server starts");
    let url = server.service_url();
    Fixture {
        server,
        http: reqwest::Client::new(),
        url,
    }
}

pub fn demo() -> ServiceDefinition {
    ServiceDefinition::demo().expect("demo definition")
}

/// The demo definition with tokens required (its users sign in with their passwords).
pub fn secured_demo() -> ServiceDefinition {
    let mut def = demo();
    def.require_token = true;
    def
}

/// Another client (an ArcGIS app on another device, not syncwatch) registers a replica of
/// layer 0 named `name` on `service_url` as the user of `token`, with a plain createReplica
/// form, over `geometry` (an envelope `xmin,ymin,xmax,ymax`) if given; its replicaID.
pub async fn another_client_creates(
    service_url: &str,
    name: &str,
    token: &str,
    geometry: Option<&str>,
) -> Guid {
    let mut form = vec![
        ("f", "json"),
        ("replicaName", name),
        ("layers", "0"),
        ("transportType", "esriTransportTypeEmbedded"),
        ("syncModel", "perReplica"),
        ("token", token),
    ];
    if let Some(g) = geometry {
        form.extend([("geometry", g), ("geometryType", "esriGeometryEnvelope")]);
    }
    let reply: Value = reqwest::Client::new()
        .post(format!("{service_url}/createReplica"))
        .form(&form)
        .send()
        .await
        .expect("createReplica")
        .json()
        .await
        .expect("a JSON reply");
    let id = reply["replicaID"].as_str();
    Guid::parse(id.unwrap_or_else(|| panic!("no replicaID in {reply}"))).expect("a GUID")
}

pub fn new_gid() -> String {
    Guid::new_v4().as_str().to_string()
}

impl Fixture {
    /// POSTs form pairs to `<service>/<op>` and returns the JSON body.
    pub async fn post(&self, op: &str, form: &[(&str, &str)]) -> Value {
        let url = if op.is_empty() {
            self.url.clone()
        } else {
            format!("{}/{op}", self.url)
        };
        let resp = self
            .http
            .post(url)
            .form(form)
            .send()
            .await
            .expect("request");
        resp.json().await.expect("JSON body")
    }

    /// POSTs form pairs to a path of the service's host (`/arcgis/tokens/generateToken`,
    /// `/sharing/rest/oauth2/token`, …) and returns the JSON body.
    pub async fn post_path(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.server.base_url()))
            .form(form)
            .send()
            .await
            .expect("request");
        resp.json().await.expect("JSON body")
    }

    /// generateToken at `path` as `user` with `password` (`client=referer`, 60 minutes); the reply.
    pub async fn generate_token(&self, path: &str, user: &str, password: &str) -> Value {
        self.post_path(
            path,
            &[
                ("username", user),
                ("password", password),
                ("client", "referer"),
                ("referer", "syncwatch-tests"),
                ("expiration", "60"),
                ("f", "json"),
            ],
        )
        .await
    }

    /// `replicas` with `token`: the reply (a list when the token is accepted).
    pub async fn replicas_with(&self, token: &str) -> Value {
        self.post("replicas", &[("f", "json"), ("token", token)])
            .await
    }

    /// GETs an absolute URL and returns status and JSON body.
    pub async fn get_json(&self, url: &str) -> (u16, Value) {
        let resp = self.http.get(url).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    /// createReplica (embedded JSON unless `extra` says otherwise); returns the reply.
    pub async fn create(&self, layers: &str, extra: &[(&str, &str)]) -> Value {
        let mut form = vec![
            ("f", "json"),
            ("replicaName", "test"),
            ("layers", layers),
            ("transportType", "esriTransportTypeEmbedded"),
            ("syncModel", "perReplica"),
        ];
        form.extend_from_slice(extra);
        self.post("createReplica", &form).await
    }

    /// Creates a perReplica replica as `token` (empty = anonymous); returns its id and generation.
    pub async fn replica(&self, layers: &str, token: &str) -> (String, i64) {
        let mut extra = vec![];
        if !token.is_empty() {
            extra.push(("token", token));
        }
        let reply = self.create(layers, &extra).await;
        let id = reply["replicaID"].as_str().expect("replicaID").to_string();
        (
            id,
            reply["replicaServerGen"]
                .as_i64()
                .expect("replicaServerGen"),
        )
    }

    /// synchronizeReplica (embedded JSON) with `edits` and extra form pairs.
    pub async fn sync(
        &self,
        replica: &str,
        generation: i64,
        edits: &Value,
        extra: &[(&str, &str)],
    ) -> Value {
        let gen_text = generation.to_string();
        let edits_text = edits.to_string();
        let mut form = vec![
            ("f", "json"),
            ("replicaID", replica),
            ("replicaServerGen", gen_text.as_str()),
            ("syncDirection", "bidirectional"),
            ("transportType", "esriTransportTypeEmbedded"),
            ("edits", edits_text.as_str()),
        ];
        form.extend_from_slice(extra);
        self.post("synchronizeReplica", &form).await
    }

    /// Calls the admin API with the right key.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.server.base_url()))
            .header("X-Admin-Key", self.server.admin_key());
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("admin request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn fault(&self, rule: Value) {
        let (status, _) = self
            .admin(reqwest::Method::POST, "/admin/faults", Some(rule))
            .await;
        assert_eq!(status, 200);
    }

    /// Polls a job status URL until it is terminal (bounded); returns every status seen and the last reply.
    pub async fn poll(&self, status_url: &str) -> (Vec<String>, Value) {
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..400 {
            let (_, status) = self.get_json(&format!("{status_url}?f=json")).await;
            let state = status["status"].as_str().unwrap_or("").to_string();
            if seen.last() != Some(&state) {
                seen.push(state.clone());
            }
            if ["Completed", "CompletedWithErrors", "Failed"].contains(&state.as_str()) {
                return (seen, status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("job never finished; saw {seen:?}");
    }
}

/// A hydrant add for the demo layer 0.
pub fn hydrant(gid: &str, facility: &str) -> Value {
    json!({"geometry": {"x": -122.65, "y": 45.52},
           "attributes": {"GlobalID": gid, "FacilityID": facility, "Status": "IS", "Flow_GPM": 750}})
}

/// `edits` with adds for one layer.
pub fn adds(layer: i64, features: Vec<Value>) -> Value {
    json!([{"id": layer, "features": {"adds": features}}])
}

/// The features of one layer in a sync reply's `edits`.
pub fn downloaded(reply: &Value, layer: i64) -> Value {
    reply["edits"]
        .as_array()
        .and_then(|layers| layers.iter().find(|l| l["id"] == layer))
        .map(|l| l["features"].clone())
        .unwrap_or(json!({}))
}

/// The edit results of one layer, by kind (`addResults`, `updateResults`, `deleteResults`).
pub fn results(reply: &Value, layer: i64, kind: &str) -> Vec<Value> {
    reply["edits"]
        .as_array()
        .and_then(|layers| layers.iter().find(|l| l["id"] == layer))
        .and_then(|l| l[kind].as_array().cloned())
        .unwrap_or_default()
}
