//! [`SignInHttp`]: the HTTP client of the sign-in steps. It follows no redirect (a 307 would
//! resend a password to wherever it points; ArcGIS's token endpoints answer in place), sends a
//! secret only where [`require_secure`](super::secure_url::require_secure) allows, POSTs every
//! secret in the form body (never in a URL), reads replies up to a small limit and turns the
//! error envelope into `Err`. It logs URLs, never a form. It trusts the same certificates as
//! the service client (the system's roots plus `ClientConfig::ca_certificates`) and reports a
//! refused certificate by its SHA-256 fingerprint, before any byte of a form is sent.

use super::error::SignInError;
use super::secure_url::require_secure;
use crate::protocol::catalog::TransportKind;
use crate::protocol::{CarriesServiceError, ReplyError, ServiceError, parse_reply};
use crate::service::{ClientConfig, ServiceClientError};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use url::Url;

/// Largest sign-in reply read (rest/info, token replies are a few hundred bytes).
const MAX_REPLY_BYTES: usize = 1 << 20;

/// A failed sign-in request: the server's own refusal, kept apart so each step can name it.
#[derive(Debug)]
pub(super) enum Failure {
    /// The server answered with its error envelope (in a 200 reply or another status).
    Refused(ServiceError),
    Other(SignInError),
}

impl From<SignInError> for Failure {
    fn from(e: SignInError) -> Self {
        Failure::Other(e)
    }
}

/// Whether a malformed reply's first bytes may be quoted in the error: not for replies to a
/// sign-in, which may hold a token in a shape we could not read.
#[derive(Debug, Clone, Copy)]
enum Snippet {
    Shown,
    Hidden,
}

/// The sign-in client. Cheap to clone.
#[derive(Clone)]
pub struct SignInHttp {
    client: reqwest::Client,
}

impl std::fmt::Debug for SignInHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInHttp")
    }
}

impl SignInHttp {
    /// A client with the timeouts of `config`, trusting its certificates besides the system's.
    pub fn new(config: &ClientConfig) -> Result<SignInHttp, SignInError> {
        let setup_failed = |e: reqwest::Error| SignInError::InvalidUrl {
            url: String::new(),
            reason: format!("could not set up the HTTP client: {e}"),
        };
        let mut builder = reqwest::Client::builder();
        for ca in &config.ca_certificates {
            let certificate = reqwest::Certificate::from_der(ca.der()).map_err(setup_failed)?;
            builder = builder.add_root_certificate(certificate);
        }
        let client = builder
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("syncwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(setup_failed)?;
        Ok(SignInHttp { client })
    }

    /// `GET url?f=json` without any secret.
    pub(super) async fn get_json<T: DeserializeOwned + CarriesServiceError>(
        &self,
        operation: &'static str,
        url: &Url,
    ) -> Result<T, Failure> {
        tracing::debug!(operation, url = %url, "sign-in request");
        let request = self.client.get(url.clone()).query(&[("f", "json")]);
        self.read(operation, url, request, Snippet::Shown).await
    }

    /// POSTs `form` (which carries `what`: a password, a token…) to `url`, after checking the
    /// secret may go there. `f=json` is added.
    pub(super) async fn post_secret<T: DeserializeOwned + CarriesServiceError>(
        &self,
        operation: &'static str,
        what: &'static str,
        url: &Url,
        form: &[(&str, &str)],
    ) -> Result<T, Failure> {
        require_secure(url, what)?;
        tracing::debug!(operation, url = %url, "sign-in request");
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        pairs.push(("f", "json"));
        let request = self.client.post(url.clone()).form(&pairs);
        self.read(operation, url, request, Snippet::Hidden).await
    }

    async fn read<T: DeserializeOwned + CarriesServiceError>(
        &self,
        operation: &'static str,
        url: &Url,
        request: reqwest::RequestBuilder,
        snippet_shown: Snippet,
    ) -> Result<T, Failure> {
        let transport = |kind, status: Option<u16>, detail: String| {
            Failure::Other(SignInError::Transport {
                operation,
                kind,
                status,
                detail,
                url: url.to_string(),
            })
        };
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Err(send_failure(operation, url, &e, transport).await),
        };
        let status = response.status();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_REPLY_BYTES => {
                    body.extend_from_slice(&chunk)
                }
                Ok(Some(_)) => {
                    return Err(transport(
                        TransportKind::MalformedReply,
                        Some(status.as_u16()),
                        format!("the reply is larger than {MAX_REPLY_BYTES} bytes"),
                    ));
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(transport(
                        TransportKind::ConnectionLost,
                        None,
                        error_chain(&e),
                    ));
                }
            }
        }
        match (status == StatusCode::OK, parse_reply::<T>(&body)) {
            (_, Err(ReplyError::Service(error))) => Err(Failure::Refused(error)),
            (true, Ok(reply)) => Ok(reply),
            (false, _) => Err(transport(
                TransportKind::HttpStatus,
                Some(status.as_u16()),
                format!("HTTP {status}"),
            )),
            (true, Err(ReplyError::Malformed { reason, snippet })) => {
                let (reason, snippet) = match snippet_shown {
                    Snippet::Shown => (reason, snippet),
                    Snippet::Hidden => (
                        without_values(&reason),
                        "(not shown: a sign-in reply may carry a token)".into(),
                    ),
                };
                Err(Failure::Other(SignInError::Malformed {
                    operation,
                    reason,
                    snippet,
                    url: url.to_string(),
                }))
            }
        }
    }
}

/// A parser's message with the values it quotes (`"…"`, `` `…` ``) left out.
fn without_values(reason: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in reason.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// A reqwest error's causes on one line, without reqwest's "for url (…)".
fn error_chain(e: &reqwest::Error) -> String {
    crate::service::error::transport_detail(e, false)
}

/// A request that got no answer: an untrusted certificate (with the presented certificate's
/// fingerprint, read by a handshake that sends nothing), a timeout or a lost connection.
async fn send_failure(
    operation: &'static str,
    url: &Url,
    e: &reqwest::Error,
    transport: impl Fn(TransportKind, Option<u16>, String) -> Failure,
) -> Failure {
    if let Some(reason) = crate::service::error::certificate_refusal(e) {
        return Failure::Other(SignInError::UntrustedCertificate(Box::new(
            ServiceClientError::UntrustedCertificate {
                operation,
                reason,
                fingerprint_sha256: crate::service::trust::presented_fingerprint(url).await,
                url: url.to_string(),
            },
        )));
    }
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::ConnectionLost
    };
    transport(kind, None, error_chain(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a parser quotes from a sign-in reply (a token, maybe) is not repeated in the error.
    #[test]
    fn quoted_values_are_left_out() {
        assert_eq!(
            without_values("invalid type: string \"SECRET-TOKEN\", expected i64 at line 1"),
            "invalid type: string \"…\", expected i64 at line 1"
        );
        assert_eq!(without_values("integer `123`, x"), "integer `…`, x");
        assert_eq!(without_values("plain"), "plain");
    }
}
