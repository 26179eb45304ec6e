//! The names under which the reference service is its own: what a `Host` header may say (so a
//! DNS-rebinding page cannot reach it under a foreign name) and which `Origin` counts as the
//! service itself (so a form on another web page cannot change its state). Plain values built
//! at start from the bound address, the scheme and the operator's `--public-host` names.
//!
//! Accepted hosts: `localhost`, the loopback addresses, the bound address, every IP literal
//! when bound to all interfaces (a rebinding attack needs a DNS name; an address literal is
//! never one), and the configured public names; with the bound port, or without a port. A
//! public name given with its own port (`NAME:PORT`, behind a proxy) wants that port instead.

use std::net::{IpAddr, SocketAddr};

/// The service's own host names and origin.
#[derive(Debug, Clone)]
pub(crate) struct OwnHosts {
    https: bool,
    bound: SocketAddr,
    /// Lower-case names with the port they are reached on (`None`: the bound port).
    public: Vec<(String, Option<u16>)>,
}

impl OwnHosts {
    /// `public_hosts` are `NAME` or `NAME:PORT`.
    pub(crate) fn new(bound: SocketAddr, https: bool, public_hosts: &[String]) -> OwnHosts {
        let public = public_hosts
            .iter()
            .filter_map(|name| split_host_port(name))
            .collect();
        OwnHosts {
            https,
            bound,
            public,
        }
    }

    /// Whether a `Host` header value names this service. The port of `localhost` and of an
    /// address literal is not checked: a rebinding page always has a DNS name of its own, and a
    /// relay or tunnel on this machine (another port) keeps the client's `Host`.
    pub(crate) fn accepts_host(&self, host: &str) -> bool {
        self.names_us(host, false)
    }

    /// `host` names this service; `exact_port`: also on the bound (or configured) port.
    fn names_us(&self, host: &str, exact_port: bool) -> bool {
        let Some((name, port)) = split_host_port(host) else {
            return false;
        };
        // No port: the client did not say one (HTTP/1.0 tools, a proxy); the name decides.
        if let Some((_, wanted)) = self.public.iter().find(|(n, _)| *n == name) {
            return port.is_none_or(|p| p == wanted.unwrap_or(self.bound.port()));
        }
        if exact_port && port.is_some_and(|p| p != self.bound.port()) {
            return false;
        }
        if name == "localhost" {
            return true;
        }
        let literal = name.trim_start_matches('[').trim_end_matches(']');
        match literal.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback() || ip == self.bound.ip() || self.bound.ip().is_unspecified(),
            Err(_) => false,
        }
    }

    /// Whether an `Origin` header value is this service's own origin (`null` never is).
    pub(crate) fn accepts_origin(&self, origin: &str) -> bool {
        let wanted = if self.https { "https://" } else { "http://" };
        match origin.trim().strip_prefix(wanted) {
            // Another port on this machine is another origin (another local web app).
            Some(rest) if !rest.contains('/') => self.names_us(rest, true),
            _ => false,
        }
    }
}

/// `name[:port]` in lower case without a trailing dot; `None` when it is not a host.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let authority: axum::http::uri::Authority = text.trim().parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some((host, authority.port_u16()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(addr: &str, public: &[&str]) -> OwnHosts {
        let public: Vec<String> = public.iter().map(|s| s.to_string()).collect();
        OwnHosts::new(addr.parse().expect("address"), false, &public)
    }

    #[test]
    fn loopback_service_accepts_only_its_own_names_and_port() {
        let own = on("127.0.0.1:8080", &[]);
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST.:8080",
            "[::1]:8080",
            "localhost",
            // a relay on another port of this machine keeps the client's Host
            "127.0.0.1:9090",
        ] {
            assert!(own.accepts_host(host), "{host}");
        }
        for host in [
            "evil.example:8080",
            "192.168.1.5:8080",
            "user@localhost:8080",
            "",
        ] {
            assert!(!own.accepts_host(host), "{host}");
        }
    }

    #[test]
    fn a_service_on_all_interfaces_accepts_address_literals_and_configured_names() {
        let own = on(
            "0.0.0.0:8080",
            &["gis.example.org", "proxy.example.org:443"],
        );
        assert!(own.accepts_host("192.168.1.5:8080"));
        assert!(own.accepts_host("gis.example.org:8080"));
        assert!(own.accepts_host("proxy.example.org:443"));
        assert!(!own.accepts_host("proxy.example.org:8080"));
        assert!(!own.accepts_host("rebind.attacker.example:8080"));
    }

    #[test]
    fn only_the_services_own_origin_is_its_origin() {
        let own = on("127.0.0.1:8080", &[]);
        assert!(own.accepts_origin("http://127.0.0.1:8080"));
        assert!(own.accepts_origin("http://localhost:8080"));
        assert!(!own.accepts_origin("https://127.0.0.1:8080"));
        assert!(!own.accepts_origin("http://evil.example"));
        assert!(!own.accepts_origin("null"));
        assert!(
            !own.accepts_origin("http://127.0.0.1:9090"),
            "another port is another web app"
        );
        assert!(!own.accepts_origin("http://127.0.0.1:8080/x"));
    }
}
