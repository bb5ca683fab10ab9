//! The city operations center's server.
//!
//! How data flows: gateways publish over MQTT to the broker (embedded rumqttd by default);
//! [`ingest`] subscribes to `ioc/v1/#`, decodes and validates each message and counts
//! rejections; accepted readings go to the [`live`] hub, which keeps the current figures of
//! every tile and broadcasts coalesced deltas; [`http`] serves the app, `/ws`, `/healthz` and
//! the ingest report.
//!
//! - [`config`]: settings from defaults, a TOML file, environment and flags.
//! - [`cli`]: the command line (`--config`, the admin subcommands).
//! - [`secret`]: the redacting type of passwords and tokens.
//! - [`city`]: the city preset (areas and their names).
//! - [`broker`]: the embedded MQTT broker.
//! - [`ingest`]: the MQTT subscriber and the rejected-message counts.
//! - [`live`]: the live hub and its publisher, the figures of each domain, the restore on start.
//! - [`health`]: the system's own health, as the hub and `/metrics` read it.
//! - [`http`]: the HTTP edge: the route table, every handler, the websocket session, TLS.
//!
//! [`start`] starts it all on the sockets the config names (port 0 allowed) and returns a
//! [`Running`] server that tells its addresses and stops on [`Running::shutdown`].

pub mod alerts;
pub mod auth;
pub mod city;
pub mod cli;
pub mod config;
pub mod health;
pub mod http;
pub mod ingest;
pub mod live;
pub mod secret;
pub mod store;

pub use ingest::broker;

/// The live figures of every domain, kept by the [`live`] hub (their old place).
pub use live::figures;

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
    stops: Stops,
    tasks: Tasks,
}

/// One stop signal per stage, so that shutdown goes in order: ingest stops taking messages,
/// then the writer makes what it holds durable, then HTTP closes.
#[derive(Debug)]
struct Stops {
    ingest: watch::Sender<bool>,
    writer: watch::Sender<bool>,
    rest: watch::Sender<bool>,
}

#[derive(Debug)]
struct Tasks {
    /// The subscriber connections' tasks (one per link, see [`EMBEDDED_BROKER_LINKS`]), and
    /// the MQTT clients among them.
    ingest: Vec<JoinHandle<()>>,
    writer: JoinHandle<()>,
    rest: Vec<JoinHandle<()>>,
    mqtt: Vec<rumqttc::AsyncClient>,
}

/// Data points per transaction into the embedded store.
pub const EMBEDDED_BATCH_POINTS: usize = 50_000;

/// QoS 1 in-process links to the embedded broker, at most: the city's areas (and `city`) split
/// between them, one each for the built-in preset's 23 (see [`ingest::SubscriberConfig::links`]).
/// rumqttd 0.20 lets 100 unacknowledged messages out per connection, and each waits for a
/// store commit: one connection stored 17,400 readings/s (docs/performance.md).
pub const EMBEDDED_BROKER_LINKS: usize = 24;

/// Midnight of today in Ho Chi Minh City (UTC+7, no daylight saving), epoch ms: daily counts
/// start there.
pub use figures::local_midnight_ms;

/// The auth store of the data directory, with its first admin on a first start: the
/// password of `IOC_INITIAL_ADMIN_PASSWORD` if set (automated installs, tests), else a random
/// one printed once on stdout.
pub fn open_auth(config: &Config) -> anyhow::Result<auth::Auth> {
    let h = &config.http;
    let store = auth::AuthStore::open(
        &config.data_dir,
        auth::Lifetimes {
            idle: Duration::from_secs(h.session_idle_minutes * 60),
            absolute: Duration::from_secs(h.session_hours * 3600),
            display: Duration::from_secs(h.display_session_days * 86_400),
        },
    )?;
    let initial = std::env::var("IOC_INITIAL_ADMIN_PASSWORD").ok();
    if let Some(password) = store.bootstrap(initial.as_deref())? {
        println!(
            "ioc-server first start: created user \"admin\" (role admin) with the password \
             {password} (shown once: keep it, or `ioc-server user reset admin` for another)"
        );
    }
    let audit = auth::audit::Audit::open(&config.data_dir)
        .with_context(|| format!("cannot open the audit log in {}", config.data_dir.display()))?;
    Ok(auth::Auth {
        store,
        throttle: auth::throttle::Throttle::default(),
        audit,
        // Under TLS the cookie is always `__Host-` and Secure.
        secure_cookie: h.secure_cookie || h.tls_cert.is_some(),
    })
}

/// Starts the broker (unless an external one is configured), the store and its writer, the
/// subscriber, the hub's publisher and HTTP. The live picture is rebuilt from the store first.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let city = Arc::new(City::load_with(
        config.city_preset.as_deref(),
        config.city_boundaries.as_deref(),
    )?);
    // With gateway auth, the embedded broker lets in the gateways and, with a secret of this
    // run, the server's own subscriber.
    let all_gateways = Arc::new(auth::gateways::Gateways::open(&config.data_dir)?);
    let gateways = config.mqtt.gateway_auth.then(|| all_gateways.clone());
    let internal = ("ioc-server-internal".to_owned(), auth::random_password());
    // With the embedded broker and no replicas, the server reads over in-process links to
    // it: one per share of the city's areas, and one for the rest (see
    // `ingest::SubscriberConfig::links`). They register before the broker's listeners open.
    let local_cfgs = match (&config.mqtt.url, &config.mqtt.shared_group) {
        (None, None) => {
            let mut areas: Vec<String> = city.areas.iter().map(|a| a.code.clone()).collect();
            areas.push(ioc_protocol::topic::CITY_AREA.to_owned());
            SubscriberConfig::local(&config.mqtt.client_id, config.mqtt.max_packet_bytes)
                .links(&areas, EMBEDDED_BROKER_LINKS)
        }
        _ => Vec::new(),
    };
    let (mqtt_host, mqtt_port, mqtt_addr, local_links) = match &config.mqtt.url {
        Some(url) => {
            let (host, port) = config::parse_mqtt_url(url).map_err(anyhow::Error::msg)?;
            (host, port, None, Vec::new())
        }
        None => {
            let auth: Option<broker::BrokerAuth> = gateways.clone().map(|g| {
                let (user, pass) = internal.clone();
                Arc::new(move |u: &str, p: &str| (u == user && p == pass) || g.check(u, p))
                    as broker::BrokerAuth
            });
            let ids: Vec<String> = local_cfgs.iter().map(|c| c.client_id.clone()).collect();
            let (addr, links) = broker::EmbeddedBroker {
                listen: config.mqtt.embedded_listen,
                max_payload_bytes: config.mqtt.max_packet_bytes,
                own: auth.is_some().then(|| internal.clone()),
                auth,
                small_rest_log: !local_cfgs.is_empty(),
            }
            .start(&ids)?;
            (addr.ip().to_string(), addr.port(), Some(addr), links)
        }
    };

    // The store.
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let (backend, reader) = match config.store.backend {
        config::StoreBackend::Embedded => {
            let path = config.data_dir.join("ioc.sqlite");
            let (store, reader) =
                store::embedded::folder::EmbeddedWriter::open(&path, config.store.retention)
                    .with_context(|| format!("cannot open the store {}", path.display()))?;
            (
                store::Backend::Embedded(Arc::new(store)),
                store::Reader::Embedded(reader),
            )
        }
        config::StoreBackend::Influxdb => {
            let store = Arc::new(store::influx::InfluxStore::new(&config.store.influxdb)?);
            (
                store::Backend::Influx(store.clone()),
                store::Reader::Influx(store),
            )
        }
    };
    let spool_dir = config.data_dir.join("spool");
    let spool = store::spool::Spool::open(&spool_dir, config.store.spool_max_mb * 1024 * 1024)?;
    if !spool.is_empty() {
        tracing::info!(
            batches = spool.len(),
            "the spool holds batches from before; writing them back"
        );
    }

    // The live picture, as the store has it: what happened before a restart stays on screen.
    // Published before HTTP opens, so that the first browser's snapshot already holds it.
    let hub = Arc::new(Hub::new(city.clone(), config.live.clone()));
    live::restore(&hub, &reader, chrono::Utc::now().timestamp_millis()).await;

    let ingest = Arc::new(IngestStats::default());
    ingest.replica.store(
        config.mqtt.shared_group.is_some(),
        std::sync::atomic::Ordering::Relaxed,
    );
    hub.set_intake(ingest.clone());
    let stops = Stops {
        ingest: watch::channel(false).0,
        writer: watch::channel(false).0,
        rest: watch::channel(false).0,
    };
    let sub_cfg = SubscriberConfig {
        host: mqtt_host,
        port: mqtt_port,
        client_id: config.mqtt.client_id.clone(),
        username: match (&mqtt_addr, &gateways) {
            (Some(_), Some(_)) => Some(internal.0.clone()),
            _ => config.mqtt.username.clone(),
        },
        password: match (&mqtt_addr, &gateways) {
            (Some(_), Some(_)) => Some(internal.1.clone()),
            _ => config.mqtt.password.as_ref().map(|p| p.expose().to_owned()),
        },
        max_packet_bytes: config.mqtt.max_packet_bytes,
        role: ingest::Role::All,
        filters: Vec::new(),
        link: 0,
        linked_areas: Default::default(),
    };
    // The MQTT connections whose messages go to the store, and a replica's live connection
    // (none with the embedded broker: the in-process links above).
    let (links, live_cfg) = match (&config.mqtt.shared_group, mqtt_addr) {
        (Some(group), _) => {
            let (store, live) = sub_cfg.replica(group);
            (vec![store], Some(live))
        }
        (None, Some(_)) => (Vec::new(), None),
        (None, None) => (vec![sub_cfg.all()], None),
    };
    ingest.links.store(
        links.len() + local_cfgs.len(),
        std::sync::atomic::Ordering::Relaxed,
    );
    let links: Vec<_> = links
        .into_iter()
        .map(|cfg| {
            let (client, eventloop) = ingest::mqtt_client(&cfg);
            (cfg, client, eventloop)
        })
        .collect();
    let clients: Vec<rumqttc::AsyncClient> = links.iter().map(|l| l.1.clone()).collect();
    // The writer acknowledges on each link, by its index (`SubscriberConfig::link`): the MQTT
    // connections', or the in-process links' that take QoS 1.
    let mut ackers: Vec<store::writer::Acker> = clients
        .iter()
        .map(|c| Box::new(c.clone()) as store::writer::Acker)
        .collect();
    let mut local_rx = Vec::new();
    for (cfg, mut link) in local_cfgs.into_iter().zip(local_links) {
        let qos1 = cfg.role == ingest::Role::All;
        link.subscribe(&cfg.filters, qos1).await?;
        if qos1 {
            debug_assert_eq!(cfg.link, ackers.len());
            ackers.push(Box::new(broker::LocalAcker(link.tx)));
        }
        // The rest's sending half is not needed once subscribed: dropping it tells the
        // router nothing.
        local_rx.push((cfg, link.rx));
    }
    let (writer, writer_stats, writer_task) = store::writer::spawn(
        backend,
        spool,
        ackers,
        store::writer::WriterConfig {
            // InfluxDB takes at most `store.max_batch_points` (5,000) per request. The embedded
            // store pays per batch (a journal sync), so it takes ten times that; under load
            // the broker's in-flight window keeps batches far smaller anyway.
            max_batch_points: match config.store.backend {
                config::StoreBackend::Embedded => EMBEDDED_BATCH_POINTS,
                config::StoreBackend::Influxdb => config.store.max_batch_points,
            },
            flush_interval: Duration::from_millis(config.store.flush_ms),
            queue_capacity: config.store.queue_capacity,
            ..Default::default()
        },
        stops.writer.subscribe(),
    );
    hub.set_store(writer_stats);
    let alerts = Arc::new(alerts::Alerts::open(
        city.clone(),
        config.alerts.clone(),
        config.live.clone(),
        &config.data_dir,
    )?);
    let pipeline = Pipeline {
        city: city.clone(),
        hub: hub.clone(),
        stats: ingest.clone(),
        gateways,
        alerts: Some(alerts.clone()),
    };
    let http_pipeline = pipeline.clone();
    let subscribe = |cfg, client, eventloop| {
        tokio::spawn(ingest::run_subscriber(
            cfg,
            client,
            eventloop,
            pipeline.clone(),
            writer.clone(),
            stops.ingest.subscribe(),
        ))
    };
    let live_task = live_cfg.map(|cfg| {
        let (client, eventloop) = ingest::mqtt_client(&cfg);
        subscribe(cfg, client, eventloop)
    });
    let mut ingest_tasks: Vec<_> = links
        .into_iter()
        .map(|(cfg, client, eventloop)| subscribe(cfg, client, eventloop))
        .collect();
    ingest_tasks.extend(local_rx.into_iter().map(|(cfg, rx)| {
        tokio::spawn(ingest::run_local(
            cfg,
            rx,
            pipeline.clone(),
            writer.clone(),
            stops.ingest.subscribe(),
        ))
    }));

    let mut rest = vec![
        tokio::spawn(hub.clone().run_publisher(stops.rest.subscribe())),
        tokio::spawn(alerts.clone().run(hub.clone(), stops.rest.subscribe())),
    ];
    rest.extend(live_task);
    let auth = Arc::new(open_auth(&config)?);
    let listener = http_listener(config.http_listen)
        .with_context(|| format!("cannot listen for HTTP on {}", config.http_listen))?;
    let http_addr = listener.local_addr()?;
    let router = http::app(
        http::AppState {
            hub: hub.clone(),
            ingest: ingest.clone(),
            store: reader,
            writer,
            city,
            allowed_origins: Arc::new(config.http.allowed_origins.clone()),
            ws_send_timeout: Duration::from_millis(config.http.ws_send_timeout_ms),
            ws_ping: Duration::from_millis(config.http.ws_ping_ms),
            ws_dead_after: Duration::from_millis(config.http.ws_dead_after_ms),
            auth,
            pipeline: http_pipeline,
            gateways: all_gateways,
            metrics_token: config
                .http
                .metrics_token
                .as_ref()
                .map(|t| Arc::from(t.expose())),
            stopping: stops.rest.subscribe(),
            alerts: alerts.clone(),
        },
        &config.dist_dir,
    );
    let tls = match (&config.http.tls_cert, &config.http.tls_key) {
        (Some(cert), Some(key)) => Some(http::tls::acceptor(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("HTTPS needs both http.tls_cert and http.tls_key"),
    };
    let mut http_stop = stops.rest.subscribe();
    let stopped = async move {
        let _ = http_stop.wait_for(|s| *s).await;
    };
    let service = router.into_make_service_with_connect_info::<http::tls::ClientAddr>();
    rest.push(tokio::spawn(async move {
        let served = match tls {
            Some(acceptor) => {
                axum::serve(http::tls::TlsListener::new(listener, acceptor), service)
                    .with_graceful_shutdown(stopped)
                    .await
            }
            None => {
                axum::serve(listener, service)
                    .with_graceful_shutdown(stopped)
                    .await
            }
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    }));

    Ok(Running {
        http_addr,
        mqtt_addr,
        hub,
        ingest,
        stops,
        tasks: Tasks {
            ingest: ingest_tasks,
            writer: writer_task,
            rest,
            mqtt: clients,
        },
    })
}

/// The kernel's send buffer of each HTTP connection (Linux doubles it for its bookkeeping).
/// Left to itself it grows to megabytes on a fast link: a browser that reads slower than the
/// deltas come would then get them seconds late, queued in the kernel where the hub cannot
/// replace them with newer ones. Bounded, a slow reader's sends wait, the hub's fan-out
/// pacing sees it, and what it gets next is the newest state. 64 KiB holds a few deltas and
/// still moves the app's wasm at tens of MB/s on a LAN.
const HTTP_SEND_BUFFER: u32 = 64 * 1024;

/// Listens for HTTP, with [`HTTP_SEND_BUFFER`] (accepted connections inherit it).
fn http_listener(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(HTTP_SEND_BUFFER)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

impl Running {
    /// Stops in order within `grace`: ingest, then the writer (what it holds becomes
    /// durable), then HTTP.
    pub async fn shutdown(self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        let Running { stops, tasks, .. } = self;
        let _ = stops.ingest.send(true);
        let _ =
            tokio::time::timeout_at(deadline, futures_util::future::join_all(tasks.ingest)).await;
        let _ = stops.writer.send(true);
        if tokio::time::timeout_at(deadline, tasks.writer)
            .await
            .is_err()
        {
            tracing::warn!("the store writer did not finish in time");
        }
        for client in &tasks.mqtt {
            ingest::disconnect(client).await;
        }
        let _ = stops.rest.send(true);
        let all = futures_util::future::join_all(tasks.rest);
        if tokio::time::timeout_at(deadline, all).await.is_err() {
            tracing::warn!("shutdown took longer than {grace:?}; exiting anyway");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_starts_at_midnight_in_ho_chi_minh_city() {
        // 2026-11-22 00:30 local is 2026-11-21 17:30 UTC.
        let t = 1_795_282_200_000;
        assert_eq!(local_midnight_ms(t), 1_795_280_400_000);
        assert_eq!(local_midnight_ms(1_795_280_400_000), 1_795_280_400_000);
        assert_eq!(
            local_midnight_ms(1_795_280_399_999),
            1_795_280_400_000 - 86_400_000
        );
    }
}
