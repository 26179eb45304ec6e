//! The REST error envelope `{"error":{code,message,details,infos}}` and the typed failures of
//! reading a reply. A 200 response may still carry the envelope, so every reply type has an
//! `error` field and [`parse_reply`] turns it into `Err`.

use super::guid::{Guid, opt_guid};
use super::lenient::{opt_int_or_text, string_or_list};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The body of `{"error": …}`: an operation the service refused or could not complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServiceError {
    /// REST error code: HTTP-like (400, 404, 498, 499, 500) or a replica-level 3000-series code.
    #[serde(default, deserialize_with = "opt_int_or_text")]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
    #[serde(default, deserialize_with = "string_or_list")]
    pub details: Vec<String>,
    /// With `rollbackOnFailure=true`: the edit that failed and rolled everything back.
    #[serde(default, deserialize_with = "infos_lenient")]
    pub infos: Vec<ErrorInfo>,
}

impl ServiceError {
    pub fn new(code: i64, message: impl Into<String>, details: Vec<String>) -> Self {
        ServiceError {
            code: Some(code),
            message: message.into(),
            details,
            infos: Vec::new(),
        }
    }

    /// Message and details in one line, as a person should read them.
    pub fn summary(&self) -> String {
        let mut text = self.message.trim().to_string();
        for d in &self.details {
            let d = d.trim();
            if !d.is_empty() && !text.contains(d) {
                if !text.is_empty() {
                    text.push_str(" — ");
                }
                text.push_str(d);
            }
        }
        match self.code {
            Some(code) => format!("{text} (code {code})"),
            None => text,
        }
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

/// One entry of `error.infos`: the failed edit behind a rolled-back sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ErrorInfo {
    #[serde(
        rename = "errorCode",
        alias = "code",
        default,
        deserialize_with = "opt_int_or_text"
    )]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub description: String,
    #[serde(
        rename = "layerId",
        alias = "layerID",
        default,
        deserialize_with = "opt_int_or_text"
    )]
    pub layer_id: Option<i64>,
    #[serde(
        rename = "objectGUID",
        alias = "objectGuid",
        alias = "globalId",
        default,
        deserialize_with = "opt_guid"
    )]
    pub object_guid: Option<Guid>,
    /// 0 = feature/row, 1 = attachment.
    #[serde(rename = "objectType", default, deserialize_with = "opt_int_or_text")]
    pub object_type: Option<i64>,
}

fn infos_lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ErrorInfo>, D::Error> {
    let raw = Option::<Vec<serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => ErrorInfo {
                description: s,
                ..Default::default()
            },
            other => serde_json::from_value(other.clone()).unwrap_or_else(|_| ErrorInfo {
                description: other.to_string(),
                ..Default::default()
            }),
        })
        .collect())
}

/// Wraps a [`ServiceError`] as `{"error": …}` for servers to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ServiceError,
}

/// Why a reply body could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplyError {
    /// The service answered with the error envelope.
    #[error("the service refused the request: {0}")]
    Service(ServiceError),
    /// The body is not the JSON we expected (an HTML error page, a truncated body, wrong types).
    #[error(
        "the service sent a reply that is not valid sync JSON ({reason}); first bytes: {snippet:?}"
    )]
    Malformed { reason: String, snippet: String },
}

/// Reply types that carry the optional `error` member of the envelope.
pub trait CarriesServiceError {
    fn take_service_error(&mut self) -> Option<ServiceError>;
}

/// Parses a reply body; an `{"error": …}` body becomes [`ReplyError::Service`], anything that is not
/// the expected JSON becomes [`ReplyError::Malformed`]. Never panics on any input.
pub fn parse_reply<T: DeserializeOwned + CarriesServiceError>(
    body: &[u8],
) -> Result<T, ReplyError> {
    // Checking the text once up front spares serde_json a UTF-8 check per string (replies carry
    // a million GlobalIDs); bytes that are not UTF-8 get serde_json's own error below.
    let parsed = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str::<T>(text),
        Err(_) => serde_json::from_slice::<T>(body),
    };
    match parsed {
        Ok(mut reply) => match reply.take_service_error() {
            Some(err) => Err(ReplyError::Service(err)),
            None => Ok(reply),
        },
        Err(e) => {
            // A body with a well-formed envelope but an unexpected rest is still the service's error.
            if let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(body) {
                return Err(ReplyError::Service(env.error));
            }
            Err(malformed(e.to_string(), body))
        }
    }
}

/// A [`ReplyError::Malformed`] with a short, printable excerpt of the body.
pub fn malformed(reason: String, body: &[u8]) -> ReplyError {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    let snippet: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    ReplyError::Malformed {
        reason,
        snippet: snippet.trim().to_string(),
    }
}

/// A reply that is only `{"success": bool}` or the envelope (unRegisterReplica, admin calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SuccessReply {
    #[serde(default, deserialize_with = "super::lenient::bool_or_text")]
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

impl CarriesServiceError for SuccessReply {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Anything {
        #[serde(default)]
        error: Option<ServiceError>,
    }
    impl CarriesServiceError for Anything {
        fn take_service_error(&mut self) -> Option<ServiceError> {
            self.error.take()
        }
    }

    /// Seed 004: synchronizeReplica of an unregistered replica.
    #[test]
    fn seed_replica_missing_envelope() {
        let body = br#"{"error":{"code":404,"message":"Unable to complete operation.",
            "details":["Replica with this GUID does not exist on the server"],"infos":[]}}"#;
        let Err(ReplyError::Service(e)) = parse_reply::<Anything>(body) else {
            panic!("expected a service error")
        };
        assert_eq!(e.code, Some(404));
        assert_eq!(
            e.details,
            vec!["Replica with this GUID does not exist on the server"]
        );
        let again: ErrorEnvelope = serde_json::from_str(
            &serde_json::to_string(&ErrorEnvelope { error: e.clone() }).unwrap(),
        )
        .unwrap();
        assert_eq!(again.error, e);
    }

    /// Seed 004: rollbackOnFailure=true names the failed edit in `infos`.
    #[test]
    fn seed_rollback_envelope_names_the_failed_edit() {
        let body = br#"{"error":{"code":400,"message":" Operation rolled back.","details":[],
            "infos":[{"errorCode":1001,"description":"Field: <value> is not nullable. Cannot set null value.",
            "layerId":7,"objectGUID":"{419d227b-2a61-43c4-8884-4b7b5bf3eabb}","objectType":0}]}}"#;
        let Err(ReplyError::Service(e)) = parse_reply::<Anything>(body) else {
            panic!("expected a service error")
        };
        assert_eq!(e.infos.len(), 1);
        let info = &e.infos[0];
        assert_eq!(info.error_code, Some(1001));
        assert_eq!(info.layer_id, Some(7));
        assert_eq!(info.object_type, Some(0));
        assert_eq!(
            info.object_guid.as_ref().unwrap().as_str(),
            "{419D227B-2A61-43C4-8884-4B7B5BF3EABB}"
        );
        let text = serde_json::to_string(&ErrorEnvelope { error: e.clone() }).unwrap();
        assert!(text.contains("\"errorCode\":1001") && text.contains("\"objectGUID\""));
        assert_eq!(
            serde_json::from_str::<ErrorEnvelope>(&text).unwrap().error,
            e
        );
    }

    #[test]
    fn html_and_truncated_bodies_are_malformed_not_panics() {
        for body in [
            &b"<html><body>Proxy Error</body></html>"[..],
            &br#"{"error":{"code":40"#[..],
            &b""[..],
            &[0xff, 0xfe, 0x00][..],
        ] {
            match parse_reply::<Anything>(body) {
                Err(ReplyError::Malformed { .. }) => {}
                other => panic!("{body:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn details_as_string_and_code_as_text() {
        let e: ErrorEnvelope = serde_json::from_str(
            r#"{"error":{"code":"498","message":"Invalid token.","details":"Token expired"}}"#,
        )
        .unwrap();
        assert_eq!(e.error.code, Some(498));
        assert_eq!(
            e.error.summary(),
            "Invalid token. — Token expired (code 498)"
        );
    }
}
