//! [`Authority`]: where a session signed in, a standalone server (with its generateToken) or a
//! portal (with its endpoints). A plain value.

use super::discovery::Portal;
use url::Url;

/// Where the session signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// A standalone server with its own users.
    Server {
        root: Url,
        token_url: Url,
    },
    Portal(Portal),
}

impl Authority {
    /// The server root or portal root.
    pub fn root(&self) -> &Url {
        match self {
            Authority::Server { root, .. } => root,
            Authority::Portal(p) => &p.root,
        }
    }
}
