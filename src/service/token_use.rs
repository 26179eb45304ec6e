//! How a [`FeatureServiceClient`] gets the token for a request and what it does when the
//! service refuses one: the token (a pasted one, or one from the client's
//! [`TokenProvider`](super::sign_in::TokenProvider)) goes only to the service's own origin; a
//! refusal (498, 499) is answered by one renewal, and when none is possible the call ends in
//! [`ServiceClientError::SignInNeeded`]. Retrying and sending stay in `transport.rs`.

use super::client::FeatureServiceClient;
use super::error::ServiceClientError;
use super::sign_in::{ProvidedToken, server_root_of};
use url::Url;

impl FeatureServiceClient {
    /// The token to send with a request to `url`: none for another origin.
    pub(super) async fn request_token(
        &self,
        operation: &'static str,
        url: &Url,
    ) -> Result<Option<ProvidedToken>, ServiceClientError> {
        if url.origin() != self.inner.service_url.origin() {
            return Ok(None);
        }
        match &self.inner.provider {
            Some(provider) => provider
                .token_for(&self.inner.service_url)
                .await
                .map_err(|e| e.into_service_error(operation, &self.server_root())),
            None => Ok(self.inner.token.clone().map(|token| ProvidedToken {
                token,
                referer: None,
            })),
        }
    }

    /// After the service refused `sent` with `refusal`: the renewed token to retry with once,
    /// or the error that ends the call.
    pub(super) async fn renew_refused_token(
        &self,
        operation: &'static str,
        refusal: ServiceClientError,
        sent: Option<&ProvidedToken>,
    ) -> Result<Option<ProvidedToken>, ServiceClientError> {
        let Some(provider) = &self.inner.provider else {
            return Err(self.sign_in_needed(operation, &refusal, sent.is_some()));
        };
        tracing::info!(operation, "the service refused the token; renewing it once");
        match provider
            .renew_refused(&self.inner.service_url, sent.map(|t| &t.token))
            .await
        {
            Ok(renewed) => Ok(renewed),
            Err(e) => Err(match e.into_service_error(operation, &self.server_root()) {
                ServiceClientError::SignInNeeded {
                    operation,
                    server,
                    reason,
                    code: None,
                } => ServiceClientError::SignInNeeded {
                    operation,
                    server,
                    reason,
                    code: refusal.code().or(refused_status(&refusal)),
                },
                other => other,
            }),
        }
    }

    /// The refusal as the end of the call: only signing in again helps.
    pub(super) fn sign_in_needed(
        &self,
        operation: &'static str,
        refusal: &ServiceClientError,
        had_token: bool,
    ) -> ServiceClientError {
        let said = match refusal.service_error() {
            Some(e) => e.summary(),
            None => refusal.to_string(),
        };
        let reason = if had_token {
            format!("the service refused the token: {said}")
        } else {
            format!("the service needs a token and none was given: {said}")
        };
        ServiceClientError::SignInNeeded {
            operation,
            server: self.server_root(),
            reason,
            code: refusal.code().or(refused_status(refusal)),
        }
    }

    fn server_root(&self) -> String {
        server_root_of(&self.inner.service_url).to_string()
    }
}

/// 498 or 499 sent as the HTTP status.
fn refused_status(refusal: &ServiceClientError) -> Option<i64> {
    match refusal {
        ServiceClientError::Transport {
            status: Some(s @ (498 | 499)),
            ..
        } => Some(i64::from(*s)),
        _ => None,
    }
}
