//! The accept loop. axum's own `serve` offers no limit on how long a client may take to send a
//! request's head, so one that opens connections and never finishes them would hold them for
//! ever; and it leaves Nagle's algorithm on. This is the same loop over hyper's HTTP/1 builder
//! with a header read timeout and TCP_NODELAY, and the same graceful shutdown: stop accepting,
//! let every connection finish the request in flight, then return.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The first wait after a failed accept, doubled on each failure in a row up to
/// [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// What a connection past its address's cap is told before it is closed.
fn too_many() -> Vec<u8> {
    let body = crate::headless::failure(
        None,
        &crate::error::DispatchError::new(
            crate::error::ErrorCode::Busy,
            "Too many connections from this address; close some first.",
        ),
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Open connections per client address.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// One connection's place in [`PerAddress`], given back when it closes.
struct Held(Arc<PerAddress>, IpAddr);

impl PerAddress {
    fn hold(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Held> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Held(self.clone(), ip))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.0.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for the connections to
/// finish what they are answering. One client address holds at most `per_address`
/// connections at once; a request's line and headers must arrive within `header_timeout`
/// once begun (or, on a kept-alive connection, the next one must start within it), else the
/// connection is closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    per_address: usize,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    // Each connection holds a sender clone and watches for every receiver to be gone (the
    // signal to finish), and a receiver clone the loop waits on to know it is done.
    let (signal_tx, signal_rx) = watch::channel(());
    let (close_tx, close_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let addresses = Arc::new(PerAddress::default());
    let mut backoff = ACCEPT_BACKOFF;
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff = ACCEPT_BACKOFF;
                    accepted
                }
                Err(e) => {
                    // Out of file descriptors (EMFILE) and the like: the pending connection
                    // stays queued, so accepting again at once would fail again at once, a
                    // busy loop starving every connection already open. Wait, longer each
                    // time in a row, for connections to close.
                    if backoff == ACCEPT_BACKOFF {
                        tracing::warn!(error = %e, "accept failed; backing off");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = &mut shutdown => break,
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(held) = addresses.hold(peer.ip(), per_address) else {
            // Told why, if the socket takes it at once, and closed: it never reaches hyper.
            let _ = tcp.try_write(&too_many());
            tracing::debug!(peer = %peer.ip(), "connection refused: too many from this address");
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            // A reply split over two segments would wait for the client's delayed ACK.
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let service = TowerToHyperService::new(app.clone());
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let mut conn = pin!(builder.serve_connection(
                TokioIo::new(super::framing::Framed::new(tcp, header_timeout)),
                service,
            ));
            let mut stopping = pin!(signal_tx.closed());
            let mut asked = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended");
                        }
                        break;
                    }
                    () = &mut stopping, if !asked => {
                        asked = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(close_rx);
            drop(held);
        });
    }
    drop(listener);
    drop(signal_rx);
    drop(close_rx);
    close_tx.closed().await;
}
