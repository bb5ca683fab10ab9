//! [`start`]: the stages composed in the order data flows through them, each built by its own
//! module; and [`Running::shutdown`], which stops them in the order that loses nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::alerts::Alerts;
use crate::auth::{Auth, gateways::Gateways};
use crate::city::City;
use crate::config::Config;
use crate::http::{self, AppState, listen::Listen};
use crate::indicators::{self, Indicators};
use crate::ingest::{self, IngestStats, Intake};
use crate::live::{self, Hub};
use crate::lock::DataDirLock;
use crate::store;

/// A started server.
#[derive(Debug)]
pub struct Running {
    /// Where HTTP and the websocket listen.
    pub http_addr: SocketAddr,
    /// Where the embedded MQTT endpoint listens, when there is one.
    pub mqtt_addr: Option<SocketAddr>,
    pub hub: Arc<Hub>,
    pub ingest: Arc<IngestStats>,
    /// The socio-economic indicators: told to stop first, so that a report waiting for a
    /// failed store gives up.
    pub indicators: Arc<Indicators>,
    stops: Stops,
    tasks: Tasks,
    /// The data directory is this server's until it has stopped: a second server on it, or a
    /// restore into it, is refused meanwhile.
    lock: DataDirLock,
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
    /// The tasks that hand messages to the writer (the endpoint's, or one per link to an
    /// external broker), and the MQTT clients among them.
    ingest: Vec<JoinHandle<()>>,
    writer: JoinHandle<()>,
    rest: Vec<JoinHandle<()>>,
    mqtt: Vec<rumqttc::AsyncClient>,
    /// Closes the embedded endpoint's connections once their acknowledgements are out.
    endpoint: Option<ingest::endpoint::Closer>,
}

/// Starts, in the order data flows: the ways in (the embedded MQTT endpoint unless an external
/// broker is configured), the store, the live picture rebuilt from it, the writer, the alerts, the links
/// reading, then HTTP. Every socket is the config's (port 0 allowed). First of all it takes the
/// data directory's lock: another server there is refused before it touches anything.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let lock = DataDirLock::acquire(&config.data_dir, "serving")?;
    let stops = Stops {
        ingest: watch::channel(false).0,
        writer: watch::channel(false).0,
        rest: watch::channel(false).0,
    };
    let city = Arc::new(City::load_with(
        config.city_preset.as_deref(),
        config.city_boundaries.as_deref(),
    )?);
    let all_gateways = Arc::new(Gateways::open(&config.data_dir)?);
    let gateways = config.mqtt.gateway_auth.then(|| all_gateways.clone());
    let stats = Arc::new(IngestStats::default());

    // 1. The ways in: the embedded endpoint bound, or the links to the broker, not reading yet.
    let mut ways =
        ingest::connect(&config.mqtt, &config.data_dir, gateways.clone(), &stats).await?;
    // 2. The store, and what it holds rebuilt as the live picture before HTTP opens, so that
    //    what happened before a restart stays on screen from the first snapshot.
    let opened = store::open(&config.store, &config.data_dir)?;
    let indicators = Arc::new(Indicators::open(
        indicators::load_catalogue(config.indicator_catalogue.as_deref(), &city)?,
        opened.indicators.clone(),
        &config.data_dir,
    )?);
    let hub = Arc::new(Hub::new(city.clone(), config.live.clone()));
    live::restore(&hub, &opened.reader, chrono::Utc::now().timestamp_millis()).await;
    hub.set_intake(stats.clone());
    // 3. The writer, which acknowledges on the links once a message is durable.
    let (writer, writer_stats, writer_task) = store::writer::spawn(
        opened.backend,
        opened.spool,
        ways.take_ackers(),
        store::writer_config(&config.store),
        stops.writer.subscribe(),
    );
    hub.set_store(writer_stats);
    // 4. The alerts, judged on what the intake hands on.
    let alerts = Arc::new(Alerts::open(
        city.clone(),
        config.alerts.clone(),
        config.live.clone(),
        &config.data_dir,
    )?);
    // 5. The links read: decode, grant, count, hand on to the hub, the alerts and the writer.
    let intake = Intake {
        city: city.clone(),
        hub: hub.clone(),
        stats: stats.clone(),
        gateways,
        alerts: Some(alerts.clone()),
        indicators: Some(indicators.clone()),
    };
    let mqtt_addr = ways.mqtt_addr;
    let links = ways.spawn(&intake, &writer, &stops.ingest);
    let mut rest = vec![
        tokio::spawn(hub.clone().run_publisher(stops.rest.subscribe())),
        tokio::spawn(alerts.clone().run(hub.clone(), stops.rest.subscribe())),
        tokio::spawn(judge_indicators(
            indicators.clone(),
            alerts.clone(),
            stops.rest.subscribe(),
        )),
    ];
    rest.extend(links.live);
    // 6. HTTP: the app, the API, the websocket.
    let listen = Listen::bind(
        config.http_listen,
        config.http.tls_cert.as_ref(),
        config.http.tls_key.as_ref(),
    )?;
    let http_addr = listen.local_addr()?;
    let state = AppState {
        hub: hub.clone(),
        ingest: stats.clone(),
        store: opened.reader,
        writer,
        city,
        allowed_origins: Arc::new(config.http.allowed_origins.clone()),
        ws_send_timeout: Duration::from_millis(config.http.ws_send_timeout_ms),
        ws_ping: Duration::from_millis(config.http.ws_ping_ms),
        ws_dead_after: Duration::from_millis(config.http.ws_dead_after_ms),
        auth: Arc::new(Auth::open(&config)?),
        intake,
        gateways: all_gateways,
        metrics_token: config
            .http
            .metrics_token
            .as_ref()
            .map(|t| Arc::from(t.expose())),
        stopping: stops.rest.subscribe(),
        alerts,
        indicators: indicators.clone(),
    };
    let site = http::Site::choose(config.dist_dir.as_deref());
    rest.push(listen.spawn(http::app(state, &site), &stops.rest));

    Ok(Running {
        http_addr,
        mqtt_addr,
        hub,
        ingest: stats,
        indicators,
        stops,
        tasks: Tasks {
            ingest: links.storing,
            writer: writer_task,
            rest,
            mqtt: links.clients,
            endpoint: links.endpoint,
        },
        lock,
    })
}

impl Running {
    /// Stops in order within `grace`: ingest, then the writer (what it holds becomes
    /// durable), then HTTP.
    pub async fn shutdown(self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        let Running {
            stops,
            tasks,
            lock,
            indicators,
            ..
        } = self;
        // Ingest first: a session whose indicator report gives up below then sees the stop
        // and does not acknowledge it.
        let _ = stops.ingest.send(true);
        indicators.stop();
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
        if let Some(endpoint) = &tasks.endpoint {
            endpoint
                .close(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await;
        }
        let _ = stops.rest.send(true);
        let all = futures_util::future::join_all(tasks.rest);
        if tokio::time::timeout_at(deadline, all).await.is_err() {
            tracing::warn!("shutdown took longer than {grace:?}; exiting anyway");
        }
        drop(lock);
    }
}

/// How often the board of indicator figures is asked for, to judge their alerts: it is
/// computed again only when a value or a target was stored, or a minute passed.
const JUDGE_INDICATORS_EVERY: Duration = Duration::from_secs(5);
/// The indicators' alerts are judged once nothing was stored for this long: while a history
/// streams in (the simulator's five years, a unit's backlog), every report not there yet
/// looks missing and every series' latest period is not its latest yet.
const INDICATORS_QUIET_MS: i64 = 20_000;

/// Judges the indicators' alerts on each new board of figures (an abnormal sign, a status
/// behind, a missing report: `alerts/indicators.rs`), once values have stopped coming for
/// [`INDICATORS_QUIET_MS`], until `stop`.
async fn judge_indicators(
    indicators: Arc<Indicators>,
    alerts: Arc<Alerts>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(JUDGE_INDICATORS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut judged: Option<Arc<indicators::Computed>> = None;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        let now = chrono::Utc::now().timestamp_millis();
        if now - indicators.last_stored_ms() < INDICATORS_QUIET_MS {
            continue;
        }
        let computed = match indicators.board(now).await {
            Ok((computed, _)) => computed,
            Err(e) => {
                tracing::warn!(error = %e, "the indicators' board cannot be computed now");
                continue;
            }
        };
        if judged.as_ref().is_some_and(|j| Arc::ptr_eq(j, &computed)) {
            continue;
        }
        let (engine, board) = (alerts.clone(), computed.clone());
        let _ = tokio::task::spawn_blocking(move || {
            engine.judge_indicators(&board.board, &board.catalogue, now);
        })
        .await;
        judged = Some(computed);
    }
}
