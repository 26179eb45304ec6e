//! One request to the service: retries with backoff on transient failures, the reply read up
//! to its size limit and parsed (an `{"error":…}` envelope becomes `Err`), the token attached
//! only for the service's own origin (a refused one renewed once, `token_use.rs`), and endpoint
//! URLs built and resolved against the service.

use super::client::FeatureServiceClient;
use super::error::{ServiceClientError, certificate_refusal, too_large, transport_error};
use super::sign_in::ProvidedToken;
use super::trust::presented_fingerprint;
use crate::protocol::catalog::TransportKind;
use crate::protocol::{CarriesServiceError, ReplyError};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

impl FeatureServiceClient {
    /// One request with retries; the reply is parsed, and `{"error":…}` becomes `Err`.
    pub(super) async fn call<T: DeserializeOwned + CarriesServiceError>(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        form: Vec<(String, String)>,
    ) -> Result<T, ServiceClientError> {
        let config = &self.inner.config;
        let mut attempt = 0;
        let mut token = self.request_token(operation, &url).await?;
        let mut renewed = false;
        loop {
            let outcome = match self
                .fetch_body_with(operation, method.clone(), &url, &form, token.as_ref())
                .await
            {
                Ok(body) => parse(operation, &body),
                Err(e) => Err(e),
            };
            match outcome {
                // A refused token is renewed once; a second refusal ends in "sign-in needed".
                Err(e) if e.is_token_refusal() && !renewed => {
                    token = self
                        .renew_refused_token(operation, e, token.as_ref())
                        .await?;
                    renewed = true;
                }
                Err(e) if e.is_token_refusal() => {
                    return Err(self.sign_in_needed(operation, &e, token.is_some()));
                }
                Err(e) if e.is_transient() && attempt + 1 < config.max_attempts => {
                    tracing::info!(operation, attempt, error = %e, "retrying");
                    tokio::time::sleep(config.backoff.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One request's reply body, read up to its size limit, sent with `token`.
    async fn fetch_body_with(
        &self,
        operation: &'static str,
        method: Method,
        url: &Url,
        form: &[(String, String)],
        token: Option<&ProvidedToken>,
    ) -> Result<Vec<u8>, ServiceClientError> {
        let mut response = self
            .send_with(operation, method, url, form, token, Transfer::Call)
            .await?;
        check_status(operation, url, response.status())?;
        let limit = self.inner.config.reply_limit(operation);
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large(operation, url, limit));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > limit {
                        return Err(too_large(operation, url, limit));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(transport_error(operation, url, &e)),
            }
        }
    }

    /// Sends one request. The token goes only to the service's own origin.
    pub(super) async fn send(
        &self,
        operation: &'static str,
        method: Method,
        url: &Url,
        form: &[(String, String)],
        transfer: Transfer,
    ) -> Result<reqwest::Response, ServiceClientError> {
        let token = self.request_token(operation, url).await?;
        self.send_with(operation, method, url, form, token.as_ref(), transfer)
            .await
    }

    /// [`Self::send`] with the token already chosen (`request_token` keeps it to the origin).
    async fn send_with(
        &self,
        operation: &'static str,
        method: Method,
        url: &Url,
        form: &[(String, String)],
        token: Option<&ProvidedToken>,
        transfer: Transfer,
    ) -> Result<reqwest::Response, ServiceClientError> {
        let token = token.filter(|_| url.origin() == self.inner.service_url.origin());
        let client = if token.is_some() {
            &self.inner.authed
        } else {
            &self.inner.anonymous
        };
        tracing::debug!(operation, url = %url, with_token = token.is_some(), "request");
        let mut request = client.request(method.clone(), url.clone());
        request = match transfer {
            Transfer::Call => request.timeout(self.inner.config.request_timeout),
            Transfer::Download { from: 0 } => request,
            Transfer::Download { from } => {
                request.header(reqwest::header::RANGE, format!("bytes={from}-"))
            }
        };
        let mut pairs: Vec<(&str, &str)> =
            form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if let Some(ProvidedToken { token, referer }) = token {
            if self.inner.config.token_as_parameter {
                pairs.push(("token", token.expose()));
            } else {
                request =
                    request.header("X-Esri-Authorization", format!("Bearer {}", token.expose()));
            }
            if let Some(referer) = referer {
                request = request.header(reqwest::header::REFERER, referer);
            }
        }
        request = if method == Method::GET {
            request.query(&pairs)
        } else {
            request.form(&pairs)
        };
        match request.send().await {
            Ok(response) => Ok(response),
            Err(e) => match certificate_refusal(&e) {
                Some(reason) => Err(ServiceClientError::UntrustedCertificate {
                    operation,
                    reason,
                    fingerprint_sha256: presented_fingerprint(url).await,
                    url: url.to_string(),
                }),
                None => Err(transport_error(operation, url, &e)),
            },
        }
    }

    pub(super) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.service_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    pub(super) fn resolve(
        &self,
        operation: &'static str,
        location: &str,
    ) -> Result<Url, ServiceClientError> {
        let base = format!("{}/", self.inner.service_url.as_str().trim_end_matches('/'));
        Url::parse(&base)
            .and_then(|b| b.join(location.trim()))
            .map_err(|e| ServiceClientError::Malformed {
                operation,
                reason: format!("the service sent an unusable URL: {e}"),
                snippet: location.chars().take(120).collect(),
            })
    }
}

/// What a request is for, which decides its time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transfer {
    /// A call: the whole request within `request_timeout`.
    Call,
    /// A download from byte `from` on (a `Range` request when not 0): no whole-request limit,
    /// only the idle limit between reads.
    Download { from: u64 },
}

pub(super) fn json_form() -> Vec<(String, String)> {
    vec![("f".to_string(), "json".to_string())]
}

pub(super) fn parse<T: DeserializeOwned + CarriesServiceError>(
    operation: &'static str,
    body: &[u8],
) -> Result<T, ServiceClientError> {
    crate::protocol::parse_reply::<T>(body).map_err(|e| match e {
        ReplyError::Service(error) => ServiceClientError::Service { operation, error },
        ReplyError::Malformed { reason, snippet } => ServiceClientError::Malformed {
            operation,
            reason,
            snippet,
        },
    })
}

pub(super) fn check_status(
    operation: &'static str,
    url: &Url,
    status: StatusCode,
) -> Result<(), ServiceClientError> {
    if status == StatusCode::OK {
        return Ok(());
    }
    Err(ServiceClientError::Transport {
        operation,
        kind: TransportKind::HttpStatus,
        status: Some(status.as_u16()),
        detail: format!("HTTP {status}"),
        url: url.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use crate::protocol::Guid;
    use crate::service::{ClientConfig, FeatureServiceClient};

    #[test]
    fn endpoints_encode_braced_ids() {
        let c = FeatureServiceClient::new(
            "http://h/arcgis/rest/services/W/FeatureServer",
            None,
            ClientConfig::default(),
        )
        .unwrap();
        let g = Guid::parse("7a0c2c24-5ca5-408f-8705-a23ef105f351").unwrap();
        let url = c.endpoint(&["replicas", g.as_str()]);
        assert_eq!(
            url.as_str(),
            "http://h/arcgis/rest/services/W/FeatureServer/replicas/%7B7A0C2C24-5CA5-408F-8705-A23EF105F351%7D"
        );
        assert_eq!(
            c.resolve("x", "jobs/12").unwrap().as_str(),
            "http://h/arcgis/rest/services/W/FeatureServer/jobs/12"
        );
        assert_eq!(
            c.resolve("x", "https://other/file.json").unwrap().as_str(),
            "https://other/file.json"
        );
    }
}
