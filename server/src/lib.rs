//! The city operations center's server.
//!
//! How data flows: gateways publish over MQTT to the broker (embedded rumqttd by default);
//! [`ingest`] subscribes to `ioc/v1/#`, decodes and validates each message and counts
//! rejections; accepted readings go to the [`live`] hub, which keeps the current figures of
//! every tile and broadcasts coalesced deltas; [`http`] serves the app, `/ws`, `/healthz` and
//! the ingest report.
//!
//! - [`config`]: settings from defaults, a TOML file, environment and flags.
//! - [`city`]: the city preset (areas and their names).
//! - [`broker`]: the embedded MQTT broker.
//! - [`ingest`]: the MQTT subscriber and the rejected-message counts.
//! - [`live`]: the live hub and its publisher.
//! - [`http`]: the axum router and the websocket protocol.
//!
//! [`start`] starts it all on the sockets the config names (port 0 allowed) and returns a
//! [`Running`] server that tells its addresses and stops on [`Running::shutdown`].

pub mod broker;
pub mod city;
pub mod config;
pub mod http;
pub mod ingest;
pub mod live;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::city::City;
use crate::config::Config;
use crate::ingest::{IngestStats, Pipeline, SubscriberConfig};
use crate::live::Hub;

/// A started server.
#[derive(Debug)]
pub struct Running {
    /// Where HTTP and the websocket listen.
    pub http_addr: SocketAddr,
    /// Where the embedded broker listens, when there is one.
    pub mqtt_addr: Option<SocketAddr>,
    pub hub: Arc<Hub>,
    pub ingest: Arc<IngestStats>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the broker (unless an external one is configured), the subscriber, the hub's
/// publisher and HTTP.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let city = Arc::new(City::load(config.city_preset.as_deref())?);
    let (mqtt_host, mqtt_port, mqtt_addr) = match &config.mqtt.url {
        Some(url) => {
            let (host, port) = config::parse_mqtt_url(url).map_err(anyhow::Error::msg)?;
            (host, port, None)
        }
        None => {
            let addr = broker::EmbeddedBroker {
                listen: config.mqtt.embedded_listen,
                max_payload_bytes: config.mqtt.max_packet_bytes,
            }
            .start()?;
            (addr.ip().to_string(), addr.port(), Some(addr))
        }
    };

    let hub = Arc::new(Hub::new(city.clone(), config.live.clone()));
    let ingest = Arc::new(IngestStats::default());
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();

    tasks.push(tokio::spawn(hub.clone().run_publisher(stop_rx.clone())));
    let pipeline = Pipeline {
        city: city.clone(),
        hub: hub.clone(),
        stats: ingest.clone(),
    };
    tasks.push(tokio::spawn(ingest::run_subscriber(
        SubscriberConfig {
            host: mqtt_host,
            port: mqtt_port,
            client_id: config.mqtt.client_id.clone(),
            username: config.mqtt.username.clone(),
            password: config.mqtt.password.clone(),
            max_packet_bytes: config.mqtt.max_packet_bytes,
        },
        pipeline,
        stop_rx.clone(),
    )));

    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http_listen))?;
    let http_addr = listener.local_addr()?;
    let router = http::app(
        http::AppState {
            hub: hub.clone(),
            ingest: ingest.clone(),
            allowed_origins: Arc::new(config.http.allowed_origins.clone()),
            ws_send_timeout: Duration::from_millis(config.http.ws_send_timeout_ms),
        },
        &config.dist_dir,
    );
    let mut http_stop = stop_rx.clone();
    tasks.push(tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = http_stop.wait_for(|s| *s).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    }));

    Ok(Running {
        http_addr,
        mqtt_addr,
        hub,
        ingest,
        stop,
        tasks,
    })
}

impl Running {
    /// Stops ingest, the publisher and HTTP, waiting at most `grace` for open connections.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("shutdown took longer than {grace:?}; exiting anyway");
        }
    }
}
