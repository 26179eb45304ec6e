//! Signing in to ArcGIS, the client side: discovery of how to sign in from any URL
//! (`discovery.rs`, `roots.rs`), username and password through generateToken
//! (`generate_token.rs`), the browser sign-in with OAuth 2.0 and PKCE (`pkce.rs`,
//! `authorize.rs`, `loopback.rs`, `oauth_token.rs`, `browser.rs`), the signed-in session that
//! renews tokens and exchanges them for federated servers (`session.rs`, `authority.rs`,
//! `timed_token.rs`, `record.rs`), and the seam a service client asks for tokens
//! (`provider.rs`). Secrets travel only over HTTPS or to this computer (`secure_url.rs`), in
//! request bodies, through `http.rs`. Nothing here opens a browser, touches files or knows the
//! feature-service calls. The ArcGIS facts and the choices made here: `docs/arcgis-auth.md`.

mod authority;
mod authorize;
mod browser;
mod discovery;
mod error;
mod generate_token;
mod http;
mod loopback;
mod oauth_token;
mod pkce;
mod provider;
mod record;
mod roots;
mod secure_url;
mod session;
mod sign_in_client;
mod timed_token;
mod wire;

pub use authority::Authority;
pub use authorize::{OUT_OF_BAND, Redirect};
pub use browser::BrowserSignIn;
pub use discovery::{Portal, PortalSignIn, ServerSignIn, SignInPlan};
pub use error::SignInError;
pub use generate_token::{DEFAULT_REFERER, MAX_EXPIRATION_MINUTES, TokenOptions};
pub use http::SignInHttp;
pub use provider::{FixedToken, ProvidedToken, TokenProvider};
pub use record::{AuthorityRecord, SessionRecord, StoredToken};
pub use roots::server_root_of;
pub use secure_url::is_loopback;
pub use session::{EXCHANGE_REFRESH_WITHIN, RenewedFn, SignInSession};
pub use sign_in_client::{RememberPassword, SignInClient};
pub use timed_token::RENEW_BEFORE;
