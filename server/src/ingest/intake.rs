//! The intake: what happens to each message that comes in, whichever way it came.
//!
//! [`Intake`] decodes a message, checks that its gateway is granted its source, counts it, and
//! hands an accepted one to the live hub and the alerts. [`LinkIntake`] is one link's way in
//! from an external broker: the MQTT loop ([`super::run_subscriber`]) takes its messages
//! through one, which hands them on to the store writer with their acknowledgement, in the
//! order they came. The embedded endpoint's sessions and HTTP ingest use [`Intake`] directly
//! and wait on the writer themselves.
//!
//! An indicator report (`ioc/v1/indicator/...`) is not a reading: the intake hands it to the
//! indicators, which store it before the intake returns, so its acknowledgement waits for it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use ioc_protocol::topic::IndicatorTopic;
use ioc_protocol::{Body, Message, RejectReason, Rejection};

use super::links::{Role, SubscriberConfig};
use super::stats::IngestStats;
use crate::alerts::Alerts;
use crate::auth::gateways::{Gateway, Gateways};
use crate::city::City;
use crate::indicators::Indicators;
use crate::live::Hub;
use crate::live::figures::Arrival;
use crate::store::writer::{Ack, Pending, WriterHandle};

/// Turns raw messages into accepted readings (to the hub and the alerts) or counted
/// rejections: decoding, the gateway's grant, counting, hand-on. Shared by every way in (the
/// MQTT connections to an external broker, the embedded endpoint's sessions, HTTP ingest).
#[derive(Debug, Clone)]
pub struct Intake {
    pub city: Arc<City>,
    pub hub: Arc<Hub>,
    pub stats: Arc<IngestStats>,
    /// With gateway auth on: what each gateway may publish.
    pub gateways: Option<Arc<Gateways>>,
    /// Judges each accepted reading against the alert rules and its baseline.
    pub alerts: Option<Arc<Alerts>>,
    /// Takes the indicator reports (`ioc/v1/indicator/...`), which are not readings.
    pub indicators: Option<Arc<Indicators>>,
}

impl Intake {
    /// Decodes one message, counts it, and hands an accepted one to the hub. Never panics,
    /// whatever the input.
    pub fn handle(&self, topic: &str, payload: &[u8]) -> Result<Message, Rejection> {
        self.handle_from(topic, payload, None)
    }

    /// [`Intake::handle`] for a message whose gateway is known (HTTP ingest, the embedded
    /// endpoint): it must be
    /// granted to that gateway, not just to some gateway.
    pub fn handle_from(
        &self,
        topic: &str,
        payload: &[u8],
        from: Option<&Gateway>,
    ) -> Result<Message, Rejection> {
        // One clock read serves the decoding, the hub's arrival and the alert rules.
        let now = Utc::now().timestamp_millis();
        if let Some(done) = self.indicator_report(topic, payload, from, now) {
            return Err(done);
        }
        match self.decode_at(topic, payload, from, now) {
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
                self.hub.apply_as(&msg, Arrival::At(now));
                if let Some(alerts) = &self.alerts {
                    alerts.observe_at(&msg, now);
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
    /// An indicator report is stored here (the store connection's share of them).
    pub fn decode(
        &self,
        topic: &str,
        payload: &[u8],
        from: Option<&Gateway>,
    ) -> Result<Message, Rejection> {
        let now = Utc::now().timestamp_millis();
        if let Some(done) = self.indicator_report(topic, payload, from, now) {
            return Err(done);
        }
        self.decode_at(topic, payload, from, now)
    }

    /// An indicator report (`ioc/v1/indicator/{area}/{unit}`) goes to the indicators, which
    /// check it and store it before this returns, so that its acknowledgement, which follows
    /// through the writer like a rejected message's, means stored. `None` for any other topic.
    /// What comes back is not a reading either way: a [`Rejection`] (`unknown_domain`, as the
    /// readings' contract says of the topic) that says what became of the report; it is
    /// counted by the indicators, not among the rejected readings. With gateway auth, the
    /// gateway must be granted the topic's area and, as a source, its unit.
    fn indicator_report(
        &self,
        topic: &str,
        payload: &[u8],
        from: Option<&Gateway>,
        now: i64,
    ) -> Option<Rejection> {
        let indicators = self.indicators.as_ref()?;
        if !IndicatorTopic::is_indicator(topic) {
            return None;
        }
        let detail = match IndicatorTopic::parse(topic) {
            Ok(t) if !self.grants_unit(&t, from) => {
                indicators.refused_forbidden();
                format!(
                    "unit {:?} in area {:?} is not granted to this gateway",
                    t.unit, t.area
                )
            }
            _ => match indicators.take_report(topic, payload, from.map(|g| g.name.as_str()), now) {
                Ok(n) => format!("an indicator report: {n} values stored"),
                Err(e) => format!("an indicator report, refused: {e}"),
            },
        };
        Some(Rejection {
            reason: RejectReason::UnknownDomain,
            detail,
        })
    }

    /// Whether the server is stopping, as the indicators know it (an indicator report taken
    /// now may have given up on its store).
    pub(crate) fn stopping(&self) -> bool {
        self.indicators.as_ref().is_some_and(|i| i.stopping())
    }

    fn grants_unit(&self, t: &IndicatorTopic, from: Option<&Gateway>) -> bool {
        match (from, &self.gateways) {
            (Some(g), _) => g.grants(&t.area, &t.unit),
            (None, Some(all)) => all.granted(&t.area, &t.unit),
            (None, None) => true,
        }
    }

    /// [`Intake::decode`] against the server's clock reading `now` (epoch ms).
    fn decode_at(
        &self,
        topic: &str,
        payload: &[u8],
        from: Option<&Gateway>,
        now: i64,
    ) -> Result<Message, Rejection> {
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

/// How often a link retries handing on what waits for room in the writer's queue. It must not
/// wait for the next packet: the broker may be holding back until those are acknowledged.
pub(crate) const RETRY_WAITING: Duration = Duration::from_millis(5);

/// One link's way in (a subscriber connection to an external broker): each message it
/// receives goes through the [`Intake`] as the link's [`Role`] says, then on to the store
/// writer with what acknowledges it, in the order it came.
pub(crate) struct LinkIntake<'a> {
    cfg: &'a SubscriberConfig,
    intake: Intake,
    writer: WriterHandle,
    /// Messages to acknowledge that found the writer's queue full, in order. Bounded by the
    /// broker's in-flight window: it sends no more unacknowledged messages than that.
    overflow: VecDeque<Pending>,
    /// Connected and subscribed (see [`LinkIntake::set_subscribed`]).
    subscribed: bool,
}

impl<'a> LinkIntake<'a> {
    pub(crate) fn new(cfg: &'a SubscriberConfig, intake: Intake, writer: WriterHandle) -> Self {
        LinkIntake {
            cfg,
            intake,
            writer,
            overflow: VecDeque::new(),
            subscribed: false,
        }
    }

    pub(crate) fn stats(&self) -> &IngestStats {
        &self.intake.stats
    }

    /// Takes one message the link received; `pkid` is its packet id when the broker waits for
    /// its acknowledgement (QoS 1).
    pub(crate) fn take(&mut self, topic: &str, payload: &[u8], pkid: Option<u16>) {
        let msg = match self.cfg.role {
            Role::All => self.intake.handle(topic, payload).ok(),
            Role::Store => self.intake.decode(topic, payload, None).ok(),
            // Indicator reports are the store connection's, like the readings it stores.
            Role::Live if IndicatorTopic::is_indicator(topic) => return,
            Role::Live => {
                let _ = self.intake.handle(topic, payload);
                return;
            }
        };
        // The server began to stop while the intake had an indicator report (it waits there
        // for its own store, and gives up at the stop): it may not be stored, so it is not
        // acknowledged, and the broker sends it again to the next server's session.
        if pkid.is_some() && IndicatorTopic::is_indicator(topic) && self.intake.stopping() {
            tracing::warn!(
                topic,
                "the server stops: an indicator report left unacknowledged for the next start"
            );
            return;
        }
        self.hand_on(msg, pkid);
    }

    /// Hands an accepted message (`msg`) and what acknowledges it to the writer, or keeps them
    /// in the overflow list (in order) while the writer's queue is full: a QoS 1 message must
    /// not be dropped, and the broker's in-flight window bounds how many wait. A QoS 0 message
    /// that finds the queue full is dropped and counted.
    ///
    /// A rejected QoS 1 message (`msg` is `None`) is acknowledged too, so that the broker does
    /// not send it again forever (it is counted, and kept for operators to see). Its ack goes
    /// through the writer like the others: acks leave in the order the messages came. A rejected QoS 0 message has nothing to hand on.
    pub(crate) fn hand_on(&mut self, msg: Option<Message>, pkid: Option<u16>) {
        let link = self.cfg.link;
        let ack = pkid.map(|pkid| Ack::Link { link, pkid });
        let Some(p) = Pending::handled(msg, ack) else {
            return;
        };
        if !self.overflow.is_empty() {
            self.overflow.push_back(p);
        } else if let Err(p) = self.writer.try_send(p) {
            if p.waits_for_ack() {
                self.overflow.push_back(p);
            } else {
                // QoS 0 is at most once, by its sender's choice.
                self.intake
                    .stats
                    .dropped_qos0
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Whether messages wait for room in the writer's queue (then retry [`LinkIntake::drain`]
    /// every [`RETRY_WAITING`]).
    pub(crate) fn waiting(&self) -> bool {
        !self.overflow.is_empty()
    }

    /// Moves what waits to the writer's queue, in order, as far as it has room.
    pub(crate) fn drain(&mut self) {
        while let Some(p) = self.overflow.pop_front() {
            if let Err(p) = self.writer.try_send(p) {
                self.overflow.push_front(p);
                break;
            }
        }
    }

    /// Forgets what waits, once the connection is lost: it was not acknowledged, so the
    /// broker sends it again on the new connection, and the store ignores duplicates.
    pub(crate) fn forget_waiting(&mut self) {
        self.overflow.clear();
    }

    /// Counts the link as connected and subscribed (`now`), or no longer; false if it already
    /// was what `now` says. A replica's live connection has a flag of its own; the other links
    /// count among those that must all be up for nothing published to be missed.
    pub(crate) fn set_subscribed(&mut self, now: bool) -> bool {
        if now == self.subscribed {
            return false;
        }
        self.subscribed = now;
        let stats = &self.intake.stats;
        if self.cfg.role == Role::Live {
            stats.live_connected.store(now, Ordering::Relaxed);
        } else if now {
            stats.links_up.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.links_up.fetch_sub(1, Ordering::Relaxed);
        }
        true
    }
}
