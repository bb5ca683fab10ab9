//! Ingest: the MQTT subscriber, and what happens to each message it receives.
//!
//! The subscriber's event loop is the only thing that reads from the broker, and rumqttc
//! needs it polled continuously (keep-alives, acks, reconnects all go through it). So the
//! loop never awaits anything but the broker: decoding and handing a reading to the hub are
//! synchronous and take microseconds, and acknowledgements use `try_ack` with a small queue
//! of their own for the rare moment the client's request channel is full.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ioc_protocol::topic::char_prefix;
use ioc_protocol::{Body, Message, RejectReason, Rejection, topic::FILTER_ALL};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use serde::Serialize;
use tokio::sync::watch;

use crate::city::City;
use crate::live::Hub;
use crate::store::writer::{Ack, Pending, WriterHandle};

/// How many rejected messages are kept for operators to look at.
const RECENT_REJECTED: usize = 50;
/// How much of a rejected payload is kept.
const PAYLOAD_PREFIX_BYTES: usize = 256;

/// Counts of what came in, for `/api/v1/ingest/rejected` and the System tile.
#[derive(Debug, Default)]
pub struct IngestStats {
    pub accepted: AtomicU64,
    /// Data points (fields) of the accepted readings.
    pub points: AtomicU64,
    rejected: Mutex<Rejected>,
    /// The connections that carry messages to the store (with the embedded broker, also the
    /// one that counts the rest, see [`SubscriberConfig::links`]); 0 is taken as 1.
    pub links: AtomicUsize,
    /// How many of [`IngestStats::links`] are connected and subscribed.
    pub links_up: AtomicUsize,
    /// A replica's live connection, connected and subscribed.
    pub live_connected: AtomicBool,
    /// One replica of several (`mqtt.shared_group`): two connections to the broker.
    pub replica: AtomicBool,
    /// QoS 0 messages dropped because the store writer's queue was full.
    pub dropped_qos0: AtomicU64,
    /// CONNACKs from the broker to the first store connection: its first connection and every
    /// reconnection (the other links connect and reconnect with it).
    pub broker_connects: AtomicU64,
    /// Lost messages per source, from gaps in `seq`.
    pub sequences: Mutex<Sequences>,
}

/// How many `seq` values below a source's highest are remembered, so that a message arriving
/// late (or again) within them is told from a lost one.
const SEQ_WINDOW: u64 = 64;
/// Sources whose `seq` is followed; beyond, new sources are not (a misbehaving gateway inventing
/// source ids cannot grow this without bound).
const MAX_SEQ_SOURCES: usize = 100_000;

/// Gaps in each source's `seq` (CONTRACT.md: increasing per source; gaps are lost messages).
#[derive(Debug, Default)]
pub struct Sequences {
    by_topic: std::collections::HashMap<Box<str>, SeqTrack>,
    /// Lost messages of every source, since start.
    pub lost: u64,
    /// Times a source's `seq` went back far below what it had sent (a gateway restarted and
    /// counts from zero again): followed afresh, nothing counted as lost.
    pub restarts: u64,
}

#[derive(Debug, Clone, Copy)]
struct SeqTrack {
    highest: u64,
    /// Bit i set: `highest - i` was received.
    seen: u64,
    lost: u64,
}

impl Sequences {
    /// Takes in one accepted message's `seq`.
    pub fn observe(&mut self, topic: &str, seq: u64) {
        let Some(t) = self.by_topic.get_mut(topic) else {
            if self.by_topic.len() < MAX_SEQ_SOURCES {
                let first = SeqTrack {
                    highest: seq,
                    seen: 1,
                    lost: 0,
                };
                self.by_topic.insert(topic.into(), first);
            }
            return;
        };
        if seq > t.highest {
            let ahead = seq - t.highest;
            // The values between the old highest and this one have not come (yet).
            let missing = ahead - 1;
            t.lost += missing;
            self.lost += missing;
            t.seen = if ahead >= SEQ_WINDOW {
                0
            } else {
                t.seen << ahead
            } | 1;
            t.highest = seq;
        } else if t.highest - seq < SEQ_WINDOW {
            let bit = 1 << (t.highest - seq);
            if t.seen & bit == 0 {
                // Late, not lost: it was counted as missing when a higher one came.
                t.seen |= bit;
                t.lost = t.lost.saturating_sub(1);
                self.lost = self.lost.saturating_sub(1);
            }
        } else {
            *t = SeqTrack {
                highest: seq,
                seen: 1,
                lost: t.lost,
            };
            self.restarts += 1;
        }
    }

    /// Lost messages per source (topic), for the sources that lost any.
    pub fn lost_by_topic(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self
            .by_topic
            .iter()
            .filter(|(_, t)| t.lost > 0)
            .map(|(k, t)| (&**k, t.lost))
            .collect();
        v.sort_unstable();
        v
    }
}

#[derive(Debug, Default)]
struct Rejected {
    total: u64,
    by_reason: BTreeMap<RejectReason, u64>,
    recent: VecDeque<RejectedMessage>,
}

/// One rejected message, as an operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedMessage {
    pub at: DateTime<Utc>,
    pub topic: String,
    pub reason: RejectReason,
    pub detail: String,
    /// The payload's first bytes, with invalid UTF-8 replaced.
    pub payload_prefix: String,
    pub payload_bytes: usize,
}

/// The body of `GET /api/v1/ingest/rejected`.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedReport {
    pub accepted: u64,
    pub rejected: u64,
    /// Every reason, zero included, so that a dashboard can chart them all.
    pub by_reason: BTreeMap<RejectReason, u64>,
    /// Newest first.
    pub recent: Vec<RejectedMessage>,
}

impl IngestStats {
    /// Every store connection is connected and subscribed: nothing published is missed.
    pub fn broker_connected(&self) -> bool {
        self.links_up.load(Ordering::Relaxed) >= self.links.load(Ordering::Relaxed).max(1)
    }

    pub fn reject(&self, topic: &str, payload: &[u8], rejection: &Rejection) {
        let mut cut = payload.len().min(PAYLOAD_PREFIX_BYTES);
        // Do not split a UTF-8 character at the cut.
        while cut < payload.len() && cut > 0 && (payload[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        let entry = RejectedMessage {
            at: Utc::now(),
            topic: char_prefix(topic, 256).to_owned(),
            reason: rejection.reason,
            detail: rejection.detail.clone(),
            payload_prefix: String::from_utf8_lossy(&payload[..cut]).into_owned(),
            payload_bytes: payload.len(),
        };
        let mut r = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        r.total += 1;
        *r.by_reason.entry(rejection.reason).or_default() += 1;
        if r.recent.len() == RECENT_REJECTED {
            r.recent.pop_front();
        }
        r.recent.push_back(entry);
    }

    /// Messages accepted and rejected since start.
    pub fn totals(&self) -> (u64, u64) {
        let rejected = self
            .rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .total;
        (self.accepted.load(Ordering::Relaxed), rejected)
    }

    pub fn report(&self) -> RejectedReport {
        let r = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        RejectedReport {
            accepted: self.accepted.load(Ordering::Relaxed),
            rejected: r.total,
            by_reason: every_reason(&r.by_reason),
            recent: r.recent.iter().rev().cloned().collect(),
        }
    }

    /// Rejections by reason, every reason included (zero too), without the recent messages.
    pub fn rejected_by_reason(&self) -> BTreeMap<RejectReason, u64> {
        every_reason(
            &self
                .rejected
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .by_reason,
        )
    }
}

fn every_reason(counts: &BTreeMap<RejectReason, u64>) -> BTreeMap<RejectReason, u64> {
    let mut all: BTreeMap<RejectReason, u64> = RejectReason::ALL.iter().map(|&k| (k, 0)).collect();
    all.extend(counts.iter().map(|(&k, &v)| (k, v)));
    all
}

/// Turns raw messages into accepted readings (to the hub) or counted rejections.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub city: Arc<City>,
    pub hub: Arc<Hub>,
    pub stats: Arc<IngestStats>,
    /// With gateway auth on: what each gateway may publish.
    pub gateways: Option<Arc<crate::auth::gateways::Gateways>>,
    /// Judges each accepted reading against the alert rules and its baseline.
    pub alerts: Option<Arc<crate::alerts::Alerts>>,
}

impl Pipeline {
    /// Decodes one message, counts it, and hands an accepted one to the hub. Never panics,
    /// whatever the input.
    pub fn handle(&self, topic: &str, payload: &[u8]) -> Result<Message, Rejection> {
        self.handle_from(topic, payload, None)
    }

    /// [`Pipeline::handle`] for a message whose gateway is known (HTTP ingest): it must be
    /// granted to that gateway, not just to some gateway.
    pub fn handle_from(
        &self,
        topic: &str,
        payload: &[u8],
        from: Option<&crate::auth::gateways::Gateway>,
    ) -> Result<Message, Rejection> {
        match self.decode(topic, payload, from) {
            Ok(msg) => {
                let points = match &msg.body {
                    Body::Reading(v) => v.len() as u64,
                    Body::Event(_) => 1,
                };
                self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                self.stats.points.fetch_add(points, Ordering::Relaxed);
                if let Some(seq) = msg.seq {
                    self.stats
                        .sequences
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .observe(topic, seq);
                }
                self.hub.apply(&msg);
                if let Some(alerts) = &self.alerts {
                    alerts.observe(&msg);
                }
                Ok(msg)
            }
            Err(rejection) => {
                tracing::debug!(topic, %rejection, "rejected");
                self.stats.reject(topic, payload, &rejection);
                Err(rejection)
            }
        }
    }

    /// Decodes one message and checks it is granted, and nothing else: no count, no hub. A
    /// replica's store connection uses it (its live connection counts and shows everything).
    pub fn decode(
        &self,
        topic: &str,
        payload: &[u8],
        from: Option<&crate::auth::gateways::Gateway>,
    ) -> Result<Message, Rejection> {
        let now = Utc::now().timestamp_millis();
        let granted = |m: &Message| match (from, &self.gateways) {
            (Some(g), _) => g.grants(&m.topic.area, &m.topic.source),
            (None, Some(all)) => all.granted(&m.topic.area, &m.topic.source),
            (None, None) => true,
        };
        ioc_protocol::decode(topic, payload, now, |a| self.city.has_area(a)).and_then(|msg| {
            if granted(&msg) {
                Ok(msg)
            } else {
                Err(Rejection {
                    reason: RejectReason::Forbidden,
                    detail: format!(
                        "source {:?} in area {:?} is not granted to this gateway",
                        msg.topic.source, msg.topic.area
                    ),
                })
            }
        })
    }
}

/// What a subscriber connection does with the messages it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A lone server: every message to the live picture and to the store, over a persistent
    /// session at QoS 1, acknowledged once durable.
    All,
    /// A replica's store connection: its share of the messages (a shared subscription, each
    /// message to one replica of the group), to the store only; persistent, QoS 1, acknowledged
    /// once durable, as [`Role::All`].
    Store,
    /// A replica's live connection: every message, to the live picture (and the counts and
    /// alerts) only. QoS 0 on a clean session: the screens show the newest state, and the
    /// store connection is the one that must not lose anything.
    Live,
    /// With the embedded broker, beside the [`Role::All`] links that split the city's areas
    /// between them: every message at QoS 0, over the broker's in-process link
    /// ([`run_local`]), of which it takes only those
    /// no link's filter matches (an area the city does not have, a topic outside the
    /// contract), so that they are rejected and counted as with one connection.
    Rest,
}

/// Where the subscriber connects, as whom, and what for.
#[derive(Debug, Clone)]
pub struct SubscriberConfig {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub max_packet_bytes: usize,
    pub role: Role,
    /// The topic filters: `ioc/v1/#`; `$share/GROUP/ioc/v1/#` for a replica's store;
    /// `ioc/v1/+/AREA/#` for some of the areas for one of several links.
    pub filters: Vec<String>,
    /// This connection's place among those whose acknowledgements the store writer sends
    /// (the index of its client in the writer's list).
    pub link: usize,
    /// For [`Role::Rest`]: the areas the links' filters take (a topic `ioc/v1/+/AREA/...`
    /// with one of them is not its to count).
    pub linked_areas: Arc<std::collections::HashSet<String>>,
}

impl SubscriberConfig {
    /// The base of the in-process links to the embedded broker ([`SubscriberConfig::links`],
    /// [`run_local`]): they need no host, port or credentials.
    pub fn local(client_id: &str, max_packet_bytes: usize) -> SubscriberConfig {
        SubscriberConfig {
            host: String::new(),
            port: 0,
            client_id: client_id.to_owned(),
            username: None,
            password: None,
            max_packet_bytes,
            role: Role::All,
            filters: Vec::new(),
            link: 0,
            linked_areas: Default::default(),
        }
    }

    /// A lone server's one connection.
    pub fn all(self) -> SubscriberConfig {
        SubscriberConfig {
            role: Role::All,
            filters: vec![FILTER_ALL.into()],
            ..self
        }
    }

    /// A lone server's in-process links to its embedded broker ([`run_local`]): `n` links
    /// ([`Role::All`]), each with the filters `ioc/v1/+/AREA/#` of its share of `areas`, and
    /// one [`Role::Rest`] for everything else. rumqttd 0.20 lets at most 100 unacknowledged
    /// QoS 1 messages out per connection (`MAX_INFLIGHT`, not configurable), and a message is
    /// acknowledged only once it is durable, so one connection moves at most 100 messages per
    /// store commit; `n` links move `n` times that. A source's messages all go through one
    /// link (its area's), in order. The client ids are the configured one with `-1` to `-n`,
    /// and `-rest`.
    pub fn links(self, areas: &[String], n: usize) -> Vec<SubscriberConfig> {
        let n = n.clamp(1, areas.len().max(1));
        let mut links: Vec<SubscriberConfig> = (0..n)
            .map(|i| SubscriberConfig {
                client_id: format!("{}-{}", self.client_id, i + 1),
                role: Role::All,
                filters: Vec::new(),
                link: i,
                ..self.clone()
            })
            .collect();
        for (i, area) in areas.iter().enumerate() {
            links[i % n]
                .filters
                .push(format!("{}+/{area}/#", ioc_protocol::topic::PREFIX));
        }
        links.push(SubscriberConfig {
            client_id: format!("{}-rest", self.client_id),
            role: Role::Rest,
            filters: vec![FILTER_ALL.into()],
            link: n,
            linked_areas: Arc::new(areas.iter().cloned().collect()),
            ..self
        });
        links
    }

    /// Whether one of the links' filters takes `topic` (see [`SubscriberConfig::links`]).
    fn linked(&self, topic: &str) -> bool {
        let Some(rest) = topic.strip_prefix(ioc_protocol::topic::PREFIX) else {
            return false;
        };
        let mut levels = rest.split('/');
        levels.next().is_some() && levels.next().is_some_and(|a| self.linked_areas.contains(a))
    }

    /// A replica's two connections: the store's share under the client id, and the live
    /// picture's under the client id and `-live`.
    pub fn replica(self, group: &str) -> (SubscriberConfig, SubscriberConfig) {
        let live = SubscriberConfig {
            client_id: format!("{}-live", self.client_id),
            role: Role::Live,
            filters: vec![FILTER_ALL.into()],
            ..self.clone()
        };
        let store = SubscriberConfig {
            role: Role::Store,
            filters: vec![format!("$share/{group}/{FILTER_ALL}")],
            ..self
        };
        (store, live)
    }

    fn qos(&self) -> QoS {
        match self.role {
            Role::All | Role::Store => QoS::AtLeastOnce,
            Role::Live | Role::Rest => QoS::AtMostOnce,
        }
    }

    /// Whether what this connection receives goes to the store, acknowledged once durable.
    fn stores(&self) -> bool {
        matches!(self.role, Role::All | Role::Store)
    }
}

/// The MQTT client of the subscriber: the client (which the store writer uses to acknowledge)
/// and its event loop (which [`run_subscriber`] polls).
pub fn mqtt_client(cfg: &SubscriberConfig) -> (AsyncClient, EventLoop) {
    let mut opts = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    let stores = cfg.stores();
    opts.set_keep_alive(Duration::from_secs(15))
        // A persistent session: the broker keeps our subscription and the QoS 1 messages we
        // have not acknowledged while we are away.
        .set_clean_session(!stores)
        // Acknowledge only what is durable (in the store or the spool).
        .set_manual_acks(stores)
        .set_max_packet_size(cfg.max_packet_bytes, cfg.max_packet_bytes)
        .set_inflight(1000);
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        opts.set_credentials(u.clone(), p.clone());
    }
    AsyncClient::new(opts, 4096)
}

/// Runs the MQTT subscriber until `shutdown` turns true. Reconnects by itself, with backoff,
/// for as long as it runs.
pub async fn run_subscriber(
    cfg: SubscriberConfig,
    client: AsyncClient,
    mut eventloop: EventLoop,
    pipeline: Pipeline,
    writer: WriterHandle,
    mut shutdown: watch::Receiver<bool>,
) {
    // Accepted QoS 1 messages that found the writer's queue full. Bounded by the broker's
    // in-flight window: it sends no more unacknowledged QoS 1 messages than that.
    let mut overflow: VecDeque<Pending> = VecDeque::new();
    let mut backoff = Duration::from_millis(100);
    let stats = pipeline.stats.clone();
    // Connected and subscribed. A replica's live connection has a flag of its own; the others
    // count among the links that must all be up for nothing published to be missed.
    let mut subscribed = false;
    let set_subscribed = |now: bool, subscribed: &mut bool| {
        if now == *subscribed {
            return false;
        }
        *subscribed = now;
        if cfg.role == Role::Live {
            stats.live_connected.store(now, Ordering::Relaxed);
        } else if now {
            stats.links_up.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.links_up.fetch_sub(1, Ordering::Relaxed);
        }
        true
    };

    loop {
        let event = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            event = eventloop.poll() => event,
            // Messages waiting for room in the writer's queue must not wait for the next
            // packet: the broker may be holding back until they are acknowledged.
            _ = tokio::time::sleep(Duration::from_millis(5)), if !overflow.is_empty() => {
                drain(&mut overflow, &writer);
                continue;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let qos1 = publish.qos != QoS::AtMostOnce;
                let handled = match cfg.role {
                    Role::All => pipeline.handle(&publish.topic, &publish.payload),
                    Role::Store => pipeline.decode(&publish.topic, &publish.payload, None),
                    Role::Live => {
                        let _ = pipeline.handle(&publish.topic, &publish.payload);
                        continue;
                    }
                    // A link took it.
                    Role::Rest if cfg.linked(&publish.topic) => continue,
                    // Rejected and counted; were it accepted (no link's area, so it cannot
                    // be), it would be stored, at most once as QoS 0 is.
                    Role::Rest => pipeline.handle(&publish.topic, &publish.payload),
                };
                let ack = qos1.then_some(Ack::Mqtt {
                    link: cfg.link,
                    publish,
                });
                enqueue(handled.ok(), ack, &mut overflow, &writer, &stats);
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                // Connected and subscribed: from here on, nothing published is missed.
                set_subscribed(true, &mut subscribed);
            }
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(100);
                if cfg.stores() && cfg.link == 0 {
                    stats.broker_connects.fetch_add(1, Ordering::Relaxed);
                }
                tracing::info!(
                    host = %cfg.host,
                    port = cfg.port,
                    client_id = %cfg.client_id,
                    role = ?cfg.role,
                    session_present = ack.session_present,
                    "connected to the MQTT broker"
                );
                let filters = cfg
                    .filters
                    .iter()
                    .map(|f| rumqttc::SubscribeFilter::new(f.clone(), cfg.qos()));
                if let Err(e) = client.try_subscribe_many(filters) {
                    tracing::error!(error = %e, "cannot subscribe");
                }
            }
            Ok(_) => {}
            Err(e) => {
                if set_subscribed(false, &mut subscribed) {
                    tracing::warn!(error = %e, client_id = %cfg.client_id, role = ?cfg.role, "lost the MQTT broker; reconnecting");
                } else {
                    tracing::debug!(error = %e, "MQTT broker not reachable");
                }
                // What waits here was not acknowledged: the broker sends it again on the new
                // connection, and the store ignores duplicates.
                overflow.clear();
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
        drain(&mut overflow, &writer);
    }
    set_subscribed(false, &mut subscribed);
}

/// Runs a connection over the embedded broker's in-process link (see
/// [`crate::broker::LocalLink`]) until `shutdown` turns true, once `link` has subscribed:
/// - a [`Role::All`] link takes its areas' messages at QoS 1, each acknowledged by the writer
///   once durable ([`Ack::Local`]), as [`run_subscriber`] does over MQTT;
/// - the [`Role::Rest`] link takes everything at QoS 0 and keeps what no other link's filter
///   takes (an area the city does not have, a topic outside the contract), so that it is
///   rejected and counted, once.
///
/// Nothing goes through a socket or MQTT encoding: over TCP connections, the broker's and our
/// MQTT work took about a third of the server's CPU under load (docs/performance.md).
pub async fn run_local(
    cfg: SubscriberConfig,
    mut rx: rumqttd::local::LinkRx,
    pipeline: Pipeline,
    writer: WriterHandle,
    mut shutdown: watch::Receiver<bool>,
) {
    use rumqttd::Notification;
    let stats = pipeline.stats.clone();
    let mut overflow: VecDeque<Pending> = VecDeque::new();
    let mut subscribed = false;
    loop {
        let notification = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            n = rx.next() => n,
            _ = tokio::time::sleep(Duration::from_millis(5)), if !overflow.is_empty() => {
                drain(&mut overflow, &writer);
                continue;
            }
        };
        match notification {
            Ok(Some(Notification::Forward(f))) => {
                let pkid = crate::broker::forward_pkid(&f.publish);
                let ack = pkid.map(|pkid| Ack::Local {
                    link: cfg.link,
                    pkid,
                });
                // rumqttd refuses a publish whose topic is not UTF-8 before it reaches a log;
                // were one to come, its acknowledgement would still have to leave in order.
                let Ok(topic) = std::str::from_utf8(&f.publish.topic) else {
                    enqueue(None, ack, &mut overflow, &writer, &stats);
                    continue;
                };
                if cfg.role == Role::Rest && cfg.linked(topic) {
                    continue;
                }
                // For the rest: rejected and counted; were it accepted (no link's area, so it
                // cannot be), it would be stored, at most once as QoS 0 is.
                let msg = pipeline.handle(topic, &f.publish.payload).ok();
                enqueue(msg, ack, &mut overflow, &writer, &stats);
            }
            // The router paused this link (its buffer was full) until we ask for more.
            Ok(Some(Notification::Unschedule)) => {
                if let Err(e) = rx.wake().await {
                    tracing::error!(error = %e, "the embedded broker's router is gone");
                    break;
                }
            }
            Ok(Some(Notification::DeviceAck(_))) if !subscribed => {
                subscribed = true;
                stats.links_up.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(Notification::Disconnect(..))) => {
                tracing::error!(client_id = %cfg.client_id, "the embedded broker dropped its in-process link");
                break;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "the embedded broker's router is gone");
                break;
            }
        }
        drain(&mut overflow, &writer);
    }
    if subscribed {
        stats.links_up.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Hands an accepted message (`msg`) and what acknowledges it to the writer, or keeps them in
/// `overflow` (in order) while the writer's queue is full: a QoS 1 message must not be
/// dropped, and the broker's in-flight window bounds how many wait. A QoS 0 message that finds
/// the queue full is dropped and counted.
///
/// A rejected QoS 1 message (`msg` is `None`) is acknowledged too, so that the broker does not
/// send it again forever (it is counted, and kept for operators to see). Its ack goes through
/// the writer like the others: acks leave in the order the messages came, which some brokers
/// (rumqttd) require. A rejected QoS 0 message has nothing to hand over.
fn enqueue(
    msg: Option<Message>,
    ack: Option<Ack>,
    overflow: &mut VecDeque<Pending>,
    writer: &WriterHandle,
    stats: &IngestStats,
) {
    if msg.is_none() && ack.is_none() {
        return;
    }
    let p = Pending { msg, ack };
    if !overflow.is_empty() {
        overflow.push_back(p);
    } else if let Err(p) = writer.try_send(p) {
        if p.ack.is_some() {
            overflow.push_back(p);
        } else {
            // QoS 0 is at most once, by its sender's choice.
            stats.dropped_qos0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Moves what waits in `overflow` to the writer's queue, in order, as far as it has room.
fn drain(overflow: &mut VecDeque<Pending>, writer: &WriterHandle) {
    while let Some(p) = overflow.pop_front() {
        if let Err(p) = writer.try_send(p) {
            overflow.push_front(p);
            break;
        }
    }
}

/// Stops the subscriber's session cleanly once the writer has acknowledged what it could.
pub async fn disconnect(client: &AsyncClient) {
    let _ = client.try_disconnect();
}

/// What the System figures read of the intake (see [`crate::health`]).
impl crate::health::IntakeHealth for IngestStats {
    fn totals(&self) -> (u64, u64) {
        IngestStats::totals(self)
    }

    fn lost_messages(&self) -> u64 {
        self.sequences
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lost
    }

    fn broker_connected(&self) -> bool {
        IngestStats::broker_connected(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SubscriberConfig {
        SubscriberConfig {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "ioc-server".into(),
            username: None,
            password: None,
            max_packet_bytes: 1 << 20,
            role: Role::All,
            filters: Vec::new(),
            link: 0,
            linked_areas: Default::default(),
        }
    }

    #[test]
    fn the_links_take_every_message_once_between_them() {
        let areas: Vec<String> = ["q1", "q3", "thu-duc", "go-vap", "city"]
            .map(String::from)
            .into();
        let links = base().links(&areas, 3);
        assert_eq!(links.len(), 4, "3 links and the rest");
        let ids: Vec<&str> = links.iter().map(|l| l.client_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ioc-server-1",
                "ioc-server-2",
                "ioc-server-3",
                "ioc-server-rest"
            ]
        );
        assert!(links.iter().enumerate().all(|(i, l)| l.link == i));
        let (rest, stores) = links.split_last().expect("links");
        assert!(
            stores
                .iter()
                .all(|l| l.stores() && l.qos() == QoS::AtLeastOnce)
        );
        assert!(!rest.stores() && rest.qos() == QoS::AtMostOnce);
        assert_eq!(rest.filters, [FILTER_ALL]);
        // Each area's filter is in exactly one link.
        let mut filters: Vec<&String> = stores.iter().flat_map(|l| &l.filters).collect();
        filters.sort();
        assert_eq!(
            filters,
            [
                "ioc/v1/+/city/#",
                "ioc/v1/+/go-vap/#",
                "ioc/v1/+/q1/#",
                "ioc/v1/+/q3/#",
                "ioc/v1/+/thu-duc/#"
            ]
        );
        // Whatever the topic, as rumqttd matches filters: one link takes it, or the rest
        // does, never both and never none (else a bad message would go uncounted, or be
        // counted twice).
        for topic in [
            "ioc/v1/env/q1/aqs-01",
            "ioc/v1/traffic/thu-duc/cam-7",
            "ioc/v1/system/city/portal",
            "ioc/v1/weather/q3/x",
            "ioc/v1/env/atlantis/x",
            "ioc/v1/env/Q1/x",
            "ioc/v1/env/q1",
            "ioc/v1/env/q1/a/b",
            "ioc/v1//q1/x",
            "ioc/v1/env",
            "ioc/v1",
            "ioc/v2/env/q1/x",
        ] {
            let by_links = stores
                .iter()
                .filter(|l| {
                    l.filters
                        .iter()
                        .any(|f| rumqttd::protocol::matches(topic, f))
                })
                .count();
            let by_rest = rumqttd::protocol::matches(topic, FILTER_ALL) && !rest.linked(topic);
            let by_any = rumqttd::protocol::matches(topic, FILTER_ALL);
            assert_eq!(
                by_links + usize::from(by_rest),
                usize::from(by_any),
                "{topic}: {by_links} links, rest {by_rest}"
            );
        }
        // No more links than areas.
        assert_eq!(base().links(&areas[..2], 8).len(), 3);
    }

    #[test]
    fn seq_gaps_count_lost_messages_and_late_ones_are_not_lost() {
        let mut s = Sequences::default();
        for seq in [0, 1, 2, 5, 6] {
            s.observe("ioc/v1/env/q1/a", seq);
        }
        assert_eq!(s.lost, 2, "3 and 4 never came");
        // 4 comes late, and 6 again (a QoS 1 redelivery): neither is a gap nor a loss.
        s.observe("ioc/v1/env/q1/a", 4);
        s.observe("ioc/v1/env/q1/a", 6);
        assert_eq!(s.lost, 1);
        // Another source has its own count.
        s.observe("ioc/v1/env/q1/b", 10);
        s.observe("ioc/v1/env/q1/b", 20);
        assert_eq!(s.lost, 10);
        assert_eq!(
            s.lost_by_topic(),
            vec![("ioc/v1/env/q1/a", 1), ("ioc/v1/env/q1/b", 9)]
        );
        // A jump beyond the window.
        s.observe("ioc/v1/env/q1/b", 200);
        assert_eq!(s.lost, 10 + 179);
        // A gateway restarted and counts from 0 again: not a loss, followed afresh.
        s.observe("ioc/v1/env/q1/b", 0);
        s.observe("ioc/v1/env/q1/b", 1);
        assert_eq!(s.restarts, 1);
        assert_eq!(s.lost, 10 + 179);
        // The first seq of a source is where it starts: nothing before it is counted.
        s.observe("ioc/v1/env/q1/c", 1_000_000);
        assert_eq!(s.lost, 10 + 179);
    }

    #[test]
    fn rejected_report_keeps_counts_and_recent() {
        let stats = IngestStats::default();
        for i in 0..(RECENT_REJECTED + 5) {
            stats.reject(
                &format!("t{i}"),
                "đ".repeat(200).as_bytes(),
                &Rejection {
                    reason: RejectReason::NotJson,
                    detail: "x".into(),
                },
            );
        }
        let r = stats.report();
        assert_eq!(r.rejected, RECENT_REJECTED as u64 + 5);
        assert_eq!(
            r.by_reason[&RejectReason::NotJson],
            RECENT_REJECTED as u64 + 5
        );
        assert_eq!(r.by_reason[&RejectReason::TooLarge], 0);
        assert_eq!(r.recent.len(), RECENT_REJECTED);
        assert_eq!(r.recent[0].topic, format!("t{}", RECENT_REJECTED + 4));
        // Cut on a character boundary: no replacement character.
        assert!(!r.recent[0].payload_prefix.contains('\u{fffd}'));
        assert!(r.recent[0].payload_prefix.len() <= PAYLOAD_PREFIX_BYTES);
    }
}
