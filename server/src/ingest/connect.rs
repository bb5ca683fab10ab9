//! The ways in, connected: the embedded broker started (unless an external one is configured)
//! with the server's in-process links registered on it, or the MQTT connections to an external
//! broker made; then, once the writer exists, each link's task spawned.
//!
//! Two steps, because the writer acknowledges on the links ([`Ways::take_ackers`]) and the
//! links hand their messages to the writer ([`Ways::spawn`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use rumqttc::{AsyncClient, EventLoop};
use rumqttd::local::LinkRx;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::broker::{BrokerAuth, EmbeddedBroker, LocalAcker};
use super::{IngestStats, Intake, Role, SubscriberConfig};
use crate::auth::gateways::Gateways;
use crate::city::City;
use crate::config::{self, MqttConfig};
use crate::store::writer::{Acker, WriterHandle};

/// QoS 1 in-process links to the embedded broker, at most: the city's areas (and `city`) split
/// between them, one each for the built-in preset's 23 (see [`SubscriberConfig::links`]).
/// rumqttd 0.20 lets 100 unacknowledged messages out per connection, and each waits for a
/// store commit: one connection stored 17,400 readings/s (docs/performance.md).
pub const EMBEDDED_BROKER_LINKS: usize = 24;

/// The ways in, connected but not yet reading.
pub struct Ways {
    /// Where the embedded broker listens, when there is one.
    pub mqtt_addr: Option<SocketAddr>,
    /// MQTT connections whose messages go to the store (to an external broker).
    mqtt: Vec<(SubscriberConfig, AsyncClient, EventLoop)>,
    /// A replica's connection for the live picture only (no store, no acks).
    live: Option<SubscriberConfig>,
    /// In-process links to the embedded broker.
    local: Vec<(SubscriberConfig, LinkRx)>,
    /// What acknowledges each storing link, by its index (`SubscriberConfig::link`).
    ackers: Vec<Acker>,
}

/// The running links.
#[derive(Debug)]
pub struct Started {
    /// Every link's task that hands messages to the writer: waited for before the writer
    /// stops.
    pub storing: Vec<JoinHandle<()>>,
    /// A replica's live-only connection: nothing waits for it before the writer stops.
    pub live: Option<JoinHandle<()>>,
    /// The MQTT clients, disconnected once the writer has acknowledged what it holds.
    pub clients: Vec<AsyncClient>,
}

/// Starts the embedded broker (when no `mqtt.url` is set) and registers the links, or makes
/// the MQTT connections to the external broker. With gateway auth the embedded broker lets in
/// the gateways and, with a secret of this run, the server's own connections.
pub async fn connect(
    mqtt: &MqttConfig,
    city: &City,
    gateways: Option<Arc<Gateways>>,
    stats: &IngestStats,
) -> anyhow::Result<Ways> {
    let internal = (
        "ioc-server-internal".to_owned(),
        crate::auth::random_password(),
    );
    // With the embedded broker and no replicas, the server reads over in-process links to
    // it: one per share of the city's areas, and one for the rest (see
    // `SubscriberConfig::links`). They register before the broker's listeners open.
    let local_cfgs = match (&mqtt.url, &mqtt.shared_group) {
        (None, None) => {
            let mut areas: Vec<String> = city.areas.iter().map(|a| a.code.clone()).collect();
            areas.push(ioc_protocol::topic::CITY_AREA.to_owned());
            SubscriberConfig::local(&mqtt.client_id, mqtt.max_packet_bytes)
                .links(&areas, EMBEDDED_BROKER_LINKS)
        }
        _ => Vec::new(),
    };
    let (host, port, mqtt_addr, local_links) = match &mqtt.url {
        Some(url) => {
            let (host, port) = config::parse_mqtt_url(url).map_err(anyhow::Error::msg)?;
            (host, port, None, Vec::new())
        }
        None => {
            let auth: Option<BrokerAuth> = gateways.clone().map(|g| {
                let (user, pass) = internal.clone();
                Arc::new(move |u: &str, p: &str| (u == user && p == pass) || g.check(u, p))
                    as BrokerAuth
            });
            let ids: Vec<String> = local_cfgs.iter().map(|c| c.client_id.clone()).collect();
            let (addr, links) = EmbeddedBroker {
                listen: mqtt.embedded_listen,
                max_payload_bytes: mqtt.max_packet_bytes,
                own: auth.is_some().then(|| internal.clone()),
                auth,
                small_rest_log: !local_cfgs.is_empty(),
            }
            .start(&ids)
            .context("cannot start the embedded MQTT broker")?;
            (addr.ip().to_string(), addr.port(), Some(addr), links)
        }
    };
    let own_login = mqtt_addr.is_some() && gateways.is_some();
    let sub_cfg = SubscriberConfig {
        host,
        port,
        client_id: mqtt.client_id.clone(),
        username: match own_login {
            true => Some(internal.0.clone()),
            false => mqtt.username.clone(),
        },
        password: match own_login {
            true => Some(internal.1.clone()),
            false => mqtt.password.as_ref().map(|p| p.expose().to_owned()),
        },
        max_packet_bytes: mqtt.max_packet_bytes,
        role: Role::All,
        filters: Vec::new(),
        link: 0,
        linked_areas: Default::default(),
    };
    // The MQTT connections whose messages go to the store, and a replica's live connection
    // (none with the embedded broker: the in-process links above).
    let (storing, live) = match (&mqtt.shared_group, mqtt_addr) {
        (Some(group), _) => {
            let (store, live) = sub_cfg.replica(group);
            (vec![store], Some(live))
        }
        (None, Some(_)) => (Vec::new(), None),
        (None, None) => (vec![sub_cfg.all()], None),
    };
    stats
        .replica
        .store(mqtt.shared_group.is_some(), Ordering::Relaxed);
    stats
        .links
        .store(storing.len() + local_cfgs.len(), Ordering::Relaxed);
    let mqtt_links: Vec<_> = storing
        .into_iter()
        .map(|cfg| {
            let (client, eventloop) = super::mqtt_client(&cfg);
            (cfg, client, eventloop)
        })
        .collect();
    // The writer acknowledges on each link, by its index: the MQTT connections', or the
    // in-process links' that take QoS 1.
    let mut ackers: Vec<Acker> = mqtt_links
        .iter()
        .map(|(_, client, _)| Box::new(client.clone()) as Acker)
        .collect();
    let mut local = Vec::new();
    for (cfg, mut link) in local_cfgs.into_iter().zip(local_links) {
        let qos1 = cfg.role == Role::All;
        link.subscribe(&cfg.filters, qos1)
            .await
            .context("cannot subscribe the embedded broker's in-process link")?;
        if qos1 {
            debug_assert_eq!(cfg.link, ackers.len());
            ackers.push(Box::new(LocalAcker(link.tx)));
        }
        // The rest's sending half is not needed once subscribed: dropping it tells the
        // router nothing.
        local.push((cfg, link.rx));
    }
    Ok(Ways {
        mqtt_addr,
        mqtt: mqtt_links,
        live,
        local,
        ackers,
    })
}

impl std::fmt::Debug for Ways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ways")
            .field("mqtt_addr", &self.mqtt_addr)
            .field("mqtt", &self.mqtt.len())
            .field("live", &self.live.is_some())
            .field("local", &self.local.len())
            .field("ackers", &self.ackers.len())
            .finish()
    }
}

impl Ways {
    /// What acknowledges each link's messages, for the writer (once; later calls get none).
    pub fn take_ackers(&mut self) -> Vec<Acker> {
        std::mem::take(&mut self.ackers)
    }

    /// Spawns every link's task: from now on messages flow to `intake` and `writer`, until
    /// `stop` says so.
    pub fn spawn(
        self,
        intake: &Intake,
        writer: &WriterHandle,
        stop: &watch::Sender<bool>,
    ) -> Started {
        let subscribe = |cfg, client, eventloop| {
            tokio::spawn(super::run_subscriber(
                cfg,
                client,
                eventloop,
                intake.clone(),
                writer.clone(),
                stop.subscribe(),
            ))
        };
        let live = self.live.map(|cfg| {
            let (client, eventloop) = super::mqtt_client(&cfg);
            subscribe(cfg, client, eventloop)
        });
        let clients = self.mqtt.iter().map(|(_, c, _)| c.clone()).collect();
        let mut storing: Vec<_> = self
            .mqtt
            .into_iter()
            .map(|(cfg, client, eventloop)| subscribe(cfg, client, eventloop))
            .collect();
        storing.extend(self.local.into_iter().map(|(cfg, rx)| {
            tokio::spawn(super::run_local(
                cfg,
                rx,
                intake.clone(),
                writer.clone(),
                stop.subscribe(),
            ))
        }));
        Started {
            storing,
            live,
            clients,
        }
    }
}
