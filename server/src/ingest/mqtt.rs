//! The subscriber over MQTT (rumqttc): the connections to an external broker, a replica's two.
//!
//! The subscriber's event loop is the only thing that reads from the broker, and rumqttc
//! needs it polled continuously (keep-alives, acks, reconnects all go through it). So the
//! loop never awaits anything but the broker: decoding and handing a reading to the hub are
//! synchronous and take microseconds, and what finds the writer's queue full waits in the
//! link's own overflow list (see [`LinkIntake`]). The store writer acknowledges through the
//! client ([`LinkAcker`]) once messages are durable.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use tokio::sync::watch;

use super::intake::{Intake, LinkIntake, RETRY_WAITING};
use super::links::SubscriberConfig;
use crate::store::writer::{LinkAcker, WriterHandle};

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
    intake: Intake,
    writer: WriterHandle,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut link = LinkIntake::new(&cfg, intake, writer);
    let mut backoff = Duration::from_millis(100);
    loop {
        let event = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            event = eventloop.poll() => event,
            _ = tokio::time::sleep(RETRY_WAITING), if link.waiting() => {
                link.drain();
                continue;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                // Subscribed at QoS 1 at most, so a message comes at QoS 0 or 1.
                let pkid = (publish.qos != QoS::AtMostOnce).then_some(publish.pkid);
                link.take(&publish.topic, &publish.payload, pkid);
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                // Connected and subscribed: from here on, nothing published is missed.
                link.set_subscribed(true);
            }
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(100);
                if cfg.stores() && cfg.link == 0 {
                    link.stats().broker_connects.fetch_add(1, Ordering::Relaxed);
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
                if link.set_subscribed(false) {
                    tracing::warn!(
                        error = %e,
                        client_id = %cfg.client_id,
                        role = ?cfg.role,
                        "lost the MQTT broker; reconnecting"
                    );
                } else {
                    tracing::debug!(error = %e, "MQTT broker not reachable");
                }
                link.forget_waiting();
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
        link.drain();
    }
    link.set_subscribed(false);
}

/// The store writer acknowledges a connection's messages through its client, one PUBACK per
/// packet id, in order.
impl LinkAcker for AsyncClient {
    fn ack<'a>(&'a mut self, pkids: &'a [u16]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // rumqttc acknowledges by the publish's packet id and QoS alone; the empty topic
            // and payload allocate nothing.
            let mut publish = Publish::new("", QoS::AtLeastOnce, Vec::new());
            for &pkid in pkids {
                publish.pkid = pkid;
                if let Err(e) = AsyncClient::ack(self, &publish).await {
                    // The client is gone (shutting down): the broker redelivers what we could
                    // not acknowledge, and the store ignores the duplicates.
                    tracing::debug!(error = %e, "cannot acknowledge");
                    return;
                }
            }
        })
    }
}

/// Stops the subscriber's session cleanly once the writer has acknowledged what it could.
pub async fn disconnect(client: &AsyncClient) {
    let _ = client.try_disconnect();
}
