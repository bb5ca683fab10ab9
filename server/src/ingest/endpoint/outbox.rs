//! A connection's way out: what the endpoint sends a client, queued by the session (CONNACK
//! aside, which it writes itself), by the store writer (PUBACK and PUBREC once a message is
//! durable, [`Outbox::acknowledge`]) and by the live relay (QoS 0 messages to a subscriber,
//! dropped when the client does not read them fast enough). One task per connection writes it
//! to the socket ([`Outbox::run`]).
//!
//! Nothing waits on the outbox: the writer's acknowledgements and the relay only push and wake
//! the writing task. Acknowledgements are bounded by the connection's in-flight cap; relayed
//! messages by `relay_capacity`; control answers (PINGRESP, SUBACK...) by the session, which
//! stops reading while too many wait.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use super::EndpointStats;
use super::codec::{self, Outgoing, Version};
use crate::store::writer::SessionAcker;

/// Control answers queued for one connection, at most: past it the session stops reading.
pub(crate) const MAX_CONTROL: usize = 256;

/// A write that makes no progress for this long closes the connection: its client has
/// stopped reading (what it had in flight is sent again when it reconnects).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Queue {
    /// In the order they were queued: acknowledgements and control answers.
    frames: VecDeque<Outgoing>,
    /// Relayed messages waiting, counted apart to bound them.
    relayed: VecDeque<Outgoing>,
    /// QoS 2 packet ids whose acknowledgement is a PUBREC, not a PUBACK.
    qos2: HashSet<u16>,
    /// Set once the connection is to close: after what is queued, with this DISCONNECT
    /// reason (MQTT 5), or at once when `abandon`.
    closing: Option<Option<u8>>,
    abandon: bool,
}

/// One connection's outgoing packets.
#[derive(Debug)]
pub(crate) struct Outbox {
    version: Version,
    /// The largest packet the client takes.
    max_packet: usize,
    relay_capacity: usize,
    queue: Mutex<Queue>,
    /// Wakes the writing task.
    wake: Notify,
    /// Wakes the session when an acknowledgement frees a place in the in-flight window.
    room: Notify,
    /// Messages handed to the writer and not yet acknowledged.
    in_flight: AtomicUsize,
    stats: Arc<EndpointStats>,
}

impl Outbox {
    pub(crate) fn new(
        version: Version,
        max_packet: usize,
        relay_capacity: usize,
        stats: Arc<EndpointStats>,
    ) -> Outbox {
        Outbox {
            version,
            max_packet,
            relay_capacity,
            queue: Mutex::default(),
            wake: Notify::new(),
            room: Notify::new(),
            in_flight: AtomicUsize::new(0),
            stats,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a control answer (PINGRESP, SUBACK, PUBCOMP...). The session checks
    /// [`Outbox::has_room_for_control`] before it reads more.
    pub(crate) fn send(&self, p: Outgoing) {
        self.lock().frames.push_back(p);
        self.wake.notify_one();
    }

    /// Whether the session may queue another control answer (else it stops reading).
    pub(crate) fn has_room_for_control(&self) -> bool {
        self.lock().frames.len() < MAX_CONTROL
    }

    /// A QoS 1 or 2 message is with the writer (`qos2` when it is answered with PUBREC).
    pub(crate) fn handed(&self, pkid: u16, qos2: bool) {
        if qos2 {
            self.lock().qos2.insert(pkid);
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages with the writer and not yet acknowledged.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Waits until an acknowledgement or a sent control answer makes room.
    pub(crate) async fn room(&self) {
        self.room.notified().await
    }

    /// Queues a relayed message, or drops it (counted) when the client is that far behind.
    pub(crate) fn relay(&self, topic: &str, payload: &bytes::Bytes) {
        let mut q = self.lock();
        if q.closing.is_some() {
            return;
        }
        if q.relayed.len() >= self.relay_capacity {
            drop(q);
            self.stats.relay_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        q.relayed.push_back(Outgoing::Publish {
            topic: topic.to_owned(),
            payload: payload.clone(),
        });
        drop(q);
        self.wake.notify_one();
    }

    /// Closes the connection once what is queued is written, with a DISCONNECT of `reason`
    /// for MQTT 5 (`None`: none).
    pub(crate) fn close(&self, reason: Option<u8>) {
        let mut q = self.lock();
        if q.closing.is_none() {
            q.closing = Some(reason);
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Closes at once, dropping what is queued (the client went away or was taken over;
    /// what it had in flight it sends again on its next connection).
    pub(crate) fn abandon(&self) {
        let mut q = self.lock();
        q.abandon = true;
        q.closing.get_or_insert(None);
        drop(q);
        self.wake.notify_one();
    }

    /// Writes what is queued to `w`, acknowledgements and answers first, until the
    /// connection closes.
    pub(crate) async fn run<W: AsyncWrite + Unpin>(&self, mut w: W) {
        let mut buf = BytesMut::with_capacity(4096);
        loop {
            let (frames, relayed, closing) = {
                let mut q = self.lock();
                if q.abandon {
                    break;
                }
                let frames = std::mem::take(&mut q.frames);
                let relayed = std::mem::take(&mut q.relayed);
                (frames, relayed, q.closing)
            };
            if frames.is_empty() && relayed.is_empty() {
                match closing {
                    Some(reason) => {
                        if let Some(code) = reason {
                            buf.clear();
                            codec::write(
                                self.version,
                                &Outgoing::Disconnect(code),
                                &mut buf,
                                self.max_packet,
                            );
                            if !buf.is_empty() {
                                let _ =
                                    tokio::time::timeout(WRITE_TIMEOUT, w.write_all(&buf)).await;
                            }
                        }
                        break;
                    }
                    None => {
                        self.wake.notified().await;
                        continue;
                    }
                }
            }
            buf.clear();
            let mut acks = 0u64;
            for p in frames.iter().chain(relayed.iter()) {
                if matches!(p, Outgoing::PubAck(_) | Outgoing::PubRec(_)) {
                    acks += 1;
                }
                if !codec::write(self.version, p, &mut buf, self.max_packet) {
                    // Larger than the client takes (a relayed message): it is not sent.
                    self.stats.relay_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            let relayed = relayed.len() as u64;
            // The session may read again once its answers are on their way.
            self.room.notify_one();
            match tokio::time::timeout(WRITE_TIMEOUT, w.write_all(&buf)).await {
                Ok(Ok(())) => {
                    self.stats.acks_sent.fetch_add(acks, Ordering::Relaxed);
                    self.stats.relayed.fetch_add(relayed, Ordering::Relaxed);
                }
                Ok(Err(_)) | Err(_) => {
                    self.abandon();
                    break;
                }
            }
            if buf.capacity() > 1 << 20 {
                buf = BytesMut::with_capacity(4096);
            }
        }
        let _ = w.shutdown().await;
        // A session waiting for room must notice the connection is gone.
        self.room.notify_one();
    }

    /// The protocol the connection speaks.
    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// Whether the connection is closing or closed.
    pub(crate) fn is_closing(&self) -> bool {
        self.lock().closing.is_some()
    }
}

/// The store writer acknowledges a connection's durable messages here, in the order they came:
/// PUBACK for QoS 1, PUBREC for QoS 2. Never waits.
impl SessionAcker for Outbox {
    fn acknowledge(&self, pkids: &[u16]) {
        let mut q = self.lock();
        if q.abandon {
            return;
        }
        for &pkid in pkids {
            let p = match q.qos2.remove(&pkid) {
                true => Outgoing::PubRec(pkid),
                false => Outgoing::PubAck(pkid),
            };
            q.frames.push_back(p);
        }
        drop(q);
        self.in_flight.fetch_sub(pkids.len(), Ordering::Relaxed);
        self.wake.notify_one();
        self.room.notify_one();
    }
}
