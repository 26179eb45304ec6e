//! The service side of the engine harness: calls to the reference service's admin API (faults,
//! terminating sync) and what the service holds (its database, its features read through a
//! throwaway replica). Never goes through the engine.

use super::Harness;
use super::counts::ServerDb;
use serde_json::Value;
use syncwatch::protocol::{CreateReplicaParams, DataFormat, Feature, Guid};
use syncwatch::service::{ClientConfig, FeatureServiceClient};

impl Harness {
    /// Calls the admin API; the status and the JSON reply.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}/admin/{path}", self.server.base_url()))
            .header("X-Admin-Key", self.server.admin_key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs to the admin API, which must succeed.
    pub async fn admin_post(&self, path: &str, body: Option<Value>) {
        let (status, reply) = self.admin(reqwest::Method::POST, path, body).await;
        assert!(
            (200..300).contains(&status),
            "admin {path}: {status} {reply}"
        );
    }

    /// Adds one fault rule or a list of them.
    pub async fn add_fault(&self, rule: Value) {
        let (status, reply) = self
            .admin(reqwest::Method::POST, "faults", Some(rule))
            .await;
        assert_eq!(status, 200, "{reply}");
    }

    /// The fault rules not yet used up.
    pub async fn faults_left(&self) -> Vec<Value> {
        let (_, list) = self.admin(reqwest::Method::GET, "faults", None).await;
        list.as_array().cloned().unwrap_or_default()
    }

    /// Removes every fault rule.
    pub async fn clear_faults(&self) {
        let (status, reply) = self.admin(reqwest::Method::DELETE, "faults", None).await;
        assert!(
            (200..300).contains(&status),
            "clear faults: {status} {reply}"
        );
    }

    /// Terminates and re-enables sync: the service forgets every replica (the documented way to
    /// make replicas need a client reset).
    pub async fn terminate_and_reenable(&self) {
        self.admin_post("sync/terminate", None).await;
        self.admin_post("sync/enable", None).await;
    }

    /// What the service's database holds.
    pub fn server_db(&self) -> ServerDb {
        ServerDb::open(&self.server_dir.path().join("service.sqlite"))
    }

    /// Layer 0 as the server holds it now, read through a throwaway replica.
    pub async fn server_hydrants(&self) -> Vec<Feature> {
        let client =
            FeatureServiceClient::new(&self.server.service_url(), None, ClientConfig::default())
                .unwrap();
        let mut params = CreateReplicaParams::new("server-check", vec![0]);
        params.data_format = DataFormat::Json;
        let result = client
            .create_replica(&params, self.dir.path(), &|_| {})
            .await
            .unwrap();
        let guid = result.response.replica_id.clone().unwrap();
        client.unregister_replica(&guid).await.unwrap();
        let layer = result.response.layers.into_iter().find(|l| l.id == 0);
        layer.map(|l| l.features).unwrap_or_default()
    }

    /// Another client registers a replica as the user of `token` (see
    /// [`crate::support::server::another_client_creates`]).
    pub async fn another_client_creates(
        &self,
        name: &str,
        token: &str,
        geometry: Option<&str>,
    ) -> Guid {
        let url = self.server.service_url();
        crate::support::server::another_client_creates(&url, name, token, geometry).await
    }

    /// One hydrant as the server holds it now, if it has it.
    pub async fn server_hydrant(&self, global_id: &Guid) -> Option<Feature> {
        let features = self.server_hydrants().await;
        features
            .into_iter()
            .find(|f| f.global_id().as_ref() == Some(global_id))
    }
}
