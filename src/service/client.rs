//! [`FeatureServiceClient`]: one feature service's client, built over reqwest with per-request
//! timeouts and two redirect policies, so the token only ever reaches the service's own origin.
//! The calls live beside it, one concept per file: the typed calls (`calls.rs`), async-job
//! polling (`job_polling.rs`), downloads (`download.rs`) and the request itself with its retries
//! (`transport.rs`). Nothing here logs the token.

use super::config::{ClientConfig, Token};
use super::error::ServiceClientError;
use super::sign_in::TokenProvider;
use std::sync::Arc;
use url::Url;

/// A client of one FeatureServer. Cheap to clone.
#[derive(Clone)]
pub struct FeatureServiceClient {
    pub(super) inner: Arc<Inner>,
}

/// What every clone of a client shares.
pub(super) struct Inner {
    /// Used for requests that carry the token: follows redirects only within the service's origin.
    pub(super) authed: reqwest::Client,
    /// Used for requests without a token (other origins): ordinary redirects.
    pub(super) anonymous: reqwest::Client,
    pub(super) service_url: Url,
    pub(super) token: Option<Token>,
    /// Where tokens come from when the client was made with one (a signed-in session); it
    /// takes the place of `token`.
    pub(super) provider: Option<Arc<dyn TokenProvider>>,
    pub(super) config: ClientConfig,
}

impl std::fmt::Debug for FeatureServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureServiceClient")
            .field("service_url", &self.inner.service_url.as_str())
            .field("token", &self.inner.token)
            .field("signed_in", &self.inner.provider.is_some())
            .finish()
    }
}

impl FeatureServiceClient {
    /// A client for `service_url` (`…/FeatureServer`). The URL must be http(s) and absolute.
    pub fn new(
        service_url: &str,
        token: Option<Token>,
        config: ClientConfig,
    ) -> Result<Self, ServiceClientError> {
        Self::build(service_url, token, None, config)
    }

    /// A client for `service_url` that asks `provider` for its tokens (a signed-in session),
    /// renews once when the service refuses one, and fails with
    /// [`ServiceClientError::SignInNeeded`] when no token can be had.
    pub fn with_token_provider(
        service_url: &str,
        provider: Arc<dyn TokenProvider>,
        config: ClientConfig,
    ) -> Result<Self, ServiceClientError> {
        Self::build(service_url, None, Some(provider), config)
    }

    fn build(
        service_url: &str,
        token: Option<Token>,
        provider: Option<Arc<dyn TokenProvider>>,
        config: ClientConfig,
    ) -> Result<Self, ServiceClientError> {
        let service_url = parse_service_url(service_url)?;
        let origin = service_url.origin();
        let same_origin_only = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if attempt.url().origin() == origin {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let setup_failed = |e: reqwest::Error| ServiceClientError::InvalidUrl {
            url: service_url.to_string(),
            reason: format!("could not set up the HTTP client: {e}"),
        };
        let build = |policy| {
            let mut builder = reqwest::Client::builder();
            for ca in &config.ca_certificates {
                let certificate = reqwest::Certificate::from_der(ca.der()).map_err(setup_failed)?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                // Calls get their whole-request limit per request (`transport`); downloads
                // only this idle limit, so a slow but steady transfer is never cut.
                .read_timeout(config.idle_timeout)
                .connect_timeout(config.connect_timeout)
                .redirect(policy)
                .user_agent(concat!("syncwatch/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(setup_failed)
        };
        let authed = build(same_origin_only)?;
        let anonymous = build(reqwest::redirect::Policy::limited(5))?;
        Ok(FeatureServiceClient {
            inner: Arc::new(Inner {
                authed,
                anonymous,
                service_url,
                token,
                provider,
                config,
            }),
        })
    }

    pub fn service_url(&self) -> &Url {
        &self.inner.service_url
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }
}

/// `text` as an absolute http(s) URL with a host; why not, otherwise.
pub(super) fn parse_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| e.to_string())?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("scheme {:?} is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    Ok(url)
}

fn parse_service_url(text: &str) -> Result<Url, ServiceClientError> {
    let mut url = parse_http_url(text).map_err(|reason| ServiceClientError::InvalidUrl {
        url: text.to_string(),
        reason,
    })?;
    url.set_query(None);
    url.set_fragment(None);
    if url.path().ends_with('/') && url.path() != "/" {
        let trimmed = url.path().trim_end_matches('/').to_string();
        url.set_path(&trimmed);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_are_validated_and_normalised() {
        let ok = parse_service_url(
            "http://127.0.0.1:8080/arcgis/rest/services/Water/FeatureServer/?f=json",
        )
        .unwrap();
        assert_eq!(
            ok.as_str(),
            "http://127.0.0.1:8080/arcgis/rest/services/Water/FeatureServer"
        );
        for bad in ["", "ftp://x/FeatureServer", "not a url", "http://"] {
            let err = parse_service_url(bad).unwrap_err();
            assert!(
                matches!(err, ServiceClientError::InvalidUrl { .. }),
                "{bad}"
            );
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = Token::new("s3cret-value").unwrap();
        assert!(!format!("{t:?}").contains("s3cret"));
        let c =
            FeatureServiceClient::new("http://h/FeatureServer", Some(t), ClientConfig::default())
                .unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(Token::new("  ").is_none());
    }
}
