//! Serving the router: the HTTP socket (with a bounded send buffer), TLS when a certificate is
//! configured, and the graceful stop.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::tls::{self, ClientAddr, TlsListener};

/// The kernel's send buffer of each HTTP connection (Linux doubles it for its bookkeeping).
/// Left to itself it grows to megabytes on a fast link: a browser that reads slower than the
/// deltas come would then get them seconds late, queued in the kernel where the hub cannot
/// replace them with newer ones. Bounded, a slow reader's sends wait, the hub's fan-out
/// pacing sees it, and what it gets next is the newest state. 64 KiB holds a few deltas and
/// still moves the app's wasm at tens of MB/s on a LAN.
const HTTP_SEND_BUFFER: u32 = 64 * 1024;

/// Where and how HTTP is served.
pub struct Listen {
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listen")
            .field("listener", &self.listener)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Listen {
    /// Binds `addr` (port 0 picks one) and loads the certificate and key when both are set.
    pub fn bind(
        addr: SocketAddr,
        tls_cert: Option<&PathBuf>,
        tls_key: Option<&PathBuf>,
    ) -> anyhow::Result<Listen> {
        let tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
            (None, None) => None,
            _ => anyhow::bail!("HTTPS needs both http.tls_cert and http.tls_key"),
        };
        let listener =
            listener(addr).with_context(|| format!("cannot listen for HTTP on {addr}"))?;
        Ok(Listen { listener, tls })
    }

    /// The address bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `router` until `stop` turns true, then lets open requests finish.
    pub fn spawn(self, router: Router, stop: &watch::Sender<bool>) -> JoinHandle<()> {
        let mut stop = stop.subscribe();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let service = router.into_make_service_with_connect_info::<ClientAddr>();
        let Listen { listener, tls } = self;
        tokio::spawn(async move {
            let served = match tls {
                Some(acceptor) => {
                    axum::serve(TlsListener::new(listener, acceptor), service)
                        .with_graceful_shutdown(stopped)
                        .await
                }
                None => {
                    axum::serve(listener, service)
                        .with_graceful_shutdown(stopped)
                        .await
                }
            };
            if let Err(e) = served {
                tracing::error!(error = %e, "HTTP server failed");
            }
        })
    }
}

/// Listens for HTTP, with [`HTTP_SEND_BUFFER`] (accepted connections inherit it).
fn listener(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(HTTP_SEND_BUFFER)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
