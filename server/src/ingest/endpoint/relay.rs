//! The live relay: every message published to the endpoint, offered to the connections that
//! subscribed (for debugging, or a dashboard of a gateway's own), at QoS 0. One bounded
//! broadcast channel: a subscriber that falls behind loses the oldest messages (counted in
//! `relay_dropped`), and never slows the gateways or the store. Nothing is kept for a
//! subscriber that is not connected, and nothing is retained.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::broadcast;

/// One published message, as relayed.
#[derive(Debug)]
pub(crate) struct Relayed {
    pub(crate) topic: String,
    pub(crate) payload: Bytes,
    /// The connection that published it (for MQTT 5's No Local).
    pub(crate) from: u64,
}

/// The relay's sending side, shared by every connection.
#[derive(Debug, Clone)]
pub(crate) struct Relay {
    tx: broadcast::Sender<Arc<Relayed>>,
}

impl Relay {
    pub(crate) fn new(capacity: usize) -> Relay {
        Relay {
            tx: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// Offers a message to the subscribers; costs nothing when there are none.
    pub(crate) fn offer(&self, from: u64, topic: &str, payload: &Bytes) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(Arc::new(Relayed {
                topic: topic.to_owned(),
                payload: payload.clone(),
                from,
            }));
        }
    }

    /// A new subscriber's receiving side.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Relayed>> {
        self.tx.subscribe()
    }
}
