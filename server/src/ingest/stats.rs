//! Ingest's counts: what came in, what was rejected and why (with the last rejected messages
//! for operators to look at), the links that are up, and messages lost, from gaps in each
//! source's `seq`. Read by `/api/v1/ingest/rejected`, `/metrics` and the System tile.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use ioc_protocol::topic::char_prefix;
use ioc_protocol::{RejectReason, Rejection};
use serde::Serialize;

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
    /// The connections that carry messages to the store (the embedded endpoint counts as
    /// one, up while it accepts); 0 is taken as 1.
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
    /// The embedded MQTT endpoint's counters, when it runs.
    pub endpoint: std::sync::OnceLock<std::sync::Arc<super::endpoint::EndpointStats>>,
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
    by_topic: HashMap<Box<str>, SeqTrack>,
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
