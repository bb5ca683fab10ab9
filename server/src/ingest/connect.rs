//! The ways in, connected: the embedded MQTT endpoint bound (unless an external broker is
//! configured), or the MQTT connections to the external broker made; then, once the writer
//! exists, the endpoint accepting or each link's task spawned.
//!
//! Two steps, because the writer acknowledges on the links ([`Ways::take_ackers`]) and the
//! links hand their messages to the writer ([`Ways::spawn`]).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rumqttc::{AsyncClient, EventLoop};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::endpoint::{Closer, Endpoint, EndpointStats};
use super::{IngestStats, Intake, SubscriberConfig};
use crate::auth::gateways::Gateways;
use crate::config::{self, MqttConfig};
use crate::store::writer::{Acker, WriterHandle};

/// The ways in, connected but not yet reading.
pub struct Ways {
    /// Where the embedded endpoint listens, when there is one.
    pub mqtt_addr: Option<SocketAddr>,
    /// The embedded endpoint, bound, when no external broker is configured.
    endpoint: Option<Endpoint>,
    gateways: Option<Arc<Gateways>>,
    /// MQTT connections whose messages go to the store (to an external broker).
    mqtt: Vec<(SubscriberConfig, AsyncClient, EventLoop)>,
    /// A replica's connection for the live picture only (no store, no acks).
    live: Option<SubscriberConfig>,
    /// What acknowledges each storing link, by its index (`SubscriberConfig::link`).
    ackers: Vec<Acker>,
}

/// The running ways in.
#[derive(Debug)]
pub struct Started {
    /// Every task that hands messages to the writer (the endpoint's, or each link's): waited
    /// for before the writer stops.
    pub storing: Vec<JoinHandle<()>>,
    /// A replica's live-only connection: nothing waits for it before the writer stops.
    pub live: Option<JoinHandle<()>>,
    /// The MQTT clients, disconnected once the writer has acknowledged what it holds.
    pub clients: Vec<AsyncClient>,
    /// The embedded endpoint's connections, closed once the writer has acknowledged what it
    /// holds.
    pub endpoint: Option<Closer>,
}

/// Binds the embedded endpoint (when no `mqtt.url` is set; its persistent sessions are kept
/// in `data_dir`), or makes the MQTT connections to the external broker. With gateway auth the
/// endpoint lets in only the gateways, each publishing what it is granted.
pub async fn connect(
    mqtt: &MqttConfig,
    data_dir: &Path,
    gateways: Option<Arc<Gateways>>,
    stats: &IngestStats,
) -> anyhow::Result<Ways> {
    stats
        .replica
        .store(mqtt.shared_group.is_some(), Ordering::Relaxed);
    let Some(url) = &mqtt.url else {
        let endpoint = Endpoint::bind(mqtt, Some(data_dir))?;
        let _ = stats.endpoint.set(endpoint.stats());
        // One way in, up once the endpoint accepts.
        stats.links.store(1, Ordering::Relaxed);
        return Ok(Ways {
            mqtt_addr: Some(endpoint.local_addr()),
            endpoint: Some(endpoint),
            gateways,
            mqtt: Vec::new(),
            live: None,
            ackers: Vec::new(),
        });
    };
    let (host, port) = config::parse_mqtt_url(url).map_err(anyhow::Error::msg)?;
    let sub_cfg = SubscriberConfig {
        host,
        port,
        client_id: mqtt.client_id.clone(),
        username: mqtt.username.clone(),
        password: mqtt.password.as_ref().map(|p| p.expose().to_owned()),
        max_packet_bytes: mqtt.max_packet_bytes,
        role: super::Role::All,
        filters: Vec::new(),
        link: 0,
    };
    // The MQTT connections whose messages go to the store, and a replica's live connection.
    let (storing, live) = match &mqtt.shared_group {
        Some(group) => {
            let (store, live) = sub_cfg.replica(group);
            (vec![store], Some(live))
        }
        None => (vec![sub_cfg.all()], None),
    };
    stats.links.store(storing.len(), Ordering::Relaxed);
    let mqtt_links: Vec<_> = storing
        .into_iter()
        .map(|cfg| {
            let (client, eventloop) = super::mqtt_client(&cfg);
            (cfg, client, eventloop)
        })
        .collect();
    // The writer acknowledges on each link, by its index.
    let ackers: Vec<Acker> = mqtt_links
        .iter()
        .map(|(_, client, _)| Box::new(client.clone()) as Acker)
        .collect();
    Ok(Ways {
        mqtt_addr: None,
        endpoint: None,
        gateways,
        mqtt: mqtt_links,
        live,
        ackers,
    })
}

impl std::fmt::Debug for Ways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ways")
            .field("mqtt_addr", &self.mqtt_addr)
            .field("mqtt", &self.mqtt.len())
            .field("live", &self.live.is_some())
            .field("ackers", &self.ackers.len())
            .finish()
    }
}

impl Ways {
    /// What acknowledges each link's messages, for the writer (once; later calls get none).
    pub fn take_ackers(&mut self) -> Vec<Acker> {
        std::mem::take(&mut self.ackers)
    }

    /// The embedded endpoint's counters, when there is one.
    pub fn endpoint_stats(&self) -> Option<Arc<EndpointStats>> {
        self.endpoint.as_ref().map(Endpoint::stats)
    }

    /// Starts reading: from now on messages flow to `intake` and `writer`, until `stop` says
    /// so.
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
        let endpoint = self.endpoint.map(|e| {
            let (task, closer) = e.spawn(
                intake.clone(),
                writer.clone(),
                self.gateways.clone(),
                stop.subscribe(),
            );
            storing.push(task);
            closer
        });
        Started {
            storing,
            live,
            clients,
            endpoint,
        }
    }
}
