//! The one rule for where a secret may travel: a password, token, code or refresh token is sent
//! over HTTPS, or over plain HTTP only to this computer (a loopback address or `localhost`), as
//! the ArcGIS API for Python insists. Plain checks on URLs; nothing here talks to the network.

use super::error::SignInError;
use std::net::IpAddr;
use url::{Host, Url};

/// True when `url` points at this computer: 127.0.0.0/8, ::1 or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

/// `Ok` when `what` (a password, a token…) may be sent to `url`; the refusal names the host.
pub fn require_secure(url: &Url, what: &'static str) -> Result<(), SignInError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(SignInError::InsecureTransport {
            what,
            host: url.host_str().unwrap_or("").to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    /// HTTPS anywhere; plain HTTP only to this computer, with a clear one-line refusal.
    #[test]
    fn plain_http_is_only_for_loopback() {
        for ok in [
            "https://www.arcgis.com/sharing/rest/generateToken",
            "http://127.0.0.1:8080/arcgis/tokens/generateToken",
            "http://127.8.9.10/x",
            "http://[::1]:9/x",
            "http://localhost:3000/x",
        ] {
            assert!(require_secure(&url(ok), "a password").is_ok(), "{ok}");
        }
        for bad in [
            "http://gis.example.com/arcgis/tokens/generateToken",
            "http://10.0.0.5/arcgis/tokens/generateToken",
            "http://[fe80::1]/x",
            "ftp://127.0.0.1/x",
        ] {
            let err = require_secure(&url(bad), "a password").unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("plain HTTP") && text.contains("https://"),
                "{text}"
            );
            assert!(!text.contains('\n'));
        }
        let err = require_secure(&url("http://gis.example.com/x"), "a password").unwrap_err();
        assert!(err.to_string().contains("gis.example.com"));
    }
}
