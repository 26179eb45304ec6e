//! The authorization request of a browser sign-in: where the portal sends the browser back
//! ([`Redirect`]: a loopback listener on 127.0.0.1, or `urn:ietf:wg:oauth:2.0:oob` where the
//! user copies the code) and the `oauth2/authorize` URL with `client_id`, `response_type=code`,
//! `redirect_uri`, `state`, the S256 `code_challenge` and `expiration`. Building only; opening
//! the browser is the caller's job.

use super::pkce::{Pkce, State};
use url::Url;

/// The redirect URI of the paste-the-code flow.
pub const OUT_OF_BAND: &str = "urn:ietf:wg:oauth:2.0:oob";

/// Where the browser is sent with the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// `http://127.0.0.1:<port><path>`; port 0 picks a free one (the app's registration must
    /// then allow any port).
    Loopback { port: u16, path: String },
    /// The portal shows the code and the user pastes it.
    OutOfBand,
}

impl Redirect {
    /// A loopback redirect to `/` on a free port.
    pub fn loopback() -> Redirect {
        Redirect::Loopback {
            port: 0,
            path: "/".into(),
        }
    }
}

/// The redirect URI for a loopback listener bound to `port`.
pub fn loopback_uri(port: u16, path: &str) -> String {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    format!("http://127.0.0.1:{port}{path}")
}

/// The authorize URL: `authorize_url?client_id&response_type=code&redirect_uri&state&
/// code_challenge&code_challenge_method=S256&expiration` (the refresh token's minutes).
pub fn authorize_url(
    authorize_url: &Url,
    client_id: &str,
    redirect_uri: &str,
    state: &State,
    pkce: &Pkce,
    refresh_minutes: u32,
) -> Url {
    let mut url = authorize_url.clone();
    url.query_pairs_mut()
        .clear()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state.as_str())
        .append_pair("code_challenge", pkce.challenge())
        .append_pair("code_challenge_method", pkce.method())
        .append_pair("expiration", &refresh_minutes.to_string());
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Every parameter ArcGIS needs, encoded, and no verifier.
    #[test]
    fn authorize_url_carries_the_challenge_not_the_verifier() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let state = State::new_random();
        let base = Url::parse("https://www.arcgis.com/sharing/rest/oauth2/authorize").unwrap();
        let redirect = loopback_uri(53682, "callback");
        let url = authorize_url(&base, "abc123", &redirect, &state, &pkce, 20160);
        assert!(
            url.as_str()
                .starts_with("https://www.arcgis.com/sharing/rest/oauth2/authorize?")
        );
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(query["client_id"], "abc123");
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["redirect_uri"], "http://127.0.0.1:53682/callback");
        assert_eq!(query["state"], state.as_str());
        assert_eq!(
            query["code_challenge"],
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["expiration"], "20160");
        assert_eq!(query.len(), 7);
        assert!(!url.as_str().contains(pkce.verifier()));
        let oob = authorize_url(&base, "abc123", OUT_OF_BAND, &state, &pkce, 60);
        assert!(
            oob.as_str()
                .contains("redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob")
        );
    }
}
