//! One call to the reference feature service's loopback admin API (`POST {base}/admin/{path}`
//! with its `X-Admin-Key`): the demo uses it to terminate and re-enable sync. It is not part of
//! the ArcGIS REST protocol and keeps no state; callers own the base URL and the key.

/// Why an admin call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AdminCallError {
    /// The service answered, but not with a success status.
    #[error("the service answered HTTP {status}")]
    Status { status: reqwest::StatusCode },
    /// The request did not reach the service (or its answer did not come back).
    #[error("could not reach the service: {source}")]
    Unreachable {
        #[source]
        source: reqwest::Error,
    },
}

/// Posts an empty request to `{base_url}/admin/{path}` with the admin key.
pub async fn post_admin(base_url: &str, admin_key: &str, path: &str) -> Result<(), AdminCallError> {
    let url = format!("{}/admin/{path}", base_url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .header("X-Admin-Key", admin_key)
        .send()
        .await
        .map_err(|source| AdminCallError::Unreachable { source })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(AdminCallError::Status { status })
    }
}
