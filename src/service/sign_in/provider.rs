//! The seam between a service client and a sign-in: a [`TokenProvider`] gives the token for a
//! service's server (renewing it when it nears its end) and, when the service refused one, a
//! renewed token or the reason there is none. [`FixedToken`] is a pasted token: sent as it is,
//! never renewed. The client never sees how a token was made.

use super::error::SignInError;
use crate::service::Token;
use futures_util::future::BoxFuture;
use url::Url;

/// A token to send, and the `Referer` it is bound to (generateToken's `client=referer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidedToken {
    pub token: Token,
    pub referer: Option<String>,
}

/// Where a service client gets its tokens.
pub trait TokenProvider: Send + Sync {
    /// The token for requests to `service_url` (`None`: the server needs none).
    fn token_for<'a>(
        &'a self,
        service_url: &'a Url,
    ) -> BoxFuture<'a, Result<Option<ProvidedToken>, SignInError>>;

    /// The service refused `refused` (498 or 499): a renewed token, or why there is none
    /// ([`SignInError::SignInNeeded`] when only signing in again helps).
    fn renew_refused<'a>(
        &'a self,
        service_url: &'a Url,
        refused: Option<&'a Token>,
    ) -> BoxFuture<'a, Result<Option<ProvidedToken>, SignInError>>;
}

/// A pasted token: always the same, and refused for good once the service refuses it.
#[derive(Debug, Clone)]
pub struct FixedToken(pub Token);

impl TokenProvider for FixedToken {
    fn token_for<'a>(
        &'a self,
        _service_url: &'a Url,
    ) -> BoxFuture<'a, Result<Option<ProvidedToken>, SignInError>> {
        Box::pin(async move {
            Ok(Some(ProvidedToken {
                token: self.0.clone(),
                referer: None,
            }))
        })
    }

    fn renew_refused<'a>(
        &'a self,
        service_url: &'a Url,
        _refused: Option<&'a Token>,
    ) -> BoxFuture<'a, Result<Option<ProvidedToken>, SignInError>> {
        Box::pin(async move {
            Err(SignInError::SignInNeeded {
                server: super::roots::server_root_of(service_url).to_string(),
                reason: "the service refused the pasted token, which cannot be renewed".into(),
            })
        })
    }
}
