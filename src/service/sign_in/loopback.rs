//! The one-shot loopback listener of a browser sign-in: it listens on 127.0.0.1 (a free port or
//! the registered one), waits for the portal's redirect to its path, checks `state`, answers the
//! browser with a small page ("you can close this window") and hands back the code; other paths
//! (a favicon) get a 404 and the wait goes on, until the deadline. It reads at most a request
//! head from each connection and never logs the query (it carries the code).

use super::error::SignInError;
use super::pkce::State;
use crate::model::Secret;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// Longest request head read from the browser.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener waiting for one redirect.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
    path: String,
}

/// What one browser request brought.
enum Arrival {
    /// Not the redirect (another path, a half-open connection): keep waiting.
    Ignored,
    Code(Secret),
    Failed(SignInError),
}

impl LoopbackListener {
    /// Listens on `127.0.0.1:<port>` (0 picks a free port) for a redirect to `path`.
    pub async fn bind(port: u16, path: &str) -> Result<LoopbackListener, SignInError> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| SignInError::Listener { port, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| SignInError::Listener { port, source })?
            .port();
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(LoopbackListener {
            listener,
            port,
            path,
        })
    }

    /// `http://127.0.0.1:<port><path>`, the `redirect_uri` to register and send.
    pub fn redirect_uri(&self) -> String {
        super::authorize::loopback_uri(self.port, &self.path)
    }

    /// Waits for the redirect carrying `state` and returns its code; gives up after `timeout`.
    pub async fn wait_for_code(
        self,
        state: &State,
        timeout: Duration,
    ) -> Result<Secret, SignInError> {
        let waiting = async {
            loop {
                let Ok((conn, _)) = self.listener.accept().await else {
                    // Out of file descriptors and the like: wait instead of spinning on it.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                match self.answer(conn, state).await {
                    Arrival::Ignored => continue,
                    Arrival::Code(code) => return Ok(code),
                    Arrival::Failed(e) => return Err(e),
                }
            }
        };
        tokio::time::timeout(timeout, waiting)
            .await
            .unwrap_or(Err(SignInError::TimedOut {
                seconds: timeout.as_secs(),
            }))
    }

    async fn answer(&self, mut conn: TcpStream, state: &State) -> Arrival {
        let Ok(Some(target)) = tokio::time::timeout(HEAD_TIMEOUT, request_target(&mut conn)).await
        else {
            return Arrival::Ignored;
        };
        let Ok(url) = Url::parse("http://127.0.0.1").and_then(|b| b.join(&target)) else {
            respond(
                &mut conn,
                400,
                "Bad request",
                "This is not a sign-in answer.",
            )
            .await;
            return Arrival::Ignored;
        };
        if url.path() != self.path {
            respond(
                &mut conn,
                404,
                "Not found",
                "This is syncwatch's sign-in listener.",
            )
            .await;
            return Arrival::Ignored;
        }
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let arrival = match (param("state"), param("code"), param("error")) {
            (Some(got), _, _) if !state.matches(&got) => {
                Arrival::Failed(SignInError::StateMismatch)
            }
            (None, _, None) => Arrival::Failed(SignInError::StateMismatch),
            (_, _, Some(error)) => Arrival::Failed(SignInError::AuthorizationDenied {
                error,
                description: param("error_description").unwrap_or_default(),
            }),
            (_, Some(code), None) if !code.trim().is_empty() => Arrival::Code(Secret::new(code)),
            _ => Arrival::Failed(SignInError::AuthorizationDenied {
                error: "no code in the answer".into(),
                description: String::new(),
            }),
        };
        match &arrival {
            Arrival::Code(_) => {
                respond(
                    &mut conn,
                    200,
                    "Signed in",
                    "syncwatch has your sign-in. You can close this window.",
                )
                .await
            }
            Arrival::Failed(e) => {
                respond(&mut conn, 400, "Sign-in not completed", &e.to_string()).await
            }
            Arrival::Ignored => {}
        }
        arrival
    }
}

/// The target of the request line (`/path?query`), or `None` for anything that is not a GET.
async fn request_target(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD_BYTES {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = std::str::from_utf8(&head).ok()?;
    let mut parts = text.lines().next()?.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Some(target.to_string()),
        _ => None,
    }
}

/// A small HTML page with `Connection: close`.
async fn respond(conn: &mut TcpStream, status: u16, title: &str, message: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{}</p></body></html>",
        escape_html(message)
    );
    let reply = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(reply.as_bytes()).await;
    let _ = conn.shutdown().await;
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
