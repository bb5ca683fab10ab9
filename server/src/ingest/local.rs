//! The subscriber over the embedded broker's in-process links ([`LocalLink`]): no socket and
//! no MQTT encoding between the broker's router and us. Over TCP connections, the broker's and
//! our MQTT work took about a third of the server's CPU under load (docs/performance.md).
//!
//! [`LocalLink`]: super::broker::LocalLink

use futures_util::future::BoxFuture;
use rumqttd::Notification;
use rumqttd::local::LinkRx;
use tokio::sync::watch;

use super::broker::{LocalAcker, forward_pkid};
use super::intake::{Intake, LinkIntake, RETRY_WAITING};
use super::links::SubscriberConfig;
use crate::store::writer::{LinkAcker, WriterHandle};

/// Runs a connection over the embedded broker's in-process link until `shutdown` turns true,
/// once `link` has subscribed:
/// - a [`Role::All`] link takes its areas' messages at QoS 1, each acknowledged by the writer
///   once durable (through its [`LocalAcker`]), as [`super::run_subscriber`] does over MQTT;
/// - the [`Role::Rest`] link takes everything at QoS 0 and keeps what no other link's filter
///   takes (an area the city does not have, a topic outside the contract), so that it is
///   rejected and counted, once.
///
/// [`Role::All`]: super::Role::All
/// [`Role::Rest`]: super::Role::Rest
pub async fn run_local(
    cfg: SubscriberConfig,
    mut rx: LinkRx,
    intake: Intake,
    writer: WriterHandle,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut link = LinkIntake::new(&cfg, intake, writer);
    loop {
        let notification = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            n = rx.next() => n,
            _ = tokio::time::sleep(RETRY_WAITING), if link.waiting() => {
                link.drain();
                continue;
            }
        };
        match notification {
            Ok(Some(Notification::Forward(f))) => {
                let pkid = forward_pkid(&f.publish);
                match std::str::from_utf8(&f.publish.topic) {
                    Ok(topic) => link.take(topic, &f.publish.payload, pkid),
                    // rumqttd refuses a publish whose topic is not UTF-8 before it reaches a
                    // log; were one to come, its acknowledgement would still have to leave in
                    // order.
                    Err(_) => link.hand_on(None, pkid),
                }
            }
            // The router paused this link (its buffer was full) until we ask for more.
            Ok(Some(Notification::Unschedule)) => {
                if let Err(e) = rx.wake().await {
                    tracing::error!(error = %e, "the embedded broker's router is gone");
                    break;
                }
            }
            Ok(Some(Notification::DeviceAck(_))) => {
                link.set_subscribed(true);
            }
            Ok(Some(Notification::Disconnect(..))) => {
                tracing::error!(
                    client_id = %cfg.client_id,
                    "the embedded broker dropped its in-process link"
                );
                break;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "the embedded broker's router is gone");
                break;
            }
        }
        link.drain();
    }
    link.set_subscribed(false);
}

/// The store writer acknowledges an in-process link's share of a batch with one wake-up of
/// the router ([`LocalAcker::ack`]).
impl LinkAcker for LocalAcker {
    fn ack<'a>(&'a mut self, pkids: &'a [u16]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = LocalAcker::ack(self, pkids).await {
                tracing::error!(error = %e, "cannot acknowledge to the embedded broker");
            }
        })
    }
}
