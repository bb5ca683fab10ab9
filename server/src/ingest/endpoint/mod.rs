//! The server's own MQTT endpoint, for the one-command default and single-machine installs:
//! gateways connect to it directly (MQTT 3.1.1 and 5), and a QoS 1 or 2 message is
//! acknowledged only once the store writer has made it durable, so nothing a gateway saw
//! acknowledged is lost when the server is killed. It keeps no messages of its own: what waits
//! is what the writer holds, bounded by each connection's in-flight cap (`mqtt.max_inflight`)
//! and `mqtt.max_connections`. docs/broker-design.md has the measurements behind it.
//!
//! It is not a general broker, on purpose: subscribers (for debugging) get messages live at
//! QoS 0, dropped when they read too slowly; there are no retained messages, no queueing for
//! offline subscribers, no shared subscriptions, bridges, topic aliases or enhanced AUTH. An
//! operator who needs those points `mqtt.url` at Mosquitto or EMQX.
//!
//! - `codec`: the protocol level of a CONNECT, rumqttc's 3.1.1 and 5 codecs, and the checks a
//!   server makes that a client's codec does not;
//! - `session`: one connection, CONNECT to close;
//! - `outbox`: what is sent back, written by one task per connection; it acknowledges for the
//!   writer ([`crate::store::writer::SessionAcker`]);
//! - `relay`: the live QoS 0 relay to subscribers;
//! - `sessions`: persistent sessions kept across restarts (`mqtt-sessions.json`);
//! - this file: [`Endpoint`] (bind, then accept), the client-id registry and the counters.

mod codec;
mod outbox;
mod relay;
mod session;
mod sessions;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use self::outbox::Outbox;
use self::relay::Relay;
use self::sessions::Sessions;
use super::Intake;
use crate::auth::gateways::Gateways;
use crate::config::MqttConfig;
use crate::store::writer::WriterHandle;

pub use self::sessions::SESSIONS_FILE;

/// Errors binding the endpoint.
#[derive(Debug, thiserror::Error)]
#[error("the embedded MQTT endpoint cannot listen on {addr}: {source}")]
pub struct BindError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// The endpoint's settings (from `[mqtt]`).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The largest packet a client may send (and, unless it says less, receive).
    pub(crate) max_packet: usize,
    pub(crate) max_connections: usize,
    /// A connection's messages with the writer and not yet acknowledged, at most (MQTT 5's
    /// Receive Maximum).
    pub(crate) max_inflight: usize,
    /// Relayed messages waiting for one subscriber, at most (also the relay's channel).
    pub(crate) relay_capacity: usize,
    /// How long a kept session outlives its client's last visit, seconds.
    pub(crate) session_expiry_s: u64,
}

impl Settings {
    fn of(mqtt: &MqttConfig) -> Settings {
        Settings {
            max_packet: mqtt.max_packet_bytes,
            max_connections: mqtt.max_connections,
            max_inflight: mqtt.max_inflight.max(1),
            relay_capacity: mqtt.relay_capacity.max(1),
            session_expiry_s: mqtt.session_expiry_s,
        }
    }
}

/// The endpoint's counters, for `/metrics` and the System tile.
#[derive(Debug, Default)]
pub struct EndpointStats {
    /// Clients connected now.
    pub connections: AtomicUsize,
    /// CONNECTs refused, by reason.
    refused: Mutex<HashMap<&'static str, u64>>,
    /// Connections closed because the client broke the protocol.
    pub protocol_errors: AtomicU64,
    /// PUBACKs and PUBRECs sent: messages acknowledged as durable.
    pub acks_sent: AtomicU64,
    /// Messages relayed to subscribers, and dropped for subscribers too slow to take them.
    pub relayed: AtomicU64,
    pub relay_dropped: AtomicU64,
}

impl EndpointStats {
    fn refused(&self, why: &'static str) {
        *self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(why)
            .or_default() += 1;
    }

    /// CONNECTs refused, by reason, sorted.
    pub fn refusals(&self) -> Vec<(&'static str, u64)> {
        let mut v: Vec<_> = self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        v.sort();
        v
    }
}

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    intake: Intake,
    writer: WriterHandle,
    /// With gateway auth on: who may connect, and what each may publish.
    gateways: Option<Arc<Gateways>>,
    settings: Settings,
    relay: Relay,
    sessions: Sessions,
    stats: Arc<EndpointStats>,
    stop: watch::Receiver<bool>,
    /// The connection holding each client id, and what tells it it was taken over.
    owners: Mutex<HashMap<String, (u64, watch::Sender<bool>)>>,
    /// Every connection whose writing task runs, to close them at the end.
    open: Arc<Mutex<HashMap<u64, Arc<Outbox>>>>,
}

impl Shared {
    /// Makes `conn_id` the holder of `client_id`; the previous holder is told to go.
    fn take_over(&self, client_id: &str, conn_id: u64) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let old = self
            .owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(client_id.to_owned(), (conn_id, tx));
        if let Some((_, old)) = old {
            let _ = old.send(true);
        }
        rx
    }

    /// `conn_id` no longer holds `client_id` (if it still did).
    fn release(&self, client_id: &str, conn_id: u64) {
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        if owners.get(client_id).is_some_and(|(c, _)| *c == conn_id) {
            owners.remove(client_id);
        }
    }

    /// Starts the task that writes `outbox` to the socket until the connection closes.
    fn spawn_writing(&self, conn_id: u64, outbox: Arc<Outbox>, w: OwnedWriteHalf) {
        let open = self.open.clone();
        open.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(conn_id, outbox.clone());
        tokio::spawn(async move {
            outbox.run(w).await;
            open.lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&conn_id);
        });
    }
}

/// The endpoint, bound and not yet accepting.
#[derive(Debug)]
pub struct Endpoint {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    settings: Settings,
    sessions: Sessions,
    stats: Arc<EndpointStats>,
}

impl Endpoint {
    /// Binds `mqtt.embedded_listen` (port 0: a free port), and reads the kept sessions of
    /// `data_dir`.
    pub fn bind(mqtt: &MqttConfig, data_dir: Option<&Path>) -> Result<Endpoint, BindError> {
        let addr = mqtt.embedded_listen;
        let err = |source| BindError { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(err)?;
        listener.set_nonblocking(true).map_err(err)?;
        let addr = listener.local_addr().map_err(err)?;
        let settings = Settings::of(mqtt);
        Ok(Endpoint {
            listener,
            addr,
            sessions: Sessions::open(data_dir, mqtt.max_sessions),
            settings,
            stats: Arc::default(),
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<EndpointStats> {
        self.stats.clone()
    }

    /// Accepts connections until `stop` turns true; the task ends once every session has
    /// stopped reading (their acknowledgements still go out: [`Closer::close`]).
    pub fn spawn(
        self,
        intake: Intake,
        writer: WriterHandle,
        gateways: Option<Arc<Gateways>>,
        stop: watch::Receiver<bool>,
    ) -> (JoinHandle<()>, Closer) {
        let open = Arc::new(Mutex::new(HashMap::new()));
        let shared = Arc::new(Shared {
            intake,
            writer,
            gateways,
            relay: Relay::new(self.settings.relay_capacity),
            settings: self.settings,
            sessions: self.sessions,
            stats: self.stats,
            stop: stop.clone(),
            owners: Mutex::default(),
            open: open.clone(),
        });
        let listener = self.listener;
        let task = tokio::spawn(accept(listener, shared, stop));
        (task, Closer { open })
    }
}

/// Closes the endpoint's connections once the writer has acknowledged what it held.
#[derive(Debug, Clone)]
pub struct Closer {
    open: Arc<Mutex<HashMap<u64, Arc<Outbox>>>>,
}

impl Closer {
    /// Closes every connection after what is queued for it (MQTT 5: with DISCONNECT 0x8B,
    /// server shutting down), waiting at most `grace` for the writes.
    pub async fn close(&self, grace: Duration) {
        let all: Vec<Arc<Outbox>> = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for o in &all {
            o.close(Some(codec::reason::SHUTTING_DOWN));
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn accept(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "the embedded MQTT endpoint cannot accept");
            return;
        }
    };
    tracing::info!(addr = ?listener.local_addr().ok(), "embedded MQTT endpoint listening");
    // The endpoint is the server's one way in over MQTT: "connected" while it accepts.
    let ingest = shared.intake.stats.clone();
    ingest.links_up.fetch_add(1, Ordering::Relaxed);
    ingest.broker_connects.fetch_add(1, Ordering::Relaxed);
    let mut sessions = JoinSet::new();
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    // Keep-alive 0 turns MQTT's own timer off: TCP's still finds dead peers.
                    set_tcp_keepalive(&stream);
                    next_id += 1;
                    sessions.spawn(session::serve(stream, shared.clone(), next_id));
                }
                Err(e) => {
                    // Out of file descriptors, most likely: wait a moment rather than spin.
                    tracing::warn!(error = %e, "MQTT accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    // Each session stops reading at `stop`; what it handed on, the writer still acknowledges.
    while sessions.join_next().await.is_some() {}
    ingest.links_up.fetch_sub(1, Ordering::Relaxed);
}

/// TCP keepalive on an accepted socket: probes after 60 s idle, so that a half-open connection
/// of a client with MQTT keep-alive 0 is found within a few minutes.
fn set_tcp_keepalive(stream: &tokio::net::TcpStream) {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(15))
        .with_retries(4);
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(error = %e, "cannot set TCP keepalive");
    }
}
