//! Where things are, read from a URL alone: the server root of a service URL (`…/arcgis` of
//! `…/arcgis/rest/services/Water/FeatureServer/0`), the portal root of a `…/sharing/rest/…` URL,
//! whether a host is ArcGIS Online, and whether a server's `owningSystemUrl` names a given
//! portal. No I/O; the discovery step asks the servers themselves.

use url::Url;

/// What a URL's path says it is, before asking the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlShape {
    /// A URL under a server's `rest/` (services, a FeatureServer, a layer, `rest/info`):
    /// the server root.
    Server(Url),
    /// A URL under a portal's `sharing/`: the portal root.
    Portal(Url),
    /// Neither: a root that may be a server's or a portal's (`…/arcgis`, `…/portal`, an origin).
    Unknown(Url),
}

/// The shape of `url`, with the query and fragment dropped and the path cut at `rest` or
/// `sharing` (compared without case, as ArcGIS does).
pub fn shape_of(url: &Url) -> UrlShape {
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let cut = |at: usize| with_path(url, &segments[..at]);
    if let Some(at) = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("sharing"))
    {
        return UrlShape::Portal(cut(at));
    }
    if let Some(at) = segments.iter().position(|s| s.eq_ignore_ascii_case("rest")) {
        return UrlShape::Server(cut(at));
    }
    if is_arcgis_online_portal_host(url) {
        // www.arcgis.com/home/…, <org>.maps.arcgis.com/apps/…: the portal is the origin.
        return UrlShape::Portal(cut(0));
    }
    UrlShape::Unknown(cut(segments.len()))
}

/// The server root a service URL belongs to (its path up to `rest`); the URL without query
/// when it has no `rest` segment.
pub fn server_root_of(url: &Url) -> Url {
    match shape_of(url) {
        UrlShape::Server(root) | UrlShape::Portal(root) | UrlShape::Unknown(root) => root,
    }
}

/// `url` with the given path segments, and no query or fragment.
fn with_path(url: &Url, segments: &[&str]) -> Url {
    let mut out = url.clone();
    out.set_query(None);
    out.set_fragment(None);
    if let Ok(mut path) = out.path_segments_mut() {
        path.clear().extend(segments);
    }
    if segments.is_empty() {
        out.set_path("");
    }
    out
}

/// `base` joined with `relative` segments (`sharing/rest/info`).
pub fn join(base: &Url, relative: &[&str]) -> Url {
    let mut out = base.clone();
    if let Ok(mut path) = out.path_segments_mut() {
        path.pop_if_empty().extend(relative);
    }
    out
}

/// A host of ArcGIS Online: `arcgis.com` or any `*.arcgis.com` (services, tiles, organisations).
pub fn is_arcgis_online(url: &Url) -> bool {
    url.host_str().is_some_and(|h| {
        let h = h.to_ascii_lowercase();
        h == "arcgis.com" || h.ends_with(".arcgis.com")
    })
}

/// ArcGIS Online's portal hosts: `www.arcgis.com`, `arcgis.com` and `<org>.maps.arcgis.com`
/// (not `services*.arcgis.com`, which host feature services).
fn is_arcgis_online_portal_host(url: &Url) -> bool {
    url.host_str().is_some_and(|h| {
        let h = h.to_ascii_lowercase();
        h == "www.arcgis.com" || h == "arcgis.com" || h.ends_with(".maps.arcgis.com")
    })
}

/// A portal URL compared the way arcgis-rest-js compares them: without scheme, case, trailing
/// slash or `/sharing/rest`, with every ArcGIS Online organisation the same as `www.arcgis.com`.
fn portal_key(url: &Url) -> String {
    if is_arcgis_online(url) {
        return "www.arcgis.com".into();
    }
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let root = match shape_of(url) {
        UrlShape::Portal(root) => root,
        _ => url.clone(),
    };
    let path = root.path().trim_end_matches('/').to_ascii_lowercase();
    format!("{host}{port}{path}")
}

/// True when a server's `owningSystemUrl` is the portal at `portal`.
pub fn is_owned_by(owning_system_url: &Url, portal: &Url) -> bool {
    portal_key(owning_system_url) == portal_key(portal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    /// Every kind of URL a user may paste is read as the server or portal it belongs to.
    #[test]
    fn urls_are_read_as_servers_and_portals() {
        let cases = [
            (
                "https://gis.example.com/arcgis/rest/services/Water/FeatureServer/0?f=json",
                UrlShape::Server(url("https://gis.example.com/arcgis")),
            ),
            (
                "https://gis.example.com/server/REST/services",
                UrlShape::Server(url("https://gis.example.com/server")),
            ),
            (
                "https://services3.arcgis.com/AbC123/arcgis/rest/services/W/FeatureServer",
                UrlShape::Server(url("https://services3.arcgis.com/AbC123/arcgis")),
            ),
            (
                "https://gis.example.com/portal/sharing/rest/info",
                UrlShape::Portal(url("https://gis.example.com/portal")),
            ),
            (
                "https://www.arcgis.com/home/index.html",
                UrlShape::Portal(url("https://www.arcgis.com")),
            ),
            (
                "https://acme.maps.arcgis.com",
                UrlShape::Portal(url("https://acme.maps.arcgis.com")),
            ),
            (
                "https://gis.example.com/portal/",
                UrlShape::Unknown(url("https://gis.example.com/portal")),
            ),
            (
                "https://gis.example.com/arcgis",
                UrlShape::Unknown(url("https://gis.example.com/arcgis")),
            ),
            (
                "http://127.0.0.1:8080",
                UrlShape::Unknown(url("http://127.0.0.1:8080")),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(shape_of(&url(text)), expected, "{text}");
        }
        assert_eq!(
            server_root_of(&url(
                "http://127.0.0.1:9/arcgis/rest/services/W/FeatureServer"
            ))
            .as_str(),
            "http://127.0.0.1:9/arcgis"
        );
        assert_eq!(
            join(&url("https://h/portal"), &["sharing", "rest", "info"]).as_str(),
            "https://h/portal/sharing/rest/info"
        );
        assert_eq!(
            join(&url("http://127.0.0.1:9"), &["sharing", "rest", "info"]).as_str(),
            "http://127.0.0.1:9/sharing/rest/info"
        );
    }

    /// owningSystemUrl matches the signed-in portal however it is spelled, and no other.
    #[test]
    fn owning_system_is_compared_like_arcgis_rest_js() {
        let portal = url("https://gis.example.com/portal");
        assert!(is_owned_by(
            &url("https://GIS.example.com/portal/"),
            &portal
        ));
        assert!(is_owned_by(&url("http://gis.example.com/portal"), &portal));
        assert!(is_owned_by(
            &url("https://gis.example.com/portal/sharing/rest"),
            &portal
        ));
        assert!(!is_owned_by(&url("https://gis.example.com/other"), &portal));
        assert!(!is_owned_by(
            &url("https://evil.example.com/portal"),
            &portal
        ));
        assert!(!is_owned_by(
            &url("https://gis.example.com:8443/portal"),
            &portal
        ));
        assert!(is_owned_by(
            &url("https://www.arcgis.com"),
            &url("https://acme.maps.arcgis.com")
        ));
        assert!(is_arcgis_online(&url(
            "https://services3.arcgis.com/x/arcgis"
        )));
        assert!(!is_arcgis_online(&url("https://arcgis.com.evil.example/x")));
        assert!(!is_arcgis_online(&url("https://notarcgis.com/x")));
    }
}
