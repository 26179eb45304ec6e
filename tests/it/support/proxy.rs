//! A TCP relay in front of the reference service that can make the service "go down": when a
//! request for a chosen operation arrives, the relay drops that connection unanswered (nothing
//! reaches the service) and closes its listening socket, so the client's next connects are
//! refused by the kernel (ECONNREFUSED) until the relay listens again — after a short window, or
//! when the test reopens it. Every relayed request is sent with `Connection: close`, so each
//! request opens its own connection and a pooled connection cannot slip past an outage.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

/// How long the relay stays down once triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Listens again after this long.
    For(Duration),
    /// Stays down until [`Proxy::reopen`].
    UntilReopened,
}

struct State {
    target: SocketAddr,
    /// The operation whose next request brings the relay down, and for how long.
    trigger: Mutex<Option<(String, Outage)>>,
    listening: watch::Sender<bool>,
    outages: AtomicUsize,
}

/// The relay. Dropping it stops nothing by itself; it lives as long as the test's runtime.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Proxy {
    /// Relays a port of its own to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let (listening, _) = watch::channel(true);
        let state = Arc::new(State {
            target,
            trigger: Mutex::new(None),
            listening,
            outages: AtomicUsize::new(0),
        });
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(serve(addr, state.clone(), ready_tx));
        ready_rx.await.unwrap();
        Proxy { addr, state }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next request for `operation` brings the relay down for `outage`.
    pub fn go_down_on(&self, operation: &str, outage: Outage) {
        *self.state.trigger.lock().unwrap() = Some((operation.to_string(), outage));
    }

    /// Listens again (and forgets an unused trigger).
    pub fn reopen(&self) {
        self.state.trigger.lock().unwrap().take();
        self.state.listening.send_replace(true);
    }

    /// How many outages were triggered so far.
    pub fn outages(&self) -> usize {
        self.state.outages.load(Ordering::SeqCst)
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

async fn serve(addr: SocketAddr, state: Arc<State>, ready: tokio::sync::oneshot::Sender<()>) {
    let mut ready = Some(ready);
    let mut listening = state.listening.subscribe();
    loop {
        if listening.wait_for(|up| *up).await.is_err() {
            return;
        }
        // The port was ours a moment ago; rebinding can race a lingering socket, so retry.
        let listener = loop {
            match bind(addr) {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((conn, _)) = accepted {
                        tokio::spawn(relay(conn, state.clone()));
                    }
                }
                changed = listening.changed() => {
                    if changed.is_err() || !*listening.borrow() {
                        break;
                    }
                }
            }
        }
        // Dropping the listener closes the port: connects are refused until it is bound again.
        drop(listener);
    }
}

/// The request head (up to the blank line), or `None` if the client went away first.
async fn read_head(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 1 << 20 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Some(head)
}

async fn relay(mut conn: TcpStream, state: Arc<State>) {
    let Some(head) = read_head(&mut conn).await else {
        return;
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
    let operation = operation_of(&path);
    let outage = {
        let mut trigger = state.trigger.lock().unwrap();
        match trigger.as_ref() {
            Some((op, outage)) if op.eq_ignore_ascii_case(&operation) => {
                let outage = *outage;
                trigger.take();
                Some(outage)
            }
            _ => None,
        }
    };
    if let Some(outage) = outage {
        state.outages.fetch_add(1, Ordering::SeqCst);
        state.listening.send_replace(false);
        if let Outage::For(window) = outage {
            let state = state.clone();
            tokio::spawn(async move {
                tokio::time::sleep(window).await;
                state.listening.send_replace(true);
            });
        }
        // Unanswered: nothing of this request reaches the service.
        drop(conn);
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(state.target).await else {
        return;
    };
    if upstream.write_all(&close_after_reply(&head)).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
}

/// The head with any `Connection` header replaced by `Connection: close`; the bytes after the
/// head (the start of a body) are kept as they are.
fn close_after_reply(head: &[u8]) -> Vec<u8> {
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(head.len());
    let text = String::from_utf8_lossy(&head[..end]);
    let mut out = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&head[end..]);
    bytes
}

/// The operation a request path addresses, named as the service's fault rules name it.
pub fn operation_of(path_and_query: &str) -> String {
    let path = path_and_query.split('?').next().unwrap_or("");
    if path.contains("/directories/arcgisoutput/") {
        return "result".into();
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("FeatureServer"))
    {
        Some(pos) => match segments.get(pos + 1) {
            None => "service".into(),
            Some(s) if s.parse::<i64>().is_ok() => "layer".into(),
            Some(s) => (*s).to_string(),
        },
        None => segments.last().copied().unwrap_or("").to_string(),
    }
}
