//! The reference service's accept loop (hyper-util, not `axum::serve`, so that every bound of
//! [`Limits`] applies): connections bounded in all and per client address (one past the bound
//! is closed at once), an optional TLS handshake with its own timeout, HTTP/1.1 with hyper's
//! header-read timeout (which also closes idle keep-alive connections), accept errors such as
//! "too many open files" waited out instead of ending the service, and a graceful stop that
//! lets requests in flight finish for a few seconds. Owns no routing or request checks.

use crate::server::limits::Limits;
use crate::server::slots::{Slot, Slots};
use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio_rustls::TlsAcceptor;

/// How long requests in flight may still run once the service is told to stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Pause after an accept error that is not about one connection (the file limit reached).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `stop` fires (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    mut stop: oneshot::Receiver<()>,
) {
    let connections = Slots::new(limits.max_connections, limits.max_connections_per_client);
    let (stopping_tx, stopping_rx) = watch::channel(false);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                if !is_per_connection(&err) {
                    tracing::warn!(%err, "accepting a connection failed; waiting");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
                continue;
            }
        };
        let slot = match connections.take(peer.ip()) {
            Ok(slot) => slot,
            Err(full) => {
                tracing::debug!(%peer, ?full, "connection refused: too many open");
                continue;
            }
        };
        let connection = Connection {
            app: app.clone(),
            peer,
            limits: limits.clone(),
            stopping: stopping_rx.clone(),
            _slot: slot,
        };
        tokio::spawn(connection.run(stream, tls.clone()));
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    if tokio::time::timeout(STOP_GRACE, stopping_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!("requests still running when the service stopped");
    }
}

/// Errors of one connection attempt (the next accept is fine).
fn is_per_connection(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    )
}

/// One accepted connection and what it holds.
struct Connection {
    app: Router,
    peer: SocketAddr,
    limits: Limits,
    stopping: watch::Receiver<bool>,
    _slot: Slot,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let _ = stream.set_nodelay(true);
        match tls {
            None => self.serve_http(stream).await,
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                match tokio::time::timeout(self.limits.tls_handshake_timeout, handshake).await {
                    Ok(Ok(tls_stream)) => self.serve_http(tls_stream).await,
                    Ok(Err(err)) => {
                        tracing::debug!(peer = %self.peer, %err, "TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
                }
            }
        }
    }

    async fn serve_http<I>(mut self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = self
            .app
            .clone()
            .layer(axum::Extension(ConnectInfo(self.peer)));
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout)
            .keep_alive(true);
        let connection =
            builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        tokio::pin!(connection);
        let finished = tokio::select! {
            finished = connection.as_mut() => finished,
            _ = self.stopping.changed() => {
                connection.as_mut().graceful_shutdown();
                connection.as_mut().await
            }
        };
        if let Err(err) = finished {
            tracing::debug!(peer = %self.peer, %err, "connection ended");
        }
    }
}
