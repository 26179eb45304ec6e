//! Discovery: from any URL a user gives (a FeatureServer or layer, a server root, `rest/services`,
//! a portal, ArcGIS Online or an organisation) to a [`SignInPlan`], by reading the server's
//! `rest/info` and the portal's `sharing/rest/info`. Token endpoints are taken from what the
//! servers state (`tokenServicesUrl`, `owningSystemUrl`), never guessed; only the OAuth
//! endpoints, which no info names, are the documented `sharing/rest/oauth2/…` of the portal.
//! No secret is sent here.

use super::error::SignInError;
use super::http::{Failure, SignInHttp};
use super::roots::{UrlShape, is_arcgis_online, join, shape_of};
use super::wire::InfoReply;
use url::Url;

/// How to sign in for a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInPlan {
    /// The server does not use tokens: no sign-in needed.
    NotNeeded { server_root: Url },
    /// A standalone ArcGIS Server with its own users: generateToken at `token_url`.
    Server(ServerSignIn),
    /// A portal (ArcGIS Online or Enterprise): OAuth or generateToken at the portal; with
    /// `federated_server` when the URL was a server federated with it.
    Portal(Box<PortalSignIn>),
}

/// A standalone server's token service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSignIn {
    pub server_root: Url,
    /// Its generateToken endpoint, as `rest/info` states it.
    pub token_url: Url,
    /// Minutes a short-lived token lasts there, when the server says.
    pub short_lived_minutes: Option<i64>,
}

/// A portal's sign-in endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portal {
    /// The portal root (`https://www.arcgis.com`, `https://gis.example.com/portal`).
    pub root: Url,
    /// generateToken, as `sharing/rest/info` states it; `None` where the portal names none
    /// (OAuth only).
    pub token_url: Option<Url>,
    pub authorize_url: Url,
    pub oauth_token_url: Url,
}

impl Portal {
    /// True for ArcGIS Online and its organisations.
    pub fn is_arcgis_online(&self) -> bool {
        is_arcgis_online(&self.root)
    }
}

/// A portal sign-in, and the server the URL named if it was federated with the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSignIn {
    pub portal: Portal,
    pub federated_server: Option<Url>,
}

impl SignInPlan {
    /// The host a technician signs in to, for a dialog's title.
    pub fn sign_in_host(&self) -> Option<&str> {
        match self {
            SignInPlan::NotNeeded { .. } => None,
            SignInPlan::Server(s) => s.token_url.host_str(),
            SignInPlan::Portal(p) => p.portal.root.host_str(),
        }
    }
}

/// Reads the servers behind `url` and decides how to sign in.
pub async fn discover(http: &SignInHttp, url: &str) -> Result<SignInPlan, SignInError> {
    let parsed = parse_user_url(url)?;
    match shape_of(&parsed) {
        UrlShape::Server(root) => {
            let info = server_info(http, &root).await?;
            plan_for_server(http, root, info).await
        }
        UrlShape::Portal(root) => Ok(SignInPlan::Portal(Box::new(PortalSignIn {
            portal: portal_at(http, &root).await?,
            federated_server: None,
        }))),
        UrlShape::Unknown(root) => match server_info(http, &root).await {
            Ok(info) => plan_for_server(http, root, info).await,
            // The user decides about the certificate before anything else is tried.
            Err(refused @ SignInError::UntrustedCertificate(_)) => Err(refused),
            Err(as_server) => match portal_at(http, &root).await {
                Ok(portal) => Ok(SignInPlan::Portal(Box::new(PortalSignIn {
                    portal,
                    federated_server: None,
                }))),
                Err(as_portal) => Err(SignInError::NotArcGis {
                    url: root.to_string(),
                    reason: format!("as a server: {as_server}; as a portal: {as_portal}"),
                }),
            },
        },
    }
}

/// The user's URL, checked: absolute http(s) with a host.
pub(super) fn parse_user_url(text: &str) -> Result<Url, SignInError> {
    crate::service::client::parse_http_url(text).map_err(|reason| SignInError::InvalidUrl {
        url: text.trim().to_string(),
        reason,
    })
}

/// `<root>/rest/info`, which must look like a server's (it names a version).
pub(super) async fn server_info(http: &SignInHttp, root: &Url) -> Result<InfoReply, SignInError> {
    let url = join(root, &["rest", "info"]);
    let info: InfoReply = read_info(http, "server info", &url).await?;
    if info.current_version.is_none() && info.auth_info.is_none() {
        return Err(SignInError::NotArcGis {
            url: root.to_string(),
            reason: "its rest/info names no currentVersion".into(),
        });
    }
    Ok(info)
}

async fn read_info(
    http: &SignInHttp,
    operation: &'static str,
    url: &Url,
) -> Result<InfoReply, SignInError> {
    http.get_json(operation, url).await.map_err(|f| match f {
        Failure::Refused(error) => SignInError::NotArcGis {
            url: url.to_string(),
            reason: error.summary(),
        },
        Failure::Other(e) => e,
    })
}

/// The plan for a server from its `rest/info`.
async fn plan_for_server(
    http: &SignInHttp,
    root: Url,
    info: InfoReply,
) -> Result<SignInPlan, SignInError> {
    let auth = info.auth_info.clone().unwrap_or_default();
    if !auth.is_token_based_security {
        return Ok(SignInPlan::NotNeeded { server_root: root });
    }
    if let Some(owner) = owning_system(&root, &info)? {
        return Ok(SignInPlan::Portal(Box::new(PortalSignIn {
            portal: portal_at(http, &owner).await?,
            federated_server: Some(root),
        })));
    }
    let stated = auth
        .token_services_url
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| SignInError::NoTokenService {
            server: root.to_string(),
        })?;
    Ok(SignInPlan::Server(ServerSignIn {
        token_url: generate_token_url(&root, stated)?,
        short_lived_minutes: auth.short_lived_token_validity,
        server_root: root,
    }))
}

/// The portal a server is federated with, from its `owningSystemUrl`.
pub(super) fn owning_system(root: &Url, info: &InfoReply) -> Result<Option<Url>, SignInError> {
    let Some(text) = info
        .owning_system_url
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(None);
    };
    let owner = root.join(text.trim()).map_err(|e| SignInError::NotArcGis {
        url: root.to_string(),
        reason: format!("its owningSystemUrl {text:?} is not a URL: {e}"),
    })?;
    Ok(Some(match shape_of(&owner) {
        UrlShape::Portal(portal) | UrlShape::Unknown(portal) | UrlShape::Server(portal) => portal,
    }))
}

/// The generateToken URL from a stated `tokenServicesUrl`, resolved against the server. Servers
/// state either the endpoint itself (`…/tokens/generateToken`) or its folder (`…/tokens/`); the
/// endpoint of a folder is its `generateToken`, as Esri documents.
fn generate_token_url(root: &Url, stated: &str) -> Result<Url, SignInError> {
    let url = root
        .join(stated.trim())
        .map_err(|e| SignInError::NotArcGis {
            url: root.to_string(),
            reason: format!("its tokenServicesUrl {stated:?} is not a URL: {e}"),
        })?;
    let ends_with_endpoint = url
        .path_segments()
        .and_then(|mut s| s.rfind(|p| !p.is_empty()))
        .is_some_and(|last| last.eq_ignore_ascii_case("generateToken"));
    Ok(if ends_with_endpoint {
        url
    } else {
        join(&url, &["generateToken"])
    })
}

/// The portal at `root`: its `sharing/rest/info` and endpoints.
pub(super) async fn portal_at(http: &SignInHttp, root: &Url) -> Result<Portal, SignInError> {
    let info = read_info(
        http,
        "portal info",
        &join(root, &["sharing", "rest", "info"]),
    )
    .await?;
    if info.auth_info.is_none() && info.owning_system_url.is_none() {
        return Err(SignInError::NotArcGis {
            url: root.to_string(),
            reason: "its sharing/rest/info names no authInfo".into(),
        });
    }
    let token_url = info
        .auth_info
        .and_then(|a| a.token_services_url)
        .filter(|t| !t.trim().is_empty())
        .map(|t| generate_token_url(root, &t))
        .transpose()?;
    Ok(Portal {
        authorize_url: join(root, &["sharing", "rest", "oauth2", "authorize"]),
        oauth_token_url: join(root, &["sharing", "rest", "oauth2", "token"]),
        token_url,
        root: root.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    /// Stated token services are used as stated; a folder gets its generateToken.
    #[test]
    fn token_urls_are_taken_from_what_the_server_states() {
        let root = url("https://gis.example.com/server");
        assert_eq!(
            generate_token_url(&root, "https://gis.example.com/server/tokens/")
                .unwrap()
                .as_str(),
            "https://gis.example.com/server/tokens/generateToken"
        );
        assert_eq!(
            generate_token_url(&root, "https://gis.example.com/wa/tokens/generateToken")
                .unwrap()
                .as_str(),
            "https://gis.example.com/wa/tokens/generateToken"
        );
        assert_eq!(
            generate_token_url(
                &root,
                "https://gis.example.com/portal/sharing/rest/generateToken"
            )
            .unwrap()
            .as_str(),
            "https://gis.example.com/portal/sharing/rest/generateToken"
        );
        assert_eq!(
            generate_token_url(&root, "/server/tokens")
                .unwrap()
                .as_str(),
            "https://gis.example.com/server/tokens/generateToken"
        );
    }

    /// owningSystemUrl names the portal root, whether or not it ends in sharing/rest.
    #[test]
    fn owning_system_is_the_portal_root() {
        let root = url("https://gis.example.com/server");
        let info = |owner: Option<&str>| InfoReply {
            owning_system_url: owner.map(str::to_string),
            ..InfoReply::default()
        };
        assert_eq!(owning_system(&root, &info(None)).unwrap(), None);
        assert_eq!(owning_system(&root, &info(Some(" "))).unwrap(), None);
        assert_eq!(
            owning_system(&root, &info(Some("https://gis.example.com/portal"))).unwrap(),
            Some(url("https://gis.example.com/portal"))
        );
        assert_eq!(
            owning_system(
                &root,
                &info(Some("https://gis.example.com/portal/sharing/rest"))
            )
            .unwrap(),
            Some(url("https://gis.example.com/portal"))
        );
        for bad in ["", "ftp://x", "x"] {
            assert!(parse_user_url(bad).is_err(), "{bad}");
        }
    }
}
