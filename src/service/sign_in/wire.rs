//! The replies of ArcGIS's sign-in endpoints, as this client reads them: a server's `rest/info`,
//! a portal's `sharing/rest/info`, generateToken's token and the OAuth 2.0 token endpoint's
//! reply. Lenient where ArcGIS varies (10.0's `tokenServiceUrl`, numbers sent as text, OAuth
//! errors as a bare string or inside the usual envelope). Shapes only; no I/O.

use crate::model::Secret;
use crate::protocol::lenient::opt_int_or_text;
use crate::protocol::{CarriesServiceError, ServiceError};
use serde::Deserialize;

/// `authInfo` of `rest/info` or `sharing/rest/info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthInfo {
    #[serde(default, deserialize_with = "crate::protocol::lenient::bool_or_text")]
    pub is_token_based_security: bool,
    /// Where generateToken is (10.0 spelled it `tokenServiceUrl`).
    #[serde(default, alias = "tokenServiceUrl")]
    pub token_services_url: Option<String>,
    /// Minutes a short-lived token lasts on this server.
    #[serde(default, deserialize_with = "opt_int_or_text")]
    pub short_lived_token_validity: Option<i64>,
}

/// `GET <server>/rest/info?f=json` and `GET <portal>/sharing/rest/info?f=json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoReply {
    #[serde(default)]
    pub current_version: Option<serde_json::Value>,
    /// Present when the server is federated with a portal (and in a portal's own info).
    #[serde(default)]
    pub owning_system_url: Option<String>,
    #[serde(default)]
    pub auth_info: Option<AuthInfo>,
    #[serde(default)]
    pub error: Option<ServiceError>,
}

impl CarriesServiceError for InfoReply {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

/// generateToken's reply: `{"token", "expires" (epoch ms), "ssl"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct GenerateTokenReply {
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default, deserialize_with = "opt_int_or_text")]
    pub expires: Option<i64>,
    #[serde(default)]
    pub error: Option<ServiceError>,
}

impl CarriesServiceError for GenerateTokenReply {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

/// `oauth2/token`'s reply to every grant: an access token (`expires_in` seconds), a refresh
/// token (`refresh_token_expires_in` seconds) for the code and exchange grants, the user.
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthTokenReply {
    #[serde(default)]
    pub access_token: Option<Secret>,
    #[serde(default, deserialize_with = "opt_int_or_text")]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default, deserialize_with = "opt_int_or_text")]
    pub refresh_token_expires_in: Option<i64>,
    #[serde(default)]
    pub username: Option<String>,
    /// ArcGIS sends `{"error":{"code":400,"error":"invalid_grant","error_description":…}}`;
    /// plain OAuth sends `"error":"invalid_grant"` beside `error_description`.
    #[serde(default)]
    pub error: Option<OAuthError>,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// The two spellings of an OAuth error.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OAuthError {
    Envelope(OAuthErrorBody),
    Code(String),
}

/// ArcGIS's OAuth error body: the envelope's fields plus OAuth's own.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OAuthErrorBody {
    #[serde(default, deserialize_with = "opt_int_or_text")]
    pub code: Option<i64>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "crate::protocol::lenient::string_or_list")]
    pub details: Vec<String>,
}

impl CarriesServiceError for OAuthTokenReply {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        let error = self.error.take()?;
        let (code, kind, description, message, details) = match error {
            OAuthError::Envelope(body) => (
                body.code,
                body.error,
                body.error_description,
                body.message,
                body.details,
            ),
            OAuthError::Code(kind) => (
                None,
                Some(kind),
                self.error_description.take(),
                None,
                vec![],
            ),
        };
        let mut details = details;
        let message = match (message, description) {
            (Some(m), Some(d)) if !m.contains(&d) => {
                details.insert(0, d);
                m
            }
            (Some(m), _) => m,
            (None, Some(d)) => d,
            (None, None) => kind.clone().unwrap_or_else(|| "refused".into()),
        };
        if let Some(kind) = kind
            && !message.contains(&kind)
            && !details.contains(&kind)
        {
            details.push(kind);
        }
        Some(ServiceError {
            code,
            message,
            details,
            infos: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ReplyError, parse_reply};

    /// rest/info in its current and its 10.0 spelling, federated or not.
    #[test]
    fn server_info_is_read_in_every_spelling() {
        let info: InfoReply = parse_reply(
            br#"{"currentVersion":11.1,"owningSystemUrl":"https://gis.example.com/portal",
                "authInfo":{"isTokenBasedSecurity":true,
                "tokenServicesUrl":"https://gis.example.com/portal/sharing/rest/generateToken",
                "shortLivedTokenValidity":"60"}}"#,
        )
        .unwrap();
        let auth = info.auth_info.unwrap();
        assert!(auth.is_token_based_security);
        assert_eq!(auth.short_lived_token_validity, Some(60));
        assert_eq!(
            info.owning_system_url.as_deref(),
            Some("https://gis.example.com/portal")
        );
        let old: InfoReply = parse_reply(
            br#"{"currentVersion":10.0,"authInfo":{"isTokenBasedSecurity":"true",
                "tokenServiceUrl":"https://h/arcgis/tokens/"}}"#,
        )
        .unwrap();
        let auth = old.auth_info.unwrap();
        assert!(auth.is_token_based_security);
        assert_eq!(
            auth.token_services_url.as_deref(),
            Some("https://h/arcgis/tokens/")
        );
        let open: InfoReply = parse_reply(br#"{"currentVersion":11.1}"#).unwrap();
        assert!(open.auth_info.is_none() && open.owning_system_url.is_none());
    }

    /// OAuth errors in ArcGIS's envelope and in plain OAuth's form both become the service error.
    #[test]
    fn oauth_errors_are_read_in_both_forms() {
        let arcgis = parse_reply::<OAuthTokenReply>(
            br#"{"error":{"code":400,"error":"invalid_grant","error_description":"Invalid code_verifier","message":"Invalid code_verifier","details":[]}}"#,
        )
        .unwrap_err();
        let ReplyError::Service(e) = arcgis else {
            panic!("not a service error")
        };
        assert_eq!(e.code, Some(400));
        assert!(
            e.summary().contains("Invalid code_verifier"),
            "{}",
            e.summary()
        );
        assert!(e.summary().contains("invalid_grant"), "{}", e.summary());

        let plain = parse_reply::<OAuthTokenReply>(
            br#"{"error":"invalid_grant","error_description":"refresh token expired"}"#,
        )
        .unwrap_err();
        let ReplyError::Service(e) = plain else {
            panic!("not a service error")
        };
        assert!(e.summary().contains("refresh token expired"));

        let ok: OAuthTokenReply = parse_reply(
            br#"{"access_token":"a","expires_in":1800,"refresh_token":"r","refresh_token_expires_in":1209600,"username":"tech1"}"#,
        )
        .unwrap();
        assert_eq!(ok.expires_in, Some(1800));
        assert_eq!(ok.refresh_token_expires_in, Some(1_209_600));
        assert!(!format!("{ok:?}").contains("\"a\""));
    }
}
