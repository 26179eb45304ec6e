//! [`SignInError`]: why discovering, signing in or renewing a token failed, each as one line a
//! technician can act on (the server's own message is kept, on the same line). Also how such a
//! failure becomes a [`ServiceClientError`] when it happens in the middle of a service call: a
//! passing network problem stays retryable, anything else is "sign-in needed". Secrets never
//! appear in these messages; URLs here never carry a token.

use crate::protocol::ServiceError;
use crate::protocol::catalog::TransportKind;
use crate::service::ServiceClientError;

/// Why a sign-in step failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("{url:?} is not a URL to sign in to: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A password, token or code would travel over plain HTTP to another computer.
    #[error(
        "refusing to send {what} over plain HTTP to {host}: use https:// (plain http is allowed only to this computer)"
    )]
    InsecureTransport { what: &'static str, host: String },
    #[error("{operation}: {} ({detail}) — {url}", kind.title())]
    Transport {
        operation: &'static str,
        kind: TransportKind,
        status: Option<u16>,
        detail: String,
        url: String,
    },
    /// The server's TLS certificate could not be verified; nothing was sent. The line is the
    /// service client's (with the presented certificate's SHA-256 fingerprint), so a front end
    /// offers to trust it the same way.
    #[error(transparent)]
    UntrustedCertificate(Box<ServiceClientError>),
    #[error(
        "{operation}: the reply is not what ArcGIS sends ({reason}); it began with {snippet:?} — {url}"
    )]
    Malformed {
        operation: &'static str,
        reason: String,
        snippet: String,
        url: String,
    },
    #[error("{url} is neither an ArcGIS Server nor a portal: {reason}")]
    NotArcGis { url: String, reason: String },
    /// The server says it uses tokens but not where to get one.
    #[error("{server} uses tokens but names no token service in its rest/info")]
    NoTokenService { server: String },
    #[error("{host} refused the sign-in: wrong username or password — {message}")]
    InvalidCredentials { host: String, message: String },
    #[error("{host} refused the sign-in: no such user — {message}")]
    UnknownUser { host: String, message: String },
    #[error(
        "{host} refused the sign-in: the account is locked out for now, try again later — {message}"
    )]
    LockedOut { host: String, message: String },
    /// Any other refusal of a sign-in step, with the server's words.
    #[error("{operation} refused by {host}: {message}")]
    Refused {
        operation: &'static str,
        host: String,
        message: String,
        code: Option<i64>,
    },
    /// The loopback redirect carried a `state` this sign-in did not send.
    #[error(
        "the browser's answer was not for this sign-in (its state did not match); sign in again"
    )]
    StateMismatch,
    /// The portal sent the browser back with an error instead of a code.
    #[error("the browser sign-in was not completed: {error}{}", description_suffix(.description))]
    AuthorizationDenied { error: String, description: String },
    #[error("no answer from the browser sign-in within {seconds} s")]
    TimedOut { seconds: u64 },
    #[error("could not listen on 127.0.0.1:{port} for the browser's answer: {source}")]
    Listener {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// The server belongs to another portal (or to none) than the one signed in to.
    #[error("{server} is not federated with {portal}, where you are signed in ({owner})")]
    NotFederated {
        server: String,
        portal: String,
        owner: String,
    },
    /// This sign-in cannot mint a token any more (refused, expired refresh token, nothing to
    /// renew with): the user has to sign in again.
    #[error("sign-in needed for {server}: {reason}")]
    SignInNeeded { server: String, reason: String },
}

fn description_suffix(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(" — {description}")
    }
}

impl SignInError {
    /// Worth trying again unchanged later: the network or the server had a passing problem.
    pub fn is_transient(&self) -> bool {
        match self {
            SignInError::Transport { kind, status, .. } => match kind {
                TransportKind::HttpStatus => {
                    status.is_none_or(|s| s >= 500 || s == 408 || s == 429)
                }
                _ => true,
            },
            SignInError::Malformed { .. } => true,
            SignInError::Refused { code, .. } => {
                crate::service::error::is_transient_service_code(*code)
            }
            _ => false,
        }
    }

    /// The SHA-256 fingerprint of a server certificate that was not trusted.
    pub fn untrusted_certificate_fingerprint(&self) -> Option<&str> {
        match self {
            SignInError::UntrustedCertificate(refusal) => {
                refusal.untrusted_certificate_fingerprint()
            }
            _ => None,
        }
    }

    /// A refusal of the credentials themselves (as opposed to a network or server problem).
    pub fn is_credentials_refused(&self) -> bool {
        matches!(
            self,
            SignInError::InvalidCredentials { .. }
                | SignInError::UnknownUser { .. }
                | SignInError::LockedOut { .. }
        )
    }

    /// The failure as a service call sees it: retryable while the network or the server has a
    /// passing problem, [`ServiceClientError::SignInNeeded`] otherwise.
    pub fn into_service_error(self, operation: &'static str, server: &str) -> ServiceClientError {
        match self {
            SignInError::Transport {
                kind,
                status,
                detail,
                url,
                ..
            } if self_is_transient(kind, status) => ServiceClientError::Transport {
                operation,
                kind,
                status,
                detail: format!("renewing the sign-in: {detail}"),
                url,
            },
            SignInError::Malformed {
                reason, snippet, ..
            } => ServiceClientError::Malformed {
                operation,
                reason: format!("renewing the sign-in: {reason}"),
                snippet,
            },
            SignInError::UntrustedCertificate(refusal) => *refusal,
            SignInError::SignInNeeded { server, reason } => ServiceClientError::SignInNeeded {
                operation,
                server,
                reason,
                code: None,
            },
            other => ServiceClientError::SignInNeeded {
                operation,
                server: server.to_string(),
                reason: other.to_string(),
                code: None,
            },
        }
    }
}

fn self_is_transient(kind: TransportKind, status: Option<u16>) -> bool {
    match kind {
        TransportKind::HttpStatus => status.is_none_or(|s| s >= 500 || s == 408 || s == 429),
        _ => true,
    }
}

/// What a refused sign-in means, read from the server's error envelope. ArcGIS answers a wrong
/// password and an unknown user alike ("Invalid username or password."), so an unknown user is
/// only named when the server says so.
pub(super) fn credentials_refusal(host: &str, error: &ServiceError) -> SignInError {
    let message = one_line(&error.summary());
    let text = message.to_ascii_lowercase();
    let host = host.to_string();
    if text.contains("locked")
        || text.contains("too many")
        || text.contains("try again later")
        || error.code == Some(429)
    {
        SignInError::LockedOut { host, message }
    } else if text.contains("does not exist")
        || text.contains("not found")
        || text.contains("unknown user")
        || text.contains("no such user")
    {
        SignInError::UnknownUser { host, message }
    } else if text.contains("invalid username or password")
        || text.contains("invalid credentials")
        || text.contains("incorrect")
        || text.contains("password")
    {
        SignInError::InvalidCredentials { host, message }
    } else {
        SignInError::Refused {
            operation: "sign-in",
            host,
            message,
            code: error.code,
        }
    }
}

/// Text on one line: line breaks and runs of blanks become one space.
pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(code: i64, message: &str, details: &[&str]) -> ServiceError {
        ServiceError::new(
            code,
            message,
            details.iter().map(|d| d.to_string()).collect(),
        )
    }

    /// ArcGIS's refusals become the typed errors, each one line with the server's words.
    #[test]
    fn refusals_are_classified_with_the_servers_message() {
        let wrong = credentials_refusal(
            "portal.example.com",
            &envelope(
                400,
                "Unable to generate token.",
                &["Invalid username or password."],
            ),
        );
        assert!(matches!(wrong, SignInError::InvalidCredentials { .. }));
        let text = wrong.to_string();
        assert!(text.contains("Invalid username or password."), "{text}");
        assert!(text.contains("portal.example.com"), "{text}");
        assert!(!text.contains('\n'));

        let locked = credentials_refusal(
            "h",
            &envelope(
                400,
                "Unable to generate token.",
                &["Too many invalid logon attempts. Please try again later."],
            ),
        );
        assert!(matches!(locked, SignInError::LockedOut { .. }), "{locked}");

        let unknown = credentials_refusal("h", &envelope(400, "User does not exist.", &[]));
        assert!(
            matches!(unknown, SignInError::UnknownUser { .. }),
            "{unknown}"
        );

        let other = credentials_refusal("h", &envelope(403, "Token generation is disabled.", &[]));
        assert!(matches!(
            other,
            SignInError::Refused {
                code: Some(403),
                ..
            }
        ));
        assert!(!other.is_transient());
    }

    /// Mid-call, a network problem stays retryable and everything else is "sign-in needed".
    #[test]
    fn renewal_failures_become_service_errors() {
        let offline = SignInError::Transport {
            operation: "generateToken",
            kind: TransportKind::ConnectionLost,
            status: None,
            detail: "connection refused".into(),
            url: "https://portal/sharing/rest/generateToken".into(),
        };
        assert!(offline.is_transient());
        let e = offline.into_service_error("synchronizeReplica", "https://h/arcgis");
        assert!(e.is_transient());
        assert!(!e.is_sign_in_needed());

        let refused = SignInError::InvalidCredentials {
            host: "h".into(),
            message: "Invalid username or password.".into(),
        };
        let e = refused.into_service_error("synchronizeReplica", "https://h/arcgis");
        assert!(e.is_sign_in_needed());
        assert!(!e.is_transient());
        assert!(e.transport_kind().is_none());
        assert!(!e.needs_client_reset());
        assert!(e.to_string().contains("sign-in needed"), "{e}");
    }
}
