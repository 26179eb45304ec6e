//! The one shared harness of the integration tests. Each file is one kind of rig:
//! * `server`: the reference service on 127.0.0.1:0 and raw HTTP calls to it (a foreign client on
//!   purpose: the `server::*` tests speak the wire format by hand);
//! * `engine`: the engine against the reference service, following jobs with the engine's own
//!   `JobTicket`, plus direct reads of the service's and the replicas' SQLite files;
//! * `https`: the service over HTTPS with a self-signed certificate, and a client config that
//!   trusts it;
//! * `proxy`: a TCP relay in front of the service that can refuse connections;
//! * `cli`: the real `syncwatch` binary with its own data dir;
//! * `ui`: the window on a test command channel (`Rig`) or on the real engine (`ui::stack`);
//! * `browser`: the test as the user's browser at the portal's OAuth sign-in page;
//! * `spatial`: the GridTown test services (points, lines, polygons in 4326 or 3857) and
//!   brute-force spatial checks;
//! * `demo_data`: GlobalIDs and values of the demo water network; `client_config`: client
//!   settings that retry fast; `offline_maps`: the real ArcGIS mobile geodatabases, copies of
//!   them changed the ways ArcGIS apps change them; `notification_service`: a private D-Bus
//!   session with a stand-in freedesktop notification service (records, clicks).

pub mod browser;
pub mod cli;
pub mod client_config;
pub mod demo_data;
pub mod engine;
pub mod https;
pub mod notification_service;
pub mod offline_maps;
pub mod proxy;
pub mod server;
pub mod spatial;
pub mod ui;
