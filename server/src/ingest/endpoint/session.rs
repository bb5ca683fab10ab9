//! One client's connection to the endpoint, from CONNECT to close: credentials, the session
//! kept or not, keep-alive (0 = off), PUBLISH into the intake and on to the store writer with
//! the connection's [`Outbox`] as what acknowledges it once durable, QoS 2's PUBREL and
//! PUBCOMP, subscriptions to the live relay, PINGREQ, DISCONNECT, the will, and takeover by a
//! new connection with the same client id.
//!
//! Backpressure: the session stops reading from the socket while `mqtt.max_inflight` of its
//! messages wait to be durable, or while the writer's queue is full (`send` waits). TCP then
//! holds the gateway back; nothing is dropped and nothing piles up in memory.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::Shared;
use super::codec::{self, Connect, Incoming, Outgoing, Refusal, Version, WireError, reason};
use super::outbox::Outbox;
use super::relay::Relayed;
use crate::auth::gateways::Gateway;
use crate::store::writer::{Ack, Pending};

/// A client that sends no CONNECT within this is closed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a gateway's grants are looked up again (a revoked gateway is closed).
const GRANTS_FRESH_FOR: Duration = Duration::from_secs(1);

/// Why a session ended.
#[derive(Debug)]
enum End {
    /// DISCONNECT: no will (unless MQTT 5's 0x04).
    Disconnected { with_will: bool },
    /// The server stops: acknowledgements still go out, then the connection closes.
    Stopping,
    /// Another connection took the client id over.
    TakenOver,
    /// The socket closed or failed, keep-alive expired, or the client broke the protocol.
    Lost(Option<u8>),
}

/// Serves one accepted connection until it ends.
pub(crate) async fn serve(stream: TcpStream, shared: Arc<Shared>, conn_id: u64) {
    let (mut reader, writer) = stream.into_split();
    let mut buf = BytesMut::with_capacity(4096);
    let mut stop = shared.stop.clone();
    // The CONNECT: its version first, then the whole packet.
    let first = tokio::time::timeout(CONNECT_TIMEOUT, async {
        loop {
            if let Some(version) = codec::sniff(&buf)?
                && let Some(p) = codec::read(version, &mut buf, shared.settings.max_packet)?
            {
                return Ok::<_, WireError>(Some((version, p)));
            }
            if reader.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return Ok(None);
            }
        }
    })
    .await;
    let (version, connect) = match first {
        Ok(Ok(Some((v, Incoming::Connect(c))))) => (v, c),
        Ok(Err(WireError::UnsupportedVersion { name, level })) => {
            tracing::info!(name, level, "MQTT CONNECT refused: not MQTT 3.1.1 or 5");
            shared.stats.refused("version");
            // An MQTT of another level gets 3.1.1's "unacceptable protocol version" (which 3.1
            // clients read too); a protocol that is not MQTT at all, no CONNACK (§3.1.2-1).
            if name == "MQTT" || name == "MQIsdp" {
                let _ =
                    tokio::io::AsyncWriteExt::write_all(&mut { writer }, &[0x20, 2, 0, 1]).await;
            }
            return;
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, "MQTT connection closed before CONNECT");
            shared.stats.refused("malformed");
            return;
        }
        _ => return,
    };
    let outbox = Arc::new(Outbox::new(
        version,
        connect
            .max_packet
            .map_or(shared.settings.max_packet, |m| m as usize),
        shared.settings.relay_capacity,
        shared.stats.clone(),
    ));
    let mut session = match Session::accept(&shared, &outbox, conn_id, *connect) {
        Ok(s) => s,
        Err(refused) => {
            outbox.close(None);
            // The CONNACK that refuses, then the connection closes.
            outbox.run(writer).await;
            tracing::info!(?refused, "MQTT CONNECT refused");
            return;
        }
    };
    shared.spawn_writing(conn_id, outbox.clone(), writer);
    let end = session.run(&mut reader, &mut buf, &mut stop).await;
    session.finish(&end);
    drop(session);
    shared.stats.connections.fetch_sub(1, Ordering::Relaxed);
    match end {
        // Acknowledgements of what the writer holds still go out; the endpoint closes the
        // connections once the writer is done ([`super::Closer::close`]). The writing task
        // is not waited for here: the server waits for the sessions before it stops the
        // writer.
        End::Stopping => {}
        End::TakenOver => outbox.close(Some(reason::SESSION_TAKEN_OVER)),
        End::Disconnected { .. } => outbox.abandon(),
        End::Lost(code) => outbox.close(code),
    }
}

/// A connected client.
struct Session<'a> {
    shared: &'a Shared,
    outbox: Arc<Outbox>,
    conn_id: u64,
    client_id: String,
    version: Version,
    keep_alive: Option<Duration>,
    will: Option<codec::Will>,
    /// The gateway it logged in as (gateway auth on), looked up again now and then.
    gateway: Option<(Gateway, Instant)>,
    /// Kept across restarts (`mqtt-sessions.json`).
    kept: bool,
    filters: Vec<(String, bool)>,
    relay: Option<broadcast::Receiver<Arc<Relayed>>>,
    taken: watch::Receiver<bool>,
}

impl<'a> Session<'a> {
    /// Checks the CONNECT and answers it; the session if accepted.
    fn accept(
        shared: &'a Shared,
        outbox: &Arc<Outbox>,
        conn_id: u64,
        c: Connect,
    ) -> Result<Session<'a>, Refusal> {
        let settings = &shared.settings;
        let refuse = |r: Refusal, why: &'static str| {
            shared.stats.refused(why);
            outbox.send(connack(Some(r), false, None, settings));
            Err(r)
        };
        let gateway = match (&shared.gateways, &c.login) {
            (None, _) => None,
            (Some(_), None) => return refuse(Refusal::NotAuthorized, "no_credentials"),
            (Some(all), Some((user, pass))) => match all.check(user, pass) {
                true => all.by_name(user),
                false => return refuse(Refusal::BadLogin, "bad_credentials"),
            },
        };
        let (client_id, assigned) = match (c.client_id.is_empty(), c.clean) {
            (false, _) => (c.client_id, None),
            // An empty id is given one, for a clean session only (3.1.1 §3.1.3-8).
            (true, true) => {
                let id = format!("ioc-auto-{conn_id}");
                (
                    id.clone(),
                    (version_of(outbox) == Version::V5).then_some(id),
                )
            }
            (true, false) => return refuse(Refusal::BadClientId, "empty_client_id"),
        };
        if shared.stats.connections.fetch_add(1, Ordering::Relaxed) >= settings.max_connections {
            shared.stats.connections.fetch_sub(1, Ordering::Relaxed);
            return refuse(Refusal::ServerUnavailable, "max_connections");
        }
        // 3.1.1: a session that is not clean is kept. MQTT 5: as its Session Expiry says.
        let keep_s = match version_of(outbox) {
            Version::V4 if !c.clean => settings.session_expiry_s,
            Version::V4 => 0,
            Version::V5 => u64::from(c.session_expiry_s).min(settings.session_expiry_s),
        };
        let now = chrono::Utc::now().timestamp_millis();
        let resumed = shared.sessions.connect(&client_id, !c.clean, keep_s, now);
        let taken = shared.take_over(&client_id, conn_id);
        outbox.send(connack(None, resumed.is_some(), assigned, settings));
        let mut s = Session {
            shared,
            outbox: outbox.clone(),
            conn_id,
            client_id,
            version: version_of(outbox),
            keep_alive: (c.keep_alive > 0)
                .then(|| Duration::from_millis(u64::from(c.keep_alive) * 1500)),
            will: c.will,
            gateway: gateway.map(|g| (g, Instant::now())),
            kept: keep_s > 0,
            filters: Vec::new(),
            relay: None,
            taken,
        };
        if let Some(filters) = resumed {
            s.set_filters(filters);
        }
        Ok(s)
    }

    /// Reads and handles packets until the session ends.
    async fn run(
        &mut self,
        reader: &mut tokio::net::tcp::OwnedReadHalf,
        buf: &mut BytesMut,
        stop: &mut watch::Receiver<bool>,
    ) -> End {
        let mut deadline = self.keep_alive.map(|k| Instant::now() + k);
        loop {
            // Whole packets already read, as far as the window and the outbox have room.
            loop {
                if self.outbox.is_closing() {
                    return End::Lost(None);
                }
                if self.outbox.in_flight() >= self.shared.settings.max_inflight
                    || !self.outbox.has_room_for_control()
                {
                    break;
                }
                match codec::read(self.version, buf, self.shared.settings.max_packet) {
                    Ok(Some(p)) => {
                        if let Some(k) = self.keep_alive {
                            deadline = Some(Instant::now() + k);
                        }
                        if let Some(end) = self.handle(p).await {
                            return end;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::info!(client_id = %self.client_id, error = %e,
                            "MQTT connection closed: the client broke the protocol");
                        self.shared
                            .stats
                            .protocol_errors
                            .fetch_add(1, Ordering::Relaxed);
                        return End::Lost(Some(e.reason()));
                    }
                }
            }
            let can_read = self.outbox.in_flight() < self.shared.settings.max_inflight
                && self.outbox.has_room_for_control();
            let relay = async {
                match &mut self.relay {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => return End::Stopping,
                _ = self.taken.changed() => return End::TakenOver,
                _ = sleep_until(deadline) => {
                    tracing::info!(client_id = %self.client_id, "MQTT keep-alive expired");
                    return End::Lost(Some(reason::KEEP_ALIVE_TIMEOUT));
                }
                n = reader.read_buf(buf), if can_read => match n {
                    Ok(0) | Err(_) => return End::Lost(None),
                    Ok(_) => {}
                },
                _ = self.outbox.room(), if !can_read => {}
                m = relay => match m {
                    Ok(m) => self.deliver(&m),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        self.shared.stats.relay_dropped.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(broadcast::error::RecvError::Closed) => self.relay = None,
                },
            }
        }
    }

    /// Handles one packet; `Some` ends the session.
    async fn handle(&mut self, p: Incoming) -> Option<End> {
        match p {
            Incoming::Publish {
                qos,
                pkid,
                topic,
                payload,
            } => return self.publish(qos, pkid, &topic, payload).await,
            Incoming::PubRel(pkid) => self.outbox.send(Outgoing::PubComp(pkid)),
            Incoming::Subscribe { pkid, filters } => {
                let granted: Vec<bool> = filters
                    .iter()
                    .map(|(f, _)| ioc_protocol::filter::is_valid(f))
                    .collect();
                let mut all = self.filters.clone();
                for ((f, no_local), ok) in filters.into_iter().zip(&granted) {
                    if *ok {
                        all.retain(|(g, _)| *g != f);
                        all.push((f, no_local));
                    }
                }
                self.set_filters(all);
                self.outbox.send(Outgoing::SubAck { pkid, granted });
            }
            Incoming::Unsubscribe { pkid, filters } => {
                let count = filters.len();
                let all = self
                    .filters
                    .iter()
                    .filter(|(f, _)| !filters.contains(f))
                    .cloned()
                    .collect();
                self.set_filters(all);
                self.outbox.send(Outgoing::UnsubAck { pkid, count });
            }
            Incoming::PingReq => self.outbox.send(Outgoing::PingResp),
            Incoming::Disconnect { with_will } => return Some(End::Disconnected { with_will }),
            Incoming::Ignored => {}
            Incoming::Connect(_) => {
                tracing::info!(client_id = %self.client_id, "a second CONNECT: closed");
                return Some(End::Lost(Some(reason::PROTOCOL_ERROR)));
            }
        }
        None
    }

    /// A PUBLISH: to the relay, through the intake, and on to the writer with its
    /// acknowledgement (QoS 1 and 2) once durable.
    async fn publish(&mut self, qos: u8, pkid: u16, topic: &str, payload: Bytes) -> Option<End> {
        self.shared.relay.offer(self.conn_id, topic, &payload);
        let gateway = self.gateway();
        if self.shared.gateways.is_some() && gateway.is_none() {
            tracing::warn!(client_id = %self.client_id, "gateway revoked: connection closed");
            return Some(End::Lost(Some(0x87)));
        }
        let msg = self
            .shared
            .intake
            .handle_from(topic, &payload, gateway.as_ref())
            .ok();
        // The server began to stop while the intake had the message (an indicator report
        // waits there for its own store, and gives up at the stop): it is not handed on nor
        // acknowledged, and the gateway sends it again to the next server.
        if qos > 0 && *self.shared.stop.borrow() {
            return Some(End::Stopping);
        }
        let ack = (qos > 0).then(|| Ack::Session {
            to: self.outbox.clone(),
            pkid,
        });
        let waits = ack.is_some();
        let p = Pending::handled(msg, ack)?;
        if waits {
            self.outbox.handed(pkid, qos == 2);
            if self.shared.writer.send(p).await.is_err() {
                return Some(End::Stopping);
            }
        } else if self.shared.writer.try_send(p).is_err() {
            // QoS 0 is at most once, by its sender's choice.
            self.shared
                .intake
                .stats
                .dropped_qos0
                .fetch_add(1, Ordering::Relaxed);
        }
        None
    }

    /// The gateway's grants as they stand (looked up again every second).
    fn gateway(&mut self) -> Option<Gateway> {
        let (all, (g, at)) = (self.shared.gateways.as_ref()?, self.gateway.as_mut()?);
        if at.elapsed() > GRANTS_FRESH_FOR {
            *g = all.by_name(&g.name)?;
            *at = Instant::now();
        }
        Some(g.clone())
    }

    fn set_filters(&mut self, filters: Vec<(String, bool)>) {
        if self.kept {
            self.shared.sessions.set_filters(&self.client_id, &filters);
        }
        self.relay = match (filters.is_empty(), self.relay.take()) {
            (true, _) => None,
            (false, Some(rx)) => Some(rx),
            (false, None) => Some(self.shared.relay.subscribe()),
        };
        self.filters = filters;
    }

    /// A relayed message, if one of the filters takes it.
    fn deliver(&self, m: &Relayed) {
        let wanted = self.filters.iter().any(|(f, no_local)| {
            !(*no_local && m.from == self.conn_id) && ioc_protocol::filter::matches(f, &m.topic)
        });
        if wanted {
            self.outbox.relay(&m.topic, &m.payload);
        }
    }

    /// What happens as the session ends: the will, the record's time, the client id freed.
    fn finish(&mut self, end: &End) {
        let will = match end {
            End::Disconnected { with_will } => *with_will,
            End::Lost(_) => true,
            End::Stopping | End::TakenOver => false,
        };
        if let Some(w) = self.will.take().filter(|_| will) {
            let gateway = self.gateway();
            self.shared.relay.offer(self.conn_id, &w.topic, &w.payload);
            let msg = self
                .shared
                .intake
                .handle_from(&w.topic, &w.payload, gateway.as_ref())
                .ok();
            if let Some(p) = Pending::handled(msg, None) {
                let _ = self.shared.writer.try_send(p);
            }
        }
        if self.kept {
            self.shared
                .sessions
                .left(&self.client_id, chrono::Utc::now().timestamp_millis());
        }
        self.shared.release(&self.client_id, self.conn_id);
    }
}

fn version_of(outbox: &Outbox) -> Version {
    outbox.version()
}

fn connack(
    refused: Option<Refusal>,
    session_present: bool,
    assigned_id: Option<String>,
    settings: &super::Settings,
) -> Outgoing {
    Outgoing::ConnAck {
        refused,
        session_present,
        assigned_id,
        receive_max: settings.max_inflight.min(usize::from(u16::MAX)) as u16,
        max_packet: settings.max_packet as u32,
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
